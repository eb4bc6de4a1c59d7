#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang 14 (ASan + UBSan) into build-fuzz and
# runs each one for a bounded time, starting from its seed corpus in the repository (new inputs
# go to build-fuzz/fuzz-work, never into the repository). Any crash, leak or sanitizer report
# fails the run; the input that caused it is left in build-fuzz/fuzz-artifacts.
#
# Usage: scripts/fuzz.sh [SECONDS_EACH]          (default 25 s each)
#        FUZZ_RUNS=10000000 scripts/fuzz.sh      (a number of executions each instead of a time)
#        FUZZ_ONLY="arq_datagram config_toml" scripts/fuzz.sh 60
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$here/build-fuzz}"
seconds="${1:-25}"
all="token_handshake arq_datagram server_intake config_toml config_flags token_file http_request_head http_lookup_response"
names="${FUZZ_ONLY:-$all}"

mkdir -p "$build"
CC=clang-14 CXX=clang++-14 cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUICTUN_FUZZ=ON \
  -DQUICTUN_NGTCP2=system ${QUICTUN_CMAKE_ARGS:-} > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
targets=()
for n in $names; do targets+=("fuzz_$n"); done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
mkdir -p "$build/fuzz-artifacts"
failed=0
summary="$build/fuzz-summary.txt"
printf '%-22s %12s %8s %s\n' harness executions seconds result > "$summary"
for n in $names; do
  work="$build/fuzz-work/$n"
  mkdir -p "$work"
  limit=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  log="$build/fuzz-$n.log"
  start=$(date +%s)
  result=ok
  # -rss_limit_mb: a harness must not balloon; -timeout: nor hang on one input.
  "$build/bin/fuzz_$n" "${limit[@]}" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$n-" "$work" "$here/tests/fuzz/corpus/$n" > "$log" 2>&1 || result=FAILED
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-22s %12s %8s %s\n' "$n" "${execs:-?}" "$took" "$result" >> "$summary"
  if [ "$result" != ok ]; then
    failed=1
    echo "fuzz: $n failed; the end of its log ($log):" >&2
    tail -n 60 "$log" >&2
  fi
done
cat "$summary"
exit "$failed"
