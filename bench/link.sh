#!/usr/bin/env bash
# Starts and stops quictun-netem in the background for benchmark runners.
#
#   bench/link.sh start [--name NAME] [EMULATOR FLAGS...]   # returns once the link forwards
#   bench/link.sh stats [--name NAME]                       # print current JSON stats
#   bench/link.sh stop  [--name NAME]                       # stop, print final stats
#   bench/link.sh status [--name NAME]
#
# Example: bench/link.sh start --rate 100mbit --delay 25ms --loss 1% --queue 500pkt
#          ip netns exec qtA <client> 10.77.0.2 ...; ip netns exec qtB <server> ...
#          bench/link.sh stop
#
# Several links may run at once under different --name values, as long as their --ns-a/--ns-b
# differ. The binary is $QUICTUN_NETEM, else the newest build*/bin/quictun-netem in the repo.
# State (pid, log, stats) lives in $QUICTUN_NETEM_STATE (default /run/quictun-netem/NAME).
set -euo pipefail

die() { echo "link.sh: $*" >&2; exit 1; }

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }

find_binary() {
  if [[ -n "${QUICTUN_NETEM:-}" ]]; then echo "$QUICTUN_NETEM"; return; fi
  local repo candidate
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  candidate="$(ls -t "$repo"/build*/bin/quictun-netem 2>/dev/null | head -n 1 || true)"
  [[ -n "$candidate" ]] || die "quictun-netem not found; build it or set QUICTUN_NETEM"
  echo "$candidate"
}

# The namespaces a saved command line uses, so a forced stop can still remove them.
namespaces_of() {
  local a=qtA b=qtB prev=""
  for arg in "$@"; do
    case "$prev" in --ns-a) a="$arg" ;; --ns-b) b="$arg" ;; esac
    case "$arg" in --ns-a=*) a="${arg#*=}" ;; --ns-b=*) b="${arg#*=}" ;; esac
    prev="$arg"
  done
  echo "$a $b"
}

running() { [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

cmd="${1:-}"; [[ -n "$cmd" ]] || usage 2
shift
name=default
if [[ "${1:-}" == "--name" ]]; then
  [[ -n "${2:-}" ]] || die "--name needs a value"
  name="$2"; shift 2
fi
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "--name: '$name' must be [A-Za-z0-9._-]"
state="${QUICTUN_NETEM_STATE:-/run/quictun-netem}/$name"

case "$cmd" in
  start)
    [[ $EUID -eq 0 ]] || die "needs root (network namespaces, TUN devices)"
    running && die "link '$name' is already running (pid $(cat "$state/pid")); stop it first"
    mkdir -p "$state"
    rm -f "$state/ready" "$state/stats.json"
    bin="$(find_binary)"
    printf '%s\n' "$@" > "$state/args"
    setsid "$bin" --stats-file "$state/stats.json" --ready-file "$state/ready" "$@" \
      > "$state/log" 2>&1 < /dev/null &
    echo $! > "$state/pid"
    for _ in $(seq 1 100); do
      [[ -f "$state/ready" ]] && { grep -h 'a2b:\|b2a:\|ready' "$state/log" || true; exit 0; }
      running || { cat "$state/log" >&2; rm -f "$state/pid"; die "quictun-netem exited during start-up"; }
      sleep 0.1
    done
    die "quictun-netem not ready after 10 s; see $state/log"
    ;;
  stats)
    running || die "link '$name' is not running"
    kill -USR1 "$(cat "$state/pid")"
    sleep 0.2
    cat "$state/stats.json"
    ;;
  stop)
    [[ -f "$state/pid" ]] || die "link '$name' is not running"
    pid="$(cat "$state/pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "link.sh: quictun-netem did not stop; killing it and removing its namespaces" >&2
      kill -KILL "$pid" 2>/dev/null || true
      mapfile -t saved < "$state/args"
      for ns in $(namespaces_of "${saved[@]}"); do ip netns del "$ns" 2>/dev/null || true; done
    fi
    rm -f "$state/pid"
    grep -h '(.* -> .*)' "$state/log" || true
    [[ -f "$state/stats.json" ]] && echo "stats: $state/stats.json"
    ;;
  status)
    if running; then echo "running (pid $(cat "$state/pid"))"; else echo "stopped"; exit 3; fi
    ;;
  -h|--help|help) usage 0 ;;
  *) echo "link.sh: unknown command '$cmd'" >&2; usage 2 ;;
esac
