"""rm_add_addr on the server's TC egress with a real MPTCP connection between two namespaces
(two veth pairs, the server announcing its second address): the client never receives the
ADD_ADDR, does not join, and the connection stays MPTCP (no fallback), with transmit checksum
offload on (the default) and off."""
import json
import subprocess
import sys
import time
import uuid

import pytest

from lab.dataplane import run

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

SERVER = r"""
import socket, sys
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_MPTCP)
srv.bind(("0.0.0.0", 5201))
srv.listen(4)
srv.settimeout(60)
print("ready", flush=True)
conn, _ = srv.accept()
conn.settimeout(60)
n = 0
while True:
    b = conn.recv(65536)
    if not b:
        break
    n += len(b)
conn.close()
print(n, flush=True)
"""

CLIENT = r"""
import socket, time, subprocess, json
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_MPTCP)
s.settimeout(60)
s.connect(("10.77.0.2", 5201))
s.sendall(b"x" * 1000)
time.sleep(2.5)     # lets the server's path manager announce (and retransmit) its address
s.sendall(b"y" * 100000)
ss = subprocess.run(["ss", "-Mtni"], capture_output=True, text=True).stdout
s.close()
print(json.dumps({"ss": ss}), flush=True)
"""


def nstat(ns):
    out = run("ip", "netns", "exec", ns, "nstat", "-az", "--json").stdout
    return {k: v for d in json.loads(out).values() for k, v in d.items()}


@pytest.fixture
def pair():
    uid = uuid.uuid4().hex[:6]
    a, b = f"emptcp-mc-{uid}", f"emptcp-ms-{uid}"
    try:
        run("ip", "netns", "add", a)
        run("ip", "netns", "add", b)
        for i in (0, 1):
            run("ip", "link", "add", f"ea{i}{uid}", "netns", a, "type", "veth", "peer", "name",
                f"eb{i}{uid}", "netns", b)
            run("ip", "-n", a, "addr", "add", f"10.77.{i}.1/24", "dev", f"ea{i}{uid}")
            run("ip", "-n", b, "addr", "add", f"10.77.{i}.2/24", "dev", f"eb{i}{uid}")
            run("ip", "-n", a, "link", "set", f"ea{i}{uid}", "up")
            run("ip", "-n", b, "link", "set", f"eb{i}{uid}", "up")
        for ns in (a, b):
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.mptcp.enabled=1")
            run("ip", "-n", ns, "mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "4")
        run("ip", "-n", b, "mptcp", "endpoint", "add", "10.77.1.2", "dev", f"eb1{uid}", "signal")
        yield a, b, uid
    finally:
        run("ip", "netns", "del", a, check=False)
        run("ip", "netns", "del", b, check=False)


def connect(a, b):
    srv = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", SERVER],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready", srv.stderr.read()
        cli = run("ip", "netns", "exec", a, sys.executable, "-c", CLIENT)
        out, err = srv.communicate(timeout=90)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    assert srv.returncode == 0, err
    assert int(out.strip().splitlines()[-1]) == 101000
    return json.loads(cli.stdout.strip().splitlines()[-1])["ss"]


def fallbacks(counters):
    """MPTCP fallbacks only (TcpExtTCPSackShiftFallback is a SACK statistic, not a fallback)."""
    return {k: v for k, v in counters.items() if k.startswith("MPTcpExt") and "Fallback" in k and v}


@pytest.mark.parametrize("tx", ["on", "off"])
def test_rm_add_addr_tc_keeps_mptcp(dp, pair, tx):
    a, b, uid = pair
    dev = f"eb0{uid}"
    run("ip", "netns", "exec", b, "ethtool", "-K", dev, "tx", tx)

    # without policy the client learns the address and joins it
    connect(a, b)
    base = nstat(a)
    assert base.get("MPTcpExtAddAddr", 0) >= 1
    assert base.get("MPTcpExtMPJoinSynAckRx", 0) >= 1

    run("tc", "-n", b, "qdisc", "add", "dev", dev, "clsact")
    run("tc", "-n", b, "filter", "add", "dev", dev, "egress", "bpf", "da", "pinned",
        dp.prog("tc", "entry"))
    dp.sel_chain("tc", [("tcp", "or")])
    dp.chain("tc", 1, [("rm_add_addr", b"")])
    dp.bind_tcp("tc", 1)
    ss = connect(a, b)
    after = nstat(a)
    assert after.get("MPTcpExtAddAddr", 0) == base["MPTcpExtAddAddr"]   # nothing new arrived
    assert after.get("MPTcpExtMPJoinSynAckRx", 0) == base["MPTcpExtMPJoinSynAckRx"]
    assert fallbacks(after) == {} and fallbacks(nstat(b)) == {}
    c = dp.counters("tc")
    assert c["add_addr_dropped"] + c["add_addr_nopped"] >= 1
    assert "fallback" not in ss
