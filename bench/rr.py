#!/usr/bin/env python3
"""Request/response helper for the quictun benchmarks (standard library only).

  rr.py serve --listen HOST:PORT [--listen HOST:PORT ...]
      For each connection: read one request line "<n>\\n", answer n bytes at once, close.

  rr.py ttfb --connect HOST:PORT [--samples K] [--gap-ms G]
      K new connections, one after another: connect, send "1\\n", time until the first
      response byte arrives (from just before connect()). Prints JSON with every sample (ms).

  rr.py many --connect HOST:PORT [--count 1000] [--size 102400] [--concurrency 10]
      COUNT connections, at most CONCURRENCY open at a time, each downloads SIZE bytes
      (checked) and closes. Prints JSON with the total wall time.

--cc CC sets TCP_CONGESTION on this end's sockets. Every mode has a hard deadline (--deadline-s) and exits non-zero on any error.
"""
import argparse
import asyncio
import json
import socket
import sys
import time


def hostport(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


# ---------------------------------------------------------------- server
CC = None


def set_cc(sock):
    if CC:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, CC.encode())


async def handle(reader, writer):
    try:
        set_cc(writer.get_extra_info("socket"))
        line = await reader.readline()
        n = int(line.strip() or b"0")
        chunk = b"x" * 65536
        while n > 0:
            part = chunk[: min(n, len(chunk))]
            writer.write(part)
            n -= len(part)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        # Wait for the peer's close so our FIN is not turned into a reset.
        await asyncio.wait_for(reader.read(), timeout=30)
    except Exception:
        pass
    finally:
        writer.close()


async def serve(args):
    servers = []
    for addr in args.listen:
        host, port = hostport(addr)
        servers.append(await asyncio.start_server(handle, host, port, reuse_address=True,
                                                  backlog=4096))
    print("ready", flush=True)
    await asyncio.Event().wait()


# ---------------------------------------------------------------- ttfb
def ttfb(args):
    host, port = hostport(args.connect)
    samples = []
    deadline = time.monotonic() + args.deadline_s
    for _ in range(args.samples):
        if time.monotonic() > deadline:
            raise SystemExit("rr.py ttfb: deadline reached")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        set_cc(s)
        s.settimeout(10)
        t0 = time.perf_counter()
        s.connect((host, port))
        t1 = time.perf_counter()
        s.sendall(b"1\n")
        b = s.recv(1)
        t2 = time.perf_counter()
        if not b:
            raise SystemExit("rr.py ttfb: connection closed without a response")
        # drain to EOF so the server side closes cleanly
        while s.recv(4096):
            pass
        s.close()
        samples.append({"connect_ms": (t1 - t0) * 1e3, "ttfb_ms": (t2 - t0) * 1e3})
        time.sleep(args.gap_ms / 1e3)
    json.dump({"samples": samples}, sys.stdout)
    print()


# ---------------------------------------------------------------- many
async def many(args):
    host, port = hostport(args.connect)
    sem = asyncio.Semaphore(args.concurrency)
    errors = []
    per_conn = []
    request = f"{args.size}\n".encode()

    async def one():
        async with sem:
            t0 = time.perf_counter()
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                set_cc(sock)
                sock.setblocking(False)
                await asyncio.get_running_loop().sock_connect(sock, (host, port))
                reader, writer = await asyncio.open_connection(sock=sock)
                writer.write(request)
                await writer.drain()
                got = 0
                while True:
                    data = await reader.read(262144)
                    if not data:
                        break
                    got += len(data)
                writer.close()
                if got != args.size:
                    errors.append(f"got {got} bytes")
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
            per_conn.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(args.count))),
                           timeout=args.deadline_s)
    total = time.perf_counter() - t0
    per_conn.sort()
    json.dump({"total_s": total, "count": args.count, "size": args.size,
               "concurrency": args.concurrency, "errors": len(errors),
               "first_errors": errors[:5],
               "conn_median_s": per_conn[len(per_conn) // 2] if per_conn else None},
              sys.stdout)
    print()
    if errors:
        sys.exit(1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cc", help="TCP congestion control for this end's sockets (needs "
                        "CAP_NET_ADMIN unless the kernel allows it)")
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve", parents=[common])
    s.add_argument("--listen", action="append", required=True)
    t = sub.add_parser("ttfb", parents=[common])
    t.add_argument("--connect", required=True)
    t.add_argument("--samples", type=int, default=20)
    t.add_argument("--gap-ms", type=float, default=50)
    t.add_argument("--deadline-s", type=float, default=120)
    m = sub.add_parser("many", parents=[common])
    m.add_argument("--connect", required=True)
    m.add_argument("--count", type=int, default=1000)
    m.add_argument("--size", type=int, default=102400)
    m.add_argument("--concurrency", type=int, default=10)
    m.add_argument("--deadline-s", type=float, default=300)
    args = p.parse_args()
    global CC
    CC = args.cc
    if args.mode == "serve":
        asyncio.run(serve(args))
    elif args.mode == "ttfb":
        ttfb(args)
    else:
        asyncio.run(many(args))


if __name__ == "__main__":
    main()
