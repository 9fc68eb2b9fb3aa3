"""`emptcp status --format prometheus` against a real attached data plane: the exposition parses
with the Prometheus client library's own parser (prometheus_client), every family has HELP and
TYPE, the data-plane counters match what `status --json` reads from the kernel and moved with
real MPTCP traffic, and in-sync, drift and revisions follow the kernel. The pin root's path holds
a double quote and a backslash, so the label escaping meets the real parser too."""

import json

import pytest

from lab import Emptcp, MptcpServer, observe_connection, policy, tcp2

from .exposition import families, value

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5211


def scrape(e: Emptcp) -> dict:
    return families(e("status", "--format", "prometheus").stdout)


def test_status_prometheus_follows_the_kernel(lab):
    e = Emptcp(lab.client, lab.tmp / 'metrics "q\\x')
    try:
        e("attach", "--xdp-mode", "generic", "c1", "c2")
        p1, f = lab.paths[0], lab.family
        e.commit(policy(xdp=[("tcp2", "or")], chains={"win": [{"set_recv_win": {"window": 5000}}]},
                        bindings=[tcp2("xdp", p1.client(f), p1.server(f), "win")]), "window on ingress")
        MptcpServer(lab.server, PORT)
        obs = observe_connection(lab, PORT, family=f, expect_join=True)
        assert obs.subflow_count == 2, obs.describe()

        fams = scrape(e)
        status = e.status()
        kernel = status["kernel"]
        assert value(fams, "emptcp_loaded", pin_root=str(e.pin_root)) == 1
        assert value(fams, "emptcp_in_sync") == 1 and status["in_sync"]
        assert value(fams, "emptcp_drift_entries") == 0
        assert value(fams, "emptcp_revision_current") == status["current_revision"] == 1
        assert value(fams, "emptcp_revision_kernel") == kernel["kernel_revision"] == 1
        assert value(fams, "emptcp_runtime_bindings") == len(status["runtime_bindings"]) == 0
        assert "emptcp_connections_tracked" in fams
        for iface in ("c1", "c2"):
            assert value(fams, "emptcp_hook_attached", interface=iface, hook="xdp", mode="generic") == 1
            assert value(fams, "emptcp_hook_attached", interface=iface, hook="tc", mode="tcx") == 1
        for m in kernel["maps"]:
            assert value(fams, "emptcp_map_entries", map=m["map"]) == m["entries"]

        # Counters: one family per counter (the parser drops `_total` from the family name),
        # one sample per hook. Traffic only grows them, so the JSON read after is never smaller.
        assert fams["emptcp_packets"][0] == "counter"
        for c in kernel["counters"]:
            assert value(fams, f"emptcp_{c['counter']}", hook=c["hook"]) <= c["value"], c
        assert value(fams, "emptcp_packets", hook="xdp") > 0
        assert value(fams, "emptcp_target", hook="xdp") > 0, "the bound flow never matched"
        assert value(fams, "emptcp_win_set", hook="xdp") > 0, "set_recv_win never rewrote a window"
        assert value(fams, "emptcp_tail_call_fail", hook="xdp") == 0

        # Drift: an entry removed behind emptcp's back is counted and clears in-sync.
        tcp2_map = next(m for m in kernel["maps"] if m["map"] == "emptcp_x_tcp2")
        assert tcp2_map["entries"] == 1
        path = str(e.pin_root / "maps" / "emptcp_x_tcp2")
        entries = json.loads(lab.client.out(["bpftool", "-j", "map", "dump", "pinned", path]))
        key = entries[0]["key"]
        lab.client.run(["bpftool", "map", "delete", "pinned", path, "key", "hex", *[k[2:] for k in key]])
        fams = scrape(e)
        drift = e.status()["kernel"]["drift"]
        assert len(drift) == 1 and value(fams, "emptcp_drift_entries") == 1
        assert value(fams, "emptcp_in_sync") == 0
        e("apply", "--verify")
        assert value(scrape(e), "emptcp_in_sync") == 1
    finally:
        e.close()
