#!/usr/bin/env bash
# The package as an operator meets it: builds the .deb with the one install step
# (scripts/install.sh --deb), installs it with apt (which resolves its Depends), checks what it
# installed (man page, bash completion, systemd units pointing at the installed binary, no Swift
# runtime needed), runs the two-namespace demo with the installed binary from a directory outside
# the source tree (it must find its BPF objects by itself), and removes the package again, also
# when a step fails. Run by scripts/test.sh; needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
if [ "$(id -u)" -ne 0 ]; then
  echo "package-test.sh: run as root (dpkg, namespaces, BPF)" >&2
  exit 1
fi
if dpkg-query -W -f='${Status}' emptcp 2>/dev/null | grep -q "install ok installed"; then
  echo "package-test.sh: an emptcp package is installed already; remove it first (dpkg -r emptcp)" >&2
  exit 1
fi

deb=$(bash scripts/install.sh --deb "$REPO/build" | tail -n 1)
echo "package: $deb"
dpkg-deb --field "$deb" Package Version Depends
cleanup() { dpkg --purge emptcp >/dev/null 2>&1 || true; }
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null

fail() { echo "package-test.sh: $*" >&2; exit 1; }
BIN=/usr/bin/emptcp
[ -x "$BIN" ] || fail "$BIN not installed"
[ ! -e /usr/bin/emptcp-bench ] || fail "emptcp-bench must not be installed"
"$BIN" --version | grep -qx "$(dpkg-deb --field "$deb" Version)" || fail "emptcp --version differs from the package version"
# The static standard library: no Swift runtime library may be needed at run time.
if ldd "$BIN" | grep -E 'libswift|libFoundation|libdispatch|not found'; then fail "$BIN needs libraries the package does not depend on"; fi
[ -f /usr/lib/emptcp/bpf/xdp/entry.o ] && [ -f /usr/lib/emptcp/bpf/tc/entry.o ] || fail "BPF objects missing"
[ -f /usr/include/emptcp/abi.h ] || fail "SDK headers missing"

# man emptcp renders the page, subcommands included.
man -w emptcp | grep -q '^/usr/share/man/man1/emptcp.1' || fail "man -w emptcp: no page"
MANWIDTH=100 man -P cat emptcp 2>/dev/null | grep -q 'attach' || fail "man emptcp does not render the subcommands"

# Bash completion as an interactive shell loads it (bash-completion's loader, by command name):
# `emptcp att<TAB>` completes to attach.
words=$(bash --norc --noprofile -c '
  source /usr/share/bash-completion/bash_completion
  _completion_loader emptcp
  spec=$(complete -p emptcp) || exit 1
  func=$(sed -n "s/.*-F \([^ ]*\) emptcp$/\1/p" <<<"$spec")
  COMP_WORDS=(emptcp att); COMP_CWORD=1; COMP_LINE="emptcp att"; COMP_POINT=${#COMP_LINE}
  "$func" emptcp att emptcp
  echo "${COMPREPLY[*]}"')
[ "$words" = attach ] || fail "bash completion of 'emptcp att' gave '$words', expected attach"
[ -f /usr/share/zsh/vendor-completions/_emptcp ] && [ -f /usr/share/fish/vendor_completions.d/emptcp.fish ] ||
  fail "zsh or fish completion missing"

# Units and rules call the installed binary, never /usr/local.
for unit in /usr/lib/systemd/system/emptcp*.service /usr/lib/udev/rules.d/*emptcp*.rules; do
  [ -e "$unit" ] || continue
  ! grep -q /usr/local "$unit" || fail "$unit still names /usr/local"
done

# postinst enabled boot restore (the enablement symlink exists even without a running systemd).
if [ -e /usr/lib/systemd/system/emptcp-restore.service ]; then
  [ -L /etc/systemd/system/sysinit.target.wants/emptcp-restore.service ] || fail "postinst did not enable emptcp-restore.service"
fi

# The demo with the installed binary, from outside the source tree, no EMPTCP_BPF_DIR.
(cd / && env -u EMPTCP_BPF_DIR EMPTCP_BIN="$BIN" bash "$REPO/scripts/demo.sh")

dpkg --purge emptcp >/dev/null
[ ! -e "$BIN" ] || fail "$BIN left after dpkg --purge"
[ ! -L /etc/systemd/system/sysinit.target.wants/emptcp-restore.service ] || fail "boot restore still enabled after purge"
echo "package-test.sh: ok (built, installed, demo run, removed)"
