#!/usr/bin/env bash
# Fetches ngtcp2 1.11.0's upstream source from Debian's own archive (the orig tarball of the
# package that Debian 12 backports / Debian 13 ship) into .deps/, and checks it by sha256.
# quictun builds ngtcp2 from it as static libraries so that it can install its own congestion
# controllers (core/quic/ngtcp2_cc_hook.c); the tarball is used as it is, no file patched.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/.deps"
tarball="ngtcp2_1.11.0.orig.tar.xz"
sha256="382c15bf66b630f26021631b25b7eb1feac42c67c1d6826189d61091dfaa4d09"

check() { echo "$sha256  $dest/$tarball" | sha256sum --check --status; }

mkdir -p "$dest"
if [ -f "$dest/$tarball" ] && check; then
  echo "fetch-ngtcp2-source: $tarball present and verified"
  exit 0
fi

. /etc/os-release
case "${VERSION_CODENAME:-}" in
  bookworm) suite=bookworm-backports ;;
  *) suite="${VERSION_CODENAME:?cannot tell the Debian release}" ;;
esac

# A deb-src entry for the same mirror and suite as the binary packages.
src_list=/etc/apt/sources.list.d/quictun-ngtcp2-src.sources
if [ ! -f "$src_list" ]; then
  uri="$(bash "$(dirname "$0")/debian-mirror.sh")"
  cat > "$src_list" <<SRC
Types: deb-src
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
chmod 777 "$scratch"  # apt's sandbox user writes here
# The .dsc may be missing from the mirror (apt-get then exits non-zero) while the orig
# tarball arrives; the sha256 below is what decides.
fetch() { (cd "$scratch" && apt-get source --download-only -t "$suite" ngtcp2 >/dev/null 2>&1) || true; }
fetch
if [ ! -f "$scratch/$tarball" ]; then  # stale package lists: refresh once
  apt-get update -qq
  fetch
fi
if [ ! -f "$scratch/$tarball" ]; then
  echo "fetch-ngtcp2-source: apt-get source ngtcp2 ($suite) did not deliver $tarball" >&2
  exit 1
fi
mv "$scratch/$tarball" "$dest/$tarball"
if ! check; then
  echo "fetch-ngtcp2-source: $tarball does not match sha256 $sha256" >&2
  rm -f "$dest/$tarball"
  exit 1
fi
echo "fetch-ngtcp2-source: $tarball fetched and verified"
