"""A fleet revision that strips ADD_ADDR really strips it: the client of a client/server pair of
namespaces follows the fleet, and its MPTCP connection gets no join (MPTcpExtAddAddr stays 0)
while staying MPTCP; a fleet rollback brings the join back."""

from __future__ import annotations

import json
import subprocess

import pytest

from lab import observe_connection, policy, tcp2, MptcpServer
from lab.fleet import Fleet

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5203


def test_fleet_strips_add_addr_on_a_following_client(pg, lab, client_emptcp):
    fleet = Fleet(pg, database="fleetmptcp")
    e = client_emptcp
    e("attach", "c1", "c2", "--xdp-mode", "generic")
    url = fleet.follower_role("mptcpclient")
    env = e.env()
    env["EMPTCP_FLEET"] = url
    log = open(lab.tmp / "follow.log", "w")
    lab.client.popen([e.bin, "fleet", "follow", "--host-id", "mptcp-client", "--heartbeat", "0.5"], env=env, stdout=log,
                     stderr=subprocess.STDOUT)
    log.close()
    p1 = lab.paths[0]
    chains = {"strip": [{"rm_add_addr": {}}]}
    r1 = fleet.commit(policy(xdp=[("tcp2", "or")], chains=chains), "chain without binding")
    fleet.wait(r1, 1)
    r2 = fleet.commit(policy(xdp=[("tcp2", "or")], chains=chains, bindings=[tcp2("xdp", p1.client(4), p1.server(4), "strip")]),
                      "strip ADD_ADDR on path 1")
    fleet.wait(r2, 1)
    MptcpServer(lab.server, PORT)
    obs = observe_connection(lab, PORT, family=4, expect_join=False)
    assert obs.server_delta.get("MPTcpExtAddAddrTx", 0) >= 1, obs.describe()
    assert obs.client_delta.get("MPTcpExtAddAddr", 0) == 0, obs.describe()
    assert obs.subflow_count == 1, obs.describe()
    assert not obs.info["fallback"] and not obs.fallback_counters(), obs.describe()

    back = json.loads(fleet.cli("fleet", "rollback", "--json").stdout)
    fleet.wait(back["id"], 1)
    again = observe_connection(lab, PORT, family=4, expect_join=True)
    assert again.client_delta.get("MPTcpExtAddAddr", 0) == 1, again.describe()
    assert again.subflow_count == 2, again.describe()
