#!/usr/bin/env bash
# Builds every BPF program: bpf/<hook>/<name>.c -> build/bpf/<hook>/<name>.o, one program per
# object (bpf/iter/: the BPF iterators the daemon runs, build/bpf/iter/). The compiler is pinned
# (clang-14; the Swift toolchain's clang first on PATH produces code the verifier sees
# differently: docs/architecture.md, "Verifier budget"). Rebuilds only objects older than their
# inputs.
#   bash bpf/build.sh            build what changed
#   BPF_CLANG=/path/clang bash bpf/build.sh   another compiler (at your own risk)
#   bash bpf/build.sh clean      remove build/bpf
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/bpf
if [ "${1:-}" = clean ]; then
  rm -rf "$OUT"
  exit 0
fi

CLANG=${BPF_CLANG:-/usr/bin/clang-14}
if [ ! -x "$CLANG" ]; then
  echo "bpf/build.sh: $CLANG not found; install clang-14 (scripts/setup.sh does)" >&2
  exit 1
fi
ARCH_INC=/usr/include/$(uname -m)-linux-gnu
CFLAGS=(-O2 -g -target bpf -std=gnu11 -Wall -Werror -Wno-unused-function
  -I bpf/include -idirafter "$ARCH_INC")

headers=(bpf/include/emptcp/*.h bpf/lib/*.h)
newest_header=$(ls -t "${headers[@]}" | head -n 1)
built=0
for src in bpf/xdp/*.c bpf/tc/*.c bpf/iter/*.c examples/modules/*.c; do
  hook=$(basename "$(dirname "$src")")
  [ "$hook" = modules ] && hook=examples # operator module examples: build/bpf/examples/NAME.o
  obj=$OUT/$hook/$(basename "${src%.c}").o
  if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ "$obj" -nt "$newest_header" ] &&
    [ "$obj" -nt bpf/build.sh ]; then
    continue
  fi
  mkdir -p "$OUT/$hook"
  # a private temporary name: concurrent builds (parallel test runs) never see half an object
  "$CLANG" "${CFLAGS[@]}" -c "$src" -o "$obj.tmp.$$"
  mv -f "$obj.tmp.$$" "$obj"
  built=$((built + 1))
done
echo "bpf/build.sh: $built object(s) built in $OUT"
