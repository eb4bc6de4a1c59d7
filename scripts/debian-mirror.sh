#!/usr/bin/env bash
# Prints the URI of this machine's own Debian mirror (not the security one), from
# /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list, so that entries the setup
# scripts add (bookworm-backports, deb-src) use the mirror the machine is configured with.
set -euo pipefail
uri=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file|ftp):/) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { echo "debian-mirror.sh: cannot find a Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }
echo "$uri"
