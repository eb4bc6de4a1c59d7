#!/usr/bin/env bash
# One traced upload through quictun on an emulated link: the sender's (client's) state once a
# second (RTTs, cwnd, bytes in flight, the controller's own state) as a table, for explaining a
# figure. As root, after a build; uses the namespaces and addresses of bench/run.py.
#
#   bench/trace.sh [--delay 25ms] [--loss 10%] [--seconds 15] [--cc bbr1] [--build-dir build]
#                  [--download] [--go-client] [--go-max-window BYTES]
#
# --download traces a download (iperf3 -R) instead: the server sends, so the server is traced.
# --go-client puts bench/go-client (quic-go, as the Go quic-tun client; bench/run.sh builds it)
# in the client's place; it implies --download, as only quictun's sending side can be traced.
# --go-max-window sets that client's receive windows (go-client -max-window; default quic-go's).
#
# Prints the iperf3 figure, then one row per second: t, rtt min / smoothed / latest (ms), cwnd
# and in flight (KB), and the controller's description (bbr1: mode, bandwidth model, pacing gain,
# quiet loss, congestion cuts). The full logs stay in the printed folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
delay=25ms loss=10% seconds=15 cc=bbr1 build="$repo/build" download=0 go_client=0 go_window=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --delay) delay="$2"; shift 2 ;;
    --loss) loss="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --cc) cc="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --download) download=1; shift ;;
    --go-client) go_client=1; download=1; shift ;;
    --go-max-window) go_window="$2"; go_client=1; download=1; shift 2 ;;
    *) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "trace.sh: needs root" >&2; exit 1; }
rtt_ms=$(( ${delay%ms} * 2 ))
queue=$(( 100000000 / 8 * rtt_ms / 1000 ))b
out="$(mktemp -d /tmp/quictun-trace.XXXXXX)"
export QUICTUN_NETEM="$build/bin/quictun-netem"
"$repo/bench/link.sh" start --name trace --ns-a qtA --ns-b qtB --seed 1 --rate 100mbit --delay "$delay" \
  --loss "$loss" --queue "$queue" > "$out/link.log"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  "$repo/bench/link.sh" stop --name trace >> "$out/link.log" 2>&1 || true
}
trap cleanup EXIT
ip netns exec qtB iperf3 -s -1 -p 5301 > "$out/iperf3-server.log" 2>&1 &
server_log=info client_log=trace traced="$out/client.log"
if [[ $download == 1 ]]; then server_log=trace client_log=info traced="$out/server.log"; fi
ip netns exec qtB "$build/bin/quictun-server" --listen-on 10.77.0.2:7600 --congestion-control "$cc" \
  --log-level "$server_log" > "$out/server.log" 2>&1 &
sleep 0.5
if [[ $go_client == 1 ]]; then
  ip netns exec qtA "$build/bin/quictun-bench-go-client" -listen-on 127.0.0.1:6700 -server-endpoint 10.77.0.2:7600 \
    -token tcp:127.0.0.1:5301 -max-window "$go_window" > "$out/client.log" 2>&1 &
else
  ip netns exec qtA "$build/bin/quictun-client" --listen-on tcp:127.0.0.1:6700 --server-endpoint 10.77.0.2:7600 \
    --insecure-skip-verify --token-source tcp:127.0.0.1:5301 --congestion-control "$cc" --log-level "$client_log" \
    > "$out/client.log" 2>&1 &
fi
sleep 0.5
reverse=(); [[ $download == 1 ]] && reverse=(-R)
ip netns exec qtA iperf3 -c 127.0.0.1 -p 6700 -t "$seconds" -O 2 "${reverse[@]}" | tail -4 | head -2
echo "logs: $out"
printf '%6s %7s %7s %7s %8s %9s  %s\n' t_s min_ms srtt_ms last_ms cwnd_KB flight_KB controller
python3 - "$traced" <<'PY'
import re, sys
pat = re.compile(r"(\d\d):(\d\d):(\d\d\.\d+) .*: rtt min ([\d.]+) smoothed ([\d.]+) latest ([\d.]+) var [\d.]+ ms, "
                 r"cwnd (\d+) KB, in flight (\d+) KB, (\S+) ?(.*)$")
t0 = None
for line in open(sys.argv[1], errors="replace"):
    m = pat.search(line)
    if not m:
        continue
    t = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    t0 = t if t0 is None else t0
    print(f"{t - t0:6.1f} {m[4]:>7} {m[5]:>7} {m[6]:>7} {m[7]:>8} {m[8]:>9}  {m[9]} {m[10]}")
PY
