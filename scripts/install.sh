#!/usr/bin/env bash
# The one install step: builds emptcp for installation (release, Swift standard library linked
# statically) and installs it under PREFIX, staged under DESTDIR when set:
#   PREFIX/bin/emptcp                          the tool (it finds its objects from its own path)
#   PREFIX/lib/emptcp/bpf/<hook>/*.o           the BPF objects
#   PREFIX/include/emptcp/*.h                  the SDK headers for operator modules
#   PREFIX/share/man/man1/emptcp.1             man page (swift-argument-parser's generate-manual)
#   PREFIX/share/{bash-completion,zsh,fish}/   shell completions
#   PREFIX/lib/systemd/system/, PREFIX/lib/udev/rules.d/   units and udev rule (paths rewritten to PREFIX)
#   PREFIX/share/doc/emptcp/                   operations guide, README, examples
# `--deb` builds a Debian package from the same staging instead (PREFIX=/usr).
#
#   bash scripts/install.sh                            # into /usr/local (root)
#   PREFIX=/opt/emptcp bash scripts/install.sh
#   PREFIX=/usr DESTDIR=/tmp/stage bash scripts/install.sh   # staged, no root needed
#   bash scripts/install.sh --deb [OUTDIR]             # OUTDIR/emptcp_<version>_<arch>.deb (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

DEB_OUT=
if [ "${1:-}" = --deb ]; then
  DEB_OUT=$(realpath -m "${2:-build}")
  PREFIX=/usr
  DESTDIR=$(mktemp -d /tmp/emptcp-deb.XXXXXX)
  trap 'rm -rf "$DESTDIR"' EXIT
fi
PREFIX=${PREFIX:-/usr/local}
PREFIX=${PREFIX%/}
DESTDIR=${DESTDIR:-}
case "$PREFIX" in /*) ;; *) echo "install.sh: PREFIX must be absolute, not $PREFIX" >&2; exit 2 ;; esac
ROOT="$DESTDIR$PREFIX"
VERSION=$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/emptcp/Support/EmptcpVersion.swift)
[ -n "$VERSION" ] || { echo "install.sh: no version in Sources/emptcp/Support/EmptcpVersion.swift" >&2; exit 1; }

# 1. Build: BPF objects, then the tool. The static standard library leaves only C and C++
# libraries (libbpf, libsqlite3, libelf, zlib, libstdc++, libc) to the system: no Swift runtime.
bash bpf/build.sh
swift build -c release --static-swift-stdlib --product emptcp 2>&1 | tail -n 1
BIN="$(swift build -c release --static-swift-stdlib --show-bin-path)/emptcp"

# 2. The man page, from the tool's own help (the generate-manual plugin of swift-argument-parser).
# The help text is the same in every configuration; the plugin's debug build reuses the
# development build instead of relinking release without the static standard library. The date
# is the last commit's, so the page does not change from one build to the next.
MAN_DATE=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
MAN_DIR=$(mktemp -d /tmp/emptcp-man.XXXXXX)
swift package plugin generate-manual --configuration debug --date "$MAN_DATE" --authors "emptcp developers" \
  >"$MAN_DIR/log" 2>&1 || { cat "$MAN_DIR/log" >&2; exit 1; }
MAN_PAGE=.build/plugins/GenerateManual/outputs/emptcp/emptcp.1
[ -s "$MAN_PAGE" ] || { echo "install.sh: generate-manual wrote no $MAN_PAGE" >&2; exit 1; }

# 3. Install.
install -D -m 0755 -s "$BIN" "$ROOT/bin/emptcp" # stripped: 80 MB of debug info otherwise
for dir in build/bpf/*/; do
  hook=$(basename "$dir")
  [ "$hook" = examples ] && continue # example operator modules go with the docs
  install -d "$ROOT/lib/emptcp/bpf/$hook"
  install -m 0644 "$dir"*.o "$ROOT/lib/emptcp/bpf/$hook/"
done
install -d "$ROOT/include/emptcp"
install -m 0644 bpf/include/emptcp/*.h "$ROOT/include/emptcp/"
install -D -m 0644 "$MAN_PAGE" "$ROOT/share/man/man1/emptcp.1"
gzip -9nf "$ROOT/share/man/man1/emptcp.1"
rm -rf "$MAN_DIR"

# Completions where each shell looks under this prefix (zsh: Debian's packaged zsh reads
# vendor-completions under /usr, upstream zsh reads site-functions under /usr/local).
zsh_dir=$([ "$PREFIX" = /usr ] && echo vendor-completions || echo site-functions)
install -d "$ROOT/share/bash-completion/completions" "$ROOT/share/zsh/$zsh_dir" "$ROOT/share/fish/vendor_completions.d"
"$BIN" --generate-completion-script bash >"$ROOT/share/bash-completion/completions/emptcp"
"$BIN" --generate-completion-script zsh >"$ROOT/share/zsh/$zsh_dir/_emptcp"
"$BIN" --generate-completion-script fish >"$ROOT/share/fish/vendor_completions.d/emptcp.fish"

# systemd units and udev rules, written for /usr/local: their paths follow PREFIX.
for unit in packaging/*.service; do
  [ -e "$unit" ] || continue
  install -d "$ROOT/lib/systemd/system"
  sed "s#/usr/local/#$PREFIX/#g" "$unit" >"$ROOT/lib/systemd/system/$(basename "$unit")"
done
for rule in packaging/*.rules; do
  [ -e "$rule" ] || continue
  install -d "$ROOT/lib/udev/rules.d"
  sed "s#/usr/local/#$PREFIX/#g" "$rule" >"$ROOT/lib/udev/rules.d/$(basename "$rule")"
done

# The default database's directory (outside PREFIX: the CLI and the units default to it).
install -d -m 0750 "$DESTDIR/var/lib/emptcp"

install -d "$ROOT/share/doc/emptcp/examples"
install -m 0644 README.md "$ROOT/share/doc/emptcp/"
[ -e docs/operations.md ] && install -m 0644 docs/operations.md "$ROOT/share/doc/emptcp/"
install -m 0644 examples/policy.yaml "$ROOT/share/doc/emptcp/examples/"
[ -d examples/modules ] && cp -r examples/modules "$ROOT/share/doc/emptcp/examples/"

if [ -z "$DEB_OUT" ]; then
  # Onto the running system (no staging): what the package's postinst does. Boot restore is
  # enabled (it does nothing until a database exists); emptcpd is left to the operator.
  if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    [ -e "$ROOT/lib/systemd/system/emptcp-restore.service" ] && systemctl enable emptcp-restore.service
    [ -S /run/udev/control ] && udevadm control --reload
  fi
  echo "installed emptcp $VERSION under $ROOT"
  exit 0
fi

# 4. The Debian package of exactly this tree.
ARCH=$(dpkg --print-architecture)
install -d -m 0755 "$DESTDIR/DEBIAN"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" \
  -e "s/@INSTALLED_SIZE@/$(du -sk --exclude=DEBIAN "$DESTDIR" | cut -f1)/" \
  packaging/debian/control.in >"$DESTDIR/DEBIAN/control"
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$DESTDIR/DEBIAN/$script"
done
mkdir -p "$DEB_OUT"
DEB="$DEB_OUT/emptcp_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$DESTDIR" "$DEB" >/dev/null
echo "$DEB"
