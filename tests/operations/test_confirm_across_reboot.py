"""`commit --confirm` holds across a reboot and whatever command runs next: a deadline that
passes while the machine is down is enforced at boot, one still pending at boot gets a new timer,
and every command that opens the store (not only the store commands) applies the automatic
rollback to the kernel. The rollback is its own audit row saying why."""

import json
import re
import time

import pytest

from lab import MptcpServer, observe_connection, run

from .policies import assert_join, strip_add_addr
from .reboot import (audit_rows, kill_confirm_timers, pending_deadline, simulate_reboot,
                     wait_past, wait_until)

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5211


def revision_of(commit_output: str) -> int:
    return int(re.search(r"revision (\d+):", commit_output).group(1))


def kernel_revision(e) -> int:
    """emptcp_meta index 0 read with bpftool, without opening the store."""
    out = json.loads(run(["bpftool", "-j", "map", "lookup", "pinned", str(e.pin_root / "maps" / "emptcp_meta"),
                          "key", "0", "0", "0", "0"]).stdout)
    return int.from_bytes(bytes(int(b, 16) for b in out["value"]), "little")


def expiry_row(e, rollback: int) -> dict:
    rows = [r for r in audit_rows(e) if r["action"] == "confirm-expired"]
    assert len(rows) == 1, rows
    assert rows[0]["revision"] == rollback and rows[0]["outcome"] == "ok", rows
    assert "not confirmed" in rows[0]["detail"], rows
    return rows[0]


def test_confirm_deadline_passed_while_down_boot_runs_previous_revision(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1", "c2")
    good = revision_of(e.commit(strip_add_addr(lab, bound=False), "joins allowed").stdout)
    path = e.workdir / "risky.json"
    path.write_text(json.dumps(strip_add_addr(lab, bound=True)))
    risky = revision_of(e("commit", str(path), "--confirm", "2").stdout)
    deadline = pending_deadline(e)

    simulate_reboot(e, ("c1", "c2"))
    wait_past(deadline)
    e("apply", "--boot")

    status = e.status()
    rollback = status["current_revision"]
    assert rollback > risky and status["kernel"]["kernel_revision"] == rollback, status
    assert status.get("pending_confirmation") is None, status
    row = expiry_row(e, rollback)
    assert f"revision {rollback} restores revision {good}" in row["detail"], row
    MptcpServer(lab.server, PORT)
    assert_join(observe_connection(lab, PORT, expect_join=True))


def test_boot_rearms_timer_of_pending_confirm(lab, client_emptcp):
    """Boot comes before the deadline; afterwards no emptcp command runs at all. The re-armed
    timer alone must roll back and apply."""
    e = client_emptcp
    e("attach", "c1", "c2")
    revision_of(e.commit(strip_add_addr(lab, bound=False), "joins allowed").stdout)
    path = e.workdir / "risky.json"
    path.write_text(json.dumps(strip_add_addr(lab, bound=True)))
    risky = revision_of(e("commit", str(path), "--confirm", "20").stdout)
    deadline = pending_deadline(e)

    simulate_reboot(e, ("c1", "c2"))
    boot = e("apply", "--boot")
    assert "awaits confirmation" in boot.stdout, boot.stdout
    status = e.status()
    assert status["pending_confirmation"]["revision"] == risky, status
    assert status["kernel"]["kernel_revision"] == risky, status
    text = e("status").stdout
    assert f"confirm: revision {risky} awaits" in text, text

    wait_until("the re-armed timer's rollback applied", lambda: any(
        r["action"] == "apply" and r["outcome"] == "ok" and r["revision"] > risky for r in audit_rows(e)),
        timeout=deadline - time.time() + 60)
    rollback = next(r["revision"] for r in audit_rows(e) if r["action"] == "confirm-expired")
    assert kernel_revision(e) == rollback
    expiry_row(e, rollback)
    MptcpServer(lab.server, PORT)
    assert_join(observe_connection(lab, PORT, expect_join=True))


@pytest.mark.parametrize("command", [["status", "--json"], ["module", "list"], ["detach", "c2"]],
                         ids=["status", "module-list", "detach"])
def test_any_command_applies_expired_confirm_rollback(lab, client_emptcp, command):
    """The timer died (killed) and the deadline passed: the first command of any kind opens the
    store, rolls back and applies the rollback while attached; its own output stays clean."""
    e = client_emptcp
    e("attach", "c1", "c2")
    revision_of(e.commit(strip_add_addr(lab, bound=False)).stdout)
    path = e.workdir / "risky.json"
    path.write_text(json.dumps(strip_add_addr(lab, bound=True)))
    risky = revision_of(e("commit", str(path), "--confirm", "2").stdout)
    assert kill_confirm_timers(e) == 1
    wait_past(pending_deadline(e))
    assert kernel_revision(e) == risky

    out = e(*command)
    if command[-1] == "--json":
        json.loads(out.stdout)  # the apply's report went to stderr
    rollback = risky + 1
    assert kernel_revision(e) == rollback
    expiry_row(e, rollback)
    assert any(r["action"] == "apply" and r["revision"] == rollback and r["outcome"] == "ok" for r in audit_rows(e))
