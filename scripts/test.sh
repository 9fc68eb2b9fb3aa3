#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: the Swift tests (store, applier, events; the
# kernel ones load real programs), then the pytest kernel suites (packets through BPF_PROG_TEST_RUN,
# real MPTCP traffic between namespaces), then the Debian package (built, installed, demo run with
# the installed binary, removed), then a smoke run of the benchmarks so they cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

set +e
swift test 2>&1 | tee /tmp/emptcp-swift-test.log
swift_status=${PIPESTATUS[0]}
set -e
if [ "$swift_status" -ne 0 ]; then
  echo "swift test failed (exit $swift_status)"
  exit "$swift_status"
fi

export EMPTCP_BIN="$PWD/.build/debug/emptcp"
export EMPTCP_BPF_DIR="$PWD/build/bpf"
# Every kernel suite must run here: a kernel test that skips (no root, a missing tool) fails.
export EMPTCP_REQUIRE_KERNEL=1
python3 -m pytest -q tests

# The package: build the .deb with the one install step, install it, run the demo with the
# installed binary from outside the source tree, remove it.
bash scripts/package-test.sh

# The benchmarks are never tests; a smoke run (tiny sizes and repeat counts) keeps their code alive.
bash scripts/bench.sh --smoke
