"""The policy the operations tests run: `rm_add_addr` on the client's XDP hook for path 1, so the
server's ADD_ADDR never reaches the client and it never joins the second address."""

from lab import policy, tcp2


def strip_add_addr(lab, bound: bool) -> dict:
    p1, f = lab.paths[0], lab.family
    bindings = [tcp2("xdp", p1.client(f), p1.server(f), "strip")] if bound else []
    return policy(xdp=[("tcp2", "or")], chains={"strip": [{"rm_add_addr": {}}]}, bindings=bindings)


def assert_no_join(obs) -> None:
    """The policy with the binding: no ADD_ADDR reached the client, one subflow, still MPTCP."""
    assert obs.client_delta.get("MPTcpExtAddAddr", 0) == 0, obs.describe()
    assert obs.subflow_count == 1, obs.describe()
    assert not obs.info["fallback"], obs.describe()


def assert_join(obs) -> None:
    """The policy without the binding: the client joins the announced address."""
    assert obs.client_delta.get("MPTcpExtAddAddr", 0) == 1, obs.describe()
    assert obs.subflow_count == 2, obs.describe()
