#!/usr/bin/env python3
"""The out-of-tree example plugin driving the unchanged host programs.

    example_tunnel.py --bin PREFIX/bin --plugin-dir DIR --work DIR

PREFIX/bin holds the installed quictun-server and quictun-client; DIR holds the installed
transport and token plugins plus quictun-token-by-port.so, built against the installed SDK
alone. Both programs are started with --plugin-dir DIR and the client with
--token-source-plugin by-port, then:

  1. 4 MiB go each way through the tunnel to an echo backend, checked by SHA-256;
  2. a listener whose port has no rule in the plugin's table is refused (closed at once) with
     the plugin's reason in the client log.

Everything listens on 127.0.0.1 on free ports. Every process started here is killed at the end,
and also if this script dies (PR_SET_PDEATHSIG); the whole run is bounded by an alarm.
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

DEADLINE_S = 120
PR_SET_PDEATHSIG = 1


class Failure(Exception):
    pass


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Program:
    def __init__(self, name, argv, log_path):
        self.name = name
        self.log_path = log_path
        self.log_file = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, preexec_fn=die_with_parent)

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_for_log(self, text, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if text in self.log():
            return
        state = "exited with %s" % self.proc.returncode if self.proc.poll() is not None else "still running"
        raise Failure("%s (%s) never logged %r; its log:\n%s" % (self.name, state, text, self.log()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log_file.close()


class EchoBackend:
    """Echoes every connection until EOF, then closes its write side."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.accepted += 1
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    @staticmethod
    def echo(conn):
        with conn:
            conn.settimeout(60)
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def transfer(port, payload):
    """Sends payload and half-closes while reading everything back until EOF."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(60)
    errors = []

    def send():
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(e)

    sender = threading.Thread(target=send)
    sender.start()
    chunks = []
    while True:
        data = s.recv(65536)
        if not data:
            break
        chunks.append(data)
    sender.join()
    s.close()
    if errors:
        raise Failure("sending through the tunnel failed: %s" % errors[0])
    return b"".join(chunks)


def refused(port):
    """Connects, sends nothing, and returns (bytes received, seconds until EOF)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(20)
    start = time.monotonic()
    got = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        got += data
    s.close()
    return got, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--plugin-dir", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()

    def on_alarm(signum, frame):
        raise Failure("no result within %d s" % DEADLINE_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(DEADLINE_S)

    server_bin = os.path.join(args.bin, "quictun-server")
    client_bin = os.path.join(args.bin, "quictun-client")
    for program in (server_bin, client_bin):
        if not os.access(program, os.X_OK):
            raise Failure("%s was not installed" % program)

    started = []
    backend = EchoBackend()
    try:
        udp = free_port(socket.SOCK_DGRAM)
        app = free_port(socket.SOCK_STREAM)
        unmatched = free_port(socket.SOCK_STREAM)
        rule = "%d=tcp:127.0.0.1:%d" % (app, backend.port)

        server = Program("quictun-server", [server_bin, "--listen-on", "127.0.0.1:%d" % udp, "--plugin-dir",
                                            args.plugin_dir, "--log-level", "debug"],
                         os.path.join(args.work, "server.log"))
        started.append(server)
        server.wait_for_log("listening on UDP")

        def client(name, listen_port):
            c = Program(name, [client_bin, "--listen-on", "tcp:127.0.0.1:%d" % listen_port, "--server-endpoint",
                               "127.0.0.1:%d" % udp, "--plugin-dir", args.plugin_dir, "--token-source-plugin",
                               "by-port", "--token-source", rule, "--insecure-skip-verify", "--log-level", "debug"],
                        os.path.join(args.work, name + ".log"))
            started.append(c)
            c.wait_for_log("listening on tcp:127.0.0.1:%d (token source by-port)" % listen_port)
            return c

        matched_client = client("client", app)

        # 1. Bytes through the tunnel, chosen by the plugin's port rule.
        payload = os.urandom(4 << 20)
        echoed = transfer(app, payload)
        if hashlib.sha256(echoed).hexdigest() != hashlib.sha256(payload).hexdigest():
            raise Failure("the echo came back wrong: %d of %d bytes, SHA-256 differs\nclient log:\n%s\nserver log:\n%s"
                          % (len(echoed), len(payload), matched_client.log(), server.log()))
        if backend.accepted != 1:
            raise Failure("the echo backend accepted %d connections, expected 1" % backend.accepted)
        server.wait_for_log("-> tcp:127.0.0.1:%d" % backend.port, 5)

        # 2. A listener whose port has no rule: refused by the plugin, reason logged.
        other_client = client("client-unmatched", unmatched)
        got, took = refused(unmatched)
        if got != b"" or took > 5:
            raise Failure("an unmatched port got %r after %.1f s; expected an empty, prompt close" % (got, took))
        other_client.wait_for_log("refused by token source: no port rule matches listener tcp:127.0.0.1:%d"
                                  % unmatched, 5)
        if backend.accepted != 1:
            raise Failure("a refused connection reached the backend")
        for p in started:
            if p.proc.poll() is not None:
                raise Failure("%s exited (%s) during the test; its log:\n%s" % (p.name, p.proc.returncode, p.log()))
        print("example plugin by-port: %d bytes each way through the installed quictun, unmatched port refused"
              % len(payload))
    finally:
        signal.alarm(0)
        for p in reversed(started):
            p.stop()
        backend.stop()


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("sdk-install tunnel: %s" % e, file=sys.stderr)
        sys.exit(1)
