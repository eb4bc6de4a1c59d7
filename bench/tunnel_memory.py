#!/usr/bin/env python3
"""Server memory per idle tunnel (issue 10, item 3).

Starts quictun-server and N quictun-clients on loopback, an asyncio echo backend, and opens T idle
tunnels through each client (each one checked by a one-byte echo, so it is open end to end). It
then reads the server's VmRSS and reports (RSS with tunnels - RSS before) / tunnels.

    flock /tmp/quictun-bench.lock bench/tunnel_memory.py --build build --clients 1 --tunnels 10000
    flock /tmp/quictun-bench.lock bench/tunnel_memory.py --build build --clients 200 --tunnels 50
"""
import argparse
import asyncio
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_log(path, text, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if text in open(path, errors="replace").read():
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return False


async def echo(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def run_backend(conn):
    """The echo backend, in its own process: its sockets do not count against ours."""
    async def serve():
        server = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=4096)
        conn.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()
    asyncio.run(serve())


async def open_tunnels(ports, per_client, parallel):
    conns, failed = [], 0
    sem = asyncio.Semaphore(parallel)

    async def one(port):
        nonlocal failed
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
                w.write(b"x")
                await w.drain()
                if await asyncio.wait_for(r.readexactly(1), 60) != b"x":
                    raise RuntimeError("bad echo")
                conns.append((r, w))
            except Exception:
                failed += 1

    await asyncio.gather(*(one(p) for p in ports for _ in range(per_client)))
    return conns, failed


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--tunnels", type=int, default=10000, help="tunnels per client")
    ap.add_argument("--parallel", type=int, default=200, help="tunnels being opened at once")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds to wait before reading RSS")
    a = ap.parse_args()
    # Every tunnel costs this process one socket, the backend process one and the server two:
    # raise the limit (root may go past the hard limit, up to fs.nr_open), before any child starts.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(hard, 4 * a.clients * a.tunnels + 1024)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    bindir, plugins = os.path.join(a.build, "bin"), os.path.join(a.build, "plugins")
    tmp = tempfile.mkdtemp(prefix="quictun-mem-")
    parent_end, child_end = multiprocessing.Pipe()
    backend = multiprocessing.Process(target=run_backend, args=(child_end,), daemon=True)
    backend.start()
    backend_port = parent_end.recv()
    udp = free_port(socket.SOCK_DGRAM)
    total = a.clients * a.tunnels
    cfg = os.path.join(tmp, "quictun.toml")
    with open(cfg, "w") as f:
        # Room for every tunnel on one connection: QUIC's stream limit and the server's own.
        f.write(f"[quic]\nmax_streams = {max(4096, a.tunnels + 64)}\n"
                f"[server]\nmax_tunnels_per_connection = {max(4096, a.tunnels + 64)}\n"
                f"max_tunnels = {max(65536, total + 64)}\n")
    procs = []
    server_log = os.path.join(tmp, "server.log")
    server = subprocess.Popen([os.path.join(bindir, "quictun-server"), "-c", cfg, "--listen-on", f"127.0.0.1:{udp}",
                               "--plugin-dir", plugins, "--log-level", "warn", "--allow", f"tcp:127.0.0.1:{backend_port}"],
                              stdout=open(server_log, "w"), stderr=subprocess.STDOUT)
    procs.append(server)
    time.sleep(0.5)
    ports = []
    try:
        for i in range(a.clients):
            port = free_port()
            log = os.path.join(tmp, f"client{i}.log")
            ccfg = os.path.join(tmp, f"client{i}.toml")
            with open(ccfg, "w") as f:
                f.write(f"[quic]\nmax_streams = {max(4096, a.tunnels + 64)}\n")
            procs.append(subprocess.Popen([os.path.join(bindir, "quictun-client"), "-c", ccfg, "--listen-on",
                                           f"tcp:127.0.0.1:{port}", "--server-endpoint", f"127.0.0.1:{udp}",
                                           "--plugin-dir", plugins, "--token-source", f"tcp:127.0.0.1:{backend_port}",
                                           "--insecure-skip-verify", "--log-level", "info"],
                                          stdout=open(log, "w"), stderr=subprocess.STDOUT))
            if not wait_log(log, "listening on"):
                sys.exit(f"client {i} did not start: {open(log).read()}")
            ports.append(port)
        # One tunnel per client first, so the QUIC connections exist in the baseline.
        warm, failed = await open_tunnels(ports, 1, a.parallel)
        for r, w in warm:
            w.close()
        await asyncio.sleep(a.settle)
        before = rss_kib(server.pid)
        t0 = time.time()
        conns, failed = await open_tunnels(ports, a.tunnels, a.parallel)
        opened = time.time() - t0
        await asyncio.sleep(a.settle)
        after = rss_kib(server.pid)
        n = len(conns)
        per = (after - before) / n if n else float("nan")
        print(f"clients={a.clients} tunnels/client={a.tunnels} open={n} failed={failed} open_time_s={opened:.1f} "
              f"server_rss_before_kib={before} server_rss_after_kib={after} per_tunnel_kib={per:.2f}")
        for r, w in conns:
            w.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        backend.terminate()


asyncio.run(main())
