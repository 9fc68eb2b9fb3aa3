"""`emptcp apply` and boot restore against their floors, measured in the same run (N = 1k and
100k bindings by default), through the real CLI in a lab namespace.

Per size, one database records c1 as attached under the pin root and holds an N-binding
revision (committed while nothing was attached, so nothing was applied). Per repetition, on a
fresh bpffs at that pin root with c1 attached from an empty database (programs loaded, policy
maps empty):
  apply         `emptcp apply`: all N bindings into the standby generation, then the flip
  raw           one BPF_MAP_UPDATE_BATCH of the same N entries into a fresh map (bench/rawmap.py):
                the floor of apply, apply --verify and boot
  noop          `emptcp apply` again: the markers prove the kernel holds the revision
  start         `emptcp --version`: process start, the floor of the no-op
  verify        `emptcp apply --verify`: reads and compares every entry (writes nothing)
  boot          `emptcp apply --boot` after the bpffs was unmounted and mounted empty again (what
                a reboot leaves): load and pin the programs, re-attach c1, apply the N bindings
  boot_fixed    boot − apply of the same repetition: what a restore costs beyond the apply
Every ratio divides by its floor of the same repetition; min / median / max over repetitions.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from bench import rawmap
from bench.common import repetitions, summary
from bench.scale import Scale, addresses, policy
from lab import run as lab_run

TIMES = ("apply", "raw", "noop", "start", "verify", "boot", "boot_fixed")
RATIOS = (("apply_vs_raw", "apply", "raw"), ("noop_vs_start", "noop", "start"),
          ("verify_vs_raw", "verify", "raw"), ("boot_vs_raw", "boot", "raw"))


def process_start(sc: Scale, db: Path, pins: Path) -> float:
    t0 = time.perf_counter()
    lab_run(sc.node.prefix() + [sc.bin, "--version"], env=sc.env(db, pins))
    return time.perf_counter() - t0


def reboot(sc: Scale, pins: Path) -> None:
    """What a reboot leaves: the bpffs and everything pinned in it gone, links with them."""
    lab_run(["umount", "-l", str(pins)])
    sc.wait_detached("c1")
    lab_run(["mount", "-t", "bpf", "bpf", str(pins)])


def one(sc: Scale, n: int, db: Path, pins: Path) -> dict:
    """One repetition on the fresh bpffs mounted at `pins` (left mounted, empty of emptcp)."""
    empty = pins.parent / "empty.db"
    empty.unlink(missing_ok=True)
    out = {}
    sc.emptcp(empty, pins, "attach", "c1")          # loads and pins; no revision to apply
    out["apply"], _ = sc.emptcp(db, pins, "apply")
    if sc.tcp2_entries(db, pins) != n:
        raise RuntimeError(f"emptcp_x_tcp2 does not hold {n} entries after apply")
    out["raw"] = rawmap.batch_update_seconds(addresses(n))
    out["noop"], _ = sc.emptcp(db, pins, "apply")
    out["start"] = process_start(sc, db, pins)
    out["verify"], _ = sc.emptcp(db, pins, "apply", "--verify")
    reboot(sc, pins)
    out["boot"], _ = sc.emptcp(db, pins, "apply", "--boot")
    if sc.tcp2_entries(db, pins) != n:
        raise RuntimeError(f"emptcp_x_tcp2 does not hold {n} entries after the boot restore")
    out["boot_fixed"] = out["boot"] - out["apply"]
    reboot(sc, pins)
    return out


def run(emptcp_bin: str, bpf_dir: Path, workdir: Path, *, sizes: list[int], reps: int) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    sc = Scale(emptcp_bin, bpf_dir, workdir)
    results, errors = {}, []
    try:
        for n in sizes:
            d = workdir / f"apply-{n}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            db, pins, file = d / "emptcp.db", d / "pins", d / "policy.json"
            pins.mkdir()
            lab_run(["mount", "-t", "bpf", "bpf", str(pins)])
            try:
                # The database records c1 as attached under this pin root (for the boot restores),
                # then holds the N-binding revision, committed while nothing is attached.
                sc.emptcp(db, pins, "attach", "c1")
                reboot(sc, pins)
                file.write_text(json.dumps(policy(n)))
                sc.emptcp(db, d / "spare", "commit", str(file), "-m", f"{n} bindings")
                runs = repetitions("apply", n, reps, lambda _: one(sc, n, db, pins), TIMES, errors,
                                   after_failure=lambda: reboot(sc, pins))
            finally:
                Scale.drop(d, pins)
            results[str(n)] = summary(runs, TIMES, RATIOS)
    finally:
        sc.close()
    return {"sizes": sizes, "reps": reps, "results": results, "errors": errors}
