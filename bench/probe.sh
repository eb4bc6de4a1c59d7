#!/bin/bash
# Quick single-run probe of one quictun (or plain TCP) configuration on the 100 Mbit/s link, for
# tuning between full bench/run.sh runs; its numbers are single runs, not results.
# usage: [CX="client flags"] [SX="server flags"] [CLOG=trace] [DELAY=25ms] [QUEUE=625000b] [OMIT=0] \
#          bench/probe.sh LOSS CC|tcp-cubic|tcp-bbr [SECONDS]      (as root, build/ binaries)
# OMIT=2 leaves the first 2 s out of the figure (iperf3 -O), as bench/run.sh does; BUILD_DIR picks the build.
# e.g.   CX="--arq off" bench/probe.sh 5% bbr 15; CX="--arq on" bench/probe.sh 5% bbr
LOSS=$1; CC=$2; T=${3:-10}
B="${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}/bin"
A=qxA; Bn=qxB
$B/quictun-netem --ns-a $A --ns-b $Bn --addr-a 10.88.0.1/24 --addr-b 10.88.0.2/24 --dev qx0 --rate 100mbit --delay ${DELAY:-25ms} --loss $LOSS --queue ${QUEUE:-625000b} --ready-file /tmp/qx.ready --stats-file /tmp/qx.json > /tmp/qx_netem.log 2>&1 &
NP=$!
for i in $(seq 50); do [ -f /tmp/qx.ready ] && break; sleep 0.1; done
if [ "$CC" = tcp-cubic ] || [ "$CC" = tcp-bbr ]; then
  ip netns exec $Bn iperf3 -s -p 5302 -1 >/dev/null 2>&1 &
  sleep 0.3
  ip netns exec $A iperf3 -c 10.88.0.2 -p 5302 -t $T -O ${OMIT:-0} -C ${CC#tcp-} -J > /tmp/qx_ip.json
else
  ip netns exec $Bn iperf3 -s -p 5302 -1 -B 127.0.0.1 >/dev/null 2>&1 &
  ip netns exec $Bn $B/quictun-server --listen-on 10.88.0.2:7700 --congestion-control $CC $SX --log-level info 2>/tmp/qx_s.log &
  ip netns exec $A $B/quictun-client --listen-on tcp:127.0.0.1:6700 --server-endpoint 10.88.0.2:7700 --token-source tcp:127.0.0.1:5302 --insecure-skip-verify --congestion-control $CC --log-level ${CLOG:-info} $CX 2>/tmp/qx_c.log &
  sleep 0.5
  ip netns exec $A iperf3 -c 127.0.0.1 -p 6700 -t $T -O ${OMIT:-0} -J > /tmp/qx_ip.json
  ip netns exec $A pkill -INT -f "quictun-client --listen-on tcp:127.0.0.1:6700"
  ip netns exec $Bn pkill -INT -f "quictun-server --listen-on 10.88.0.2:7700"
fi
sleep 0.5
kill -INT $NP; wait $NP
python3 -c "
import json; j=json.load(open('/tmp/qx_ip.json')); e=j['end']; r=e['sum_received']
print('$CC loss $LOSS', round(r['bits_per_second']/1e6,1), 'Mbit/s')"
