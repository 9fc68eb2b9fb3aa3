"""One store per pin root: the pin root records the store that applied to it, and commit,
rollback and apply from another database are refused with one line, exit 1, nothing changed in
either database or the kernel, and a `failed` audit row, unless --force hands it over."""

import sqlite3

import pytest

from lab import MptcpServer, observe_connection

from .policies import assert_no_join, strip_add_addr

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5212


def revisions(db) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM revision").fetchone()[0]
    finally:
        con.close()


def failed_rows(db) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT action, detail FROM audit WHERE outcome = 'failed'").fetchall()
    finally:
        con.close()


def test_other_database_is_refused_on_owned_pin_root(lab, client_emptcp):
    live = client_emptcp
    live("attach", "c1", "c2")
    live.commit(strip_add_addr(lab, bound=True), "live policy")
    before = live.status()

    scratch_db = live.workdir / "scratch.db"

    def scratch(*args):
        env = live.env()
        env["EMPTCP_DB"] = str(scratch_db)
        return live.node.run([live.bin, *args], check=False, env=env)

    policy = live.workdir / "scratch.json"
    policy.write_text('{"selectors": {}, "chains": {}, "bindings": []}')
    for args, action in ((["commit", str(policy)], "commit"), (["rollback"], "rollback"), (["apply"], "apply")):
        p = scratch(*args)
        assert p.returncode == 1, (args, p.returncode, p.stdout, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "belongs to the store" in lines[0] and str(live.db) in lines[0], p.stderr
        assert any(a == action and "refused" in d for a, d in failed_rows(scratch_db)), failed_rows(scratch_db)
    assert revisions(scratch_db) == 0
    after = live.status()
    assert after["kernel"]["kernel_revision"] == before["kernel"]["kernel_revision"]
    assert after["kernel"]["maps"] == before["kernel"]["maps"] and not after["kernel"]["drift"], after
    assert live("status", "--exit-code", check=False).returncode == 0
    MptcpServer(lab.server, PORT)
    assert_no_join(observe_connection(lab, PORT, expect_join=False))

    # --force hands the pin root over: the scratch policy runs, and now the live store is refused.
    forced = scratch("commit", str(policy), "--force")
    assert forced.returncode == 0, forced.stderr
    assert scratch("status", "--exit-code").returncode == 0
    assert live("apply", check=False).returncode == 1
    live("apply", "--force")
    assert live("status", "--exit-code", check=False).returncode == 0
