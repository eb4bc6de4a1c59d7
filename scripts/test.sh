#!/usr/bin/env bash
# Sets up (apt-get), builds with warnings as errors, and runs every test. Usage: sudo scripts/test.sh
# BUILD_DIR overrides the build directory (default: build); QUICTUN_SANITIZE=ON builds with ASan+UBSan.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$here/build}"
bash "$here/scripts/setup.sh"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUICTUN_WERROR=ON \
      -DQUICTUN_SANITIZE="${QUICTUN_SANITIZE:-OFF}"
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 600
