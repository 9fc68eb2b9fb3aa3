"""`record` + `emptcp stats`: on the client's XDP for path 1, the packets and bytes of
the server -> client flow, summed over CPUs by `emptcp stats --json`, equal what a capture on
the same interface saw of that flow; RTT samples are positive and plausible. Traffic is frozen
before the comparison (the server's path-1 link goes down) so both sides count the same
packets; FIN would delete the entry, so the connection stays open until then."""

import json
import time

import pytest

from lab import Capture, MptcpClient, MptcpServer, policy, tcp2

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5206


@pytest.mark.parametrize("lab", [4, 6], indirect=True, ids=["ipv4", "ipv6"])
def test_stats_match_capture(lab, client_emptcp):
    e = client_emptcp
    f = lab.family
    p1 = lab.paths[0]
    lab.client.run(["ethtool", "-K", "c1", "gro", "off"])  # one captured frame per packet XDP saw
    e("attach", "c1", "c2")
    e.commit(policy(xdp=[("tcp2", "or")], chains={"rec": [{"record": {}}]},
                    bindings=[tcp2("xdp", p1.client(f), p1.server(f), "rec")]), "record path 1")
    MptcpServer(lab.server, PORT)
    cap = Capture(lab.client, "c1", lab.tmp / "c1.pcapng", f"tcp port {PORT}")
    with MptcpClient(lab.client, p1.server(f), PORT, rate_kbps=2000) as cl:
        cl.wait_subflows(1, timeout=10)
        time.sleep(2.0)
        lab.server.run(["ip", "link", "set", "s1", "down"])  # no more server -> client packets on path 1
        time.sleep(0.5)
        stats = json.loads(e("stats", "--json").stdout)["flows"]
        cap.stop()
        local_port = cl.local_port
    mine = [s for s in stats if s["flow"]["source_port"] == PORT and s["flow"]["destination_port"] == local_port]
    assert len(mine) == 1, stats
    s = mine[0]
    assert s["flow"]["source"] == p1.server(f) and s["flow"]["destination"] == p1.client(f)
    ip = "ip" if f == 4 else "ipv6"
    length = "ip.len" if f == 4 else "ipv6.plen"
    rows = cap.fields(f"{ip}.src == {p1.server(f)} && tcp.srcport == {PORT} && tcp.dstport == {local_port}", length)
    packets = len(rows)
    size = sum(int(r[0]) + (0 if f == 4 else 40) for r in rows)
    assert packets > 50, f"too little traffic to compare: {packets}"
    assert s["packets"] == packets, (s, packets)
    assert s["bytes"] == size, (s, size)
    assert s["rtt_samples"] > 0, s
    assert 0 < s["rtt_min_us"] <= s["rtt_avg_us"] < 1_000_000, s
    assert 0 < s["rtt_last_us"] < 1_000_000, s

    text = e("stats").stdout.splitlines()
    assert text[0].split()[:3] == ["FLOW", "PACKETS", "BYTES"]
