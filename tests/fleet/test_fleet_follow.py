"""A fleet on one machine: hosts (namespaces, each with its own pin root, database and follower)
follow fleet revisions on a private PostgreSQL; the kernel of every host holds what the fleet
says, through outages of the centre and crashes of a follower."""

from __future__ import annotations

import json
import signal
import time

import jsonschema
import pytest

from lab.emptcp import REPO

pytestmark = [pytest.mark.kernel]

SCHEMA = json.loads((REPO / "docs" / "json-schema.json").read_text())


def validate(document: dict, name: str) -> None:
    """Checks a fleet `--json` document against documents.<name> of docs/json-schema.json."""
    jsonschema.Draft202012Validator(dict(SCHEMA, **{"$ref": f"#/documents/{name}"})).validate(document)


def window_policy(window: int) -> dict:
    """A policy whose content differs by `window`: each commit is a new revision."""
    return {"selectors": {"xdp": [{"tcp2": "or"}]}, "chains": {"slow": [{"set_recv_win": {"window": window}}]},
            "bindings": [{"hook": "xdp", "selector": "tcp2", "local": "10.99.0.1", "remote": "10.99.0.2", "chain": "slow"}]}


def kernel_revision(host) -> tuple[int | None, int | None]:
    """(revision the kernel holds, the host store's current revision)."""
    st = host.status()
    current = st.get("current_revision", st.get("currentRevision"))
    k = st["kernel"]
    return k.get("kernel_revision", k.get("kernelRevision")), current


def local_head(host) -> dict:
    doc = json.loads(host.emptcp("log", "-n", "1", "--json").stdout)
    return (doc["revisions"] if isinstance(doc, dict) else doc)[0]


def assert_runs(host, fleet_rev: int, window: int) -> None:
    """The host's store has a revision from `fleet_rev` and its kernel holds it."""
    head = local_head(host)
    assert head["message"].startswith(f"fleet revision {fleet_rev}"), head
    kernel, current = kernel_revision(host)
    assert kernel == current == head["id"], (host.name, kernel, current, head)
    policy = host.emptcp("show").stdout
    assert f"window: {window}" in policy, policy


def test_commit_reaches_every_host_then_rollback(fleet, hosts):
    r1 = fleet.commit(window_policy(1600), "first")
    fleet.wait(r1, len(hosts))
    r2 = fleet.commit(window_policy(3200), "second")
    fleet.wait(r2, len(hosts))
    for h in hosts:
        assert_runs(h, r2, 3200)
    audit = h.emptcp("audit").stdout
    assert "fleet-commit" in audit and f"fleet revision {r2} applied" in audit, audit

    out = json.loads(fleet.cli("fleet", "rollback", "--json").stdout)
    assert out["rollback_to"] == r1 and out["schema"] == 1, out
    validate(out, "fleet_revision")
    fleet.wait(out["id"], len(hosts))
    for h in hosts:
        assert_runs(h, out["id"], 1600)
    status = fleet.status()
    validate(status, "fleet_status")
    assert status["head"] == out["id"]
    assert {x["host_id"] for x in status["hosts"]} == {h.name for h in hosts}
    assert all(x["state"] == "in sync" and x["revision"] == out["id"] for x in status["hosts"]), status
    log_doc = json.loads(fleet.cli("fleet", "log", "--json").stdout)
    validate(log_doc, "fleet_log")
    log = log_doc["revisions"]
    assert [r["id"] for r in log[:3]] == [out["id"], r2, r1]
    diff = fleet.cli("fleet", "diff", str(r1), str(r2)).stdout
    assert "slow" in diff, diff
    validate(json.loads(fleet.cli("fleet", "diff", str(r1), str(r2), "--json").stdout), "fleet_diff")


def test_invalid_policy_is_refused_and_check_writes_nothing(fleet, hosts):
    head = fleet.status()["head"]
    bad = fleet.workdir / "bad.json"
    bad.write_text(json.dumps({"chains": {"c": [{"set_recv_win": {"window": 5}}]},
                               "bindings": [{"hook": "xdp", "selector": "tcp2", "local": "10.0.0.1", "remote": "10.0.0.2", "chain": "nope"}]}))
    p = fleet.cli("fleet", "commit", str(bad), "-m", "bad", check=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "nope" in p.stderr, p.stderr
    good = fleet.workdir / "good.json"
    good.write_text(json.dumps(window_policy(777)))
    p = fleet.cli("fleet", "commit", str(good), "--check", "--json")
    validate(json.loads(p.stdout), "fleet_check")
    assert fleet.status()["head"] == head


def test_follower_role_cannot_write(fleet, hosts):
    h0, h1 = hosts[0], hosts[1]
    role0 = f"h{h0.name}"
    denied = fleet.pg.psql(
        "INSERT INTO fleet_revision (id, client_host, action, content_hash, binding_count, content) "
        "VALUES (999, 'x', 'commit', 'x', 0, '{}')", user=role0, database=fleet.database, check=False)
    assert denied.returncode != 0 and "permission denied" in denied.stderr, denied.stderr
    for table in ("fleet_host", "fleet_audit"):
        p = fleet.pg.psql(f"UPDATE {table} SET host_id = host_id", user=role0, database=fleet.database, check=False)
        assert p.returncode != 0 and "permission denied" in p.stderr, p.stderr
    # Its own row through fleet_report() only: another host's row is refused.
    p = fleet.pg.psql(f"SELECT fleet_report('{h1.name}', '{{}}', NULL, NULL, NULL, false, 'forged', NULL, 'x', NULL, 'ok')",
                      user=role0, database=fleet.database, check=False)
    assert p.returncode != 0 and "belongs to another role" in p.stderr, p.stderr
    # And the CLI as a follower cannot commit.
    path = fleet.workdir / "by-follower.json"
    path.write_text(json.dumps(window_policy(4242)))
    p = fleet.cli("fleet", "commit", str(path), url=h0.url, check=False)
    assert p.returncode == 1 and "permission denied" in p.stderr, p.stderr
    assert all(x.get("error") is None for x in fleet.status()["hosts"])


def test_local_commit_refused_unless_forced_shows_drift(fleet, hosts):
    h = hosts[2]
    path = h.emptcp.workdir / "local.json"
    path.write_text(json.dumps(window_policy(5555)))
    p = h.emptcp("commit", str(path), check=False)
    assert p.returncode == 1 and "follows a fleet" in p.stderr, p.stderr
    h.emptcp("commit", str(path), "--force", "-m", "local fix")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = {x["host_id"]: x["state"] for x in fleet.status()["hosts"]}
        if states[h.name] == "drift":
            break
        time.sleep(0.2)
    assert states[h.name] == "drift", states
    assert all(s == "in sync" for n, s in states.items() if n != h.name), states
    # The next fleet revision ends the drift.
    r = fleet.commit(window_policy(6400), "after drift")
    fleet.wait(r, len(hosts))
    assert_runs(h, r, 6400)
    assert {x["state"] for x in fleet.status()["hosts"]} == {"in sync"}


def test_centre_down_hosts_keep_running_boot_restore_then_catch_up(fleet, hosts):
    r = fleet.commit(window_policy(2000), "before outage")
    fleet.wait(r, len(hosts))
    fleet.pg.stop()
    try:
        time.sleep(1.5)  # several heartbeats fail
        for h in hosts:
            assert h.follower.poll() is None, f"{h.name} follower exited while the centre was down"
        h = hosts[3]
        # Boot restore from the local store alone: links and pins go as in a reboot, and
        # `apply --boot` brings the data plane back with the revision, the fleet still down.
        h.simulate_reboot()
        h.emptcp("apply", "--boot")
        assert_runs(h, r, 2000)
        p = fleet.cli("fleet", "status", check=False)
        assert p.returncode == 1 and "unreachable" in p.stderr, p.stderr
    finally:
        fleet.pg.start()
    r2 = fleet.commit(window_policy(2100), "after outage")
    fleet.wait(r2, len(hosts))
    for h in hosts:
        assert_runs(h, r2, 2100)


def test_follower_killed_mid_apply_converges_after_restart(fleet, hosts):
    h = hosts[4]
    r = fleet.commit(window_policy(3000), "kill during apply")
    # Kill as soon as the host's store has the fleet revision: the kernel apply is under way or not done.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not local_head(h)["message"].startswith(f"fleet revision {r}"):
        time.sleep(0.01)
    h.stop_follower(signal.SIGKILL)
    h.start_follower()
    fleet.wait(r, len(hosts))
    assert_runs(h, r, 3000)


def test_failed_apply_is_reported_and_host_keeps_previous_revision(fleet, hosts):
    """Runs last: it leaves its host's data plane broken."""
    h = hosts[5]
    before = fleet.commit(window_policy(4000), "before failure")
    fleet.wait(before, len(hosts))
    head_before = local_head(h)
    # One managed map's pin goes: the applier cannot open its maps, so the apply fails before
    # writing anything.
    (h.emptcp.pin_root / "maps" / "emptcp_t_tcp4").unlink()
    r = fleet.commit(window_policy(4100), "fails on one host")
    p = fleet.cli("fleet", "wait", str(r), "--hosts", str(len(hosts)), "--timeout", "60", check=False)
    assert p.returncode == 1 and h.name in p.stderr and "failed" in p.stderr, p.stderr
    row = next(x for x in fleet.status()["hosts"] if x["host_id"] == h.name)
    assert row["state"] == "failed" and row["revision"] == before and row["error_revision"] == r and row["error"], row
    # The store went back to the previous content; the others run the new revision.
    head = local_head(h)
    def content(rev: dict) -> str:
        return rev.get("content_hash", rev.get("contentHash"))
    assert head["action"] == "rollback" and content(head) == content(head_before), (head, head_before)
    assert f"window: 4000" in h.emptcp("show").stdout
    others = [x for x in fleet.status()["hosts"] if x["host_id"] != h.name]
    assert all(x["revision"] == r and x["state"] == "in sync" for x in others), others
    audit = h.emptcp("audit").stdout
    assert f"fleet revision {r}" in audit and "failed" in audit, audit
