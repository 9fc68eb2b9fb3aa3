"""Store and applier at N bindings (N = 1k, 10k, 100k by default), through the real CLI.

Per size and repetition, on a fresh database and a fresh bpffs pin root:
  commit    `emptcp commit` of an N-binding policy (not attached: store only)
  change    `emptcp commit` of the same policy with one binding moved to another chain
  rollback  `emptcp rollback` (back to the N-binding policy)
  apply     `emptcp apply` writing all N bindings into the kernel maps of an attached interface
            (the commits above ran against another, unattached pin root, so nothing was applied)
  apply-noop  the same `emptcp apply` again (writes nothing)
  boot      `emptcp apply --boot` after the bpffs was unmounted and mounted empty again (what a
            reboot leaves): re-attach the recorded interfaces, then apply the N bindings
  raw       one BPF_MAP_UPDATE_BATCH of the same N entries (bench/rawmap.py): apply's floor
Peak RSS of `emptcp commit` and `emptcp apply` comes from /usr/bin/time -v; kernel map memory is
the sum of bpftool's `bytes_memlock` over the pinned maps after apply.
Times are whole-process wall clock (process start-up and database open included).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

from bench import rawmap
from bench.common import log, sh, stats
from lab import Lab, run as lab_run


def addresses(n: int) -> list[tuple[str, str]]:
    return [(f"10.{100 + i // 65536}.{(i // 256) % 256}.{i % 256}", "10.255.0.1") for i in range(n)]


def policy(n: int, changed: bool = False) -> dict:
    binds = [{"hook": "xdp", "selector": "tcp2", "local": l, "remote": r, "chain": "slow"} for l, r in addresses(n)]
    if changed:
        binds[0]["chain"] = "fast"
    return {"selectors": {"xdp": [{"tcp2": "or"}]},
            "chains": {"slow": [{"set_recv_win": {"window": 1600}}], "fast": [{"set_recv_win": {"window": 3200}}]},
            "bindings": binds}


class Scale:
    def __init__(self, emptcp_bin: str, bpf_dir: Path, workdir: Path):
        self.bin, self.bpf_dir, self.workdir = emptcp_bin, bpf_dir, workdir
        self.lab = Lab(signal_family=None, tag="s")
        self.node = self.lab.client

    def env(self, db: Path, pins: Path) -> dict:
        env = dict(os.environ, EMPTCP_DB=str(db), EMPTCP_PIN_ROOT=str(pins), EMPTCP_BPF_DIR=str(self.bpf_dir))
        return env

    def emptcp(self, db: Path, pins: Path, *args: str, rss: bool = False) -> tuple[float, int | None]:
        """Runs emptcp in the lab's client namespace; returns (seconds, peak RSS kB or None)."""
        cmd = self.node.prefix()
        if rss:
            cmd += ["/usr/bin/time", "-v"]
        cmd += [self.bin, *args]
        t0 = time.perf_counter()
        p = sh(cmd, env=self.env(db, pins), timeout=1800)
        dt = time.perf_counter() - t0
        peak = None
        if rss:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
            peak = int(m.group(1)) if m else None
        return dt, peak

    def wait_detached(self, dev: str, timeout: float = 20.0) -> None:
        """A lazily unmounted bpffs releases its pinned links a little later: wait for the XDP
        program to leave `dev` before the next boot restore."""
        end = time.monotonic() + timeout
        while "xdp" in self.node.out(["ip", "link", "show", dev]):
            if time.monotonic() > end:
                raise RuntimeError(f"XDP still on {dev} {timeout}s after unmounting the pin root")
            time.sleep(0.1)

    def tcp2_entries(self, db: Path, pins: Path) -> int:
        p = sh(self.node.prefix() + [self.bin, "status", "--json"], env=self.env(db, pins), check=False)
        try:
            maps = json.loads(p.stdout)["kernel"]["maps"]
        except (json.JSONDecodeError, KeyError, TypeError):
            return -1
        return next((m["entries"] for m in maps if m["map"] == "emptcp_x_tcp2"), -1)

    def memlock(self, pins: Path) -> dict:
        total, per = 0, {}
        for f in sorted((pins / "maps").iterdir()):
            p = sh(["bpftool", "-j", "map", "show", "pinned", str(f)], check=False)
            try:
                m = json.loads(p.stdout)
            except json.JSONDecodeError:
                continue
            b = int(m.get("bytes_memlock", 0))
            per[f.name] = b
            total += b
        return {"total": total, "maps": per}

    def one(self, n: int, rep: int, files: dict) -> dict:
        d = self.workdir / f"n{n}-r{rep}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        db, pins, spare = d / "emptcp.db", d / "pins", d / "spare"
        pins.mkdir()
        spare.mkdir()
        lab_run(["mount", "-t", "bpf", "bpf", str(pins)])
        try:
            out = {}
            # Attach first (empty database: nothing to apply), then commit against the spare pin
            # root so the commits do not apply; `apply` then writes all N entries.
            self.emptcp(db, pins, "attach", "c1")
            out["commit"], out["rss_commit_kb"] = self.emptcp(db, spare, "commit", str(files["base"]), "-m", "base", rss=True)
            out["change"], _ = self.emptcp(db, spare, "commit", str(files["changed"]), "-m", "one binding")
            out["rollback"], _ = self.emptcp(db, spare, "rollback")
            out["apply"], out["rss_apply_kb"] = self.emptcp(db, pins, "apply", rss=True)
            out["entries_after_apply"] = self.tcp2_entries(db, pins)
            out["apply_noop"], _ = self.emptcp(db, pins, "apply")
            out["memlock"] = self.memlock(pins)
            # Reboot: the bpffs and everything pinned in it are gone, links with them.
            lab_run(["umount", "-l", str(pins)])
            self.wait_detached("c1")
            lab_run(["mount", "-t", "bpf", "bpf", str(pins)])
            out["boot"], _ = self.emptcp(db, pins, "apply", "--boot")
            out["entries_after_boot"] = self.tcp2_entries(db, pins)
            if out["entries_after_apply"] != n or out["entries_after_boot"] != n:
                raise RuntimeError(f"emptcp_x_tcp2 holds {out['entries_after_apply']} entries after apply and "
                                   f"{out['entries_after_boot']} after boot, expected {n}")
            out["raw"] = rawmap.batch_update_seconds(addresses(n))
            self.emptcp(db, pins, "detach", "c1")
            return out
        finally:
            lab_run(["umount", "-l", str(pins)], check=False)
            shutil.rmtree(d, ignore_errors=True)

    def close(self) -> None:
        self.lab.close()


METRICS = ("commit", "change", "rollback", "apply", "apply_noop", "boot", "raw")


def run(emptcp_bin: str, bpf_dir: Path, workdir: Path, *, sizes: list[int], reps: int) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    sc = Scale(emptcp_bin, bpf_dir, workdir)
    results, errors = {}, []
    try:
        for n in sizes:
            files = {"base": workdir / f"policy-{n}.json", "changed": workdir / f"policy-{n}-changed.json"}
            files["base"].write_text(json.dumps(policy(n)))
            files["changed"].write_text(json.dumps(policy(n, changed=True)))
            runs = []
            for rep in range(reps):
                try:
                    r = sc.one(n, rep, files)
                    runs.append(r)
                    log(f"scale n={n} rep {rep + 1}: " + " ".join(f"{k}={r[k]*1000:.0f}ms" for k in METRICS))
                except Exception as e:  # noqa: BLE001 - reported in the results, never hidden
                    errors.append(f"n={n} rep {rep + 1}: {e}")
                    log(f"scale n={n} rep {rep + 1}: {e}")
            entry = {k: stats([r[k] for r in runs]) for k in METRICS}
            entry["apply_vs_raw"] = stats([r["apply"] / r["raw"] for r in runs if r["raw"] > 0])
            entry["boot_vs_raw"] = stats([r["boot"] / r["raw"] for r in runs if r["raw"] > 0])
            entry["rss_commit_kb"] = stats([r["rss_commit_kb"] for r in runs if r["rss_commit_kb"]])
            entry["rss_apply_kb"] = stats([r["rss_apply_kb"] for r in runs if r["rss_apply_kb"]])
            entry["memlock"] = runs[-1]["memlock"] if runs else {}
            results[str(n)] = entry
    finally:
        sc.close()
    return {"sizes": sizes, "reps": reps, "results": results, "errors": errors}
