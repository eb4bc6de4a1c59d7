#!/usr/bin/env bash
# Handshake-flood benchmark (issue 10): 1,000,000 forged Initials over 60 s from 1,000 ports at
# a quictun-server on loopback, while real clients connect at 10 s, 30 s and 50 s.
# Records the server's CPU seconds and RSS (start, peak), its log lines, and each real client's
# time from the application's connect to its echo (QUIC handshake, Retry included).
#
#   flock /tmp/quictun-bench.lock bench/flood/run.sh [BUILD_DIR] [RETRY_MODE] [COUNT] [SECONDS] [PORTS]
#
# RETRY_MODE is the server's --retry (auto, always, never; "none": no flag, for builds older than
# the flood defences). One line of results on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
mode=${2:-auto}
count=${3:-1000000}
seconds=${4:-60}
ports=${5:-1000}
bin=$build/bin
plugins=$build/plugins
work=$(mktemp -d /tmp/quictun-flood.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,getattr(socket,sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
udp=$(free_port SOCK_DGRAM)
backend=$(free_port SOCK_STREAM)

# An echo backend for the real clients.
python3 - "$backend" <<'PY' &
import socket, sys, threading
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(16)
def echo(c):
    while (b := c.recv(65536)): c.sendall(b)
    c.close()
while True:
    c, _ = l.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
PY
pids+=($!)

retry_flag=(--retry "$mode")
[[ $mode == none ]] && retry_flag=()
"$bin/quictun-server" --listen-on "127.0.0.1:$udp" --plugin-dir "$plugins" "${retry_flag[@]}" >"$work/server.log" 2>&1 &
server=$!
pids+=($server)
for _ in $(seq 50); do grep -q "listening on UDP" "$work/server.log" && break; sleep 0.1; done
lines0=$(wc -l <"$work/server.log")
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
rss0=$(rss_kb)
cpu0=$(cpu_ticks)

python3 "$here/forge_initials.py" "127.0.0.1:$udp" --count "$count" --seconds "$seconds" --ports "$ports" >"$work/forge.out" &
forger=$!
pids+=($forger)

# Peak RSS, sampled every 0.2 s.
( peak=0; while kill -0 "$forger" 2>/dev/null; do r=$(rss_kb); ((r > peak)) && peak=$r; echo "$peak" >"$work/peak"; sleep 0.2; done ) &
pids+=($!)

connect_ms() {  # a fresh client: the time from the application's connect to its echo
  local port; port=$(free_port SOCK_STREAM)
  "$bin/quictun-client" --listen-on "tcp:127.0.0.1:$port" --server-endpoint "127.0.0.1:$udp" --insecure-skip-verify \
    --token-source "tcp:127.0.0.1:$backend" --plugin-dir "$plugins" >"$work/client-$1.log" 2>&1 &
  local client=$!
  for _ in $(seq 50); do grep -q "listening on" "$work/client-$1.log" && break; sleep 0.1; done
  python3 - "$port" <<'PY'
import socket, sys, time
t = time.monotonic()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"ping"); s.shutdown(socket.SHUT_WR)
got = b""
while (b := s.recv(100)): got += b
print(f"{(time.monotonic() - t) * 1000:.0f}" if got == b"ping" else "failed")
PY
  kill "$client" 2>/dev/null || true
  wait "$client" 2>/dev/null || true
}

samples=()
flood_start=$(date +%s.%N)
for at in 10 30 50; do
  due=$(python3 -c "print($flood_start + $at * $seconds / 60)")
  wait_s=$(python3 -c "import time; print(max(0.0, $due - time.time()))")
  sleep "$wait_s"
  samples+=("$(connect_ms "$at")")
done
wait "$forger" || true
sleep 1.5  # the last summary line
cpu1=$(cpu_ticks)
rss1=$(rss_kb)
peak=$(cat "$work/peak" 2>/dev/null || echo "$rss1")
lines1=$(wc -l <"$work/server.log")
hz=$(getconf CLK_TCK)
log_lines=$((lines1 - lines0))
echo "mode=$mode $(cat "$work/forge.out") | server CPU $(python3 -c "print(f'{($cpu1 - $cpu0) / $hz:.1f}')") s," \
  "RSS ${rss0} kB -> peak ${peak} kB (growth $(( (peak - rss0) / 1024 )) MB), end ${rss1} kB |" \
  "log lines $log_lines ($(python3 -c "print(f'{$log_lines / $seconds:.2f}')")/s) |" \
  "real client connect+echo ms: ${samples[*]}"
if [[ -n "${FLOOD_KEEP_LOG:-}" ]]; then cp "$work/server.log" "$FLOOD_KEEP_LOG"; fi
