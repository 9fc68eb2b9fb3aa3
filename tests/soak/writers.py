"""Concurrent writers on one store: N threads, each running `emptcp commit` (a policy only it
could write: its own writer number and attempt in a window value) or `emptcp rollback REV` back
to back for a while, every command its own process on the same database file. Afterwards:

- the store's invariants (store_invariants: integrity, a linear history, the audit rows);
- no lost revision: every command that exited 0 named its revision, no two named the same, the
  revisions are exactly those, and a committed revision shows the window its writer wrote;
- one audit row (ok, refused or failed) of commit or rollback per attempt;
- every command that did not exit 0 printed exactly one line on stderr, of a known kind: a
  rollback to content equal to the current one (refused), or the database being busy."""
from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .store_invariants import faults

KNOWN_FAILURES = (re.compile(r"rollback refused: revision \d+ has the same content as current revision \d+"),
                  re.compile(r"busy", re.I))


@dataclass
class Attempt:
    writer: int
    kind: str
    window: int | None
    rc: int
    revision: int | None
    stderr: str


@dataclass
class WritersResult:
    attempts: list[Attempt] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    revisions: int = 0
    lost: int = 0
    corrupt: bool = False
    audit_rows: int = 0


def _policy(window: int) -> dict:
    return {"selectors": {"xdp": [{"tcp2": "or"}]},
            "chains": {"w": [{"set_recv_win": {"window": window}}]},
            "bindings": [{"hook": "xdp", "selector": "tcp2", "local": "10.9.0.1", "remote": "10.9.0.2", "chain": "w"}]}


def run(binary: str, workdir: Path, writers: int, seconds: float, seed: int = 1) -> WritersResult:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "writers.db"
    env = dict(os.environ, EMPTCP_DB=str(db))
    env.pop("EMPTCP_PIN_ROOT", None)
    env["EMPTCP_PIN_ROOT"] = str(workdir / "no-pins")  # never attached: store writes only
    first = workdir / "first.json"
    first.write_text(json.dumps(_policy(1)))
    subprocess.run([binary, "commit", str(first), "-m", "first"], env=env, check=True, capture_output=True)
    res = WritersResult()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def writer(k: int):
        rng = random.Random(f"{seed}-{k}")
        i = 0
        while time.monotonic() < deadline:
            i += 1
            if rng.random() < 0.7:
                window = 2 + k * 10000 + i  # unique to this writer and attempt
                path = workdir / f"w{k}-{i}.json"
                path.write_text(json.dumps(_policy(window)))
                args, kind = ["commit", str(path), "-m", f"writer {k} attempt {i}"], "commit"
            else:
                window, kind = None, "rollback"
                with lock:
                    top = max([a.revision for a in res.attempts if a.revision] or [1])
                args = ["rollback", str(rng.randrange(1, top + 1)), "-m", f"writer {k} attempt {i}"]
            p = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=120)
            m = re.match(r"revision (\d+)", p.stdout)
            with lock:
                res.attempts.append(Attempt(k, kind, window, p.returncode, int(m.group(1)) if m and p.returncode == 0 else None, p.stderr))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    bad, snap = faults(db)
    res.corrupt = any(b.startswith("integrity_check") for b in bad)
    res.faults += bad
    if res.corrupt:
        return res
    ok = [a for a in res.attempts if a.rc == 0]
    named = [a.revision for a in ok]
    res.revisions = snap.count
    if None in named:
        res.faults.append("a command exited 0 without naming its revision")
    if len(set(named)) != len(named):
        res.faults.append("two commands named the same revision")
    expected = set(named) | {1}
    res.lost = len(expected - set(snap.hashes))
    if res.lost:
        res.faults.append(f"lost revisions: {sorted(expected - set(snap.hashes))[:10]}")
    if set(snap.hashes) - expected:
        res.faults.append(f"revisions nobody reported: {sorted(set(snap.hashes) - expected)[:10]}")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        res.audit_rows = con.execute("SELECT count(*) FROM audit WHERE action IN ('commit', 'rollback')").fetchone()[0]
        actors = {rid: json.loads(a) for rid, a in con.execute(
            "SELECT r.id, c.actors FROM revision r JOIN chain c ON c.name = 'w' AND c.added_in <= r.id AND (c.removed_in IS NULL OR c.removed_in > r.id)")}
    if res.audit_rows != len(res.attempts) + 1:
        res.faults.append(f"{res.audit_rows} commit/rollback audit rows for {len(res.attempts) + 1} attempts")
    for a in ok:
        if a.kind == "commit" and a.revision in actors and str(a.window) not in json.dumps(actors[a.revision]):
            res.faults.append(f"revision {a.revision} does not hold writer {a.writer}'s window {a.window}: {actors[a.revision]}")
    for a in res.attempts:
        if a.rc != 0:
            lines = a.stderr.strip().splitlines()
            if len(lines) != 1 or not any(p.search(lines[0]) for p in KNOWN_FAILURES):
                res.faults.append(f"writer {a.writer} {a.kind} exited {a.rc} with {a.stderr.strip()!r}")
    return res
