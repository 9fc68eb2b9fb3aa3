"""Every `--json` document of emptcp against the JSON Schema in docs/json-schema.json (docs/json.md):
snake_case keys, the policy file's names for actors and selectors, `"schema": 1` at the top of
every document and on every line of a stream. The store commands run without the kernel; status,
apply, stats, module list, events and the daemon's replies run on a lab with MPTCP traffic, so
every nested object (flows, events, injection state) is filled and checked."""

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import jsonschema
import pytest

from lab import MptcpClient, MptcpServer, policy, tcp2
from lab.emptcp import emptcp_bin

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "json-schema.json").read_text())
PORT = 5211


def validate(document: dict, name: str) -> None:
    """Checks `document` against documents.<name>; additionalProperties=false everywhere, so a
    renamed or extra key fails as well as a missing one."""
    schema = dict(SCHEMA, **{"$ref": f"#/documents/{name}"})
    jsonschema.Draft202012Validator(schema).validate(document)


def test_schema_rejects_the_old_spellings():
    """The schema is strict: camelCase keys, Swift enum names and a missing schema key fail."""
    good = {"schema": 1, "revisions": [{"id": 1, "created_at": "2026-12-01T00:00:00Z", "uid": 0, "user": "root",
                                         "host": "h", "content_hash": "ab", "action": "commit", "binding_count": 1}]}
    validate(good, "log")
    for bad in ({"revisions": good["revisions"]},
                {"schema": 1, "revisions": [dict(good["revisions"][0], bindingCount=1)]}):
        with pytest.raises(jsonschema.ValidationError):
            validate(bad, "log")
    with pytest.raises(jsonschema.ValidationError):
        validate({"schema": 1, "identical": False, "diff": {
            "selectors": [], "chains_added": [{"name": "x", "to": [{"setRecvWin": {"window": 1}}]}], "chains_removed": [],
            "chains_changed": [], "bindings_added": [], "bindings_removed": [], "bindings_changed": []}}, "diff")


class Store:
    """emptcp on a scratch database, no pin root: the store commands only."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.env = dict(os.environ, EMPTCP_DB=str(tmp / "emptcp.db"), EMPTCP_PIN_ROOT=str(tmp / "no-pins"))

    def __call__(self, *args, rc=0) -> str:
        p = subprocess.run([emptcp_bin(), *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert p.returncode == rc, (args, p.returncode, p.stderr)
        return p.stdout

    def json(self, *args, rc=0) -> dict:
        return json.loads(self(*args, "--json", rc=rc))


POLICY = {
    "selectors": {"xdp": [{"tcp4": "or"}, {"tcp2": "or"}], "tc": [{"tcp2": "or"}]},
    "chains": {"slow": [{"set_recv_win": {"window": 1600}}, {"rm_add_addr": {}}],
               "backup": [{"set_flow_prio": {"backup": True, "addr_id": 2}}],
               "rec": [{"record": {"pkt": True, "flow": True, "rtt": False}}]},
    "bindings": [{"hook": "xdp", "selector": "tcp2", "local": "10.0.1.1", "remote": "10.0.1.2", "chain": "slow"},
                 {"hook": "xdp", "selector": "tcp4", "local": "10.0.1.1", "local_port": 5201, "remote": "10.0.1.2",
                  "remote_port": 40000, "chain": "rec"},
                 {"hook": "tc", "selector": "tcp2", "local": "fd00::1", "remote": "fd00::2", "chain": "backup"}],
}


def test_store_documents_follow_the_schema():
    with tempfile.TemporaryDirectory(prefix="emptcp-json-") as d:
        tmp = Path(d)
        e = Store(tmp)
        first, second = tmp / "p1.json", tmp / "p2.json"
        first.write_text(json.dumps(POLICY))
        changed = json.loads(json.dumps(POLICY))
        changed["chains"]["slow"][0]["set_recv_win"]["window"] = 800
        changed["chains"].pop("backup")
        changed["chains"]["fast"] = [{"rm_add_addr": {}}]
        changed["selectors"]["xdp"] = [{"tcp2": "and"}, {"tcp4": "or"}]
        # One binding re-pointed, one replaced by another key (removed + added), one moved off a removed chain.
        changed["bindings"] = [dict(POLICY["bindings"][1], chain="slow"),
                               {"hook": "tc", "selector": "tcp2", "local": "fd00::1", "remote": "fd00::2", "chain": "fast"},
                               {"hook": "xdp", "selector": "tcp2", "local": "10.0.1.1", "remote": "10.0.1.9", "chain": "fast"}]
        second.write_text(json.dumps(changed))

        check = e.json("check", str(first))
        validate(check, "check")
        assert check["schema"] == 1 and "base" not in check and check["plan"]["against"] == "revision"
        e("commit", str(first), "-m", "first")
        validate(e.json("commit", "--check", str(second)), "check")
        e("commit", str(second), "-m", "second")
        e("rollback")

        log = e.json("log")
        validate(log, "log")
        assert [r["id"] for r in log["revisions"]] == [3, 2, 1] and log["revisions"][0]["rollback_to"] == 1

        diff = e.json("diff", "1", "2")
        validate(diff, "diff")
        d = diff["diff"]
        # Every kind of change is present, so every nested object was checked.
        assert all(d[k] for k in ("selectors", "chains_added", "chains_removed", "chains_changed",
                                  "bindings_added", "bindings_removed", "bindings_changed")), d
        # The policy file's names, as `show` writes them.
        assert d["chains_changed"][0]["to"][0] == {"set_recv_win": {"window": 800}}
        assert d["chains_removed"][0]["from"] == [{"set_flow_prio": {"backup": True, "addr_id": 2}}]
        assert d["selectors"][0]["to"] == [{"tcp2": "and"}, {"tcp4": "or"}]
        validate(e.json("diff", "--file", str(second)), "diff")

        shown = e.json("show")
        validate(shown, "show")
        # show --json stays a policy file commit accepts (identical content: refused as such).
        (tmp / "shown.json").write_text(json.dumps(shown))
        assert "identical" in subprocess.run([emptcp_bin(), "commit", str(tmp / "shown.json")], env=e.env,
                                             capture_output=True, text=True).stderr

        audit = e.json("audit")
        validate(audit, "audit")
        assert {a["outcome"] for a in audit["entries"]} == {"ok", "refused"}




def wait_socket(node, path, proc, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if node.run(["test", "-S", path], check=False).returncode == 0:
            return
        assert proc.poll() is None, f"daemon exited {proc.returncode}"
        time.sleep(0.1)
    raise AssertionError(f"daemon socket {path} did not appear")


@pytest.mark.kernel
@pytest.mark.mptcp
def test_kernel_documents_follow_the_schema(lab, client_emptcp):
    e = client_emptcp
    p1 = lab.paths[0]
    e("attach", "c1", "c2")
    e.commit(policy(xdp=[("tcp2", "or")], tc=[("tcp2", "or")],
                    chains={"rec": [{"record": {}}, {"recover_add_addr": {}}], "ev": [{"catch_mptcp_events": {}}]},
                    bindings=[tcp2("xdp", p1.client4, p1.server4, "rec"), tcp2("tc", p1.client4, p1.server4, "ev")]),
             "record and events")
    status = json.loads(e("status", "--json").stdout)
    validate(status, "status")
    assert status["in_sync"] and status["kernel"]["interfaces"] and status["kernel"]["counters"]
    validate(json.loads(e("apply", "--json").stdout), "apply")
    validate(json.loads(e("module", "list", "--json").stdout), "module_list")
    # check plans against the attached data plane's maps (read, never written): nothing to do.
    checked = json.loads(e("check", str(e.workdir / "policy1.json"), "--json").stdout)
    validate(checked, "check")
    assert checked["identical"] and checked["plan"]["against"] == "kernel", checked
    assert all(m["added"] == m["removed"] == m["changed"] == 0 for m in checked["plan"]["maps"]), checked

    out = e.workdir / "events.jsonl"
    with open(out, "w") as sink:
        reader = lab.client.popen([e.bin, "events", "--json", "--count", "1"], env=e.env(), stdout=sink)
        time.sleep(0.5)
        MptcpServer(lab.server, PORT)
        with MptcpClient(lab.client, p1.server4, PORT) as cl:
            cl.wait_subflows(0, timeout=10)
            reader.wait(timeout=20)
            time.sleep(0.5)
            stats = json.loads(e("stats", "--json").stdout)
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert lines, "no event line"
    for line in lines:
        validate(line, "events")
    validate(stats, "stats")
    assert stats["flows"], stats

    sock = str(e.workdir / "daemon.sock")
    daemon = lab.client.popen([e.bin, "daemon", "--socket", sock], env=e.env())
    try:
        wait_socket(lab.client, sock, daemon)
        reply = json.loads(e("daemon", "--socket", sock, "--flows").stdout)
        validate(reply, "daemon_reply")
        refused = e("daemon", "--socket", sock, "--recover-add-addr", "10.9.9.9:1-10.9.9.8:2", "--json", check=False)
        assert refused.returncode == 1
        validate(json.loads(refused.stdout), "daemon_reply")
    finally:
        daemon.send_signal(2)
        daemon.wait(timeout=10)
