#!/usr/bin/env python3
"""Soak and faults (issue 10, item 7): checksummed transfers through a hostile emulated link while
the server is killed and restarted, the backend stops and starts and the client keeps moving.

    flock /tmp/quictun-bench.lock bench/soak.py --build build            # 1,000 transfers
    bench/soak.py --build build --transfers 60 --max-size 1mib            # a quick look

Layout: quictun-netem joins two namespaces (default qtSoakA, qtSoakB) with loss, reordering and
duplication each way. quictun-client runs in A with --test-rebind-every-ms (a new local port every
second), and so does the load generator (this script, `load` mode). quictun-server and the
backend (this script, `backend` mode) run in B. Each transfer is one tunnel:
  echo     N bytes up, echoed back, then the backend's SHA-256 of what it received;
  updown   N bytes up, the backend's SHA-256 of them, then M bytes down and their SHA-256.
The load generator knows every byte it should get back (the data comes from a seeded generator),
so it checks each chunk as it arrives: a corrupted byte is found even in a tunnel that later fails.

Faults, triggered by the number of finished transfers: kill -9 the server and restart it, stop
and start the backend, SIGTERM the server (it drains) and restart it. A transfer that makes no
progress for --stall-s, or is not done within --deadline-s, counts as hung.

Exit status: 0 if no byte was corrupted, nothing hung, no program exited unasked and every fault
ran; 1 otherwise; 2 on a setup error. --json writes every number; the summary goes to stdout.
"""
import argparse
import asyncio
import collections
import hashlib
import json
import os
import random
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINK_SH = REPO / "bench" / "link.sh"
CHUNK = 64 * 1024
HEADER = struct.Struct("!cQQQ")  # kind (b"E"/b"U"), bytes up, bytes down, seed
DIGEST = 32


def parse_size(text):
    m = re.fullmatch(r"(\d+)(b|kib|mib)", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' needs a unit: b, kib or mib (e.g. 16mib)")
    return int(m.group(1)) * {"b": 1, "kib": 1024, "mib": 1 << 20}[m.group(2)]


def stream(seed, size):
    """The deterministic bytes of one direction of one transfer, in CHUNK pieces."""
    rng = random.Random(seed)
    left = size
    while left > 0:
        n = min(CHUNK, left)
        yield rng.randbytes(n)
        left -= n


def digest_of(seed, size):
    h = hashlib.sha256()
    for c in stream(seed, size):
        h.update(c)
    return h.digest()


# ------------------------------------------------------------------------------ backend mode
async def serve_one(reader, writer):
    try:
        kind, up, down, seed = HEADER.unpack(await reader.readexactly(HEADER.size))
        h = hashlib.sha256()
        left = up
        while left > 0:
            data = await reader.read(min(CHUNK, left))
            if not data:
                return
            h.update(data)
            left -= len(data)
            if kind == b"E":
                writer.write(data)
                await writer.drain()
        writer.write(h.digest())
        if kind == b"U":
            out = hashlib.sha256()
            for c in stream(seed ^ 0xD0, down):
                out.update(c)
                writer.write(c)
                await writer.drain()
            writer.write(out.digest())
        await writer.drain()
        writer.write_eof()
        await reader.read(1)  # the client closes first, so the last bytes are never cut off
    except (ConnectionError, asyncio.IncompleteReadError, OSError):
        pass
    finally:
        writer.close()


async def backend_main(a):
    server = await asyncio.start_server(serve_one, "127.0.0.1", a.port, backlog=1024,
                                        reuse_address=True)
    print("backend listening", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


# ------------------------------------------------------------------------------ load mode
class Mismatch(Exception):
    pass


async def read_checked(reader, seed, size, progress, what):
    """Reads `size` bytes that must equal stream(seed, size); returns their SHA-256."""
    h = hashlib.sha256()
    got = 0
    for expect in stream(seed, size):
        buf = b""
        while len(buf) < len(expect):
            data = await reader.read(len(expect) - len(buf))
            if not data:
                raise EOFError(f"{what}: end of stream after {got + len(buf)} of {size} bytes")
            buf += data
            progress[0] = time.monotonic()
        if buf != expect:
            first = next(i for i in range(len(buf)) if buf[i] != expect[i])
            bad = sum(1 for x, y in zip(buf, expect) if x != y)
            raise Mismatch(f"{what}: {bad} bytes differ from offset {got + first}", bad)
        h.update(buf)
        got += len(buf)
    return h.digest()


async def read_digest(reader, expect, progress, what):
    try:
        d = await reader.readexactly(DIGEST)
    except asyncio.IncompleteReadError as e:
        raise EOFError(f"{what}: end of stream inside the digest ({len(e.partial)} of 32)") from None
    progress[0] = time.monotonic()
    if d != expect:
        raise Mismatch(f"{what}: digest differs", DIGEST)


async def transfer(port, t, progress):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        writer.write(HEADER.pack(t["kind"].encode()[:1], t["up"], t["down"], t["seed"]))

        async def send():
            for c in stream(t["seed"], t["up"]):
                writer.write(c)
                await writer.drain()
                progress[0] = time.monotonic()

        sender = asyncio.create_task(send())
        try:
            if t["kind"] == "E":
                await read_checked(reader, t["seed"], t["up"], progress, "echo")
                await sender
                await read_digest(reader, digest_of(t["seed"], t["up"]), progress, "upload digest")
            else:
                await sender
                await read_digest(reader, digest_of(t["seed"], t["up"]), progress, "upload digest")
                d = await read_checked(reader, t["seed"] ^ 0xD0, t["down"], progress, "download")
                await read_digest(reader, d, progress, "download digest")
            extra = await reader.read(1)
            if extra:
                raise Mismatch("bytes after the end of the transfer", 1)
        finally:
            if not sender.done():
                sender.cancel()
                try:
                    await sender
                except (asyncio.CancelledError, Exception):
                    pass
    finally:
        writer.close()


def plan(a):
    rng = random.Random(a.seed)
    lo, hi = a.min_size.bit_length(), a.max_size.bit_length()

    def size():
        return max(a.min_size, min(a.max_size, int(2 ** rng.uniform(lo - 1, hi - 1))))

    out = []
    for i in range(a.transfers):
        kind = "E" if rng.random() < 0.5 else "U"
        up, down = size(), size()
        if i == 0:
            up = down = a.max_size  # the extremes always run
        if i == 1:
            up = down = a.min_size
        out.append({"i": i, "kind": kind, "up": up, "down": down if kind == "U" else 0,
                    "seed": rng.getrandbits(62)})
    return out


async def load_main(a):
    sem = asyncio.Semaphore(a.concurrency)
    t0 = time.time()

    async def one(t):
        async with sem:
            progress = [time.monotonic()]
            start = time.monotonic()
            rec = dict(t, start=time.time() - t0)
            job = asyncio.create_task(transfer(a.port, t, progress))
            try:
                while True:
                    done, _ = await asyncio.wait({job}, timeout=1.0)
                    if done:
                        job.result()
                        rec["result"] = "ok"
                        break
                    now = time.monotonic()
                    if now - progress[0] > a.stall_s or now - start > a.deadline_s:
                        job.cancel()
                        rec["result"] = "hung"
                        rec["error"] = (f"no progress for {now - progress[0]:.0f} s"
                                        if now - progress[0] > a.stall_s else
                                        f"not done after {a.deadline_s} s")
                        break
            except Mismatch as e:
                rec["result"], rec["error"], rec["corrupt"] = "corrupt", str(e.args[0]), e.args[1]
            except (EOFError, ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                rec["result"], rec["error"] = "failed", f"{type(e).__name__}: {e}"
            rec["end"] = time.time() - t0
            print(json.dumps(rec), flush=True)
            if rec["result"] != "ok":
                # As an application would before it tries again: without it, a refused tunnel
                # frees its slot at once and the rest of the run burns through a 2 s outage.
                await asyncio.sleep(a.backoff_s)

    await asyncio.gather(*(one(t) for t in plan(a)))


# ------------------------------------------------------------------------------ orchestrator
def q(cmd):
    return " ".join(shlex.quote(str(c)) for c in cmd)


def nsx(ns):
    return ["ip", "netns", "exec", ns]


# Fixed ports are safe: the namespaces are created for this run, so nothing else listens there.
SERVER_UDP_PORT, BACKEND_PORT, CLIENT_PORT = 7600, 7700, 6600


class Run:
    def __init__(self, a):
        self.a = a
        self.logdir = a.logdir
        self.bindir = a.build / "bin"
        self.events = []  # (time, text)
        self.t0 = time.time()
        self.unexpected = []  # exits nobody asked for
        self.n = 0

    def event(self, text):
        t = time.time() - self.t0
        self.events.append((round(t, 1), text))
        print(f"[{t:7.1f}s] {text}", flush=True)

    def spawn(self, cmd, name, stdout=None):
        self.n += 1
        path = self.logdir / f"{name}.log"
        f = open(path, "a")
        f.write(f"$ {q(cmd)}\n")
        f.flush()
        p = subprocess.Popen([str(c) for c in cmd], stdout=stdout or f,
                             stderr=f if stdout else subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, text=True)
        p.logpath = path
        return p

    def wait_log(self, path, text, since, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if text in path.read_text(errors="replace")[since:]:
                return True
            time.sleep(0.05)
        return False

    def start_server(self):
        a = self.a
        since = (self.logdir / "server.log").stat().st_size if (self.logdir / "server.log").exists() else 0
        self.server = self.spawn(nsx(a.ns_b) + [
            self.bindir / "quictun-server", "--listen-on", f"{a.addr_b}:{self.udp}",
            "--plugin-dir", a.build / "plugins", "--allow", f"tcp:127.0.0.1:{self.backend_port}",
            "--drain-timeout-ms", str(a.drain_ms), "--log-level", "info"] + a.server_arg, "server")
        if not self.wait_log(self.server.logpath, "listening", since):
            raise RuntimeError(f"server did not start; see {self.server.logpath}")

    def start_backend(self):
        since = (self.logdir / "backend.log").stat().st_size if (self.logdir / "backend.log").exists() else 0
        self.backend = self.spawn(nsx(self.a.ns_b) + [sys.executable, __file__, "backend", "--port",
                                                      str(self.backend_port)], "backend")
        if not self.wait_log(self.backend.logpath, "backend listening", since):
            raise RuntimeError(f"backend did not start; see {self.backend.logpath}")

    def stop(self, p, sig, what, timeout):
        """Sends `sig` to a process we started and waits; the exit code is what it chose."""
        os.kill(p.pid, sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.unexpected.append(f"{what} still running {timeout} s after {signal.Signals(sig).name}")
            os.kill(p.pid, signal.SIGKILL)
            return p.wait(10)

    def check_alive(self):
        for p, what in ((self.server, "quictun-server"), (self.client, "quictun-client")):
            if p.poll() is not None and not getattr(p, "reported", False):
                p.reported = True
                self.unexpected.append(f"{what} exited by itself with status {p.returncode}")
                self.event(f"UNEXPECTED: {what} exited with status {p.returncode}")

    # -- faults, each returns when the system is back up
    def kill_server(self, sig):
        name = signal.Signals(sig).name
        self.event(f"fault: {name} to quictun-server (pid {self.server.pid})")
        self.server.reported = True
        rc = self.stop(self.server, sig, "quictun-server", self.a.drain_ms / 1000 + 20)
        expect = -sig if sig == signal.SIGKILL else 0
        self.event(f"quictun-server exited with status {rc}" +
                   ("" if rc == expect else f" (expected {expect})"))
        if rc != expect:
            self.unexpected.append(f"quictun-server exited with {rc} after {name}, expected {expect}")
        time.sleep(self.a.down_s)
        self.start_server()
        self.event("quictun-server restarted")

    def bounce_backend(self):
        self.event("fault: backend stopped")
        self.stop(self.backend, signal.SIGTERM, "backend", 10)
        time.sleep(self.a.down_s)
        self.start_backend()
        self.event("backend started again")

    def run(self):
        a = self.a
        for b in ("quictun-server", "quictun-client", "quictun-netem"):
            if not (self.bindir / b).exists():
                raise RuntimeError(f"{self.bindir / b} not found; build first (--build)")
        existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
        for ns in (a.ns_a, a.ns_b):
            if ns in existing:
                raise RuntimeError(f"namespace {ns} exists (a previous run?); remove it with "
                                   f"'ip netns del {ns}' or pick --ns-a/--ns-b")
        self.udp, self.backend_port, self.local_port = SERVER_UDP_PORT, BACKEND_PORT, CLIENT_PORT
        env = dict(os.environ, QUICTUN_NETEM=str(self.bindir / "quictun-netem"),
                   QUICTUN_NETEM_STATE=str(self.logdir / "netem"))
        link_cmd = [LINK_SH, "start", "--name", "soak", "--ns-a", a.ns_a, "--ns-b", a.ns_b,
                    "--seed", str(a.seed)] + a.link
        self.link_cmd = q(["bench/link.sh"] + link_cmd[1:])
        r = subprocess.run([str(c) for c in link_cmd], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"link did not start: {r.stderr.strip()}")
        self.event("link up: " + " ".join(a.link))
        loader = None
        try:
            for ns in (a.ns_a, a.ns_b):
                subprocess.run(nsx(ns) + ["ip", "link", "set", "lo", "up"], check=True)
            self.start_backend()
            self.start_server()
            rebind = ["--test-rebind-every-ms", str(a.rebind_ms)] if a.rebind_ms else []
            self.client = self.spawn(nsx(a.ns_a) + [
                self.bindir / "quictun-client", "--listen-on", f"tcp:127.0.0.1:{self.local_port}",
                "--server-endpoint", f"{a.addr_b}:{self.udp}", "--insecure-skip-verify",
                "--plugin-dir", a.build / "plugins",
                "--token-source", f"tcp:127.0.0.1:{self.backend_port}",
                "--log-level", "info"] + rebind + a.client_arg,
                "client")
            if not self.wait_log(self.client.logpath, "listening on", 0):
                raise RuntimeError(f"client did not start; see {self.client.logpath}")
            self.event(f"client up, moving to a new local port every {a.rebind_ms} ms")
            loader = self.spawn(nsx(a.ns_a) + [
                sys.executable, __file__, "load", "--port", str(self.local_port),
                "--transfers", str(a.transfers), "--concurrency", str(a.concurrency),
                "--min-size", f"{a.min_size}b", "--max-size", f"{a.max_size}b",
                "--seed", str(a.seed), "--stall-s", str(a.stall_s), "--deadline-s",
                str(a.deadline_s), "--backoff-s", str(a.backoff_s)], "load", stdout=subprocess.PIPE)
            self.records = []
            lines = collections.deque()

            def pump():
                for line in loader.stdout:
                    lines.append(line)

            reader = threading.Thread(target=pump, daemon=True)
            reader.start()
            faults = [(0.15, lambda: self.kill_server(signal.SIGKILL)),
                      (0.40, self.bounce_backend),
                      (0.65, lambda: self.kill_server(signal.SIGTERM))]
            last_fault = 0.0
            with open(self.logdir / "transfers.jsonl", "w") as out:
                while reader.is_alive() or lines:
                    while lines:
                        line = lines.popleft()
                        out.write(line)
                        out.flush()
                        self.records.append(json.loads(line))
                        if len(self.records) % 50 == 0:
                            self.event(f"{len(self.records)} transfers finished")
                    # A gap after each fault lets the tunnels it broke show up under it.
                    if (faults and len(self.records) >= faults[0][0] * a.transfers
                            and time.time() - last_fault >= a.fault_gap_s):
                        faults.pop(0)[1]()
                        last_fault = time.time()
                        continue
                    self.check_alive()
                    time.sleep(0.2)
            loader.wait()
            self.check_alive()
            self.faults_not_run = [f"after {frac:.0%} of the transfers" for frac, _ in faults]
        finally:
            self.teardown(loader, env)

    def teardown(self, loader, env):
        if loader and loader.poll() is None:
            loader.kill()
        for p, what in ((getattr(self, "client", None), "quictun-client"),
                        (getattr(self, "server", None), "quictun-server"),
                        (getattr(self, "backend", None), "backend")):
            if p is None or p.poll() is not None:
                continue
            rc = self.stop(p, signal.SIGTERM, what, 40)
            if rc != 0 and what != "backend":
                self.unexpected.append(f"{what} exited with status {rc} on the final SIGTERM")
        r = subprocess.run([str(LINK_SH), "stop", "--name", "soak"], env=env, capture_output=True,
                           text=True)
        self.link_stats = {}
        stats = self.logdir / "netem" / "soak" / "stats.json"
        if stats.exists():
            self.link_stats = json.loads(stats.read_text())
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)


def log_errors(path):
    """warn/error lines of a log, with numbers blanked so repeats group together."""
    c = collections.Counter()
    if not path.exists():
        return c
    for line in path.read_text(errors="replace").splitlines():
        low = line.lower()
        if not re.search(r"\b(warn|warning|error|err|critical|fatal)\b", low):
            continue
        msg = re.sub(r"^.*?\b(warn|warning|error|err|critical|fatal)\b\]?:?\s*", "", line, flags=re.I)
        c[re.sub(r"\d+", "N", msg)[:160]] += 1
    return c


CRASH_MARKS = ("AddressSanitizer", "runtime error:", "terminate called", "Segmentation fault",
               "Aborted", "core dumped", "assertion", "Assertion")


def summarise(run, a):
    recs = run.records
    by = collections.Counter(r["result"] for r in recs)
    moved = sum(r["up"] + r["down"] + (r["up"] if r["kind"] == "E" else 0)
                for r in recs if r["result"] == "ok")
    corrupt = sum(r.get("corrupt", 0) for r in recs)
    failed_errors = collections.Counter(re.sub(r"\d+", "N", r["error"]) for r in recs
                                        if r["result"] == "failed")
    hung = [r for r in recs if r["result"] == "hung"]
    missing = a.transfers - len(recs)
    crash_lines = []
    for name in ("server", "client"):
        for line in (a.logdir / f"{name}.log").read_text(errors="replace").splitlines():
            if any(m in line for m in CRASH_MARKS):
                crash_lines.append(f"{name}: {line.strip()[:200]}")
    # Which fault each failed tunnel overlapped: the latest event that started before its end.
    faults = [(t, e) for t, e in run.events if e.startswith("fault")]
    near = collections.Counter()
    for r in recs:
        if r["result"] != "failed":
            continue
        cause = "none (no fault before it)"
        for t, e in faults:
            if t - 1 <= r["end"]:
                cause = e.split(" (pid")[0]
        near[cause] += 1
    clog = (a.logdir / "client.log").read_text(errors="replace")
    s = {
        "client_moves": clog.count("connection moved to"),
        "client_new_connections": clog.count("connected to server"),
        "transfers": a.transfers, "finished": len(recs), "not_reported": missing,
        "intact": by["ok"], "failed_with_error": by["failed"], "hung": len(hung),
        "corrupt_transfers": by["corrupt"], "corrupt_bytes": corrupt, "bytes_checked_ok": moved,
        "failed_errors": dict(failed_errors.most_common(10)),
        "failed_by_fault": dict(near), "hung_examples": hung[:5],
        "server_log_errors": dict(log_errors(a.logdir / "server.log").most_common(12)),
        "client_log_errors": dict(log_errors(a.logdir / "client.log").most_common(12)),
        "faults_not_run": getattr(run, "faults_not_run", []),
        "unexpected_exits": run.unexpected, "crash_lines": crash_lines[:10],
        "events": run.events, "link": run.link_cmd, "link_stats": run.link_stats,
        "elapsed_s": round(time.time() - run.t0, 1),
    }
    s["ok"] = (corrupt == 0 and by["corrupt"] == 0 and not hung and missing == 0
               and not run.unexpected and not crash_lines and not s["faults_not_run"])
    return s


def print_summary(s):
    print("\n== soak summary ==")
    print(f"transfers: {s['transfers']}  intact: {s['intact']}  failed with an error: "
          f"{s['failed_with_error']}  hung: {s['hung']}  corrupt: {s['corrupt_transfers']} "
          f"({s['corrupt_bytes']} bytes)  never reported: {s['not_reported']}")
    print(f"bytes moved and checked in intact transfers: {s['bytes_checked_ok']} "
          f"({s['bytes_checked_ok'] / 2**20:.0f} MiB) in {s['elapsed_s']} s")
    print(f"client moved to a new port {s['client_moves']} times; "
          f"client connected {s['client_new_connections']} times")
    print(f"failed tunnels by the fault before them: {s['failed_by_fault']}")
    print("errors the application saw:")
    for e, n in s["failed_errors"].items():
        print(f"  {n:5d}  {e}")
    for who in ("server", "client"):
        print(f"{who} log warn/error lines (numbers as N):")
        for e, n in s[f"{who}_log_errors"].items():
            print(f"  {n:5d}  {e}")
    for h in s["hung_examples"]:
        print(f"hung: {h}")
    for d in ("a2b", "b2a"):
        st = s["link_stats"].get(d, {})
        if st:
            print(f"link {d}: {st['rx_packets']} packets in, lost {st['dropped']['loss']}, "
                  f"reordered {st['reordered']}, duplicated {st.get('duplicated', '?')}")
    print(f"unexpected exits: {s['unexpected_exits'] or 'none'}; crash marks in logs: "
          f"{s['crash_lines'] or 'none'}")
    if s["faults_not_run"]:
        print(f"faults not run (the transfers ended first): {s['faults_not_run']}")
    print("RESULT:", "PASS" if s["ok"] else "FAIL")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode")
    b = sub.add_parser("backend", help=argparse.SUPPRESS)
    b.add_argument("--port", type=int, required=True)
    ld = sub.add_parser("load", help=argparse.SUPPRESS)
    ld.add_argument("--port", type=int, required=True)
    for p in (ap, ld):
        p.add_argument("--transfers", type=int, default=1000)
        p.add_argument("--concurrency", type=int, default=50, help="transfers at a time")
        p.add_argument("--min-size", type=parse_size, default=parse_size("1kib"))
        p.add_argument("--max-size", type=parse_size, default=parse_size("16mib"))
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--stall-s", type=float, default=120,
                       help="a transfer with no byte moved for this long is hung")
        p.add_argument("--deadline-s", type=float, default=900,
                       help="a transfer not done after this long is hung")
        p.add_argument("--backoff-s", type=float, default=1.0,
                       help="a slot whose transfer failed waits this long before the next")
    ap.add_argument("--build", type=Path, default=REPO / "build")
    ap.add_argument("--logdir", type=Path, default=None, help="default: bench/logs/soak-TIME")
    ap.add_argument("--json", type=Path, default=None, help="write the summary here too")
    ap.add_argument("--ns-a", default="qtSoakA")
    ap.add_argument("--ns-b", default="qtSoakB")
    ap.add_argument("--addr-b", default="10.77.0.2", help="the server's address (netem's side B)")
    ap.add_argument("--link", default="--delay 5ms --loss 10% --reorder 5% --reorder-delay 10ms "
                    "--duplicate 5%", help="quictun-netem impairment flags, one string")
    ap.add_argument("--rebind-ms", type=int, default=1000, help="client --test-rebind-every-ms (0: the client never moves)")
    ap.add_argument("--drain-ms", type=int, default=5000, help="server --drain-timeout-ms")
    ap.add_argument("--down-s", type=float, default=2.0, help="how long a stopped part stays down")
    ap.add_argument("--fault-gap-s", type=float, default=5.0,
                    help="at least this long between the end of one fault and the next")
    ap.add_argument("--server-arg", action="append", default=[], help="extra server flag (repeat)")
    ap.add_argument("--client-arg", action="append", default=[], help="extra client flag (repeat)")
    a = ap.parse_args()
    if a.mode == "backend":
        asyncio.run(backend_main(a))
        return 0
    if a.mode == "load":
        asyncio.run(load_main(a))
        return 0
    if a.min_size > a.max_size:
        ap.error("--min-size is larger than --max-size")
    if os.geteuid() != 0:
        ap.error("needs root (network namespaces for the emulated link)")
    a.link = shlex.split(a.link)
    a.build = a.build.resolve()
    a.logdir = (a.logdir or REPO / "bench" / "logs" / time.strftime("soak-%Y%m%d-%H%M%S")).resolve()
    a.logdir.mkdir(parents=True, exist_ok=True)
    run = Run(a)
    try:
        run.run()
    except RuntimeError as e:
        print(f"soak.py: {e}", file=sys.stderr)
        return 2
    s = summarise(run, a)
    print_summary(s)
    print(f"logs: {a.logdir}")
    text = json.dumps(s, indent=1)
    (a.logdir / "summary.json").write_text(text)
    if a.json:
        a.json.write_text(text)
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
