#!/usr/bin/env bash
# The long form of the reliability suite (RELIABILITY.md), as root, one command:
#   1. the packet fuzz: 1,000,000 generated and mutated frames through every actor on both
#      hooks (BPF_PROG_TEST_RUN), judged by a Python oracle and by tshark, over both cores;
#   2. kill -9 soak: 200 trials killing commit, rollback, apply (attached in a namespace) and the
#      daemon's injections, each followed by the store's integrity checks and a converging apply;
#   3. concurrent writers: 6 processes committing and rolling back on one store for 60 s;
#   4. the standing hostile-string, permission and store-check tests (tests/soak).
# Prints the figures and writes them to build/reliability/figures.json. CI runs the short forms
# as part of scripts/test.sh (python3 -m pytest tests).
#   bash scripts/reliability.sh                       everything, fresh seeds
#   FUZZ_FRAMES=N SOAK_TRIALS=N WRITERS_SECONDS=S SEED=N bash scripts/reliability.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/reliability.sh: run as root (BPF programs, bpffs, namespaces)" >&2
  exit 2
fi
SEED=${SEED:-$RANDOM}
export EMPTCP_BIN=${EMPTCP_BIN:-$PWD/.build/debug/emptcp}
export EMPTCP_BPF_DIR=${EMPTCP_BPF_DIR:-$PWD/build/bpf}
export EMPTCP_REQUIRE_KERNEL=1
bash bpf/build.sh
[ -x "$EMPTCP_BIN" ] || swift build
out=build/reliability
mkdir -p "$out"

status=0
echo "== packet fuzz"
python3 tests/packet/fuzz_long.py --frames "${FUZZ_FRAMES:-1000000}" --seed "$SEED" --json "$out/fuzz.json" || status=1
echo "== kill -9 soak and concurrent writers"
python3 -m tests.soak.long --trials "${SOAK_TRIALS:-200}" --writers "${WRITERS:-6}" \
  --seconds "${WRITERS_SECONDS:-60}" --seed "$SEED" --json "$out/soak.json" || status=1
echo "== hostile strings, permissions, store checks"
python3 -m pytest -q -p no:cacheprovider tests/soak -k 'not kill9 and not concurrent' || status=1

python3 - "$out" "$(git rev-parse --short HEAD)" <<'PY'
import json, sys, datetime
out, commit = sys.argv[1], sys.argv[2]
f, s = json.load(open(f"{out}/fuzz.json")), json.load(open(f"{out}/soak.json"))
k, w = s["kill9"], s["writers"]
figures = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%MZ"), "commit": commit, "fuzz": f, "soak": s}
json.dump(figures, open(f"{out}/figures.json", "w"), indent=1)
print(f"\nreliability figures ({figures['date']}, commit {commit}):")
print(f"  packets tried {f['frames']:,}, failed {f['failed']}, of which {f['failed_of_open_findings']} of open findings (RELIABILITY.md) (rewritten and checked by tshark {f['rewritten_and_checked_by_tshark']:,}; {f['seconds']} s)")
print(f"  kill -9 trials {k['trials']}, killed while running {k['killed_while_running']}, corruptions {k['corruptions']}, lost revisions {k['lost_revisions']}, trials with faults {k['trials_with_faults']}")
print(f"  concurrent writers {w['writers']} x {w['seconds']:.0f} s: attempts {w['attempts']}, corruptions {w['corruptions']}, lost revisions {w['lost_revisions']}, faults {len(w['faults'])}")
PY
exit $status
