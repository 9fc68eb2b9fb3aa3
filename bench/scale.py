"""Store and applier at N bindings (N = 1k, 10k, 100k by default), through the real CLI.

Per size and repetition, on a fresh database and a fresh bpffs pin root:
  commit    `emptcp commit` of an N-binding policy as JSON (not attached: store only)
  commit_yaml  the same policy as YAML, into a database of its own
  raw_sql   the same N rows inserted into a plain SQLite table in one transaction, with the store's
            pragmas (WAL, synchronous FULL): the commits' floor
  version   `emptcp --version`: process start, the floor of a one-binding change
  change_set    one binding re-pointed with `emptcp binding set`
  change_patch  another binding re-pointed with `emptcp commit --patch` (a one-entry patch file)
  rollback  `emptcp rollback` (undoes the patch)
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
import sqlite3
import time
from pathlib import Path

from bench import rawmap
from bench.common import repetitions, sh, stats, summary
from lab import Lab, run as lab_run
from lab.emptcp import lock_path


def addresses(n: int) -> list[tuple[str, str]]:
    return [(f"10.{100 + i // 65536}.{(i // 256) % 256}.{i % 256}", "10.255.0.1") for i in range(n)]


def policy(n: int) -> dict:
    binds = [{"hook": "xdp", "selector": "tcp2", "local": l, "remote": r, "chain": "slow"} for l, r in addresses(n)]
    return {"selectors": {"xdp": [{"tcp2": "or"}]},
            "chains": {"slow": [{"set_recv_win": {"window": 1600}}], "fast": [{"set_recv_win": {"window": 3200}}]},
            "bindings": binds}


def policy_yaml(n: int) -> str:
    """The same policy in the flow-per-binding YAML style of docs/store.md."""
    lines = ["selectors:", "  xdp: [{tcp2: or}]", "chains:", "  slow: [{set_recv_win: {window: 1600}}]",
             "  fast: [{set_recv_win: {window: 3200}}]", "bindings:"]
    lines += [f"  - {{hook: xdp, selector: tcp2, local: {l}, remote: {r}, chain: slow}}" for l, r in addresses(n)]
    return "\n".join(lines) + "\n"


def patch_yaml(n: int) -> str:
    """A one-entry patch re-pointing binding 1 (binding 0 is the one `binding set` re-points)."""
    l, r = addresses(n)[1 % n]
    return f"upsert:\n  - {{hook: xdp, selector: tcp2, local: {l}, remote: {r}, chain: fast}}\n"


def raw_sql_seconds(path: Path, n: int) -> float:
    """The commits' floor: the same rows into a plain table, one transaction, the store's pragmas."""
    rows = [(f"xdp tcp2 {l} - {r} -", "xdp", "tcp2", l, None, r, None, "slow", 1) for l, r in addresses(n)]
    con = sqlite3.connect(str(path), isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA cache_size = -65536")
        con.execute("CREATE TABLE raw (key TEXT, hook TEXT, selector TEXT, local TEXT, local_port INTEGER, "
                    "remote TEXT, remote_port INTEGER, chain TEXT, added_in INTEGER)")
        t0 = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        con.close()


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
            out["raw_sql"] = raw_sql_seconds(d / "raw.db", n)
            out["commit"], out["rss_commit_kb"] = self.emptcp(db, spare, "commit", str(files["base"]), "-m", "base", rss=True)
            out["commit_yaml"], out["rss_commit_yaml_kb"] = self.emptcp(d / "yaml.db", spare, "commit", str(files["yaml"]), rss=True)
            out["version"], _ = self.emptcp(db, spare, "--version")
            l, r = addresses(n)[0]
            out["change_set"], _ = self.emptcp(db, spare, "binding", "set", "--hook", "xdp", "--selector", "tcp2",
                                               "--local", l, "--remote", r, "--chain", "fast")
            out["change_patch"], _ = self.emptcp(db, spare, "commit", "--patch", str(files["patch"]))
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
            self.drop(d, pins)

    @staticmethod
    def drop(d: Path, pins: Path) -> None:
        """Removes a repetition's directory with its bpffs and the data plane's lock file (left
        in /run/emptcp when the bpffs is unmounted under emptcp instead of detached)."""
        lab_run(["umount", "-l", str(pins)], check=False)
        try:
            os.unlink(lock_path(pins))
        except FileNotFoundError:
            pass
        shutil.rmtree(d, ignore_errors=True)

    def close(self) -> None:
        self.lab.close()


METRICS = ("commit", "commit_yaml", "raw_sql", "version", "change_set", "change_patch", "rollback", "apply", "apply_noop",
           "boot", "raw")
# Ratios to a floor of the same repetition: (name, metric, floor).
RATIOS = (("commit_vs_sql", "commit", "raw_sql"), ("commit_yaml_vs_sql", "commit_yaml", "raw_sql"),
          ("change_set_vs_start", "change_set", "version"), ("change_patch_vs_start", "change_patch", "version"),
          ("apply_vs_raw", "apply", "raw"), ("boot_vs_raw", "boot", "raw"))


def run(emptcp_bin: str, bpf_dir: Path, workdir: Path, *, sizes: list[int], reps: int) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    sc = Scale(emptcp_bin, bpf_dir, workdir)
    results, errors = {}, []
    try:
        for n in sizes:
            files = {"base": workdir / f"policy-{n}.json", "yaml": workdir / f"policy-{n}.yaml", "patch": workdir / f"patch-{n}.yaml"}
            files["base"].write_text(json.dumps(policy(n)))
            files["yaml"].write_text(policy_yaml(n))
            files["patch"].write_text(patch_yaml(n))
            runs = repetitions("scale", n, reps, lambda rep: sc.one(n, rep, files), METRICS, errors)
            entry = summary(runs, METRICS, RATIOS)
            entry["rss_commit_kb"] = stats([r["rss_commit_kb"] for r in runs if r["rss_commit_kb"]])
            entry["rss_commit_yaml_kb"] = stats([r["rss_commit_yaml_kb"] for r in runs if r["rss_commit_yaml_kb"]])
            entry["rss_apply_kb"] = stats([r["rss_apply_kb"] for r in runs if r["rss_apply_kb"]])
            entry["memlock"] = runs[-1]["memlock"] if runs else {}
            results[str(n)] = entry
    finally:
        sc.close()
    return {"sizes": sizes, "reps": reps, "results": results, "errors": errors}
