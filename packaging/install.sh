#!/usr/bin/env bash
# Installs the emptcp binary, BPF objects, systemd units and udev rule, then enables boot restore.
# Run from the repository after `swift build -c release` and `bash bpf/build.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
install -D -m 0755 .build/release/emptcp /usr/local/bin/emptcp
for hook in xdp tc; do
  install -d /usr/local/lib/emptcp/bpf/$hook
  install -m 0644 build/bpf/$hook/*.o /usr/local/lib/emptcp/bpf/$hook/
done
install -D -m 0644 docs/operations.md /usr/local/share/doc/emptcp/operations.md
install -D -m 0644 packaging/emptcp-restore.service /etc/systemd/system/emptcp-restore.service
install -D -m 0644 packaging/emptcp-attach@.service /etc/systemd/system/emptcp-attach@.service
install -D -m 0644 packaging/90-emptcp.rules /etc/udev/rules.d/90-emptcp.rules
install -d -m 0750 /var/lib/emptcp
systemctl daemon-reload
udevadm control --reload
systemctl enable emptcp-restore.service
