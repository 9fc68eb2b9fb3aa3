"""`set_recv_win {window: N}` on the client's TC egress puts N in the window
field on the wire, and the rewritten segments carry valid checksums when the sender computes
them in software (`ethtool -K c1 tx off`; with offload on, veth frames carry partial checksums
that no capture can validate, docs/lab.md). Also on the client's XDP hook, where the capture on
the client's interface shows the frames after XDP."""

import pytest

from lab import Capture, MptcpServer, observe_connection, policy, tcp2

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5203
WINDOW = 4321  # far from what the stack advertises here (tens to a few hundred, scale 10)
GOOD = "1"  # tshark tcp.checksum.status: 0 bad, 1 good, 2 unverified


def win_policy(lab, hook: str) -> dict:
    p1, f = lab.paths[0], lab.family
    sel = [("tcp2", "or")]
    return policy(xdp=sel if hook == "xdp" else None, tc=sel if hook == "tc" else None,
                  chains={"win": [{"set_recv_win": {"window": WINDOW}}]},
                  bindings=[tcp2(hook, p1.client(f), p1.server(f), "win")])


def ip_src(lab) -> str:
    return "ip.src" if lab.family == 4 else "ipv6.src"


@pytest.mark.parametrize("tx", ["tx-on", "tx-off"])
@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_set_recv_win_on_client_tc_egress(lab, client_emptcp, tx):
    p1, p2, f = lab.paths[0], lab.paths[1], lab.family
    if tx == "tx-off":
        lab.client.ethtool_tx("c1", False)
        lab.client.ethtool_tx("c2", False)
    client_emptcp("attach", "c1", "c2")
    client_emptcp.commit(win_policy(lab, "tc"), "window on egress")
    MptcpServer(lab.server, PORT)
    cap1 = Capture(lab.server, "s1", lab.tmp / "s1.pcapng", f"tcp port {PORT}")
    cap2 = Capture(lab.server, "s2", lab.tmp / "s2.pcapng", f"tcp port {PORT}")
    obs = observe_connection(lab, PORT, family=f, expect_join=True)
    cap1.stop(), cap2.stop()
    assert not obs.fallback_counters(), obs.describe()

    after_handshake = f"{ip_src(lab)} == {p1.client(f)} && tcp.flags.syn == 0"
    rows = cap1.fields(after_handshake, "tcp.window_size_value", "tcp.checksum.status",
                       check_checksum=True)
    assert len(rows) >= 3, f"too few client segments captured on path 1: {rows}"
    windows = sorted({int(r[0]) for r in rows})
    assert windows == [WINDOW], f"windows on the wire: {windows}"
    if tx == "tx-off":
        bad = [r for r in rows if r[1] != GOOD]
        assert not bad, f"{len(bad)} of {len(rows)} rewritten segments with a bad checksum"

    # Path 2 is not bound: the stack's own window goes out unchanged there.
    rows2 = cap2.fields(f"{ip_src(lab)} == {p2.client(f)} && tcp.flags.syn == 0",
                        "tcp.window_size_value", "tcp.checksum.status", check_checksum=True)
    assert rows2, "no client segments on path 2 (the join did not happen?)"
    assert WINDOW not in {int(r[0]) for r in rows2}
    if tx == "tx-off":
        assert all(r[1] == GOOD for r in rows2)


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_set_recv_win_on_client_xdp_keeps_checksums_valid(lab, client_emptcp):
    p1, f = lab.paths[0], lab.family
    lab.server.ethtool_tx("s1", False)  # full checksums from the server, so they can be checked
    client_emptcp("attach", "c1", "c2")
    client_emptcp.commit(win_policy(lab, "xdp"), "window on ingress")
    MptcpServer(lab.server, PORT)
    cap = Capture(lab.client, "c1", lab.tmp / "c1.pcapng", f"tcp port {PORT}")
    obs = observe_connection(lab, PORT, family=f, expect_join=True)
    cap.stop()
    assert not obs.fallback_counters(), obs.describe()
    rows = cap.fields(f"{ip_src(lab)} == {p1.server(f)} && tcp.flags.syn == 0",
                      "tcp.window_size_value", "tcp.checksum.status", check_checksum=True)
    assert len(rows) >= 3, f"too few server segments captured: {rows}"
    assert sorted({int(r[0]) for r in rows}) == [WINDOW]
    bad = [r for r in rows if r[1] != GOOD]
    assert not bad, f"{len(bad)} of {len(rows)} rewritten segments with a bad checksum"
