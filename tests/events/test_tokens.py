"""`catch_mptcp_events` + `emptcp events`: each connection's tokens computed from the
MP_CAPABLE keys (SHA-256, MPTCP v1) equal the tokens the kernel reports through mptcp_diag
(`ss -M`, `token:`), on both ends; the MP_JOIN of the second subflow carries the server's token;
FIN shows up at close. The client's TC egress sees the client's segments, so the MP_CAPABLE
third ACK gives the client's key as sender and the server's key as receiver."""

import json
import re
import time

import pytest

from lab import MptcpClient, MptcpServer, LabError, policy, tcp2

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5205


def tokens(node) -> set[str]:
    out = node.out(["ss", "-MinH", f"( dport = :{PORT} or sport = :{PORT} )"])
    return set(re.findall(r"token:([0-9a-f]+)", out))


def read_events(path, want, timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        events = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
        if want(events) or time.monotonic() > end:
            return events
        time.sleep(0.1)


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_event_tokens_match_mptcp_diag(lab, client_emptcp):
    e = client_emptcp
    f = lab.family
    p1, p2 = lab.paths
    bindings = [tcp2("tc", p1.client(f), p1.server(f), "ev"), tcp2("tc", p2.client(f), p2.server(f), "ev")]
    e("attach", "c1", "c2")
    e.commit(policy(tc=[("tcp2", "or")], chains={"ev": [{"catch_mptcp_events": {}}]}, bindings=bindings), "events")
    out = e.workdir / "events.jsonl"
    with open(out, "w") as sink:
        reader = lab.client.popen([e.bin, "events", "--json"], env=e.env(), stdout=sink)
        time.sleep(0.5)
        MptcpServer(lab.server, PORT)
        with MptcpClient(lab.client, p1.server(f), PORT) as cl:
            cl.wait_subflows(1, timeout=10)
            client_tokens, server_tokens = tokens(lab.client), tokens(lab.server)
            events = read_events(out, lambda ev: any(x["type"] == "MP_JOIN" for x in ev))
        events = read_events(out, lambda ev: any(x["type"] == "FIN" for x in ev))
        reader.send_signal(2)
        _, err = reader.communicate(timeout=10)
    assert reader.returncode == 0, err
    assert "0 unknown" in err, err

    assert len(client_tokens) == 1 and len(server_tokens) == 1, (client_tokens, server_tokens)
    capable = [x for x in events if x["type"] == "MP_CAPABLE" and "receiver_token" in x]
    assert capable, events
    third_ack = capable[0]
    assert third_ack["hook"] == "tc" and third_ack["sport"] == cl.local_port
    assert {third_ack["sender_token"]} == client_tokens, (third_ack, client_tokens)
    assert {third_ack["receiver_token"]} == server_tokens, (third_ack, server_tokens)
    joins = [x for x in events if x["type"] == "MP_JOIN"]
    assert joins and {j["token"] for j in joins} == server_tokens, (joins, server_tokens)
    assert any(x["type"] == "FIN" for x in events), events
