"""Priority restore: `set_flow_prio {backup: true}` on the client's XDP for path 1
makes the client's own stack mark that subflow backup (peer-requested backup, `B` in the
subflow flags of `ss -ti`); the mark is sticky, so after the policy stops inserting MP_PRIO the
subflow stays backup until `emptcp daemon --restore-prio FLOW` delivers MP_PRIO B=0 into the
client's stack (raw socket to the client's own address). The daemon knows the subflow's TCP
state from `recover_add_addr` records."""

import json
import re
import time

import pytest

from lab import MptcpClient, MptcpServer, LabError, policy, tcp2

from .test_reinject import wait_socket

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5204


def subflow_flags(node, server_addr):
    """Flags of the client's subflow towards `server_addr` (ss prints `flags:Mec...`)."""
    out = node.out(["ss", "-tinH", "state", "established", f"( dport = :{PORT} )"])
    blocks, current = [], ""
    for line in out.splitlines():
        if line and not line[0].isspace():
            if current:
                blocks.append(current)
            current = line
        else:
            current += " " + line.strip()
    if current:
        blocks.append(current)
    for b in blocks:
        if server_addr in b.split()[3] if len(b.split()) > 3 else False:
            m = re.search(r"tcp-ulp-mptcp flags:(\S+)", b)
            return m.group(1) if m else ""
    raise LabError(f"no subflow to {server_addr} in:\n{out}")


def wait_flag(node, server_addr, want: bool, timeout=10.0):
    end = time.monotonic() + timeout
    flags = subflow_flags(node, server_addr)
    while ("B" in flags) != want and time.monotonic() < end:
        time.sleep(0.1)
        flags = subflow_flags(node, server_addr)
    return flags


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_restore_prio_undoes_backup_mark(lab, client_emptcp):
    e = client_emptcp
    p1, f = lab.paths[0], lab.family
    bind = [tcp2("xdp", p1.client(f), p1.server(f), "c")]
    e("attach", "c1", "c2")
    e.commit(policy(xdp=[("tcp2", "or")], chains={"c": [{"recover_add_addr": {}}, {"set_flow_prio": {"backup": True}}]},
                    bindings=bind), "mark path 1 backup at the client")
    sock = str(e.workdir / "daemon.sock")
    daemon = lab.client.popen([e.bin, "daemon", "--socket", sock], env=e.env())
    wait_socket(lab.client, sock, daemon)
    MptcpServer(lab.server, PORT)
    with MptcpClient(lab.client, p1.server(f), PORT) as cl:
        cl.wait_subflows(1, timeout=10)
        flags = wait_flag(lab.client, p1.server(f), True)
        assert "B" in flags, f"path-1 subflow not marked backup by the inserted MP_PRIO: {flags}"
        prio_rx = lab.client.mptcp_counters().get("MPTcpExtMPPrioRx", 0)
        assert prio_rx >= 1

        e.commit(policy(xdp=[("tcp2", "or")], chains={"c": [{"recover_add_addr": {}}]}, bindings=bind),
                 "stop inserting MP_PRIO")
        time.sleep(1.0)
        assert "B" in subflow_flags(lab.client, p1.server(f)), "backup mark vanished by itself"

        flows = json.loads(e("daemon", "--socket", sock, "--flows").stdout)["flows"]
        mine = [x for x in flows if x["flow"]["destination_port"] == cl.local_port and x.get("ack_state")]
        assert len(mine) == 1, flows
        fl = mine[0]["flow"]
        br = (lambda a: f"[{a}]" if ":" in a else a)
        flow = f"{br(fl['source'])}:{fl['source_port']}-{br(fl['destination'])}:{fl['destination_port']}"
        r = e("daemon", "--socket", sock, "--restore-prio", flow)
        assert "MP_PRIO B=0" in r.stdout
        flags = wait_flag(lab.client, p1.server(f), False)
        assert "B" not in flags, f"still backup after --restore-prio: {flags}"
        assert lab.client.mptcp_counters().get("MPTcpExtMPPrioRx", 0) == prio_rx + 1
        assert not cl.info()["fallback"]
    daemon.send_signal(15)
    daemon.wait(timeout=10)
    assert daemon.returncode == 0
