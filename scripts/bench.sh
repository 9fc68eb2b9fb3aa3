#!/usr/bin/env bash
# Builds emptcp in release mode and runs every benchmark: per-packet cost (BPF_PROG_TEST_RUN),
# MPTCP throughput over veth, store and applier scale, memory. Prints one table and writes
# BENCHMARKS.md with PNG plots in bench/plots/. Needs root (namespaces, bpffs, XDP).
#
#   scripts/bench.sh            full run (about 20-30 minutes)
#   scripts/bench.sh --smoke    every part with tiny counts and sizes (< 3 minutes, for CI); uses the
#                               debug build of scripts/setup.sh and writes only into bench-out/
#
# Env: BENCH_SCRATCH (SwiftPM scratch path of the release build, default .build),
#      BENCH_PARTS (comma list of packet,throughput,scale,apply,store,switch,live; default all).
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "bench.sh: needs root (network namespaces, bpffs, XDP)" >&2; exit 1; }

python3 -c 'import matplotlib' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check matplotlib
bash bpf/build.sh >/dev/null

SCRATCH=${BENCH_SCRATCH:-.build}
# The full run measures the binary that ships: release with the Swift standard library linked
# statically, exactly as scripts/install.sh (and so the .deb) builds it. A dynamically linked
# build spends a third of a short command in the dynamic linker, which no installed emptcp does.
if ((SMOKE)); then
  BUILD=(-c debug)
  ARGS=(--smoke --command "scripts/bench.sh --smoke")
else
  BUILD=(-c release --static-swift-stdlib)
  ARGS=(--command "scripts/bench.sh")
fi
swift build "${BUILD[@]}" --scratch-path "$SCRATCH" --product emptcp 2>&1 | tail -n 1
swift build "${BUILD[@]}" --scratch-path "$SCRATCH" --product emptcp-bench 2>&1 | tail -n 1
BIN_DIR=$(swift build "${BUILD[@]}" --scratch-path "$SCRATCH" --show-bin-path)

exec python3 -m bench.run --bin-dir "$BIN_DIR" --bpf-dir "$PWD/build/bpf" \
  --parts "${BENCH_PARTS:-packet,throughput,scale,apply,store,switch,live}" "${ARGS[@]}"
