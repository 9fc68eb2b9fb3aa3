"""Injection engine: `rm_add_addr` on the client's XDP keeps the server's ADD_ADDR from
the client's stack (no join); `emptcp daemon` saved the removed option from the ring buffer and,
on request, re-delivers it into the client's stack through a raw socket to the client's own
address; the client then accepts the announcement (MPTcpExtAddAddr +1) and opens the second
subflow. Also: the daemon's socket serves root only (mode 0600, and SO_PEERCRED checked even
when the mode is opened up)."""

import json
import subprocess
import time

import pytest

from lab import MptcpClient, MptcpServer, LabError, mptcp_sockets, policy, tcp2, ADD_ADDR_SETTLE_S

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5203


def wait_socket(node, path, proc, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if node.run(["test", "-S", path], check=False).returncode == 0:
            return
        if proc.poll() is not None:
            raise LabError(f"daemon exited {proc.returncode}: {proc.stderr.read()}")
        time.sleep(0.1)
    raise LabError(f"daemon socket {path} did not appear")


def daemon_request(e, sock, *args):
    p = e("daemon", "--socket", sock, *args, check=False)
    return p


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_removed_add_addr_redelivered_opens_second_subflow(lab, client_emptcp):
    e = client_emptcp
    p1, f = lab.paths[0], lab.family
    e("attach", "c1", "c2")
    e.commit(policy(xdp=[("tcp2", "or")], chains={"strip": [{"recover_add_addr": {}}, {"rm_add_addr": {}}]},
                    bindings=[tcp2("xdp", p1.client(f), p1.server(f), "strip")]), "strip ADD_ADDR on path 1")
    sock = str(e.workdir / "daemon.sock")
    events_path = e.workdir / "daemon-events.jsonl"
    events_file = open(events_path, "w")
    daemon = lab.client.popen([e.bin, "daemon", "--socket", sock, "--events", "--json"], env=e.env(),
                              stdout=events_file)
    wait_socket(lab.client, sock, daemon)
    assert lab.client.out(["stat", "-c", "%a %u", sock]).split() == ["600", "0"]

    MptcpServer(lab.server, PORT)
    c0 = lab.client.mptcp_counters()
    with MptcpClient(lab.client, p1.server(f), PORT) as cl:
        time.sleep(ADD_ADDR_SETTLE_S)  # every ADD_ADDR copy has been sent and removed by now
        before = lab.client.mptcp_counters()
        assert before.get("MPTcpExtAddAddr", 0) - c0.get("MPTcpExtAddAddr", 0) == 0
        assert cl.info()["subflows"] == 0

        flows = json.loads(daemon_request(e, sock, "--flows").stdout)["flows"]
        pending = [x for x in flows if x["removed"]]
        assert len(pending) == 1, flows
        fl = pending[0]["flow"]
        src = f"[{fl['source']}]" if ":" in fl["source"] else fl["source"]
        dst = f"[{fl['destination']}]" if ":" in fl["destination"] else fl["destination"]
        flow = f"{src}:{fl['source_port']}-{dst}:{fl['destination_port']}"
        # The flow is the server -> client direction of the client's first subflow.
        assert fl["destination_port"] == cl.local_port, (fl, cl.local_port)

        # A non-root user cannot even reach the socket (mode 0600), let alone be served.
        nobody = lab.client.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 e.bin, "daemon", "--socket", sock, "--recover-add-addr", flow],
                                check=False, env=e.env())
        assert nobody.returncode != 0, nobody.stdout
        assert "Permission denied" in nobody.stderr, nobody.stderr
        # Even with the socket opened up by mistake, the peer credentials are checked.
        lab.client.run(["chmod", "666", sock])
        nobody = lab.client.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 e.bin, "daemon", "--socket", sock, "--recover-add-addr", flow],
                                check=False, env=e.env())
        lab.client.run(["chmod", "600", sock])
        assert nobody.returncode == 1 and "refused: uid 65534 is not root" in nobody.stderr, nobody.stderr
        assert lab.client.mptcp_counters().get("MPTcpExtAddAddr", 0) == before.get("MPTcpExtAddAddr", 0)

        r = daemon_request(e, sock, "--recover-add-addr", flow)
        assert r.returncode == 0, r.stderr
        assert "re-delivered 1 ADD_ADDR" in r.stdout, r.stdout
        info = cl.wait_subflows(1, timeout=10)
        after = lab.client.mptcp_counters()
        ss_m = mptcp_sockets(lab.client, PORT)
    assert after.get("MPTcpExtAddAddr", 0) - before.get("MPTcpExtAddAddr", 0) == 1, (before, after)
    assert info["subflows"] == 1, info
    assert not info["fallback"], ss_m
    assert "fallback" not in ss_m

    # Unknown flow and malformed requests are refused with a one-line reason.
    bad = daemon_request(e, sock, "--recover-add-addr", "10.9.9.9:1-10.9.9.8:2")
    assert bad.returncode == 1 and "no live MPTCP subflow" in bad.stderr, bad.stderr
    daemon.send_signal(2)
    _, err = daemon.communicate(timeout=10)
    events_file.close()
    assert daemon.returncode == 0, err
    events = [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()]
    removed = [ev for ev in events if ev["type"] == "RM_ADD_ADDR"]
    assert removed and all(ev["option"].startswith("1e") for ev in removed), events
    assert lab.client.run(["test", "-e", sock], check=False).returncode != 0, "socket left behind"
