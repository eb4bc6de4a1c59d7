#!/bin/bash
# Usage: flock /tmp/quictun-bench.lock bench/classifier_overhead.sh [build-dir]
# Upload N MiB of zeros through quictun on loopback, with or without the four classifiers.
B=${1:-build}; P=$B/plugins
run() {
  local extra="$1" up=$((20000 + RANDOM % 20000)) cp=$((40000 + RANDOM % 20000)) bp=$((10000 + RANDOM % 9000))
  socat -u TCP-LISTEN:$bp,reuseaddr OPEN:/dev/null & local sp=$!
  $B/bin/quictun-server --listen-on 127.0.0.1:$up --plugin-dir $P --log-level error $extra & local s=$!
  $B/bin/quictun-client --listen-on tcp:127.0.0.1:$cp --server-endpoint 127.0.0.1:$up --token-source tcp:127.0.0.1:$bp \
     --insecure-skip-verify --plugin-dir $P --log-level error $extra & local c=$!
  sleep 0.7
  local t0=$(date +%s.%N)
  head -c $((512<<20)) /dev/zero | socat -u STDIN TCP:127.0.0.1:$cp
  wait $sp
  local t1=$(date +%s.%N)
  kill $s $c; wait $s $c 2>/dev/null
  echo "$(echo "512*8/($t1-$t0)" | bc -l | cut -c1-7)"
}
CLS="--classifier spice --classifier ssh --classifier tls --classifier http"
for i in 1 2 3 4 5; do echo "none $(run '')"; echo "all4 $(run "$CLS")"; done
