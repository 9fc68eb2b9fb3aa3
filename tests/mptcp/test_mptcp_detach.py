"""`emptcp detach` removes only what emptcp attached: a foreign clsact qdisc and its
filters (ingress and egress) stay exactly as they were, and nothing of ours is left behind."""

import json

import pytest

from lab import MptcpServer, observe_connection

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5204


def tc_state(node, dev: str) -> dict:
    return {
        "qdisc": node.out(["tc", "qdisc", "show", "dev", dev]),
        "egress": node.out(["tc", "filter", "show", "dev", dev, "egress"]),
        "ingress": node.out(["tc", "filter", "show", "dev", dev, "ingress"]),
    }


def test_detach_keeps_foreign_clsact_filters(lab, client_emptcp):
    c = lab.client
    # act_gact (`action pass/drop`) is not in this kernel: plain u32 classifiers, no action.
    c.run(["tc", "qdisc", "add", "dev", "c1", "clsact"])
    for direction in ("egress", "ingress"):
        c.run(["tc", "filter", "add", "dev", "c1", direction, "protocol", "all", "prio", "49",
               "u32", "match", "u32", "0", "0", "classid", "1:7"])
    before = tc_state(c, "c1")
    assert "clsact" in before["qdisc"] and "1:7" in before["egress"] and "1:7" in before["ingress"]

    client_emptcp("attach", "c1", "c2")
    assert "xdp" in c.out(["ip", "link", "show", "c1"]), "no XDP program on c1 after attach"
    assert "1:7" in c.out(["tc", "filter", "show", "dev", "c1", "egress"])
    # Our programs, by id: after detach no BPF link may still run them (prog ids are unique, so
    # the global `bpftool link` list is safe to read while other tests run).
    status = client_emptcp.status()
    ours = {h["program_id"] for i in status["kernel"]["interfaces"] for h in i["hooks"]}
    assert ours, f"status lists no attached programs: {status}"

    client_emptcp("detach", "c1", "c2")
    after = tc_state(c, "c1")
    assert after["qdisc"] == before["qdisc"]
    assert after["egress"] == before["egress"]
    assert after["ingress"] == before["ingress"]
    link = c.out(["ip", "link", "show", "c1"])
    assert "xdp" not in link, f"XDP program left on c1:\n{link}"
    links = json.loads(c.out(["bpftool", "-j", "link", "show"]) or "[]")
    left = [l for l in links if l.get("prog_id") in ours]
    assert not left, f"links still running our programs after detach: {left}"
    net = c.out(["bpftool", "net", "show", "dev", "c1"])  # XDP and cls_bpf attachments
    assert "c1(" not in net, f"BPF programs left on c1:\n{net}"

    # The interface still carries MPTCP normally.
    MptcpServer(lab.server, PORT)
    obs = observe_connection(lab, PORT, expect_join=True)
    assert obs.subflow_count == 2, obs.describe()
