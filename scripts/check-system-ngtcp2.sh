#!/usr/bin/env bash
# Builds the programs against the distribution's shared ngtcp2 (-DQUICTUN_NGTCP2=system) and
# checks what such a build promises: it runs with ngtcp2's own controllers (the default falls
# back to ngtcp2's bbr), and naming a plugin controller fails at start-up saying why.
# Run after scripts/test.sh (it uses that build's plugins). BUILD_DIR: the main build (build).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
main_build="${BUILD_DIR:-$here/build}"
build="$here/build-system"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUICTUN_WERROR=ON -DQUICTUN_NGTCP2=system \
      -DQUICTUN_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target quictun-server >/dev/null
server="$build/bin/quictun-server"
if ldd "$server" | grep -q 'libngtcp2\.so'; then :; else
  echo "check-system-ngtcp2: $server does not link the shared libngtcp2" >&2; exit 1
fi
set +e
out="$("$server" --plugin-dir "$main_build/plugins" --congestion-control bbr1 2>&1)"
code=$?
set -e
if [ "$code" != 2 ] || ! grep -q 'built against the system'"'"'s shared ngtcp2' <<<"$out"; then
  echo "check-system-ngtcp2: a plugin controller should be refused (exit 2, with the reason); got $code: $out" >&2
  exit 1
fi
log="$(mktemp)"
"$server" --plugin-dir "$main_build/plugins" --listen-on 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
ok=0
for _ in $(seq 1 50); do
  if grep -q 'listening on UDP' "$log"; then ok=1; break; fi
  sleep 0.1
done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [ "$ok" != 1 ] || ! grep -q "congestion controller: bbr (ngtcp2's" "$log"; then
  echo "check-system-ngtcp2: the default should start on ngtcp2's bbr:" >&2; cat "$log" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
echo "check-system-ngtcp2: -DQUICTUN_NGTCP2=system builds, starts on ngtcp2's bbr, refuses plugin controllers"
