#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan and runs every test
# (unit, plugin, e2e, fuzz corpus replays). Any sanitizer report fails the run, also one from a
# quictun-server or quictun-client that a test started: those write to their own log files, so
# every report also goes to a file under build-asan/sanitizer-reports, checked at the end.
# Run scripts/setup.sh (or scripts/test.sh) first. BUILD_DIR overrides build-asan.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$here/build-asan}"
reports="$build/sanitizer-reports"
# -O1 -g1: ASan's usual level, with line tables for its stack traces; compiles much faster than
# -O2 -g, which matters on CI's two cores.
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUICTUN_WERROR=ON -DQUICTUN_SANITIZE=ON \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
      ${QUICTUN_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
rm -rf "$reports" && mkdir -p "$reports"
# halt_on_error: the first finding stops the process (UBSan also has -fno-sanitize-recover).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
export LSAN_OPTIONS="suppressions=$here/scripts/lsan.supp:print_suppressions=0"
status=0
(cd "$build" && ctest --output-on-failure --timeout 900 -j"${QUICTUN_TEST_JOBS:-2}") || status=$?
if compgen -G "$reports/*" > /dev/null; then
  echo "test-sanitized: sanitizer reports:" >&2
  for f in "$reports"/*; do echo "== $f" >&2; cat "$f" >&2; done
  status=1
fi
exit "$status"
