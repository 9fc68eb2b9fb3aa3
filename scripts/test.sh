#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: Swift unit/store tests, then the kernel tests
# (real programs, real namespaces, real MPTCP traffic).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests 2>&1 | tail -n 3
swift test --skip-build 2>&1 | tee /tmp/emptcp-swift-test.log | grep -vE '^(Test Case|\[|◇|↳)' || true
grep -qE 'Test run with .* passed|Executed .* with 0 failures' /tmp/emptcp-swift-test.log || { echo "swift tests failed"; exit 1; }
if grep -qE 'with [1-9][0-9]* (failures|issues)' /tmp/emptcp-swift-test.log; then echo "swift tests failed"; exit 1; fi
export EMPTCP_BIN="$PWD/.build/debug/emptcp"
python3 -m pytest -q tests
