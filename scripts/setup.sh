#!/usr/bin/env bash
# Installs everything quictun needs to build and test, from Debian packages only.
# Works on Debian 12 (ngtcp2 from bookworm-backports) and Debian 13 (ngtcp2 in main).
# Safe to run again: it only adds what is missing.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. /etc/os-release
codename="${VERSION_CODENAME:-}"

packages=(
  build-essential cmake pkg-config git ca-certificates
  libgnutls28-dev gnutls-bin libevent-dev libtomlplusplus-dev
  libboost-dev libboost-filesystem-dev libgtest-dev libgmock-dev
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libhttp-parser-dev
  socat iproute2 iptables python3
  libyaml-cpp-dev libsystemd-dev python3-prometheus-client curl openssh-client
  clang-14 libclang-rt-14-dev dpkg-dev file systemd
)
ngtcp2_packages=(libngtcp2-dev libngtcp2-crypto-gnutls-dev)

# Debian 12 carries ngtcp2 0.12 in main; 1.11 lives in bookworm-backports. Build the
# backports entry from this machine's own Debian source so that mirrors stay as configured.
backports_args=()
if [ "$codename" = bookworm ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri="$(bash "$(dirname "$0")/debian-mirror.sh")"
    cat > /etc/apt/sources.list.d/quictun-bookworm-backports.sources <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    echo "setup.sh: added bookworm-backports from $uri (for ngtcp2 >= 1.11)"
  fi
  backports_args=(-t bookworm-backports)
fi

missing=()
for p in "${packages[@]}" "${ngtcp2_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}"
  apt-get install -y -qq --no-install-recommends "${backports_args[@]}" "${ngtcp2_packages[@]}"
fi
# ngtcp2's own source (Debian's orig tarball, sha256-checked): quictun builds it static to install
# its congestion controllers (cmake/Ngtcp2.cmake). Not needed for -DQUICTUN_NGTCP2=system.
bash "$(dirname "$0")/fetch-ngtcp2-source.sh"
echo "setup.sh: dependencies installed"
