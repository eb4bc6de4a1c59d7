#!/usr/bin/env bash
# Sets up, builds, and runs a working tunnel on loopback with the built-in defaults:
#
#   application -> tcp:127.0.0.1:6500 -> quictun-client ==QUIC (UDP 127.0.0.1:7500)==> quictun-server
#               -> tcp:127.0.0.1:6580 (a demo echo backend)
#
# It sends 16 MiB through the tunnel and back, compares SHA-256 hashes, and then keeps the
# tunnel up until Ctrl-C so you can try it (e.g. `nc 127.0.0.1 6500`). With --check it stops
# after the transfer. Usage: sudo scripts/demo.sh [--check]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$here/build}"
bash "$here/scripts/setup.sh"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target quictun-server quictun-client \
  quictun-transport-tcp quictun-transport-unix quictun-token-fixed

logs="$(mktemp -d /tmp/quictun-demo.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

socat TCP-LISTEN:6580,bind=127.0.0.1,reuseaddr,fork EXEC:cat >"$logs/backend.log" 2>&1 & pids+=($!)
# Built-in defaults: the server listens on UDP 0.0.0.0:7500 with a generated certificate; the
# client listens on tcp:127.0.0.1:6500 and connects to 127.0.0.1:7500.
"$build/bin/quictun-server" >"$logs/server.log" 2>&1 & pids+=($!)
"$build/bin/quictun-client" --token-source tcp:127.0.0.1:6580 --insecure-skip-verify >"$logs/client.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$logs/client.log" 2>/dev/null && break; sleep 0.1; done

head -c 16M /dev/urandom >"$logs/payload"
python3 - "$logs/payload" <<'PY'
import hashlib, socket, sys, threading, time
data = open(sys.argv[1], "rb").read()
s = socket.create_connection(("127.0.0.1", 6500))
def send():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); start = time.time(); t.start()
got = bytearray()
while True:
    chunk = s.recv(1 << 20)
    if not chunk: break
    got += chunk
t.join(); took = time.time() - start
ok = hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
print(f"sent {len(data)} bytes through the tunnel and got {len(got)} back in {took:.2f} s: "
      f"{'hashes match' if ok else 'MISMATCH'}")
sys.exit(0 if ok else 1)
PY
echo "logs: $logs"
if [ "${1:-}" = "--check" ]; then exit 0; fi
echo "tunnel is up: connect to tcp:127.0.0.1:6500 (echo backend behind it). Ctrl-C to stop."
wait
