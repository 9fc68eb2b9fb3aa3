"""`emptcp daemon run --metrics ADDR`: the daemon serves the Prometheus exposition over HTTP at
/metrics, read on each scrape. Scraped with a real HTTP client inside the client's namespace and
parsed with prometheus_client: it carries every family `status --format prometheus` prints plus
the daemon's own, the data-plane counters move with real MPTCP traffic, the injection counter
moves with a verified MP_PRIO injection, the events counters with what the daemon consumed, and
docs/operations.md lists every family. A bad address is refused with one line and exit 2 before
anything starts; an address in use fails with one line and exit 1, leaving no daemon socket."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import Emptcp, LabError, MptcpClient, MptcpServer, emptcp, policy, tcp2

from .exposition import families, http_get, scrape, value

PORT = 5212
METRICS_PORT = 9464
DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def start_daemon(e: Emptcp, node, *args: str) -> subprocess.Popen:
    """`emptcp daemon run --socket ... ARGS` in `node`; returns once its socket answers."""
    sock = str(e.workdir / "daemon.sock")
    log = open(e.workdir / "daemon.log", "a")
    env = e.env()
    env["EMPTCP_LOG_LEVEL"] = "info"
    proc = node.popen([e.bin, "daemon", "run", "--socket", sock, *args], env=env, stdout=subprocess.DEVNULL, stderr=log)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if e("daemon", "connections", "--socket", sock, check=False).returncode == 0:
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise LabError(f"daemon did not answer (exit {proc.poll()}): {(e.workdir / 'daemon.log').read_text()[-2000:]}")


def backup_flags(node, server_addr: str) -> str:
    """The `ss -ti` MPTCP flags of the client's subflow to `server_addr` (B: marked backup)."""
    out = node.out(["ss", "-tinH", "state", "established", f"( dport = :{PORT} )"])
    blocks = re.split(r"\n(?=\S)", out)
    for b in blocks:
        if server_addr in b.split("\n")[0]:
            m = re.search(r"tcp-ulp-mptcp flags:(\S+)", b)
            return m.group(1) if m else ""
    raise LabError(f"no subflow to {server_addr}: {out}")


def wait_for(predicate, timeout: float = 10.0):
    end = time.monotonic() + timeout
    result = predicate()
    while not result and time.monotonic() < end:
        time.sleep(0.1)
        result = predicate()
    return result


@pytest.mark.kernel
@pytest.mark.mptcp
def test_daemon_metrics_follow_traffic_and_injections(lab, client_emptcp):
    e = client_emptcp
    p1, f = lab.paths[0], lab.family
    bind = [tcp2("xdp", p1.client(f), p1.server(f), "c")]
    e("attach", "--xdp-mode", "generic", "c1", "c2")
    e.commit(policy(xdp=[("tcp2", "or")], chains={"c": [{"recover_add_addr": {}}, {"set_flow_prio": {"backup": True}}]},
                    bindings=bind), "mark path 1 backup at the client")
    daemon = start_daemon(e, lab.client, "--metrics", f"127.0.0.1:{METRICS_PORT}")
    try:
        before = scrape(lab.client, "127.0.0.1", METRICS_PORT)
        # Every family of `status --format prometheus`, with the same type, plus the daemon's.
        status = families(e("status", "--format", "prometheus").stdout)
        for name, (kind, _) in status.items():
            assert name in before and before[name][0] == kind, name
        assert value(before, "emptcp_in_sync") == 1
        assert value(before, "emptcp_revision_current") == value(before, "emptcp_revision_kernel") == 1
        assert value(before, "emptcp_daemon_injections", kind="mp_prio", outcome="seen") == 0
        # docs/operations.md lists every family (counters with their `_total`).
        docs = DOCS.read_text()
        for name, (kind, _) in before.items():
            shown = name + "_total" if kind == "counter" else name
            assert re.search(rf"`{shown}[`{{]", docs), f"{shown} is not listed in docs/operations.md"

        MptcpServer(lab.server, PORT)
        with MptcpClient(lab.client, p1.server(f), PORT) as cl:
            cl.wait_subflows(1, timeout=10)
            assert wait_for(lambda: "B" in backup_flags(lab.client, p1.server(f))), "path 1 never marked backup"
            e.commit(policy(xdp=[("tcp2", "or")], chains={"c": [{"recover_add_addr": {}}]}, bindings=bind),
                     "stop inserting MP_PRIO")
            during = scrape(lab.client, "127.0.0.1", METRICS_PORT)
            assert value(during, "emptcp_connections_tracked") >= 1
            flow = f"{p1.server(f)}:{PORT}-{p1.client(f)}:{cl.local_port}" if f == 4 else \
                f"[{p1.server(f)}]:{PORT}-[{p1.client(f)}]:{cl.local_port}"
            r = e("daemon", "restore-prio", "--socket", str(e.workdir / "daemon.sock"), flow)
            assert "MP_PRIO B=0" in r.stdout
            after = scrape(lab.client, "127.0.0.1", METRICS_PORT)
            assert not cl.info()["fallback"]

        # The verified injection is counted once, as seen; nothing failed.
        assert value(after, "emptcp_daemon_injections", kind="mp_prio", outcome="seen") == 1
        for outcome in ("not_seen", "failed"):
            assert value(after, "emptcp_daemon_injections", kind="mp_prio", outcome=outcome) == 0
        # The data plane counted the traffic, the daemon consumed its records and the path
        # manager's events; the revision moved to 2 and the kernel holds it.
        for hook in ("xdp", "tc"):
            assert value(after, "emptcp_packets", hook=hook) > value(before, "emptcp_packets", hook=hook)
        assert value(after, "emptcp_target", hook="xdp") > value(before, "emptcp_target", hook="xdp")
        assert value(after, "emptcp_prio_added", hook="xdp") > 0
        assert value(after, "emptcp_daemon_events", source="ring_buffer") > value(before, "emptcp_daemon_events", source="ring_buffer")
        assert value(after, "emptcp_daemon_events", source="path_manager") > value(before, "emptcp_daemon_events", source="path_manager")
        assert value(after, "emptcp_revision_current") == value(after, "emptcp_revision_kernel") == 2
        assert value(after, "emptcp_tail_call_fail", hook="xdp") == 0

        # Only /metrics is served.
        assert http_get(lab.client, "127.0.0.1", METRICS_PORT, "/")["status"] == 404
        assert http_get(lab.client, "127.0.0.1", METRICS_PORT, method="POST")["status"] == 405
        head = http_get(lab.client, "127.0.0.1", METRICS_PORT, method="HEAD")
        assert head["status"] == 200 and head["body"] == ""
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=15)
    assert daemon.returncode == 0
    # Stopped with the daemon: nothing listens any more.
    assert "error" in http_get(lab.client, "127.0.0.1", METRICS_PORT)


@pytest.mark.parametrize("address", ["9100", "::1:9100", "[::1]9100", "127.0.0.1:70000", "host name:1", ":"])
def test_bad_metrics_address_is_refused_before_anything_starts(tmp_path, address):
    sock = tmp_path / "daemon.sock"
    db = tmp_path / "emptcp.db"
    p = subprocess.run([emptcp.emptcp_bin(), "daemon", "run", "--socket", str(sock), "--db", str(db),
                        "--pin-root", str(tmp_path / "pins"), "--metrics", address],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "metrics address" in lines[0], p.stderr
    assert not sock.exists() and not db.exists()


@pytest.mark.kernel
def test_metrics_address_in_use_fails_with_one_line(lab, client_emptcp):
    e = client_emptcp
    holder = lab.client.popen([sys.executable, "-c",
                               "import socket, sys, time\n"
                               "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
                               "print('listening', flush=True); time.sleep(120)", str(METRICS_PORT)])
    assert holder.stdout.readline().strip() == "listening"
    sock = e.workdir / "daemon.sock"
    p = e("daemon", "run", "--socket", str(sock), "--metrics", f"127.0.0.1:{METRICS_PORT}", check=False, timeout=30)
    assert p.returncode == 1, p
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert f"cannot listen for metrics on 127.0.0.1:{METRICS_PORT}" in lines[0] and "in use" in lines[0], lines[0]
    assert not sock.exists()
    holder.kill()
    holder.wait(timeout=10)
