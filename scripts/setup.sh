#!/usr/bin/env bash
# Installs what emptcp needs on a fresh Debian 12 machine (root), then builds the BPF objects and
# the Swift package. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt-get needs root. A non-root caller is re-run through sudo when there is one (passing PATH,
# which holds the Swift toolchain, past sudo's secure_path, and CONFIG); otherwise one line, exit 1.
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo env "PATH=$PATH" "CONFIG=${CONFIG:-debug}" bash "$PWD/scripts/setup.sh" "$@"
  fi
  echo "setup.sh: run as root (apt-get installs packages); no sudo found to do it for you" >&2
  exit 1
fi

APT_PACKAGES=(
  clang-14 llvm-14 libbpf-dev libelf-dev zlib1g-dev libsqlite3-dev sqlite3 bpftool
  iproute2 iperf3 mptcpize tshark ethtool python3-pip postgresql
  bash-completion man-db
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python side of the kernel tests and benchmarks (packet crafting, plots, the Prometheus text
# parser that checks `status --format prometheus`).
python3 -c 'import scapy, pytest, matplotlib, prometheus_client' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check scapy pytest matplotlib prometheus-client

CONFIG=${CONFIG:-debug}
bash bpf/build.sh
swift build -c "$CONFIG" 2>&1 | tail -n 3
