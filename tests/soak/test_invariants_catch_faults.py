"""The store checks of the soak tests can fail: on a sound database they find nothing, and each
kind of damage (a lost revision, a changed content row, a forked history, a duplicated audit
row, an overwritten page) is reported."""
import json
import sqlite3
import subprocess

import pytest

from lab.emptcp import emptcp_bin

from .store_invariants import faults, snapshot


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "soak-inv" / "e.db"
    env = {"EMPTCP_DB": str(path), "PATH": "/usr/bin:/bin"}
    for w in (100, 200, 300):
        f = tmp_path / f"p{w}.json"
        f.write_text(json.dumps({"chains": {"c": [{"set_recv_win": {"window": w}}]}}))
        subprocess.run([emptcp_bin(), "commit", str(f)], env=env, check=True, capture_output=True)
    subprocess.run([emptcp_bin(), "rollback", "1"], env=env, check=True, capture_output=True)
    return path


def test_sound_database_has_no_faults(db):
    assert faults(db, snapshot(db))[0] == []


@pytest.mark.parametrize("sql,expected", [
    ("DELETE FROM audit WHERE revision = 4; DELETE FROM revision WHERE id = 4;", "lost revisions [4]"),
    ("UPDATE chain SET actors = replace(actors, '200', '201') WHERE added_in = 2;", "revision 2: content rows changed"),
    ("UPDATE revision SET content_hash = 'x' WHERE id = 3;", "revision 3: content hash changed"),
    ("PRAGMA foreign_keys = OFF; UPDATE revision SET parent = NULL WHERE id = 3;", "history: revision 3 has parent None"),
    ("INSERT INTO audit (at, uid, user, host, action, revision, outcome, detail) VALUES (0, 0, 'x', 'x', 'commit', 2, 'ok', 'again');",
     "audit: revision 2 (commit) has 2 ok audit rows"),
])
def test_each_kind_of_damage_is_found(db, sql, expected):
    before = snapshot(db)
    con = sqlite3.connect(db)
    con.executescript(sql)
    con.close()
    found = faults(db, before)[0]
    assert any(expected in f for f in found), found


def test_an_overwritten_page_fails_the_integrity_check(db):
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[2 * page + 8:3 * page] = bytes([0xA5]) * (page - 8)  # the third page, past its header
    db.write_bytes(bytes(data))
    found = faults(db)[0]
    assert found and found[0].startswith("integrity_check"), found
