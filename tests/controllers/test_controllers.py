"""Controllers (docs/controllers.md): the daemon's controller sessions, runtime bindings and the
example controller emptcp-metered-link, on the real kernel between two namespaces. emptcp, its
daemon and the controller run in the client namespace; the client sends a bulk MPTCP transfer
over two paths (c1 and c2).

- metered link: with a cap of a few MB on path 1, once the connection has sent the cap there the
  controller marks that subflow backup (MP_PRIO, seen as SUB_PRIORITY and the `B` flag), and the
  bytes move to path 2 (per-subflow bytes_acked); removing the cap restores the subflow on the
  same live connection;
- a controller that crashes (SIGKILL) leaves no runtime binding once its connections close;
- a rollback that removes the chain removes the runtime bindings using it;
- a committed binding wins: binding its key is refused;
- a non-root client gets no session;
- many connections opened and closed leave no runtime state."""

import json
import signal
import sqlite3
import time

import pytest

from lab import MptcpClient, MptcpServer, policy

from tests.events.live import Daemon, audit_rows, subflows, wait_for

from .control import Session, metered_link, runtime_bindings, uid_nobody_request

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5241
CAP = 4_000_000

# xdp: a tcp4 step so runtime tcp4 entries are read; `metered` counts packets and bytes per flow.
METERED = policy(xdp=[("tcp4", "or")], chains={"metered": [{"record": {"pkt": True, "flow": True}}]})
WITHOUT_CHAIN = policy(xdp=[("tcp4", "or")], chains={"other": [{"record": {"pkt": True}}]})


def path_subflow(lab, f, path: int) -> dict | None:
    prefix = lab.paths[path].client(f)
    for s in subflows(lab.client, PORT):
        if s["local"].rsplit(":", 1)[0].strip("[]") == prefix:
            return s
    return None


def runtime_rows(e) -> int:
    with sqlite3.connect(e.db) as db:
        return db.execute("SELECT count(*) FROM runtime_binding").fetchone()[0]


def test_metered_link_moves_bytes_off_the_capped_path_and_restores_it(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(METERED, "record per flow on tc")
    daemon = Daemon(e, lab.client, monkeypatch)
    cap_file = e.workdir / "cap"
    cap_file.write_text(str(CAP))
    controller = metered_link(lab.client, e, daemon.sock, lab.paths[0].client(f), cap_file, record_chain="metered")
    time.sleep(1)  # the controller's session is open before the connection starts
    MptcpServer(lab.server, PORT)
    try:
        with MptcpClient(lab.client, lab.paths[0].server(f), PORT, rate_kbps=40_000) as cl:
            assert cl.wait_subflows(1)["subflows"] >= 1, "no second subflow"
            # The cap is reached on path 1: the controller marks it backup.
            marked = wait_for(lambda: "B" in ((path_subflow(lab, f, 0) or {}).get("flags", "")), timeout=60)
            assert marked, (subflows(lab.client, PORT), (e.workdir / "metered-link.log").read_text())
            rows = [r for r in audit_rows(e, "inject") if "MP_PRIO B=1 controller=metered-link" in r["detail"]]
            assert rows and rows[-1]["outcome"] == "ok" and "SUB_PRIORITY" in rows[-1]["detail"], rows
            bound = runtime_bindings(daemon.sock)
            assert any(b["hook"] == "xdp" and b["chain"] == "metered" and b["controller"] == "metered-link" for b in bound), bound

            # Traffic moves: over the next interval path 2 carries (nearly) all new bytes.
            p1, p2 = path_subflow(lab, f, 0)["acked"], path_subflow(lab, f, 1)["acked"]
            time.sleep(3)
            d1 = path_subflow(lab, f, 0)["acked"] - p1
            d2 = path_subflow(lab, f, 1)["acked"] - p2
            assert d2 > 1_000_000 and d1 * 20 < d2, (d1, d2)

            # Clearing the cap restores the subflow on the same live connection.
            cap_file.unlink()
            restored = wait_for(lambda: "B" not in ((path_subflow(lab, f, 0) or {}).get("flags", "x")), timeout=30)
            assert restored, subflows(lab.client, PORT)
            rows = [r for r in audit_rows(e, "inject") if "MP_PRIO B=0 controller=metered-link" in r["detail"]]
            assert rows and rows[-1]["outcome"] == "ok", rows
            p1 = path_subflow(lab, f, 0)["acked"]
            assert wait_for(lambda: path_subflow(lab, f, 0)["acked"] > p1 + 500_000, timeout=15), "path 1 carries nothing after restore"

            # The controller crashes; its runtime bindings stay with the live connection...
            controller.send_signal(signal.SIGKILL)
            controller.wait(timeout=10)
            assert runtime_bindings(daemon.sock), "runtime bindings went with the controller, not the connection"
        # ...and go when it closes.
        assert wait_for(lambda: runtime_rows(e) == 0, timeout=15), runtime_bindings(daemon.sock)
        assert runtime_bindings(daemon.sock) == []
        unbinds = [r for r in audit_rows(e, "runtime-unbind") if "reason=connection closed" in r["detail"]]
        assert unbinds, audit_rows(e, "runtime-unbind")
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait(timeout=10)
    assert daemon.stop() == 0, daemon.log()


def open_connection_with_session(lab, e, f, daemon, name):
    session = Session(daemon.sock, name)
    cl = MptcpClient(lab.client, lab.paths[0].server(f), PORT)
    ev = session.wait_event(lambda d: d.get("event") == "connection_established" and d.get("subflow"))
    assert ev["schema"] == 1 and len(ev["token"]) == 8, ev
    return session, cl, ev


def test_rollback_that_removes_the_chain_removes_runtime_bindings(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(WITHOUT_CHAIN, "no metered chain")
    e.commit(METERED, "metered chain")
    daemon = Daemon(e, lab.client, monkeypatch)
    MptcpServer(lab.server, PORT)
    session, cl, ev = open_connection_with_session(lab, e, f, daemon, "rollback-test")
    try:
        r = session.call("bind", hook="xdp", flow=ev["subflow"], chain="metered")
        assert r["ok"], r
        refused = session.call("bind", hook="xdp", flow=ev["subflow"], chain="nonexistent")
        assert not refused["ok"] and "not in the committed policy" in refused["error"], refused
        assert [b["flow"] for b in runtime_bindings(daemon.sock)] == [ev["subflow"]]
        # status lists it apart from the revision, and its map entries are not drift.
        status = json.loads(e("status", "--json").stdout)
        assert [b["flow"] for b in status["runtime_bindings"]] == [ev["subflow"]], status["runtime_bindings"]
        assert status["kernel"]["drift"] == [] and status["in_sync"], status["kernel"]["drift"]
        e("rollback")
        assert wait_for(lambda: runtime_rows(e) == 0, timeout=15), runtime_bindings(daemon.sock)
        rows = [r for r in audit_rows(e, "runtime-unbind") if "controller=rollback-test" in r["detail"]]
        assert rows and "chain metered is not in the committed policy" in rows[-1]["detail"], rows
        # The chain is gone: binding again is refused.
        again = session.call("bind", hook="xdp", flow=ev["subflow"], chain="metered")
        assert not again["ok"], again
    finally:
        cl.close()
        session.close()
    assert daemon.stop() == 0, daemon.log()


def test_committed_binding_wins_over_runtime_binding(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(METERED, "metered chain")
    daemon = Daemon(e, lab.client, monkeypatch)
    MptcpServer(lab.server, PORT)
    session, cl, ev = open_connection_with_session(lab, e, f, daemon, "precedence")
    try:
        local, remote = ev["subflow"].split("-")
        lh, lp = local.rsplit(":", 1)
        rh, rp = remote.rsplit(":", 1)
        committed = dict(METERED)
        committed["bindings"] = [{"hook": "xdp", "selector": "tcp4", "local": lh.strip("[]"), "local_port": int(lp),
                                  "remote": rh.strip("[]"), "remote_port": int(rp), "chain": "metered"}]
        e.commit(committed, "commit the flow")
        r = session.call("bind", hook="xdp", flow=ev["subflow"], chain="metered")
        assert not r["ok"] and "committed rule always wins" in r["error"], r
        assert runtime_bindings(daemon.sock) == []
    finally:
        cl.close()
        session.close()
    assert daemon.stop() == 0, daemon.log()


def test_non_root_client_gets_no_session(lab, client_emptcp, monkeypatch):
    e = client_emptcp
    e("attach", "c1")
    daemon = Daemon(e, lab.client, monkeypatch)
    r = uid_nobody_request(daemon.sock)
    assert "connect refused" in r.stdout or '"ok":false' in r.stdout and "not root" in r.stdout, (r.stdout, r.stderr)
    assert "type" not in r.stdout, r.stdout
    assert daemon.stop() == 0, daemon.log()


def test_many_connections_leave_no_runtime_state(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(METERED, "metered chain")
    daemon = Daemon(e, lab.client, monkeypatch)
    MptcpServer(lab.server, PORT)
    session = Session(daemon.sock, "churn")
    count = int(__import__("os").environ.get("EMPTCP_CONTROLLER_CHURN", "1000"))
    try:
        for _ in range(count):
            cl = MptcpClient(lab.client, lab.paths[0].server(f), PORT)
            ev = session.wait_event(lambda d: d.get("event") == "connection_established" and d.get("subflow"))
            session.events.clear()
            assert session.call("bind", hook="xdp", flow=ev["subflow"], chain="metered")["ok"]
            cl.close()
        assert wait_for(lambda: runtime_rows(e) == 0 and not daemon.connections(), timeout=60), (runtime_bindings(daemon.sock), daemon.connections())
    finally:
        session.close()
    assert daemon.stop() == 0, daemon.log()
