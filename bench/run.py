#!/usr/bin/env python3
"""quictun benchmark runner: see bench/README.md. Normally started by bench/run.sh.

Runs every scenario of issue 4 over the quictun-netem emulated link (or loopback), for plain
TCP (cubic, bbr), quictun (cubic, reno, bbr) and kcptun, N times each, and writes
bench/RESULTS.md, bench/results.json and bench/plots/*.png.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
LINK_SH = BENCH / "link.sh"
RR = BENCH / "rr.py"
PY = sys.executable or "/usr/bin/python3"

IPERF_PORT = 5201
RR_PORT = 7000
QT_UDP_PORT = 7500
QT_LOCAL_PORT = 6500
KCP_UDP_PORT = 29900
KCP_LOCAL_PORT = 6600
ADDR_A = "10.77.0.1"
ADDR_B = "10.77.0.2"
RATE = "100mbit"

# kcptun settings (recorded in RESULTS.md). Windows are in packets: 2048 x 1350 B = 2.7 MB,
# above the 2.5 MB bandwidth-delay product of the 200 ms case. FEC left at kcptun's default
# (10 data + 3 parity shards) because that is how kcptun is meant to be used on lossy links.
KCP_OPTS = ["--mode", "fast2", "--sndwnd", "2048", "--rcvwnd", "2048", "--nocomp",
            "--crypt", "none", "--mtu", "1350", "--datashard", "10", "--parityshard", "3",
            "--sockbuf", "16777216", "--quiet"]

# quictun-CC runs with its defaults (ARQ below QUIC on, negotiated); quictun-bbr-plain turns ARQ
# off (--arq off), which is also what a quictun client gets from a Go quic-tun server.
QT_VARIANTS = ["quictun-cubic", "quictun-reno", "quictun-bbr", "quictun-bbr-plain", "quictun-bbr1", "quictun-bbr1-arq",
               "quictun-brutal"]
# go-client-bbr1: bench/go-client (quic-go, quic-tun's wire protocol, standing in for the Go
# quic-tun client) fetching from a quictun server with its default controller. Only the download
# scenarios run it: there the quictun server sends, and its controller is what is measured.
GO_CLIENT_VARIANTS = ["go-client-bbr1"]
VARIANTS = ["tcp-cubic", "tcp-bbr"] + QT_VARIANTS + ["kcptun"] + GO_CLIENT_VARIANTS
TUNNEL_VARIANTS = QT_VARIANTS + ["kcptun"] + GO_CLIENT_VARIANTS
GO_CLIENT_BIN = "quictun-bench-go-client"

LOG = None  # file for the full command log


def log(msg):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if LOG:
        LOG.write(line + "\n")
        LOG.flush()


def q(cmd):
    return " ".join(shlex.quote(str(c)) for c in cmd)


# ------------------------------------------------------------------------------ processes
class Procs:
    """Every background process we start, in its own session, so we can end exactly those."""

    def __init__(self, logdir):
        self.live = []
        self.logdir = logdir
        self.n = 0

    def spawn(self, cmd, name):
        self.n += 1
        path = self.logdir / f"{self.n:04d}-{name}.log"
        f = open(path, "w")
        f.write("$ " + q(cmd) + "\n")
        f.flush()
        p = subprocess.Popen([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        p._logpath = path  # noqa: SLF001
        p._name = name  # noqa: SLF001
        self.live.append(p)
        if LOG:
            LOG.write(f"  spawn[{p.pid}] {q(cmd)}\n")
        return p

    def stop(self, p, grace=3.0):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(5)
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p, grace=2.0)


def run(cmd, timeout, check=True):
    if LOG:
        LOG.write(f"  run {q(cmd)}\n")
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       start_new_session=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{q(cmd)} failed ({r.returncode}): {r.stderr.strip()[-800:]}")
    return r


def nsx(ns):
    return ["ip", "netns", "exec", ns] if ns else []


def wait_listen(ns, port, udp=False, timeout=10.0):
    flag = "-Hlun" if udp else "-Hltn"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = run(nsx(ns) + ["ss", flag, f"sport = :{port}"], timeout=5, check=False)
        if r.stdout.strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {'udp' if udp else 'tcp'} port {port} in {ns}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime


def set_ns_sysctls(ns):
    # Big enough TCP buffers for 2.5 MB BDP, no cached metrics (ssthresh) between runs.
    cmds = [["sysctl", "-qw", "net.ipv4.tcp_rmem=4096 131072 33554432"],
            ["sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 33554432"],
            ["sysctl", "-qw", "net.ipv4.tcp_no_metrics_save=1"]]
    for c in cmds:
        run(nsx(ns) + c, timeout=10)


# ------------------------------------------------------------------------------ the link
class Link:
    def __init__(self, args, name):
        self.args = args
        self.name = name
        self.env = dict(os.environ, QUICTUN_NETEM=str(args.build_dir / "bin" / "quictun-netem"),
                        QUICTUN_NETEM_STATE=str(args.state_dir))
        self.up = False

    def start(self, flags):
        cmd = [LINK_SH, "start", "--name", self.name, "--ns-a", self.args.ns_a, "--ns-b",
               self.args.ns_b, "--seed", "1"] + flags
        log("link: " + q(cmd[1:]))
        subprocess.run([str(c) for c in cmd], env=self.env, check=True, timeout=30,
                       capture_output=True, text=True)
        self.up = True
        for ns in (self.args.ns_a, self.args.ns_b):
            set_ns_sysctls(ns)

    def stats(self):
        r = subprocess.run([str(LINK_SH), "stats", "--name", self.name], env=self.env,
                           check=True, timeout=10, capture_output=True, text=True)
        return json.loads(r.stdout)

    def stop(self):
        if not self.up:
            return
        self.up = False
        r = subprocess.run([str(LINK_SH), "stop", "--name", self.name], env=self.env,
                           timeout=30, capture_output=True, text=True)
        if LOG:
            LOG.write(r.stdout + r.stderr)


def wire_bytes(s0, s1):
    return sum(s1[d]["rx_bytes"] - s0[d]["rx_bytes"] for d in ("a2b", "b2a"))


# ------------------------------------------------------------------------------ tunnels
class Placement:
    """Where things run: client side namespace, server side namespace, server address."""

    def __init__(self, ns_a, ns_b, server_addr):
        self.ns_a, self.ns_b, self.server_addr = ns_a, ns_b, server_addr


def start_path(procs, args, variant, pl, backend_port, slot=0):
    """Start whatever carries client->backend traffic for this variant.

    `slot` shifts every port, so that two paths (two tunnels) can run side by side.
    Returns (host, port to connect to from ns_a, [(side, Popen)] of tunnel processes)."""
    udp_port, local_port = QT_UDP_PORT + slot, QT_LOCAL_PORT + slot
    bindir = args.build_dir / "bin"
    if variant.startswith("tcp-"):
        # the congestion controller is set per socket: iperf3 -C, rr.py --cc
        return pl.server_addr, backend_port, []
    if variant.startswith("quictun-"):
        cc = variant.split("-")[1]
        extra = []  # both sides
        if cc == "brutal":  # the link's declared rate; each side declares what it sends
            extra = ["--bandwidth", "100mbit"]
        arq = (["--arq", "off"] if variant.endswith("-plain") else
               ["--arq", "on"] if variant.endswith("-arq") else [])
        srv = procs.spawn(nsx(pl.ns_b) + [bindir / "quictun-server", "--listen-on",
                          f"{pl.server_addr}:{udp_port}", "--congestion-control", cc,
                          "--log-level", args.tunnel_log_level] + extra, f"qt-server-{cc}")
        wait_listen(pl.ns_b, udp_port, udp=True)
        cli = procs.spawn(nsx(pl.ns_a) + [bindir / "quictun-client", "--listen-on",
                          f"tcp:127.0.0.1:{local_port}", "--server-endpoint",
                          f"{pl.server_addr}:{udp_port}", "--insecure-skip-verify",
                          "--token-source", f"tcp:127.0.0.1:{backend_port}",
                          "--congestion-control", cc, "--log-level", args.tunnel_log_level] + extra + arq, f"qt-client-{cc}")
        wait_listen(pl.ns_a, local_port)
        return "127.0.0.1", local_port, [("server", srv), ("client", cli)]
    if variant in GO_CLIENT_VARIANTS:
        cc = variant.split("-")[2]
        srv = procs.spawn(nsx(pl.ns_b) + [bindir / "quictun-server", "--listen-on",
                          f"{pl.server_addr}:{udp_port}", "--congestion-control", cc,
                          "--log-level", args.tunnel_log_level], f"qt-server-{cc}")
        wait_listen(pl.ns_b, udp_port, udp=True)
        cli = procs.spawn(nsx(pl.ns_a) + [bindir / GO_CLIENT_BIN, "-listen-on", f"127.0.0.1:{local_port}",
                          "-server-endpoint", f"{pl.server_addr}:{udp_port}",
                          "-token", f"tcp:127.0.0.1:{backend_port}"], "go-client")
        wait_listen(pl.ns_a, local_port)
        return "127.0.0.1", local_port, [("server", srv), ("client", cli)]
    if variant == "kcptun":
        srv = procs.spawn(nsx(pl.ns_b) + ["kcptun-server", "-l", f"{pl.server_addr}:{KCP_UDP_PORT}",
                          "-t", f"127.0.0.1:{backend_port}"] + KCP_OPTS, "kcp-server")
        wait_listen(pl.ns_b, KCP_UDP_PORT, udp=True)
        cli = procs.spawn(nsx(pl.ns_a) + ["kcptun-client", "-l", f"127.0.0.1:{KCP_LOCAL_PORT}",
                          "-r", f"{pl.server_addr}:{KCP_UDP_PORT}"] + KCP_OPTS, "kcp-client")
        wait_listen(pl.ns_a, KCP_LOCAL_PORT)
        return "127.0.0.1", KCP_LOCAL_PORT, [("server", srv), ("client", cli)]
    raise ValueError(variant)


def stop_path(procs, tun):
    for _, p in tun:
        died = p.poll()
        procs.stop(p)
        if died is not None:
            raise RuntimeError(f"{p._name} exited early ({died}); see {p._logpath}")


# ------------------------------------------------------------------------------ measurements
def iperf_once(procs, args, variant, pl, link=None, cpu=False, duration=None, omit=None,
               reverse=False):
    duration = duration or args.duration
    omit = args.omit if omit is None else omit
    srv = procs.spawn(nsx(pl.ns_b) + ["iperf3", "-s", "-1", "-J", "-p", IPERF_PORT], "iperf3-s")
    tun = []
    try:
        wait_listen(pl.ns_b, IPERF_PORT)
        host, port, tun = start_path(procs, args, variant, pl, IPERF_PORT)
        cmd = nsx(pl.ns_a) + ["iperf3", "-c", host, "-p", port, "-t", duration, "-O", omit,
                              "-J", "--get-server-output"] + (["-R"] if reverse else [])
        if variant.startswith("tcp-"):
            cmd += ["-C", variant.split("-", 1)[1]]
        s0 = link.stats() if link else None
        c0 = {side: cpu_seconds(p.pid) for side, p in tun} if cpu else None
        r = run(cmd, timeout=duration + omit + 60, check=False)
        c1 = {side: cpu_seconds(p.pid) for side, p in tun} if cpu else None
        s1 = link.stats() if link else None
        try:
            j = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(f"iperf3 gave no JSON ({r.returncode}): {r.stderr[-500:]}")
        if "error" in j:
            raise RuntimeError(f"iperf3: {j['error']}")
        recv = j["end"]["sum_received"]
        res = {"mbps": recv["bits_per_second"] / 1e6, "recv_bytes": recv["bytes"],
               "seconds": recv["seconds"]}
        # Every byte the receiver got, omitted seconds included (the link counts those too): the
        # server's intervals, or with -R, where the client receives, the client's own.
        sj = j if reverse else (j.get("server_output_json") or {})
        total = sum(iv["sum"]["bytes"] for iv in sj.get("intervals", []))
        res["recv_bytes_total"] = total
        if link:
            res["wire_bytes"] = wire_bytes(s0, s1)
            res["wire_per_payload"] = res["wire_bytes"] / total if total else None
            res["drops"] = {d: s1[d]["dropped"]["total"] - s0[d]["dropped"]["total"]
                            for d in ("a2b", "b2a")}
            res["queue_drops"] = {d: s1[d]["dropped"]["queue"] - s0[d]["dropped"]["queue"]
                                  for d in ("a2b", "b2a")}
        if variant.startswith("tcp-"):
            res["retransmits"] = j["end"]["sum_sent"].get("retransmits")
        if cpu:
            res["cpu_s"] = {k: c1[k] - c0[k] for k in c0}
            res["mb_per_cpu_s"] = {k: (total / 1e6) / v if v > 0 else None
                                   for k, v in res["cpu_s"].items()}
        return res
    finally:
        stop_path(procs, tun) if tun else None
        procs.stop(srv)


def share_once(procs, args, variants, pl, link):
    """Flows of `variants` through one bottleneck at once (each its own tunnel and iperf3);
    returns each flow's Mbit/s and share of their sum."""
    servers, tuns, clients = [], [], []
    try:
        for i, v in enumerate(variants):
            port = int(IPERF_PORT) + 10 + i
            servers.append(procs.spawn(nsx(pl.ns_b) + ["iperf3", "-s", "-1", "-J", "-p", port],
                                       f"iperf3-s{i}"))
            wait_listen(pl.ns_b, port)
            host, lport, tun = start_path(procs, args, v, pl, port, slot=1 + i)
            tuns.append(tun)
            cmd = nsx(pl.ns_a) + ["iperf3", "-c", host, "-p", lport, "-t", args.duration,
                                  "-O", args.omit, "-J"]
            if v.startswith("tcp-"):
                cmd += ["-C", v.split("-", 1)[1]]
            clients.append(cmd)
        s0 = link.stats()
        running = [subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for cmd in clients]
        outs = [p.communicate(timeout=int(args.duration) + int(args.omit) + 60) for p in running]
        s1 = link.stats()
        mbps = []
        for (out, err), v in zip(outs, variants):
            j = json.loads(out) if out.strip() else {"error": err[-300:]}
            if "error" in j:
                raise RuntimeError(f"iperf3 ({v}): {j['error']}")
            mbps.append(j["end"]["sum_received"]["bits_per_second"] / 1e6)
        total = sum(mbps)
        return {"mbps": total, "flows": [{"variant": v, "mbps": m, "share": m / total if total else None}
                                         for v, m in zip(variants, mbps)],
                "queue_drops": {d: s1[d]["dropped"]["queue"] - s0[d]["dropped"]["queue"]
                                for d in ("a2b", "b2a")}}
    finally:
        for tun in tuns:
            stop_path(procs, tun)
        for p in servers:
            procs.stop(p)


def rr_once(procs, args, variant, pl, mode):
    cc = ["--cc", variant[4:]] if variant.startswith("tcp-") else []
    srv = procs.spawn(nsx(pl.ns_b) + [PY, RR, "serve", "--listen", f"0.0.0.0:{RR_PORT}"] + cc,
                      "rr-serve")
    tun = []
    try:
        wait_listen(pl.ns_b, RR_PORT)
        host, port, tun = start_path(procs, args, variant, pl, RR_PORT)
        # warm-up: the tunnel's QUIC/KCP connection is established before we measure
        run(nsx(pl.ns_a) + [PY, RR, "ttfb", "--connect", f"{host}:{port}", "--samples", "2"] + cc,
            timeout=60)
        if mode == "ttfb":
            r = run(nsx(pl.ns_a) + [PY, RR, "ttfb", "--connect", f"{host}:{port}", "--samples",
                    args.ttfb_samples] + cc, timeout=120)
            s = json.loads(r.stdout)["samples"]
            t = sorted(x["ttfb_ms"] for x in s)
            return {"ttfb_ms": statistics.median(t), "ttfb_min_ms": t[0], "ttfb_max_ms": t[-1],
                    "connect_ms": statistics.median(x["connect_ms"] for x in s)}
        r = run(nsx(pl.ns_a) + [PY, RR, "many", "--connect", f"{host}:{port}", "--count",
                args.conns, "--size", args.conn_size, "--concurrency", args.conn_concurrency,
                "--deadline-s", args.conn_deadline] + cc, timeout=args.conn_deadline + 30,
                check=False)
        try:
            j = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(f"rr.py many: no result ({r.returncode}): {r.stderr[-500:]}")
        if j["errors"]:
            raise RuntimeError(f"rr.py many: {j['errors']} errors, e.g. {j['first_errors']}")
        return {"total_s": j["total_s"], "conn_median_s": j["conn_median_s"]}
    finally:
        stop_path(procs, tun) if tun else None
        procs.stop(srv)


# ------------------------------------------------------------------------------ scenarios
def bdp_queue(rtt_ms):
    return f"{int(100e6 / 8 * rtt_ms / 1000)}b"


def scenarios(args):
    out = []
    out.append({"id": "loopback", "title": "Loopback, no emulator (CPU ceiling)", "kind": "loop"})
    for loss in (0, 1, 5, 10):
        out.append({"id": f"rtt50-loss{loss}", "title": f"100 Mbit/s, 50 ms RTT, {loss} % loss",
                    "kind": "goodput", "rtt": 50, "loss": loss,
                    "flags": ["--rate", RATE, "--delay", "25ms", "--loss", f"{loss}%",
                              "--queue", bdp_queue(50)]})
    for loss in (1, 5, 10):
        out.append({"id": f"rtt200-loss{loss}", "title": f"100 Mbit/s, 200 ms RTT, {loss} % loss",
                    "kind": "goodput", "rtt": 200, "loss": loss,
                    "flags": ["--rate", RATE, "--delay", "100ms", "--loss", f"{loss}%",
                              "--queue", bdp_queue(200)]})
    # Downloads (iperf3 -R): the server sends, so its controller is the one measured.
    for rtt, loss in ((50, 5), (50, 10), (200, 5)):
        out.append({"id": f"rtt{rtt}-loss{loss}-dl", "kind": "goodput", "rtt": rtt, "loss": loss,
                    "reverse": True,
                    "title": f"Download (server to client, iperf3 -R), 100 Mbit/s, {rtt} ms RTT, "
                             f"{loss} % loss",
                    "flags": ["--rate", RATE, "--delay", f"{rtt // 2}ms", "--loss", f"{loss}%",
                              "--queue", bdp_queue(rtt)]})
    # Flows sharing one bottleneck: two quictun tunnels (two QUIC connections), quictun against
    # TCP cubic, and TCP bbr against itself for reference. Shares are reported, not targets,
    # but for two quictun flows (40-60 % each).
    for mix in (("quictun-bbr1", "quictun-bbr1"), ("quictun-bbr1", "tcp-cubic"), ("tcp-bbr", "tcp-bbr")):
        out.append({"id": "share-" + "+".join(v.replace("quictun-", "qt-") for v in mix),
                    "kind": "share", "rtt": 50, "loss": 1, "mix": list(mix),
                    "title": f"Sharing: {mix[0]} and {mix[1]} at once, 100 Mbit/s, 50 ms RTT, 1 % loss",
                    "flags": ["--rate", RATE, "--delay", "25ms", "--loss", "1%",
                              "--queue", bdp_queue(50)]})
    out.append({"id": "rtt50-ge", "kind": "goodput", "rtt": 50, "loss": "GE",
                "title": "100 Mbit/s, 50 ms RTT, bursty loss (Gilbert-Elliott p=1 %, r=25 %: "
                         "mean burst 4 packets, ~3.8 % loss)",
                "flags": ["--rate", RATE, "--delay", "25ms", "--ge-p", "1%", "--ge-r", "25%",
                          "--queue", bdp_queue(50)]})
    out.append({"id": "ttfb", "kind": "ttfb", "rtt": 50,
                "title": "Time to first response byte of a new connection, 50 ms RTT",
                "flags": ["--rate", RATE, "--delay", "25ms", "--queue", bdp_queue(50)]})
    out.append({"id": "conns", "kind": "conns", "rtt": 50,
                "title": f"{args.conns} short connections x {args.conn_size // 1024} KiB, "
                         f"{args.conn_concurrency} at a time, 100 Mbit/s 50 ms RTT, no loss",
                "flags": ["--rate", RATE, "--delay", "25ms", "--queue", bdp_queue(50)]})
    return out


def run_scenario(procs, args, sc, results):
    variants = [v for v in args.variants if not (sc["kind"] == "loop" and v.startswith("tcp-"))
                and (v not in GO_CLIENT_VARIANTS or sc.get("reverse"))]
    if sc["kind"] == "loop":
        ns = args.ns_lo
        run(["ip", "netns", "add", ns], timeout=10)
        try:
            run(nsx(ns) + ["ip", "link", "set", "lo", "up"], timeout=10)
            set_ns_sysctls(ns)
            pl = Placement(ns, ns, "127.0.0.1")
            for rep in range(args.repeats):
                for v in variants:
                    measure(procs, args, sc, v, rep, results,
                            lambda v=v: iperf_once(procs, args, v, pl, cpu=True))
        finally:
            run(["ip", "netns", "del", ns], timeout=10, check=False)
        return
    link = Link(args, args.link_name)
    link.start(sc["flags"])
    sc["link_cmd"] = q(["bench/link.sh", "start", "--ns-a", args.ns_a, "--ns-b", args.ns_b,
                        "--seed", "1"] + sc["flags"])
    try:
        pl = Placement(args.ns_a, args.ns_b, ADDR_B)
        if sc["kind"] == "share":
            for rep in range(args.repeats):
                measure(procs, args, sc, "+".join(sc["mix"]), rep, results,
                        lambda: share_once(procs, args, sc["mix"], pl, link))
            return
        for rep in range(args.repeats):
            for v in variants:
                if sc["kind"] == "goodput":
                    fn = lambda v=v: iperf_once(procs, args, v, pl, link=link,  # noqa: E731
                                                reverse=sc.get("reverse", False))
                else:
                    fn = lambda v=v: rr_once(procs, args, v, pl, sc["kind"])  # noqa: E731
                measure(procs, args, sc, v, rep, results, fn)
    finally:
        link.stop()


def measure(procs, args, sc, variant, rep, results, fn):
    key = f"{sc['id']}/{variant}"
    t0 = time.monotonic()
    try:
        res = fn()
        res["ok"] = True
    except Exception as e:  # noqa: BLE001  one failed run must not stop the others
        procs.stop_all()
        res = {"ok": False, "error": str(e)[:600]}
    res["rep"] = rep
    res["wall_s"] = round(time.monotonic() - t0, 1)
    results.setdefault(key, []).append(res)
    brief = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in res.items()
             if k in ("mbps", "wire_per_payload", "ttfb_ms", "total_s", "mb_per_cpu_s", "error",
                      "retransmits")}
    log(f"{key} #{rep + 1}: {brief}")
    save_json(args, results)


def save_json(args, results):
    tmp = args.json.with_suffix(".tmp")
    tmp.write_text(json.dumps({"meta": args.meta, "results": results}, indent=1))
    tmp.replace(args.json)


# ------------------------------------------------------------------------------ report
def agg(results, key, field, sub=None):
    vals = []
    for r in results.get(key, []):
        if not r.get("ok"):
            continue
        v = r.get(field)
        if sub is not None and isinstance(v, dict):
            v = v.get(sub)
        if isinstance(v, (int, float)):
            vals.append(float(v))
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals), len(vals)


def fmt(a, digits=1, unit=""):
    if a is None:
        return "n/a"
    med, lo, hi, n = a
    if n == 1:
        return f"{med:.{digits}f}{unit}"
    return f"{med:.{digits}f}{unit} ({lo:.{digits}f}–{hi:.{digits}f})"


def failures(results, key, total):
    bad = [r for r in results.get(key, []) if not r.get("ok")]
    return f" [{len(bad)}/{total} failed]" if bad else ""


def machine_info():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:  # noqa: BLE001
            return "?"
    os_name = "?"
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "mem": mem, "kernel": platform.release(),
        "os": os_name,
        "iperf3": out(["iperf3", "--version"]).splitlines()[0] if shutil.which("iperf3") else "?",
        "kcptun": out(["dpkg-query", "-W", "-f=${Version}", "kcptun"]),
        "ngtcp2": out(["dpkg-query", "-W", "-f=${Version}", "libngtcp2-dev"]),
        "git": out(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) +
               (" + uncommitted changes" if out(["git", "-C", str(REPO), "status", "--porcelain",
                                                  "core", "plugins"]) else ""),
    }


TARGETS_50 = {0: 93, 1: 92, 5: 88, 10: 83}   # issue 8
TARGETS_200 = {1: 90, 5: 86, 10: 80}
DEFAULT_VARIANT = "quictun-bbr1"  # what a user gets with no flags


def write_report(args, results, scs, plots):
    m = args.meta
    N = args.repeats
    L = []
    w = L.append
    w("# quictun benchmark results\n")
    w(f"Generated by `{m['command']}` on {m['date']} (took {m.get('elapsed_min', '?')} min).\n")
    w("Every figure is the **median of N runs, with (min–max)** in brackets; "
      f"N = {N} unless a cell says a run failed. "
      "**The machine has 2 vCPUs shared by the emulator, both tunnel ends and iperf3: numbers "
      "are noisy**, the loopback ones most (the commentary says what else ran).\n")
    w("## Machine\n")
    mi = m["machine"]
    w(f"- CPU: {mi['cpu']}, {mi['cores']} cores; RAM {mi['mem']}")
    w(f"- OS: {mi['os']}, kernel {mi['kernel']}")
    w(f"- quictun: git {mi['git']}, {m['build_type']} build in `{m['build_dir']}`; "
      f"ngtcp2 {mi['ngtcp2']}")
    w(f"- {mi['iperf3']}; kcptun {mi['kcptun']}\n")

    w("## Setup\n")
    w(f"- Link: `quictun-netem` (bench/netem) between namespaces `{args.ns_a}` ({ADDR_A}) and "
      f"`{args.ns_b}` ({ADDR_B}); rate {RATE} per direction, delay half the RTT each way, loss "
      "applied in **both** directions. Bottleneck queue: drop-tail of **1 BDP** in bytes "
      f"({bdp_queue(50)} = 417 full-size packets at 50 ms, {bdp_queue(200)} at 200 ms). Seed 1.")
    w("- Placement: iperf3 client, `quictun-client` and `kcptun-client` in "
      f"`{args.ns_a}`; iperf3 server, `quictun-server`, `kcptun-server` and the "
      f"request/response server in `{args.ns_b}`. Tunnels carry 127.0.0.1 → tunnel → "
      "127.0.0.1:backend; plain TCP goes straight to "
      f"{ADDR_B}. Data flows {args.ns_a} → {args.ns_b} for iperf3, {args.ns_b} → {args.ns_a} for "
      "the request/response tests.")
    w(f"- Goodput: `iperf3 -c … -t {args.duration} -O {args.omit} -J` (the first {args.omit} s "
      "of slow start are omitted from the figure, for every variant alike); the figure is the "
      "**receiver's** rate. Plain TCP: `iperf3 -C cubic` / `-C bbr` (rr.py sets "
      "`TCP_CONGESTION` on both ends' sockets the same way); the tunnels' own loopback TCP legs "
      "use the namespace default. Both namespaces: `tcp_rmem`/`tcp_wmem` max 32 MiB, "
      "`tcp_no_metrics_save=1`. Every run starts fresh tunnel processes.")
    w("- quictun: `quictun-server --listen-on 10.77.0.2:7500 --congestion-control CC` and "
      "`quictun-client --listen-on tcp:127.0.0.1:6500 --server-endpoint 10.77.0.2:7500 "
      "--insecure-skip-verify --token-source tcp:127.0.0.1:PORT --congestion-control CC` "
      "(`--log-level warn`): quictun's defaults, so ARQ below QUIC (loss repair, negotiated in "
      "the handshake) is on. `quictun-bbr-plain` adds `--arq off` on the client: plain QUIC, "
      "as against a Go quic-tun server.")
    w(f"- kcptun: `kcptun-server -l 10.77.0.2:{KCP_UDP_PORT} -t 127.0.0.1:PORT` / "
      f"`kcptun-client -l 127.0.0.1:{KCP_LOCAL_PORT} -r 10.77.0.2:{KCP_UDP_PORT}`, both with "
      f"`{' '.join(KCP_OPTS)}` (windows of 2048 packets ≥ the 200 ms BDP; FEC at kcptun's default "
      "10+3, which caps it at 10/13 of the link).")
    w("- Wire bytes per payload byte: IP bytes entering the emulator in both directions during "
      "the run (lost packets included: they were sent) divided by the payload bytes the iperf3 "
      "server received, slow-start period included.")
    w(f"- Every command run, with its output, is in `{m.get('logdir', 'bench/logs')}/` "
      "(not committed); raw numbers per run in `bench/results.json`.\n")

    # ---- goodput tables
    def goodput_table(ids, title):
        w(f"### {title}\n")
        # Column heads from the scenario, not its title: the download titles lead with "Download (...)".
        head = "| variant | " + " | ".join(
            f"{sc['rtt']} ms RTT, " + ("bursty loss" if sc["loss"] == "GE" else f"{sc['loss']} % loss")
            for sc in ids) + " |"
        w(head)
        w("|---" * (len(ids) + 1) + "|")
        for v in args.variants:
            cells = []
            for sc in ids:
                key = f"{sc['id']}/{v}"
                cells.append(fmt(agg(results, key, "mbps")) + failures(results, key, N))
            w(f"| {v} | " + " | ".join(cells) + " |")
        w("")

    gp = [s for s in scs if s["kind"] == "goodput"]
    lo = [s for s in scs if s["kind"] == "loop"]
    w("## Results\n")
    if lo:
        w("### Loopback, no emulator: one iperf3 stream through the tunnel\n")
        w(f"In a private namespace on 127.0.0.1, `iperf3 -t {args.duration} -O {args.omit}`. "
          "CPU = utime+stime from /proc/PID/stat of each tunnel process over the whole iperf3 "
          "run; MB = 10^6 payload bytes (slow start included) per CPU-second.\n")
        w("| variant | Mbit/s | MB per CPU-s, client (sender) | MB per CPU-s, server (receiver) |")
        w("|---|---|---|---|")
        for v in args.variants:
            if v.startswith("tcp-"):
                continue
            key = f"loopback/{v}"
            w(f"| {v} | {fmt(agg(results, key, 'mbps'), 0)}{failures(results, key, N)} | "
              f"{fmt(agg(results, key, 'mb_per_cpu_s', 'client'), 0)} | "
              f"{fmt(agg(results, key, 'mb_per_cpu_s', 'server'), 0)} |")
        w("")
    g50 = [s for s in gp if s["rtt"] == 50 and s["loss"] != "GE" and not s.get("reverse")]
    g200 = [s for s in gp if s["rtt"] == 200 and not s.get("reverse")]
    gge = [s for s in gp if s["loss"] == "GE"]
    gdl = [s for s in gp if s.get("reverse")]
    if g50:
        goodput_table(g50, "Goodput, 100 Mbit/s, 50 ms RTT, random loss both ways (Mbit/s)")
        if "goodput50" in plots:
            w(f"![goodput vs loss]({plots['goodput50']})\n")
    if g200 or gge:
        goodput_table(g200 + gge, "Goodput, 100 Mbit/s, 200 ms RTT and bursty loss (Mbit/s)")
        if gge:
            w(f"Bursty: {gge[0]['title']}; link `{' '.join(gge[0]['flags'])}`.\n")
        if "goodput200" in plots:
            w(f"![goodput 200 ms]({plots['goodput200']})\n")
    if gdl:
        goodput_table(gdl, "Goodput, download (server to client, `iperf3 -R`), 100 Mbit/s, random "
                           "loss both ways (Mbit/s)")
        w("The quictun server sends, so its controller is the one measured; `go-client-bbr1` is "
          "bench/go-client (quic-go) fetching from a quictun server.\n")
    if gp:
        w("### Wire bytes per payload byte\n")
        w("| variant | " + " | ".join(s["id"] for s in gp) + " |")
        w("|---" * (len(gp) + 1) + "|")
        for v in args.variants:
            w(f"| {v} | " + " | ".join(fmt(agg(results, f"{s['id']}/{v}", "wire_per_payload"), 3)
                                      for s in gp) + " |")
        w("")
    for s in scs:
        if s["kind"] == "ttfb":
            w("### Time to first response byte of a new connection (50 ms RTT)\n")
            w(f"Each run: a warm-up connection (so the tunnel is established), then "
              f"{args.ttfb_samples} new connections one after another: `connect()`, send a "
              "2-byte request, time until the first response byte (from before `connect()`). "
              "A run's figure is the median of its samples. Plain TCP needs the handshake (1 RTT) "
              "then the request (1 RTT).\n")
            w("| variant | TTFB ms | in RTTs | connect() ms |")
            w("|---|---|---|---|")
            for v in args.variants:
                key = f"ttfb/{v}"
                a = agg(results, key, "ttfb_ms")
                rt = (a[0] / 50, a[1] / 50, a[2] / 50, a[3]) if a else None
                w(f"| {v} | {fmt(a)}{failures(results, key, N)} | {fmt(rt, 2)} | "
                  f"{fmt(agg(results, key, 'connect_ms'))} |")
            w("")
            if "ttfb" in plots:
                w(f"![TTFB]({plots['ttfb']})\n")
        if s["kind"] == "conns":
            w(f"### {s['title']}\n")
            w(f"`rr.py many`: {args.conns} connections, each sends a request line and reads "
              f"{args.conn_size} bytes to EOF, at most {args.conn_concurrency} open at a time "
              "(a tunnel is warmed up first). Lower is better; "
              f"{args.conns * args.conn_size * 8 / 100e6:.1f} s is the link's limit.\n")
            w("| variant | total s | per-connection median s |")
            w("|---|---|---|")
            for v in args.variants:
                key = f"conns/{v}"
                w(f"| {v} | {fmt(agg(results, key, 'total_s'), 2)}{failures(results, key, N)} | "
                  f"{fmt(agg(results, key, 'conn_median_s'), 3)} |")
            w("")

    # ---- sharing
    sh = [s for s in scs if s["kind"] == "share"]

    def flow_stats(key, i, field):
        vals = [r["flows"][i][field] for r in results.get(key, []) if r.get("ok") and r.get("flows")
                and r["flows"][i][field] is not None]
        if not vals:
            return None
        return statistics.median(vals), min(vals), max(vals), len(vals)
    if sh:
        w("## Flows sharing one bottleneck\n")
        w("Two flows start together and run for the whole test, each through its own tunnel "
          "(two QUIC connections) or as plain TCP. Mbit/s and share of the two flows' sum.\n")
        w("| scenario | flow 1 | flow 2 | sum | queue drops (a→b) |")
        w("|---|---|---|---|---|")
        for s in sh:
            key = f"{s['id']}/{'+'.join(s['mix'])}"
            cells = []
            for i, v in enumerate(s["mix"]):
                rate, part = flow_stats(key, i, "mbps"), flow_stats(key, i, "share")
                cells.append(f"{v}: {fmt(rate)} ({fmt(part, 2) if part else '—'} of the sum)" if rate else f"{v}: —")
            w(f"| {s['title']} | {cells[0]} | {cells[1]} | {fmt(agg(results, key, 'mbps'))} | "
              f"{fmt(agg(results, key, 'queue_drops', 'a2b'), 0)} |")
        w("")

    # ---- targets
    w("## Targets (issue 8)\n")
    w(f"quictun's figure is its default, `{DEFAULT_VARIANT}` (no flags), by median; where it was not "
      "run, the best quictun variant (named). Each line: met / missed.\n")

    def best(key_prefix, field="mbps", lower=False):
        cands = []
        if agg(results, f"{key_prefix}/{DEFAULT_VARIANT}", field):
            return agg(results, f"{key_prefix}/{DEFAULT_VARIANT}", field), DEFAULT_VARIANT
        for v in QT_VARIANTS:
            a = agg(results, f"{key_prefix}/{v}", field)
            if a:
                cands.append((a, v))
        if not cands:
            return None, None
        a, v = (min if lower else max)(cands, key=lambda c: c[0][0])
        return a, v

    def line(label, a, v, target, lower=False, unit="", digits=1):
        if a is None:
            w(f"- {label}: not measured")
            return
        ok = a[0] <= target if lower else a[0] >= target
        w(f"- {label}: **{'met' if ok else 'MISSED'}**: {fmt(a, digits)}{unit} ({v}), "
          f"target {'≤' if lower else '≥'} {target}{unit}")
    if lo:
        a, v = best("loopback")
        line("loopback one stream ≥ 3 Gbit/s", a, v, 3000, unit=" Mbit/s")
        for side in ("client", "server"):
            cands = [(agg(results, f"loopback/{vv}", "mb_per_cpu_s", side), vv)
                     for vv in QT_VARIANTS]
            cands = [c for c in cands if c[0]]
            if cands:
                a, vv = max(cands, key=lambda c: c[0][0])
                line(f"loopback ≥ 500 MB per CPU-second, {side}", a, vv, 500, unit=" MB/CPU-s")
    for s in g50:
        a, v = best(s["id"])
        line(f"50 ms RTT, {s['loss']} % loss ≥ {TARGETS_50[s['loss']]} Mbit/s", a, v,
             TARGETS_50[s["loss"]], unit=" Mbit/s")
    for s in g200:
        a, v = best(s["id"])
        line(f"200 ms RTT, {s['loss']} % loss ≥ {TARGETS_200[s['loss']]} Mbit/s", a, v,
             TARGETS_200[s["loss"]], unit=" Mbit/s")
    for s in scs:
        if s["kind"] == "ttfb":
            a, v = best("ttfb", "ttfb_ms", lower=True)
            line("TTFB through an established tunnel ≤ 1.1 RTT = 55 ms", a, v, 55, lower=True,
                 unit=" ms")
    for s in gp:
        if s["loss"] != 0:  # bursty loss is a lossy link too
            b = agg(results, f"{s['id']}/tcp-bbr", "mbps")
            a, v = best(s["id"])
            if a and b:
                line(f"ahead of TCP bbr ({b[0]:.1f} Mbit/s), {s['id']}", a, v, round(b[0], 1),
                     unit=" Mbit/s")
            for g in GO_CLIENT_VARIANTS:  # a quic-go client gets the server's controller
                a = agg(results, f"{s['id']}/{g}", "mbps")
                if a and b:
                    line(f"Go client ahead of TCP bbr ({b[0]:.1f} Mbit/s), {s['id']}", a, g,
                         round(b[0], 1), unit=" Mbit/s")
    for s in sh:
        if s["mix"] == ["quictun-bbr1", "quictun-bbr1"]:
            key = f"{s['id']}/{'+'.join(s['mix'])}"
            for i in range(2):
                a = flow_stats(key, i, "share")
                if a is None:
                    w(f"- two quictun flows, flow {i + 1} gets 40-60 %: not measured")
                    continue
                ok = 0.4 <= a[1] and a[2] <= 0.6
                w(f"- two quictun flows, flow {i + 1} gets 40-60 % in every run: **{'met' if ok else 'MISSED'}**: "
                  f"{fmt(a, 2)}")
    for s in gp:
        if s["loss"] == 5:
            for v in QT_VARIANTS:
                a = agg(results, f"{s['id']}/{v}", "wire_per_payload")
                if a:  # variants that were not run say nothing
                    line(f"wire bytes per payload byte ≤ 1.12 ({s['id']})", a, v, 1.12, lower=True,
                         digits=3)
    w("")
    if args.notes and args.notes.exists():
        w(args.notes.read_text())
    w("## Reproduce\n")
    w("```sh")
    w(m["command"])
    w("```\n")
    w("Link commands used (`bench/link.sh start …`):\n")
    w("```")
    for s in scs:
        if "link_cmd" in s:
            w(s["link_cmd"])
    w("```")
    args.results_md.write_text("\n".join(L) + "\n")
    log(f"wrote {args.results_md}")


# ------------------------------------------------------------------------------ plots
def plots(args, results, scs):
    out = {}
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no plots")
        return out
    args.plot_dir.mkdir(parents=True, exist_ok=True)
    data_dir = args.logdir / "plotdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    styles = {"tcp-cubic": 'lc rgb "#888888" dt 2', "tcp-bbr": 'lc rgb "#444444" dt 2',
              "quictun-cubic": 'lc rgb "#1f77b4"', "quictun-reno": 'lc rgb "#2ca02c"',
              "quictun-bbr": 'lc rgb "#d62728"', "quictun-bbr-plain": 'lc rgb "#9467bd" dt 3',
              "kcptun": 'lc rgb "#ff7f0e" dt 4'}

    def goodput_plot(rtt, name):
        gs = [s for s in scs if s["kind"] == "goodput" and s["rtt"] == rtt and s["loss"] != "GE"
              and not s.get("reverse")]
        if not gs:
            return
        series = []
        for v in args.variants:
            rows = []
            for s in gs:
                a = agg(results, f"{s['id']}/{v}", "mbps")
                if a:
                    rows.append(f"{s['loss']} {a[0]} {a[1]} {a[2]}")
            if rows:
                f = data_dir / f"{name}-{v}.dat"
                f.write_text("\n".join(rows) + "\n")
                series.append(f"'{f}' using 1:2:3:4 with yerrorlines lw 2 pt 7 "
                              f"{styles.get(v, '')} title '{v}'")
        if not series:
            return
        png = args.plot_dir / f"{name}.png"
        script = f"""set terminal pngcairo size 900,560 font ",11"
set output '{png}'
set title "Goodput vs random loss, 100 Mbit/s, {rtt} ms RTT (median, bars min-max, N={args.repeats})"
set xlabel "random loss each direction (%)"
set ylabel "goodput (Mbit/s)"
set yrange [0:105]
set xrange [-0.5:{max(s['loss'] for s in gs) + 0.5}]
set xtics ({", ".join(f'"{s["loss"]}" {s["loss"]}' for s in gs)})
set grid
set key outside right
plot {", ".join(series)}
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60)
        out[name] = f"plots/{png.name}"

    goodput_plot(50, "goodput50")
    goodput_plot(200, "goodput200")
    rows = []
    for i, v in enumerate(args.variants):
        a = agg(results, f"ttfb/{v}", "ttfb_ms")
        if a:
            rows.append(f'{i} "{v}" {a[0]} {a[1]} {a[2]}')
    if rows:
        f = data_dir / "ttfb.dat"
        f.write_text("\n".join(rows) + "\n")
        png = args.plot_dir / "ttfb.png"
        script = f"""set terminal pngcairo size 900,520 font ",11"
set output '{png}'
set title "Time to first response byte of a new connection, 50 ms RTT (median, bars min-max)"
set ylabel "ms"
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set arrow from graph 0, first 50 to graph 1, first 50 nohead lc rgb "#2ca02c" dt 2
set label "1 RTT" at graph 0.90, first 53 tc rgb "#2ca02c"
set arrow from graph 0, first 100 to graph 1, first 100 nohead lc rgb "#d62728" dt 2
set label "2 RTT" at graph 0.90, first 103 tc rgb "#d62728"
plot '{f}' using 1:3:xtic(2) with boxes lc rgb "#1f77b4" notitle, \\
     '' using 1:3:4:5 with yerrorbars lc rgb "black" pt 0 notitle
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60)
        out["ttfb"] = f"plots/{png.name}"
    return out


# ------------------------------------------------------------------------------ main
def main():
    global LOG
    p = argparse.ArgumentParser(description="quictun benchmark runner (use bench/run.sh)")
    p.add_argument("--build-dir", type=Path, default=REPO / "build-bench")
    p.add_argument("--build-type", default="RelWithDebInfo")
    p.add_argument("-n", "--repeats", type=int, default=int(os.environ.get("N", 3)))
    p.add_argument("-t", "--duration", type=int, default=15, help="iperf3 -t seconds")
    p.add_argument("-O", "--omit", type=int, default=2, help="iperf3 -O seconds")
    p.add_argument("--only", default="", help="comma-separated scenario ids or prefixes "
                   "(loopback, rtt50, rtt200-loss5, rtt50-ge, ttfb, conns, ...)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--ttfb-samples", type=int, default=20)
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--conn-size", type=int, default=102400)
    p.add_argument("--conn-concurrency", type=int, default=10)
    p.add_argument("--conn-deadline", type=int, default=300)
    p.add_argument("--ns-a", default="qtA")
    p.add_argument("--ns-b", default="qtB")
    p.add_argument("--ns-lo", default="qtLO")
    p.add_argument("--link-name", default="bench")
    p.add_argument("--state-dir", type=Path, default=Path("/run/quictun-bench"))
    p.add_argument("--results-md", type=Path, default=BENCH / "RESULTS.md")
    p.add_argument("--json", type=Path, default=BENCH / "results.json")
    p.add_argument("--plot-dir", type=Path, default=BENCH / "plots")
    p.add_argument("--logdir", type=Path, default=BENCH / "logs")
    p.add_argument("--tunnel-log-level", default="warn",
                   help="quictun's --log-level in the runs; 'trace' logs each connection's RTT, window "
                        "and controller state once a second into --logdir")
    p.add_argument("--notes", type=Path, default=BENCH / "notes.md",
                   help="markdown appended to RESULTS.md (commentary)")
    p.add_argument("--report-only", action="store_true",
                   help="rebuild RESULTS.md and plots from results.json")
    p.add_argument("--command", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.variants = [v for v in args.variants.split(",") if v]
    for v in args.variants:
        if v not in VARIANTS:
            p.error(f"--variants: unknown '{v}' (known: {', '.join(VARIANTS)})")
    args.build_dir = args.build_dir.resolve()
    args.logdir = args.logdir.resolve()
    scs = scenarios(args)
    if args.only:
        want = [w for w in args.only.split(",") if w]
        scs = [s for s in scs if any(s["id"] == w or s["id"].startswith(w + "-") for w in want)]
        if not scs:
            p.error("--only matches no scenario")

    if args.report_only:
        d = json.loads(args.json.read_text())
        args.meta = d["meta"]
        results = d["results"]
        ran = {k.split("/")[0] for k in results}
        scs = [s for s in scenarios(args) if s["id"] in ran]
        for s in scs:
            if "flags" in s:
                s["link_cmd"] = q(["bench/link.sh", "start", "--ns-a", args.ns_a, "--ns-b",
                                   args.ns_b, "--seed", "1"] + s["flags"])
        write_report(args, results, scs, plots(args, results, scs))
        return 0

    if os.geteuid() != 0:
        p.error("run as root (network namespaces, TUN devices)")
    for b in ("quictun-server", "quictun-client", "quictun-netem") + (
            (GO_CLIENT_BIN,) if set(args.variants) & set(GO_CLIENT_VARIANTS) else ()):
        if not (args.build_dir / "bin" / b).exists():
            p.error(f"{args.build_dir}/bin/{b} missing: build first (bench/run.sh does)")
    for tool in ("iperf3", "ss", "ip") + (("kcptun-client", "kcptun-server")
                                          if "kcptun" in args.variants else ()):
        if not shutil.which(tool):
            p.error(f"{tool} not found (bench/run.sh installs it)")
    existing = run(["ip", "netns", "list"], timeout=10).stdout.split()
    for ns in (args.ns_a, args.ns_b, args.ns_lo):
        if ns in existing:
            p.error(f"network namespace {ns} already exists (another benchmark running? "
                    f"remove it with 'ip netns del {ns}' or pick --ns-a/--ns-b/--ns-lo)")
    if shutil.which("modprobe"):
        subprocess.run(["modprobe", "tcp_bbr"], capture_output=True)
    avail = open("/proc/sys/net/ipv4/tcp_available_congestion_control").read().split()
    for v in args.variants:
        if v.startswith("tcp-") and v[4:] not in avail:
            p.error(f"kernel TCP congestion control {v[4:]} not available (have: {avail})")

    args.logdir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.logdir = args.logdir / stamp
    args.logdir.mkdir()
    LOG = open(args.logdir / "commands.log", "w")
    args.meta = {"command": args.command or q(["bench/run.py"] + sys.argv[1:]),
                 "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                 "machine": machine_info(), "build_dir": str(args.build_dir.relative_to(REPO))
                 if args.build_dir.is_relative_to(REPO) else str(args.build_dir),
                 "build_type": args.build_type, "repeats": args.repeats,
                 "logdir": str(args.logdir.relative_to(REPO)) if args.logdir.is_relative_to(REPO)
                 else str(args.logdir),
                 "duration": args.duration, "omit": args.omit,
                 "scenarios": [s["id"] for s in scs], "variants": args.variants}
    procs = Procs(args.logdir)
    results = {}
    t_start = time.monotonic()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    link = Link(args, args.link_name)
    try:
        for sc in scs:
            log(f"=== {sc['id']}: {sc['title']}")
            try:
                run_scenario(procs, args, sc, results)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001
                log(f"scenario {sc['id']} failed: {e}")
                results.setdefault(f"{sc['id']}/_scenario", []).append(
                    {"ok": False, "error": str(e)[:600]})
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
    finally:
        procs.stop_all()
        link.up = True
        link.stop()  # in case a scenario's link survived an exception
        run(["ip", "netns", "del", args.ns_lo], timeout=10, check=False)
    args.meta["elapsed_min"] = round((time.monotonic() - t_start) / 60, 1)
    save_json(args, results)
    write_report(args, results, scs, plots(args, results, scs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
