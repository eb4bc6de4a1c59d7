#!/usr/bin/env bash
# Runs the quictun benchmark suite and writes bench/RESULTS.md and bench/plots/*.png.
#
#   sudo bench/run.sh                 # setup + build + every scenario, N=3 (about 130 min on 2 vCPUs)
#   sudo bench/run.sh -n 1 -t 5       # quick pass: 1 run each, 5 s goodput runs
#   sudo bench/run.sh --only rtt50,ttfb --variants quictun-cubic,tcp-bbr
#
# Steps: scripts/setup.sh (build dependencies), apt-get install iperf3 kcptun gnuplot-nox
# (Debian packages), cmake configure + build of the programs it needs in $BUILD_DIR
# (default build-bench, RelWithDebInfo), then bench/run.py with the remaining arguments
# (bench/run.py --help lists them). Skip steps with QUICTUN_BENCH_SKIP_SETUP=1 and
# QUICTUN_BENCH_SKIP_BUILD=1. Needs root: network namespaces and TUN devices.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
build_type="${BUILD_TYPE:-RelWithDebInfo}"

case "${1:-}" in -h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; echo; exec /usr/bin/python3 "$repo/bench/run.py" --help ;; esac

[[ $EUID -eq 0 ]] || { echo "run.sh: needs root (network namespaces, TUN devices, apt-get)" >&2; exit 1; }

if [[ "${QUICTUN_BENCH_SKIP_SETUP:-0}" != 1 ]]; then
  "$repo/scripts/setup.sh"
  missing=()
  # golang-go and Debian's quic-go build bench/go-client, the stand-in for the Go quic-tun client.
  for p in iperf3 kcptun gnuplot-nox iproute2 kmod golang-go golang-github-lucas-clemente-quic-go-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

if [[ "${QUICTUN_BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target quictun-server quictun-client quictun-netem \
    quictun-transport-tcp quictun-transport-unix quictun-token-fixed quictun-cc-bbr1 quictun-cc-brutal
  # GOPATH mode against Debian's Go library packages: nothing is fetched.
  (cd "$repo/bench/go-client" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$build_dir/go-cache" \
    go build -o "$build_dir/bin/quictun-bench-go-client" .)
fi

command_line="bench/run.sh${*:+ $*}"
exec /usr/bin/python3 "$repo/bench/run.py" --build-dir "$build_dir" --build-type "$build_type" \
  --command "$command_line" "$@"
