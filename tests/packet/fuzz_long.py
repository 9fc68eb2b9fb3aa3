"""The long form of the packet fuzz: a million frames (by default) through every actor on both
hooks, split into chunks over worker processes (one private data plane each, one per core by
default), every frame judged by the Python oracle and every rewritten one by tshark (see
test_packet_fuzz.py). Prints the figures; with --json, writes them to a file. A failing frame is
appended to fuzz_regressions.txt as an `open` finding, which the short form replays from then on.

    python3 tests/packet/fuzz_long.py [--frames 1000000] [--seed N] [--jobs 2] [--json out.json]

Root only (BPF_PROG_TEST_RUN, bpffs). Run from the repository root, objects in build/bpf
(or EMPTCP_BPF_DIR)."""
import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import sys
import time
from multiprocessing.util import Finalize
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

from fuzz_frames import ACTORS  # noqa: E402
from fuzz_run import run_chunk  # noqa: E402
from lab.dataplane import DataPlane  # noqa: E402

REGRESSIONS = HERE / "fuzz_regressions.txt"
_plane = None


def _worker_init():
    global _plane
    signal.signal(signal.SIGTERM, _terminated)     # the pool's terminate(), after a failure
    _plane = DataPlane()
    Finalize(None, _plane.close, exitpriority=10)  # a normal exit


def _terminated(*_):
    if _plane is not None:
        _plane.close()
    os._exit(1)


def _task(args):
    hook, actor, seed, chunk, frames = args
    _plane.reset()
    return run_chunk(_plane, hook, actor, seed, chunk, frames)


def _kinds_on_file():
    """(hook, actor, failure) -> how many `open` lines fuzz_regressions.txt holds of it."""
    kinds = {}
    for line in REGRESSIONS.read_text().splitlines():
        words, _, note = line.partition("#")
        w = words.split()
        if len(w) == 4 and w[0] == "open" and ":" in note:
            kind = (w[1], w[2], note.split(":", 1)[1].strip()[:60])
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1_000_000, help="frames in all, over every actor and hook")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--json", default=None, help="write the figures here as JSON")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    pairs = [(h, x) for h in ACTORS for x in ACTORS[h]]
    per_pair = -(-a.frames // len(pairs))
    tasks = []
    for hook, actor in pairs:
        for chunk, start in enumerate(range(0, per_pair, a.chunk)):
            tasks.append((hook, actor, seed, chunk, min(a.chunk, per_pair - start)))
    t0 = time.monotonic()
    totals = {f"{h} {x}": {"tried": 0, "refused": 0, "rewritten": 0, "dropped": 0, "failed": 0} for h, x in pairs}
    failures = []
    with mp.Pool(a.jobs, initializer=_worker_init) as pool:
        for res in pool.imap_unordered(_task, tasks):
            t = totals[f"{res.hook} {res.actor}"]
            for k in ("tried", "refused", "rewritten", "dropped"):
                t[k] += getattr(res, k)
            t["failed"] += len(res.failures)
            failures += [(res.hook, res.actor, *f) for f in res.failures]
            for why, fin, fout in res.failures:
                print(f"FAILED {res.hook} {res.actor}: {why}\n  in  {fin}\n  out {fout}", flush=True)
            done = sum(v["tried"] + v["refused"] for v in totals.values())
            print(f"  {done:>9,} / {per_pair * len(pairs):,} frames, {len(failures)} failed", flush=True)
        pool.close()
        pool.join()
    secs = time.monotonic() - t0
    figures = {"seed": seed, "frames": sum(v["tried"] + v["refused"] for v in totals.values()),
               "tried": sum(v["tried"] for v in totals.values()),
               "refused_by_tc_test_run": sum(v["refused"] for v in totals.values()),
               "rewritten_and_checked_by_tshark": sum(v["rewritten"] for v in totals.values()),
               "dropped": sum(v["dropped"] for v in totals.values()),
               "failed": len(failures), "seconds": round(secs), "jobs": a.jobs, "per_pair": totals}
    print(f"packet fuzz, seed {seed}: {figures['frames']:,} frames ({figures['tried']:,} run, "
          f"{figures['refused_by_tc_test_run']:,} refused by TC's test run), "
          f"{figures['rewritten_and_checked_by_tshark']:,} rewritten and checked by tshark, "
          f"{figures['dropped']:,} dropped, {figures['failed']} failed, {secs:.0f} s on {a.jobs} processes")
    for key, v in totals.items():
        print(f"  {key:<22} {v['tried']:>8,} run  {v['rewritten']:>8,} rewritten  {v['dropped']:>7,} dropped  {v['failed']} failed")
    open_kinds = _kinds_on_file()
    known = [f for f in failures if (f[0], f[1], f[2].splitlines()[0][:60]) in open_kinds]
    figures["failed_of_open_findings"] = len(known)
    print(f"  {len(known)} of the {len(failures)} failures are of kinds already recorded as open findings "
          f"({REGRESSIONS.name})")
    if failures:
        # New findings are kept as `open` lines (strict xfail in the short form), at most three
        # per actor, hook and kind of failure: the fix turns them into XPASS, to be un-opened.
        on_file = REGRESSIONS.read_text()
        kept = dict(open_kinds)  # kinds already on file count toward their three
        with REGRESSIONS.open("a") as f:
            for hook, actor, why, fin, fout in failures:
                kind = (hook, actor, why.splitlines()[0][:60])
                if fin not in on_file and kept.get(kind, 0) < 3:
                    kept[kind] = kept.get(kind, 0) + 1
                    f.write(f"open {hook} {actor} {fin}  # seed {seed}: {why.splitlines()[0]}\n")
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=1))
    # Failures of a kind already recorded as open are the known state; anything else fails.
    return 1 if len(failures) > len(known) else 0


if __name__ == "__main__":
    sys.exit(main())
