#!/usr/bin/env python3
"""The programs of the .deb, run from the scratch root it was unpacked into.

    installed_tunnel.py --root DIR --work DIR

DIR/usr/bin/quictun-server and quictun-client start without --plugin-dir (they must find the
packaged plugins by themselves), each from the packaged example of quic-tun's YAML format with
its addresses moved to free loopback ports. 2 MiB go through the tunnel to an echo backend and
come back, checked by SHA-256; then SIGTERM must end both with status 0.

Every process started here is killed if this script dies (PR_SET_PDEATHSIG); the run is bounded
by an alarm.
"""
import argparse
import ctypes
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

DEADLINE_S = 90


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(argv, log_path):
    log = open(log_path, "wb")
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=die_with_parent)


def wait_for(log_path, text, proc, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(log_path, errors="replace") as f:
            if text in f.read():
                return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    with open(log_path, errors="replace") as f:
        raise SystemExit("never logged %r:\n%s" % (text, f.read()))


def echo_backend(listener):
    conn, _ = listener.accept()
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)
    conn.close()


def moved(text, old, new):
    if old not in text:
        raise SystemExit("the packaged example lacks %r" % old)
    return text.replace(old, new, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    signal.alarm(DEADLINE_S)
    bin_dir = os.path.join(args.root, "usr", "bin")
    examples = os.path.join(args.root, "etc", "quictun", "examples")

    udp = "127.0.0.1:%d" % free_port(socket.SOCK_DGRAM)
    app = free_port(socket.SOCK_STREAM)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    backend = listener.getsockname()[1]
    threading.Thread(target=echo_backend, args=(listener,), daemon=True).start()

    with open(os.path.join(examples, "quictun-server.yaml")) as f:
        server_cfg = moved(f.read(), "0.0.0.0:7500", udp)
    with open(os.path.join(examples, "quictun-client.yaml")) as f:
        client_cfg = f.read()
    client_cfg = moved(client_cfg, "tcp:127.0.0.1:6500", "tcp:127.0.0.1:%d" % app)
    client_cfg = moved(client_cfg, '"127.0.0.1:7500"', '"%s"' % udp)
    client_cfg = moved(client_cfg, "tcp:127.0.0.1:22", "tcp:127.0.0.1:%d" % backend)
    paths = {}
    for name, text in (("server", server_cfg), ("client", client_cfg)):
        paths[name] = os.path.join(args.work, "quictun-%s.yaml" % name)
        with open(paths[name], "w") as f:
            f.write(text)

    server_log = os.path.join(args.work, "server.log")
    client_log = os.path.join(args.work, "client.log")
    server = start([os.path.join(bin_dir, "quictun-server"), "-c", paths["server"]], server_log)
    client = None
    try:
        wait_for(server_log, "listening on UDP " + udp, server)
        client = start([os.path.join(bin_dir, "quictun-client"), "-c", paths["client"]], client_log)
        wait_for(client_log, "listening on", client)

        payload = os.urandom(2 << 20)
        s = socket.create_connection(("127.0.0.1", app), timeout=30)
        sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
        sender.start()
        got = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        sender.join()
        s.close()
        if hashlib.sha256(got).hexdigest() != hashlib.sha256(payload).hexdigest():
            raise SystemExit("%d bytes came back, not the %d sent" % (len(got), len(payload)))
        for proc, name in ((client, "client"), (server, "server")):
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(15)
            if code != 0:
                raise SystemExit("the installed %s exited with %d after SIGTERM" % (name, code))
        print("installed programs moved %d bytes, SHA-256 checked, and stopped cleanly" % len(payload))
    finally:
        for proc in (client, server):
            if proc and proc.poll() is None:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
