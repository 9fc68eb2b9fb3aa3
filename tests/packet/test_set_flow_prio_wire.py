"""set_flow_prio on real MPTCP traffic between two namespaces (lab/), one subflow, the data
plane loaded by the packet-test harness and attached by hand (tc clsact filter on the client's
egress, generic XDP on its ingress):

- TC egress, client downloading (it sends pure ACKs): the server receives MP_PRIO B=1
  (MPTcpExtMPPrioRx grows, `ss` shows the subflow's remote-backup flag `B`), the transfer
  completes, and every grown segment on the wire has a valid IPv4 header checksum and a TCP
  checksum that is right for its new length: complete with transmit checksum offload off, and
  with it on (CHECKSUM_PARTIAL) the pseudo-header sum of the new length the NIC/peer completes.
- XDP ingress, client uploading (it receives pure ACKs): the client's own stack takes the
  subflow as backup (MPPrioRx at the client, flag `B`), the transfer completes."""
import json
import re
import socket
import struct
import time

import pytest
from scapy.utils import rdpcap

from frame_checks import Hdrs, csum
from lab.dataplane import tcp2_key
from lab import Lab
from lab.fixtures import require_kernel_lab
from lab.traffic import Capture

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5231


def addr(lab, side, family):
    p = lab.paths[0]
    return p.client(family) if side == "c" else p.server(family)


def start_iperf_server(lab):
    srv = lab.server.popen(["mptcpize", "run", "iperf3", "-s", "-1", "-p", str(PORT)])
    end = time.monotonic() + 10
    while f":{PORT}" not in lab.server.out(["ss", "-ltnH"]):
        assert srv.poll() is None and time.monotonic() < end, "iperf3 server did not start"
        time.sleep(0.05)
    return srv


def iperf_client(lab, family, reverse, seconds=3):
    """Starts the iperf3 client; returns the process (read with iperf_result)."""
    cmd = ["mptcpize", "run", "iperf3", "-c", addr(lab, "s", family), "-p", str(PORT), "-t",
           str(seconds), "-C", "cubic", "-J"]
    if reverse:
        cmd.append("-R")
    return lab.client.popen(cmd)


def iperf_result(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-2000:] + err
    return json.loads(out)["end"]["sum_received"]["bytes"]


def wait_flag(node, flag, proc):
    """Polls the subflows' flags on `node` while `proc` runs; returns them when `flag` shows."""
    seen = []
    while proc.poll() is None:
        seen = backup_flags(node)
        if any(flag in f for f in seen):
            return seen
        time.sleep(0.1)
    return seen


def backup_flags(node):
    """The subflows' `tcp-ulp-mptcp flags:` strings (B = the peer marked it backup)."""
    out = node.out(["ss", "-tinH", f"( dport = :{PORT} or sport = :{PORT} )"])
    return re.findall(r"tcp-ulp-mptcp flags:(\S+)", out)


def prio_rx(node):
    return node.nstat().get("MPTcpExtMPPrioRx", 0)


def pseudo_sum(h):
    """Folded, not complemented, sum of the TCP pseudo header (what CHECKSUM_PARTIAL leaves)."""
    seg_len = h.ip_end - h.l4
    if h.v6:
        ph = h.b[22:54] + struct.pack("!IxxxB", seg_len, 6)
    else:
        ph = h.b[26:34] + struct.pack("!xBH", 6, seg_len)
    return csum(ph)


@pytest.fixture
def lab1():
    require_kernel_lab()
    with Lab(signal_family=None, tag="p") as lb:
        yield lb


def chain_for(dp, hook, lab, family):
    """set_flow_prio {backup: true} for the client <-> server pair of path 1 (tcp2)."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    c, s = socket.inet_pton(af, addr(lab, "c", family)), socket.inet_pton(af, addr(lab, "s", family))
    dp.use(hook, [("set_flow_prio", bytes([1, 0, 0]))], slot_names=["set_flow_prio"])
    dp.sel_chain(hook, [("tcp2", "or")])
    dp.bind_tcp(hook, 0)
    # XDP keys: local = destination (the client); TC keys: local = source (the client)
    dp.bind_tcp2(hook, tcp2_key(family, c, s), 1)


@pytest.mark.parametrize("family", [4, 6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("tx", ["tx-on", "tx-off"])
def test_tc_egress_server_sees_backup(dp, lab1, tx, family):
    lab = lab1
    chain_for(dp, "tc", lab, family)
    if tx == "tx-off":
        lab.client.ethtool_tx("c1", False)
    lab.client.run(["tc", "qdisc", "add", "dev", "c1", "clsact"])
    lab.client.run(["tc", "filter", "add", "dev", "c1", "egress", "bpf", "object-pinned",
                    dp.prog("tc", "entry"), "direct-action"])
    before = prio_rx(lab.server)
    srv = start_iperf_server(lab)
    cap = Capture(lab.server, "s1", lab.tmp / "s1.pcapng", bpf_filter=f"tcp and src host {addr(lab, 'c', family)}")
    cli = iperf_client(lab, family, reverse=True)
    flags = wait_flag(lab.server, "B", cli)
    got = iperf_result(cli)
    cap.stop()
    srv.wait(timeout=10)
    assert got > 1_000_000
    assert prio_rx(lab.server) > before
    assert any("B" in f for f in flags), flags  # the server's subflow: remote backup
    grown = partial = 0
    for fr in rdpcap(str(cap.path)):
        b = bytes(fr)
        h = Hdrs(b)
        if h.opts[:3] != bytes([30, 3, 0x51]):
            continue
        grown += 1
        assert h.opts[3] == 1 and h.payload == b""
        assert h.ip_csum_ok()
        check = struct.unpack_from("!H", b, h.l4 + 16)[0]
        if tx == "tx-off":
            assert h.tcp_csum_ok()
        elif not h.tcp_csum_ok():
            assert check == pseudo_sum(h), f"{check:#x} vs {pseudo_sum(h):#x}"
            partial += 1
    assert grown > 0
    if tx == "tx-on":
        assert partial > 0  # the CHECKSUM_PARTIAL path was exercised
    c = dp.counters("tc")
    assert c["prio_added"] >= grown and c["malformed"] == 0


@pytest.mark.parametrize("family", [4, 6], ids=["ipv4", "ipv6"])
def test_xdp_ingress_client_marks_backup(dp, lab1, family):
    lab = lab1
    chain_for(dp, "xdp", lab, family)
    lab.client.run(["ip", "link", "set", "dev", "c1", "xdpgeneric", "pinned",
                    dp.prog("xdp", "entry")])
    before = prio_rx(lab.client)
    srv = start_iperf_server(lab)
    cli = iperf_client(lab, family, reverse=False)
    flags = wait_flag(lab.client, "B", cli)
    got = iperf_result(cli)
    srv.wait(timeout=10)
    assert got > 1_000_000
    assert prio_rx(lab.client) > before
    assert any("B" in f for f in flags), flags  # the client's own subflow: remote backup
    c = dp.counters("xdp")
    assert c["prio_added"] > 0 and c["malformed"] == 0
