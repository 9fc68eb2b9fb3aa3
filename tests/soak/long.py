"""The long form of the store soaks, one command (scripts/reliability.sh runs it after the packet
fuzz): kill -9 trials (kill9.py) and concurrent writers (writers.py), with their figures printed
and, with --json, written to a file.

    python3 -m tests.soak.long [--trials 200] [--writers 6] [--seconds 60] [--seed N] [--json out.json]

Root (namespaces, bpffs); run from the repository root; the binary is $EMPTCP_BIN or the debug
build."""
import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from lab.emptcp import emptcp_bin

from . import kill9, writers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--writers", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    figures = {"seed": seed}

    t0 = time.monotonic()

    def report(i, t):
        state = "killed" if t.killed else "finished first"
        print(f"  trial {i + 1:>4}/{a.trials} {t.kind:<8} kill at {t.delay:6.3f} s ({state}){' FAULT ' + '; '.join(t.faults) if t.faults else ''}", flush=True)

    trials = kill9.run(a.trials, seed, report=report)
    kinds = Counter(t.kind for t in trials)
    figures["kill9"] = {
        "trials": len(trials), "by_kind": dict(kinds),
        "killed_while_running": sum(t.killed for t in trials),
        "corruptions": sum(t.corrupt for t in trials),
        "lost_revisions": sum(t.lost for t in trials),
        "trials_with_faults": sum(bool(t.faults) for t in trials),
        "faults": [f"trial {i + 1} {t.kind}: {f}" for i, t in enumerate(trials) for f in t.faults][:50],
        "seconds": round(time.monotonic() - t0),
    }
    k = figures["kill9"]
    print(f"kill -9 soak, seed {seed}: {k['trials']} trials ({', '.join(f'{n} {kind}' for kind, n in kinds.items())}), "
          f"{k['killed_while_running']} killed while running, {k['corruptions']} corruptions, "
          f"{k['lost_revisions']} lost revisions, {k['trials_with_faults']} trials with faults, {k['seconds']} s")

    with tempfile.TemporaryDirectory(prefix="soak-writers-") as d:
        res = writers.run(emptcp_bin(), Path(d), a.writers, a.seconds, seed)
    outcomes = Counter(f"{x.kind} exit {x.rc}" for x in res.attempts)
    figures["writers"] = {
        "writers": a.writers, "seconds": a.seconds, "attempts": len(res.attempts), "outcomes": dict(outcomes),
        "revisions": res.revisions, "audit_rows": res.audit_rows, "corruptions": int(res.corrupt),
        "lost_revisions": res.lost, "faults": res.faults[:50],
    }
    w = figures["writers"]
    print(f"concurrent writers: {a.writers} for {a.seconds:.0f} s, {w['attempts']} attempts "
          f"({', '.join(f'{n} {o}' for o, n in sorted(outcomes.items()))}), {w['revisions']} revisions, "
          f"{w['audit_rows']} commit/rollback audit rows (incl. the first commit), {w['corruptions']} corruptions, "
          f"{w['lost_revisions']} lost revisions, {len(res.faults)} faults")
    for f in k["faults"] + w["faults"]:
        print(f"FAULT {f}")
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=1))
    return 1 if k["faults"] or w["faults"] else 0


if __name__ == "__main__":
    sys.exit(main())
