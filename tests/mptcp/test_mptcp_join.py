"""Without a policy the client joins the address the server announces: 2 subflows.

Checked twice: in the bare lab (the lab itself is right) and with emptcp attached to both client
interfaces but no binding for the flow (our programs pass every packet unchanged)."""

import pytest

from lab import MptcpServer, observe_connection

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5201


def assert_joined(lab, obs):
    assert obs.subflow_count == 2, obs.describe()
    assert obs.info["subflows"] == 1, obs.describe()
    assert any(f"{lab.paths[1].server(lab.family)}]" in s or f"{lab.paths[1].server(lab.family)}:" in s
               for s in obs.subflows), f"no subflow to the announced address\n{obs.describe()}"
    assert obs.client_delta.get("MPTcpExtAddAddr", 0) == 1, obs.describe()
    assert not obs.info["fallback"], obs.describe()
    assert not obs.fallback_counters(), obs.describe()


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_client_joins_announced_address(lab):
    MptcpServer(lab.server, PORT)
    obs = observe_connection(lab, PORT, family=lab.family, expect_join=True)
    assert_joined(lab, obs)


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_attached_without_policy_changes_nothing(lab, client_emptcp):
    client_emptcp("attach", "c1", "c2")
    MptcpServer(lab.server, PORT)
    obs = observe_connection(lab, PORT, family=lab.family, expect_join=True)
    assert_joined(lab, obs)
