"""Shared helpers of the benchmark drivers: paths, commands, statistics."""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sh(cmd: list[str], *, check: bool = True, timeout: float = 900, env: dict | None = None,
       input: str | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {shlex.join(cmd)}: {(p.stderr or p.stdout).strip()[-800:]}")
    return p


def timed(cmd: list[str], **kw) -> float:
    """Wall-clock seconds of one command (which must succeed)."""
    t0 = time.perf_counter()
    sh(cmd, **kw)
    return time.perf_counter() - t0


def stats(values: list[float]) -> dict:
    """min / median / max of the repetitions, plus the raw values."""
    if not values:
        return {"min": None, "median": None, "max": None, "n": 0, "values": []}
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "n": len(values), "values": values}


def repetitions(part: str, n: int, reps: int, measure, times: tuple[str, ...], errors: list[str],
                after_failure=lambda: None) -> list[dict]:
    """Runs `measure(rep)` `reps` times for size `n` and logs each run's `times` in ms. A failed
    repetition is recorded in `errors` (reported with the results, never hidden), followed by
    `after_failure()` to put the scene back."""
    runs = []
    for rep in range(reps):
        try:
            r = measure(rep)
            runs.append(r)
            log(f"{part} n={n} rep {rep + 1}: " + " ".join(f"{k}={r[k] * 1000:.1f}ms" for k in times))
        except Exception as e:  # noqa: BLE001 - reported in the results, never hidden
            errors.append(f"n={n} rep {rep + 1}: {e}")
            log(f"{part} n={n} rep {rep + 1}: {e}")
            after_failure()
    return runs


def summary(runs: list[dict], times: tuple[str, ...], ratios) -> dict:
    """stats of every time over the runs, and of every ratio (name, numerator, floor) taken per
    run, so that each repetition is divided by the floor measured in that repetition."""
    entry = {k: stats([r[k] for r in runs]) for k in times}
    for name, num, floor in ratios:
        entry[name] = stats([r[num] / r[floor] for r in runs if r[floor] > 0])
    return entry


def slope(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line through (xs, ys): (slope, intercept)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, my
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return b, my - b * mx


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bins(bin_dir: str) -> tuple[str, str]:
    """Paths of emptcp and emptcp-bench in `bin_dir`."""
    e, b = os.path.join(bin_dir, "emptcp"), os.path.join(bin_dir, "emptcp-bench")
    for p in (e, b):
        if not os.access(p, os.X_OK):
            raise RuntimeError(f"{p} not built")
    return e, b


def interleaved_ns(dp, hook: str, pkt: bytes, rounds: int, repeat: int, prog: str = "entry",
                   batch: int | None = None) -> tuple[list[float], list[float]]:
    """ns/packet of `prog` and of the bare `pass` program of `hook` (BPF_PROG_TEST_RUN on a
    lab.dataplane.DataPlane), one of each per round, so both see the same machine load. With
    `batch` (ring-buffer cases), `prog` runs in batches below the ring size, drained between
    them. Returns (prog values, pass values)."""
    ns, base = [], []
    for _ in range(rounds):
        base.append(dp.run(hook, pkt, repeat=repeat, name="pass")[2])
        if batch:
            tot = 0
            for _ in range(repeat // batch):
                dp.ring().drain()
                tot += dp.run(hook, pkt, repeat=batch, name=prog)[2]
            ns.append(tot / (repeat // batch))
        else:
            ns.append(dp.run(hook, pkt, repeat=repeat, name=prog)[2])
    return ns, base
