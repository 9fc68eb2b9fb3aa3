"""`rm_add_addr` on the client's XDP hook keeps the server's ADD_ADDR from the
client's stack, and the connection stays MPTCP; `rollback` restores the join for new connections.

The server's first segment after the handshake is a pure ACK whose only MPTCP option
is the ADD_ADDR; overwriting it with NOPs would make the client fall back to plain TCP. So the
test checks the absence of fallback on both sides, not only the missing join (docs/lab.md,
what the kernel does)."""

import pytest

from lab import Capture, MptcpServer, observe_connection, policy, tcp2

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5202


def strip_policy(lab, bound: bool) -> dict:
    p1, f = lab.paths[0], lab.family
    bindings = [tcp2("xdp", p1.client(f), p1.server(f), "strip")] if bound else []
    return policy(xdp=[("tcp2", "or")], chains={"strip": [{"rm_add_addr": {}}]}, bindings=bindings)


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_rm_add_addr_on_client_xdp_then_rollback(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1", "c2")
    e.commit(strip_policy(lab, bound=False), "chain without binding")
    e.commit(strip_policy(lab, bound=True), "strip ADD_ADDR on path 1")
    MptcpServer(lab.server, PORT)

    # The capture on the client's c1 sees frames after XDP (generic XDP runs before the taps;
    # native veth XDP before the skb exists), the one on s1 what the server sent.
    cap_c = Capture(lab.client, "c1", lab.tmp / "c1.pcapng", f"tcp port {PORT}")
    cap_s = Capture(lab.server, "s1", lab.tmp / "s1.pcapng", f"tcp port {PORT}")
    obs = observe_connection(lab, PORT, family=lab.family, expect_join=False)
    cap_c.stop(), cap_s.stop()

    sent = cap_s.fields("tcp.options.mptcp.subtype == 3 && tcp.options.mptcp.echo == 0", "frame.number")
    seen = cap_c.fields("tcp.options.mptcp.subtype == 3 && tcp.options.mptcp.echo == 0", "frame.number")
    assert obs.server_delta.get("MPTcpExtAddAddrTx", 0) >= 1, f"the server announced nothing\n{obs.describe()}"
    assert len(sent) >= 1, "no ADD_ADDR on the wire at the server"
    assert seen == [], f"{len(seen)} ADD_ADDR segments got past the client's XDP hook"
    # Every copy (the server repeats an unechoed ADD_ADDR) was handled by our actor.
    counters = {(c["hook"], c["counter"]): c["value"] for c in e.status()["kernel"]["counters"]}
    handled = counters.get(("xdp", "add_addr_dropped"), 0) + counters.get(("xdp", "add_addr_nopped"), 0)
    assert handled >= len(sent), f"{len(sent)} ADD_ADDR copies sent, {handled} removed: {counters}"
    assert obs.client_delta.get("MPTcpExtAddAddr", 0) == 0, obs.describe()
    assert obs.subflow_count == 1, obs.describe()
    assert obs.info["subflows"] == 0, obs.describe()
    # Still MPTCP: no fallback on either side, and data keeps flowing at the MPTCP level.
    assert not obs.info["fallback"], obs.describe()
    assert "fallback" not in obs.ss_mptcp, obs.describe()
    assert not obs.fallback_counters(), obs.describe()
    assert obs.info.get("bytes_acked", 0) > 0, obs.describe()

    e("rollback")
    again = observe_connection(lab, PORT, family=lab.family, expect_join=True)
    assert again.client_delta.get("MPTcpExtAddAddr", 0) == 1, again.describe()
    assert again.subflow_count == 2, again.describe()
    assert not again.fallback_counters(), again.describe()
