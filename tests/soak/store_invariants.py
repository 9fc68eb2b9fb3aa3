"""What must hold of a store database after anything, a kill -9 or a crowd of writers included,
read with Python's own sqlite3 (no emptcp code):

- `PRAGMA integrity_check` says ok and `PRAGMA foreign_key_check` finds nothing;
- the history is a line: ids 1..N, the first without a parent, every other one's parent the
  revision before it, a rollback's target an earlier revision;
- every revision seen before is still there with the same content hash and the same content
  rows (bindings, chains, selector chains live at it: digested here independently);
- two revisions have the same content hash exactly when their content rows are the same;
- each revision has exactly one `ok` audit row of its action naming it, and every `ok` commit
  or rollback row names a revision that exists.

`Snapshot` is what a trial compares against; `faults()` lists what is wrong, empty when sound."""
from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field


def _connect(db) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)


def content_digests(con: sqlite3.Connection) -> dict[int, str]:
    """revision id -> SHA-256 of the content rows live at it (in a fixed order)."""
    revs = [r[0] for r in con.execute("SELECT id FROM revision ORDER BY id")]
    rows = {
        "binding": con.execute("SELECT key, hook, selector, local, local_port, remote, remote_port, chain, added_in, removed_in FROM binding").fetchall(),
        "chain": con.execute("SELECT name, actors, added_in, removed_in FROM chain").fetchall(),
        "selector_chain": con.execute("SELECT hook, steps, added_in, removed_in FROM selector_chain").fetchall(),
    }
    out = {}
    for r in revs:
        h = hashlib.sha256()
        for table, table_rows in rows.items():
            live = sorted(repr(row[:-2]) for row in table_rows if row[-2] <= r and (row[-1] is None or row[-1] > r))
            h.update(f"{table}:{len(live)}\n".encode())
            for line in live:
                h.update(line.encode() + b"\n")
        out[r] = h.hexdigest()
    return out


@dataclass
class Snapshot:
    hashes: dict[int, str] = field(default_factory=dict)    # revision -> content_hash
    digests: dict[int, str] = field(default_factory=dict)   # revision -> content rows digest

    @property
    def count(self) -> int:
        return len(self.hashes)


def snapshot(db) -> Snapshot:
    with _connect(db) as con:
        return Snapshot(dict(con.execute("SELECT id, content_hash FROM revision")), content_digests(con))


def faults(db, before: Snapshot | None = None) -> tuple[list[str], Snapshot]:
    """(what is wrong, the snapshot now). A database SQLite cannot read at all counts as failing
    the integrity check."""
    try:
        return _faults(db, before)
    except sqlite3.DatabaseError as e:
        return [f"integrity_check: {e}"], Snapshot()


def _faults(db, before: Snapshot | None) -> tuple[list[str], Snapshot]:
    bad: list[str] = []
    con = _connect(db)
    try:
        integrity = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            return [f"integrity_check: {'; '.join(integrity[:5])}"], Snapshot()
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            bad.append(f"foreign_key_check: {fk[:5]}")
        revs = con.execute("SELECT id, parent, action, rollback_to, content_hash FROM revision ORDER BY id").fetchall()
        for i, (rid, parent, action, target, _) in enumerate(revs):
            if rid != i + 1:
                bad.append(f"history: revision {rid} where {i + 1} belongs")
                break
            if parent != (rid - 1 if rid > 1 else None):
                bad.append(f"history: revision {rid} has parent {parent}")
            if action == "rollback" and not (target and target < rid):
                bad.append(f"history: rollback {rid} restores {target}")
        now = Snapshot({r[0]: r[4] for r in revs}, content_digests(con))
        if before is not None:
            lost = sorted(set(before.hashes) - set(now.hashes))
            if lost:
                bad.append(f"lost revisions {lost[:10]}")
            for rid in set(before.hashes) & set(now.hashes):
                if before.hashes[rid] != now.hashes[rid]:
                    bad.append(f"revision {rid}: content hash changed")
                if before.digests[rid] != now.digests[rid]:
                    bad.append(f"revision {rid}: content rows changed")
        by_hash: dict[str, set[str]] = {}
        for rid, h in now.hashes.items():
            by_hash.setdefault(h, set()).add(now.digests[rid])
        if any(len(d) > 1 for d in by_hash.values()):
            bad.append("one content hash over different content rows")
        if len(set(now.digests.values())) != len(by_hash):
            bad.append("the same content rows under different content hashes")
        audit = con.execute("SELECT action, revision FROM audit WHERE outcome = 'ok' AND action IN ('commit', 'rollback', 'confirm-expired')").fetchall()
        seen: dict[int, int] = {}
        for action, rid in audit:
            if action in ("commit", "rollback"):
                if rid not in now.hashes:
                    bad.append(f"audit: ok {action} of missing revision {rid}")
                else:
                    seen[rid] = seen.get(rid, 0) + 1
        for rid, _, action, _, _ in revs:
            if seen.get(rid, 0) != 1:
                bad.append(f"audit: revision {rid} ({action}) has {seen.get(rid, 0)} ok audit rows")
        return bad, now
    finally:
        con.close()
