"""TC egress edits on a real veth with real TCP: the window on the wire is the configured one and
the peer's stack accepts every segment, with transmit checksum offload on (CHECKSUM_PARTIAL
reaches the peer) and off (the checksum is completed in software after TC, so a wrong edit of
the partial checksum would be visible on the wire and the peer would drop the segments)."""
import json
import os
import subprocess
import sys
import uuid

import pytest

from frame_checks import tcp_checksum_ok, window_of
from lab.dataplane import recv_win_param, run

pytestmark = pytest.mark.kernel

RECEIVER = r"""
import json, socket, sys
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
cap.bind((sys.argv[1], 0))
cap.settimeout(30)
srv = socket.socket()
srv.bind(("10.77.0.2", 5201))
srv.listen(1)
srv.settimeout(30)
print("ready", flush=True)
conn, _ = srv.accept()
conn.settimeout(30)
data = b""
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    data += chunk
conn.close()
frames = []
cap.setblocking(False)
while True:
    try:
        f = cap.recv(65536)
    except BlockingIOError:
        break
    if f[23] == 6 and f[26:30] == socket.inet_aton("10.77.0.1"):
        frames.append(f.hex())
print(json.dumps({"data": len(data), "frames": frames}), flush=True)
"""

SENDER = r"""
import socket
s = socket.create_connection(("10.77.0.2", 5201), timeout=30)
s.sendall(bytes(range(256)) * 40)
s.close()
"""


@pytest.fixture
def veth():
    uid = uuid.uuid4().hex[:6]
    a, b = f"emptcp-a-{uid}", f"emptcp-b-{uid}"
    va, vb = f"eva{uid}", f"evb{uid}"
    try:
        run("ip", "netns", "add", a)
        run("ip", "netns", "add", b)
        run("ip", "link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b)
        for ns, dev, addr in ((a, va, "10.77.0.1/24"), (b, vb, "10.77.0.2/24")):
            run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        yield a, b, va, vb
    finally:
        run("ip", "netns", "del", a, check=False)
        run("ip", "netns", "del", b, check=False)


@pytest.mark.parametrize("tx", ["on", "off"])
def test_set_recv_win_on_the_wire(dp, veth, tx):
    a, b, va, vb = veth
    run("ip", "netns", "exec", a, "ethtool", "-K", va, "tx", tx)
    run("tc", "-n", a, "qdisc", "add", "dev", va, "clsact")
    run("tc", "-n", a, "filter", "add", "dev", va, "egress", "bpf", "da", "pinned",
        dp.prog("tc", "entry"))
    dp.sel_chain("tc", [("tcp", "or")])
    dp.chain("tc", 1, [("set_recv_win", recv_win_param(1600))])
    dp.bind_tcp("tc", 1)

    rx = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", RECEIVER, vb],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert rx.stdout.readline().strip() == "ready", rx.stderr.read()
        run("ip", "netns", "exec", a, sys.executable, "-c", SENDER)
        out, err = rx.communicate(timeout=60)
    finally:
        if rx.poll() is None:
            rx.kill()
            rx.wait()
    assert rx.returncode == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["data"] == 256 * 40           # every segment accepted by the peer's stack
    frames = [bytes.fromhex(f) for f in res["frames"]]
    assert len(frames) >= 3
    assert all(window_of(f) == 1600 for f in frames)
    if tx == "off":                           # the wire carries complete checksums
        assert all(tcp_checksum_ok(f) for f in frames)
    # one TC run per skb; a GSO skb becomes several frames after TC, each with the edited header
    assert 1 <= dp.counters("tc")["win_set"] <= len(frames)


SEND_PARTIAL = r"""
import socket, struct, sys
dev, frame = sys.argv[1], bytes.fromhex(sys.argv[2])
l4 = int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.setsockopt(263, 15, 1)                      # SOL_PACKET, PACKET_VNET_HDR
s.bind((dev, 0))
# virtio_net_hdr: NEEDS_CSUM, no GSO, csum_start = TCP header, csum_offset = 16
vnet = struct.pack("<BBHHHH", 1, 0, 0, 0, l4, 16)
try:
    s.send(vnet + frame)
    print("sent")
except OSError as e:                          # TC_ACT_SHOT reaches the sender as ENOBUFS
    if e.errno != 105:
        raise
    print("dropped")
"""

CAPTURE = r"""
import json, socket, sys, select
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
cap.bind((sys.argv[1], 0))
print("ready", flush=True)
frames = []
while select.select([cap], [], [], 5)[0]:     # until the sender has been quiet for 5 s
    f = cap.recv(65536)
    if f[23] == 6 and f[26:30] == socket.inet_aton("10.77.0.1"):
        frames.append(f.hex())
print(json.dumps(frames), flush=True)
"""


def partial_frame(opts):
    """A TCP segment whose checksum field holds only the pseudo-header sum, as the stack leaves
    it for CHECKSUM_PARTIAL."""
    import struct as st
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    tcp_len = 20 + len(opts)
    pseudo = bytes([10, 77, 0, 1, 10, 77, 0, 2, 0, 6]) + st.pack("!H", tcp_len)
    s = sum(st.unpack("!6H", pseudo))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return bytes(Ether(src="02:00:00:00:00:02", dst="ff:ff:ff:ff:ff:ff") /
                 IP(src="10.77.0.1", dst="10.77.0.2") /
                 TCP(sport=40000, dport=5201, flags="A", window=5000, chksum=s,
                     dataofs=5 + len(opts) // 4) / Raw(opts))


def test_tc_edits_on_checksum_partial_skbs(dp, veth):
    """[set_recv_win, rm_add_addr] on CHECKSUM_PARTIAL skbs (AF_PACKET with a virtio-net header
    asking for checksum completion), completed in software after TC (tx off): the frames on the
    wire carry the edits and a valid checksum; the ADD_ADDR-only segment is dropped."""
    from frame_checks import option_bytes
    from lab.frames import ADD_ADDR4, DSS4, TS
    a, b, va, vb = veth
    run("ip", "netns", "exec", a, "ethtool", "-K", va, "tx", "off")
    run("tc", "-n", a, "qdisc", "add", "dev", va, "clsact")
    run("tc", "-n", a, "filter", "add", "dev", va, "egress", "bpf", "da", "pinned",
        dp.prog("tc", "entry"))
    dp.sel_chain("tc", [("tcp", "or")])
    dp.chain("tc", 1, [("set_recv_win", recv_win_param(1600)), ("rm_add_addr", b"")])
    dp.bind_tcp("tc", 1)

    cap = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", CAPTURE, vb],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert cap.stdout.readline().strip() == "ready", cap.stderr.read()
        nop = partial_frame(DSS4 + ADD_ADDR4 + TS)
        drop = partial_frame(ADD_ADDR4)
        sent = [run("ip", "netns", "exec", a, sys.executable, "-c", SEND_PARTIAL, va, f.hex(),
                    "34").stdout.strip() for f in (nop, drop)]
        assert sent == ["sent", "dropped"]
        out, err = cap.communicate(timeout=60)
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    frames = [bytes.fromhex(x) for x in json.loads(out.strip().splitlines()[-1])]
    assert len(frames) == 1, frames                      # the ADD_ADDR-only one was dropped
    f = frames[0]
    assert window_of(f) == 1600
    assert option_bytes(f) == DSS4 + b"\x01" * 16 + TS
    assert tcp_checksum_ok(f)
    c = dp.counters("tc")
    assert c["add_addr_nopped"] == 1 and c["add_addr_dropped"] == 1
