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

from dataplane import recv_win_param, run
from packets import tcp_checksum_ok, window_of

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
