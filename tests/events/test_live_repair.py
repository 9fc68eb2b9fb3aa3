"""Live repair: a commit or rollback that stops rewriting packets repairs the MPTCP connections
already running. Real kernel, two namespaces, real MPTCP; emptcp and its daemon run in the client
namespace.

- ADD_ADDR: `rm_add_addr` on the client's XDP keeps the server's announcement from the client's
  stack (one subflow); `emptcp rollback` with the daemon running makes the daemon replay the
  saved option, built from the subflow's current TCP state, and the same connection opens its
  second subflow, which then carries data. Idle and busy (iperf3, server to client).
- Backup: `set_flow_prio {backup: true}` on the client's XDP for both paths marks both subflows
  backup (`B` in `ss -ti`); a rollback makes the daemon deliver MP_PRIO B=0 on each, seen as
  SUB_PRIORITY events, and both are active again.
- Durability: the daemon SIGKILLed after the removal and restarted still repairs; with no
  daemon at all the rollback says the live connections were not updated (and the audit row
  does), and a daemon started later carries out the queued repair.
- Every injection is an audit row with its outcome."""

import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

from lab import ADD_ADDR_SETTLE_S, MptcpClient, MptcpServer, policy, require, tcp2

from .live import NEUTRAL, Daemon, audit_rows, subflows, wait_for

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5231


def strip(lab, f):
    p1 = lab.paths[0]
    return policy(xdp=[("tcp2", "or")], chains={"strip": [{"rm_add_addr": {}}]},
                  bindings=[tcp2("xdp", p1.client(f), p1.server(f), "strip")])


def removed_rows(e) -> int:
    with sqlite3.connect(e.db) as db:
        return db.execute("SELECT count(*) FROM runtime_removed_add_addr").fetchone()[0]


def joined(cl):
    info = cl.info()
    return info if info.get("subflows", 0) >= 1 else None


def injections(e, what: str) -> list[dict]:
    return [r for r in audit_rows(e, "inject") if f"what={what}" in r["detail"]]


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_rollback_redelivers_add_addr_on_idle_connection(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(NEUTRAL, "neutral")
    daemon = Daemon(e, lab.client, monkeypatch)
    e.commit(strip(lab, f), "strip ADD_ADDR on path 1")
    MptcpServer(lab.server, PORT)
    with MptcpClient(lab.client, lab.paths[0].server(f), PORT) as cl:
        time.sleep(ADD_ADDR_SETTLE_S)  # every copy of the ADD_ADDR has been removed by now
        before = cl.info()
        assert before["subflows"] == 0 and not before["fallback"], before
        assert wait_for(lambda: removed_rows(e) >= 1), "daemon did not save the removed ADD_ADDR"
        token = int(before["token"], 16)
        assert token in {int(t, 16) for t in daemon.connections()}, daemon.connections()

        r = e("rollback")
        assert "live connections: 1 repairs handed to the daemon" in r.stdout, r.stdout + r.stderr
        after = wait_for(lambda: joined(cl))
        assert after and after["subflows"] == 1 and int(after["token"], 16) == token, after
        assert not after["fallback"]
    rows = wait_for(lambda: injections(e, "ADD_ADDR"))
    assert rows and rows[-1]["outcome"] == "ok" and "seen SUB_ESTABLISHED" in rows[-1]["detail"], rows
    assert f"token={token:08x}" in rows[-1]["detail"], rows
    # Closed: the connection leaves the daemon's table (CLOSED event), with its saved options.
    assert wait_for(lambda: token not in {int(t, 16) for t in daemon.connections()}), daemon.connections()
    assert removed_rows(e) == 0
    assert daemon.stop() == 0, daemon.log()


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_rollback_redelivers_add_addr_on_busy_connection(lab, client_emptcp, monkeypatch):
    """iperf3 -R at 40 Mbit/s: the server sends, so the client's rcv_nxt moves all the time and a
    segment built from saved state would be out of window."""
    require(shutil.which("iperf3") is not None and shutil.which("mptcpize") is not None, "iperf3 and mptcpize needed")
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(NEUTRAL, "neutral")
    daemon = Daemon(e, lab.client, monkeypatch)
    e.commit(strip(lab, f), "strip ADD_ADDR on path 1")
    server = lab.server.popen(["mptcpize", "run", "iperf3", "-s", "-1", "-p", str(PORT)], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    client = lab.client.popen(["mptcpize", "run", "iperf3", "-c", lab.paths[0].server(f), "-p", str(PORT), "-R",
                               "-b", "40M", "-t", "25", "-C", "cubic"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(ADD_ADDR_SETTLE_S)
        sockets = subflows(lab.client, PORT)
        assert len(sockets) == 2, sockets  # control and data connection, one subflow each
        tokens = daemon.connections()
        assert len(tokens) == 2, tokens
        data = max(sockets, key=lambda s: s["received"])
        assert data["received"] > 0

        r = e("rollback")
        assert "live connections: 1 repairs handed to the daemon" in r.stdout, r.stdout + r.stderr
        # Both connections get their second subflow (control and data, same tokens as before).
        four = wait_for(lambda: len(subflows(lab.client, PORT)) == 4)
        assert four, subflows(lab.client, PORT)
        now = daemon.connections()
        assert set(now) == set(tokens) and all(len(s) == 2 for s in now.values()), (tokens, now)
        # The new subflows carry data: bytes received on a path-2 subflow grow.
        p2 = lab.paths[1].server(f)  # the announced address, of the lab's family

        def path2_received():
            return sum(s["received"] for s in subflows(lab.client, PORT) if p2 in s["remote"])
        first = path2_received()
        assert wait_for(lambda: path2_received() > first + 1_000_000, timeout=15), (first, subflows(lab.client, PORT))
    finally:
        client.terminate()
        client.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)
    rows = injections(e, "ADD_ADDR")
    assert sum(1 for r in rows if r["outcome"] == "ok") == 2, rows
    assert daemon.stop() == 0, daemon.log()


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_rollback_clears_backup_mark_on_both_subflows(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    p1, p2 = lab.paths
    # The announced path-2 address is IPv4 in the IPv4 lab and IPv6 in the IPv6 lab.
    mark = policy(xdp=[("tcp2", "or")], chains={"backup": [{"set_flow_prio": {"backup": True}}]},
                  bindings=[tcp2("xdp", p1.client(f), p1.server(f), "backup"), tcp2("xdp", p2.client(f), p2.server(f), "backup")])
    e("attach", "c1", "c2")
    e.commit(NEUTRAL, "neutral")
    daemon = Daemon(e, lab.client, monkeypatch)
    e.commit(mark, "mark both paths backup at the client")
    MptcpServer(lab.server, PORT)
    with MptcpClient(lab.client, p1.server(f), PORT, rate_kbps=2000) as cl:
        assert cl.wait_subflows(1)["subflows"] == 1
        marked = wait_for(lambda: (lambda s: s if len(s) == 2 and all("B" in x["flags"] for x in s) else None)(subflows(lab.client, PORT)))
        assert marked, subflows(lab.client, PORT)
        # To a file, line-buffered: every inserted MP_PRIO B=1 is an event too, more than a pipe
        # holds, and a blocked monitor would drop the events that matter.
        monitor_log = open(e.workdir / "mptcp-monitor.log", "w")
        monitor = lab.client.popen(["stdbuf", "-oL", "ip", "mptcp", "monitor"], stdout=monitor_log)
        time.sleep(0.3)
        r = e("rollback")
        assert "live connections: 2 repairs handed to the daemon" in r.stdout, r.stdout + r.stderr
        active = wait_for(lambda: (lambda s: s if len(s) == 2 and not any("B" in x["flags"] for x in s) else None)(subflows(lab.client, PORT)))
        assert active, subflows(lab.client, PORT)
        assert not cl.info()["fallback"]
        time.sleep(0.3)
        monitor.terminate()
        monitor.wait(timeout=10)
        monitor_log.close()
        events = (e.workdir / "mptcp-monitor.log").read_text()
    # Before the rollback took effect, every inserted MP_PRIO B=1 was an event too; after it,
    # each subflow reports one change back to active.
    cleared = {line.split("sport=")[1].split()[0] for line in events.splitlines() if "PRIO" in line and "backup=0" in line}
    assert len(cleared) == 2, events[-3000:]
    rows = injections(e, "MP_PRIO")
    assert len(rows) == 2 and all(r["outcome"] == "ok" and "seen SUB_PRIORITY" in r["detail"] for r in rows), rows
    assert daemon.stop() == 0, daemon.log()


def test_daemon_sigkilled_after_removal_still_repairs(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(NEUTRAL, "neutral")
    daemon = Daemon(e, lab.client, monkeypatch)
    e.commit(strip(lab, f), "strip ADD_ADDR on path 1")
    MptcpServer(lab.server, PORT)
    with MptcpClient(lab.client, lab.paths[0].server(f), PORT) as cl:
        time.sleep(ADD_ADDR_SETTLE_S)
        assert cl.info()["subflows"] == 0
        assert wait_for(lambda: removed_rows(e) >= 1)
        daemon.kill9()
        daemon.start()  # a new process: nothing from the old one's memory
        # The connection began before this daemon: learned from the kernel at start.
        assert int(cl.info()["token"], 16) in {int(t, 16) for t in daemon.connections()}
        r = e("rollback")
        assert "live connections: 1 repairs handed to the daemon" in r.stdout, r.stdout + r.stderr
        after = wait_for(lambda: joined(cl))
        assert after and after["subflows"] == 1, after
    assert daemon.stop() == 0, daemon.log()


def test_rollback_without_daemon_warns_and_a_later_daemon_repairs(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(NEUTRAL, "neutral")
    daemon = Daemon(e, lab.client, monkeypatch)
    e.commit(strip(lab, f), "strip ADD_ADDR on path 1")
    MptcpServer(lab.server, PORT)
    with MptcpClient(lab.client, lab.paths[0].server(f), PORT) as cl:
        time.sleep(ADD_ADDR_SETTLE_S)
        assert wait_for(lambda: removed_rows(e) >= 1)
        daemon.kill9()
        r = e("rollback")
        assert r.returncode == 0
        warning = [line for line in r.stderr.splitlines() if "live connections were not updated" in line]
        assert len(warning) == 1 and "no daemon" in warning[0], r.stderr
        rows = audit_rows(e, "live-repair")
        assert rows and rows[-1]["outcome"] == "failed" and "live connections not updated: no daemon" in rows[-1]["detail"], rows
        time.sleep(1.0)
        assert cl.info()["subflows"] == 0  # nothing happened by itself
        daemon.start()  # carries out the queued repair: the current revision still calls for it
        after = wait_for(lambda: joined(cl))
        assert after and after["subflows"] == 1, after
    assert daemon.stop() == 0, daemon.log()


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_rollback_with_userspace_path_manager_joins_through_netlink(lab, client_emptcp, monkeypatch):
    """net.mptcp.pm_type=1 at the client: the stack only reports the replayed announcement
    (ANNOUNCED); the daemon then opens the subflow itself with SUBFLOW_CREATE."""
    e, f = client_emptcp, lab.family
    lab.client.run(["sysctl", "-q", "net.mptcp.pm_type=1"])
    e("attach", "c1", "c2")
    e.commit(NEUTRAL, "neutral")
    daemon = Daemon(e, lab.client, monkeypatch)
    e.commit(strip(lab, f), "strip ADD_ADDR on path 1")
    MptcpServer(lab.server, PORT)
    with MptcpClient(lab.client, lab.paths[0].server(f), PORT) as cl:
        time.sleep(ADD_ADDR_SETTLE_S)
        assert cl.info()["subflows"] == 0
        assert wait_for(lambda: removed_rows(e) >= 1)
        e("rollback")
        after = wait_for(lambda: joined(cl))
        assert after and after["subflows"] == 1, (after, daemon.log())
    announced = injections(e, "ADD_ADDR")
    assert announced and announced[-1]["outcome"] == "ok" and "seen ANNOUNCED" in announced[-1]["detail"], announced
    created = injections(e, "SUBFLOW_CREATE")
    assert created and created[-1]["outcome"] == "ok" and "seen SUB_ESTABLISHED" in created[-1]["detail"], created
    assert lab.paths[1].client(f) in created[-1]["detail"]  # from the client's path-2 address
    assert daemon.stop() == 0, daemon.log()


def test_daemon_sigkilled_repeatedly_loses_no_removed_add_addr(lab, client_emptcp, monkeypatch):
    """Five connections under `rm_add_addr`, the daemon SIGKILLed at a different moment around
    each one (records left in the ring are consumed by the next daemon, each stored before the
    ring releases it): in the end every removed ADD_ADDR is saved and every connection tracked."""
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(strip(lab, f), "strip ADD_ADDR on path 1")
    daemon = Daemon(e, lab.client, monkeypatch)
    MptcpServer(lab.server, PORT)
    clients = []
    try:
        for i in range(5):
            clients.append(MptcpClient(lab.client, lab.paths[0].server(f), PORT))
            time.sleep(0.02 * i)
            daemon.kill9()
            daemon.start()
        time.sleep(2.5)  # the server's retransmissions of each ADD_ADDR are over
        saved = wait_for(lambda: removed_rows(e) == 5)
        assert saved, removed_rows(e)
        assert {int(c.info()["token"], 16) for c in clients} <= {int(t, 16) for t in daemon.connections()}
    finally:
        for c in clients:
            c.close()
    assert daemon.stop() == 0, daemon.log()
