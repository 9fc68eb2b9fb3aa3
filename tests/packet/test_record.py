"""record on XDP: per-flow packets and bytes in `emptcp_x_stats` equal what was sent (bytes
also checked against tshark's ip.len / ipv6.plen on a pcap of the same packets), entries
deleted on FIN/RST and not recreated by the segments trailing a FIN, the table bounded and
a full table counted, and RTT samples from TCP timestamps against a real local socket."""
import itertools
import json
import os
import socket
import struct
import subprocess
import tempfile

import pytest
from scapy.utils import wrpcap
from scapy.layers.l2 import Ether

from frame_checks import Hdrs
from lab import bpf
from lab.abi import RECORD
from lab.dataplane import PASS, run
from lab.frames import DSS4, TS, tcp_pkt

pytestmark = pytest.mark.kernel

PKT, FLOW, RTT = RECORD["pkt"], RECORD["flow"], RECORD["rtt"]
STATS = struct.Struct("<QQQQIIQ")          # emptcp_flow_stats
_ports = itertools.count(20000)


def flow_key(family, saddr, sport, daddr, dport):
    """struct emptcp_flow as bytes (addresses as packed bytes)."""
    return (bytes([family, 0]) + struct.pack("!HH", sport, dport) + b"\0\0" +
            saddr.ljust(16, b"\0") + daddr.ljust(16, b"\0"))


def possible_cpus():
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        a, _, b = part.partition("-")
        n += int(b or a) - int(a) + 1
    return n


def flow_stats(dp):
    """emptcp_x_stats summed over CPUs: {key bytes: dict}."""
    r = run("bpftool", "map", "dump", "pinned", dp.map("xdp", "stats"), "-j")
    out = {}
    for e in json.loads(r.stdout or "[]"):
        key = bytes(int(x, 16) for x in e["key"])
        tot = {"packets": 0, "bytes": 0, "rtt_samples": 0, "rtt_sum_us": 0, "rtt_last_us": [],
               "rtt_min_us": []}
        for v in e["values"]:
            p, b, n, s, last, mn, _ = STATS.unpack(bytes(int(x, 16) for x in v["value"]))
            tot["packets"] += p
            tot["bytes"] += b
            tot["rtt_samples"] += n
            tot["rtt_sum_us"] += s
            if n:
                tot["rtt_last_us"].append(last)
                tot["rtt_min_us"].append(mn)
        out[key] = tot
    return out


def setup(dp, flags=PKT | FLOW | RTT):
    dp.use("xdp", [("record", bytes([flags]))], slot_names=["record"])


def key_of(kind, sport, dport=5201):
    v6 = kind.startswith("v6")
    af = socket.AF_INET6 if v6 else socket.AF_INET
    return flow_key(6 if v6 else 4, socket.inet_pton(af, "fd00::2" if v6 else "10.0.0.2"), sport,
                    socket.inet_pton(af, "fd00::1" if v6 else "10.0.0.1"), dport)


def tshark_bytes(frames):
    """Sum of IP packet lengths as tshark reads them (ip.len, or ipv6.plen + 40)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.pcap")
        wrpcap(path, [Ether(f) for f in frames])
        out = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "ip.len",
                              "-e", "ipv6.plen"], capture_output=True, text=True, check=True).stdout
    total = 0
    for line in out.splitlines():
        v4, _, v6 = line.partition("\t")
        total += int(v4) if v4 else int(v6) + 40
    return total, len(out.splitlines())


@pytest.mark.parametrize("kind", ["v4", "v4opt", "v6", "v6ext"])
def test_packets_and_bytes(dp, kind):
    setup(dp)
    port = next(_ports)
    frames = [tcp_pkt(kind, opts=TS + DSS4, payload=bytes(n), sport=port, seq=1000 + n)
              for n in (0, 1, 100, 1000, 1400)]
    frames.append(tcp_pkt(kind, sport=port) + bytes(6))  # Ethernet padding: not counted
    frames += [frames[2]] * 3
    for f in frames:
        ret, out, _ = dp.run("xdp", f)
        assert ret == PASS["xdp"] and out == f
    st = flow_stats(dp)[key_of(kind, port)]
    want_bytes, n = tshark_bytes(frames)
    assert n == len(frames)
    assert st["packets"] == len(frames)
    assert st["bytes"] == want_bytes == sum(Hdrs(f).ip_len for f in frames)
    assert dp.counters("xdp")["record_full"] == 0


def test_repeat_counts_every_run(dp):
    setup(dp)
    port = next(_ports)
    f = tcp_pkt("v4", opts=TS, payload=bytes(10), sport=port)
    dp.run("xdp", f, repeat=1000)
    st = flow_stats(dp)[key_of("v4", port)]
    assert st["packets"] == 1000 and st["bytes"] == 1000 * Hdrs(f).ip_len


def test_flags_select_metrics(dp):
    setup(dp, flags=PKT)
    port = next(_ports)
    dp.run("xdp", tcp_pkt("v4", payload=bytes(100), sport=port))
    st = flow_stats(dp)[key_of("v4", port)]
    assert st["packets"] == 1 and st["bytes"] == 0
    dp.reset()
    setup(dp, flags=FLOW)
    dp.run("xdp", tcp_pkt("v4", payload=bytes(100), sport=port))
    st = flow_stats(dp)[key_of("v4", port)]
    assert st["packets"] == 1 and st["bytes"] == 140


@pytest.mark.parametrize("flags", ["FA", "R", "RA"])
def test_fin_rst_delete_and_tombstone(dp, flags):
    setup(dp)
    port = next(_ports)
    k = key_of("v6", port)
    dp.run("xdp", tcp_pkt("v6", opts=TS, sport=port))
    assert flow_stats(dp)[k]["packets"] == 1
    dp.run("xdp", tcp_pkt("v6", opts=TS, sport=port, flags=flags))
    assert k not in flow_stats(dp)
    dp.run("xdp", tcp_pkt("v6", opts=TS, sport=port, flags="A"))  # the last ACK after the FIN
    assert k not in flow_stats(dp)
    dp.run("xdp", tcp_pkt("v6", opts=TS, sport=port, flags="S"))  # a new connection, same ports
    dp.run("xdp", tcp_pkt("v6", opts=TS, sport=port, flags="A"))
    assert flow_stats(dp)[k]["packets"] == 2


def test_full_table_counted(dp):
    """Fill emptcp_x_stats to its bound (16384) by syscall, leaving one entry free: a first new
    flow takes it, the next new flow is counted and not recorded while the known flow still is;
    deleting one entry makes room again."""
    setup(dp)
    fd = bpf.obj_get(dp.map("xdp", "stats"))
    value = bytes(48) * possible_cpus()
    fillers = []
    try:
        for i in range(16384 + 1):
            k = flow_key(4, bytes([192, 0, 2, (i >> 8) & 0xff]), i & 0xffff, bytes([192, 0, 2, 1]), 9)
            try:
                bpf.map_update(fd, k, value)
            except OSError as e:
                assert e.errno == 7  # E2BIG: full
                break
            fillers.append(k)
        assert len(fillers) > 16000 and len(flow_stats(dp)) == 16384
        bpf.map_delete(fd, fillers.pop())
        known, new = next(_ports), next(_ports)
        dp.run("xdp", tcp_pkt("v4", sport=known))            # takes the last free entry
        dp.run("xdp", tcp_pkt("v4", sport=new))
        assert key_of("v4", new) not in flow_stats(dp)
        assert dp.counters("xdp")["record_full"] == 1
        dp.run("xdp", tcp_pkt("v4", sport=known))
        assert flow_stats(dp)[key_of("v4", known)]["packets"] == 2
        bpf.map_delete(fd, fillers.pop())
        dp.run("xdp", tcp_pkt("v4", sport=new))
        assert flow_stats(dp)[key_of("v4", new)]["packets"] == 1
    finally:
        for k in fillers:
            bpf.map_delete(fd, k)
        os.close(fd)


def test_rtt_from_timestamps_of_a_local_socket(dp):
    """A real TCP connection on loopback; a segment 'from the peer' echoes a TSval the client
    socket stamped 50 ms ago (TCP_TIMESTAMP gives the socket's TS clock): the sample is the
    time since then, an upper bound with 1 ms resolution."""
    setup(dp)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname())
    acc, _ = srv.accept()
    try:
        lport = cli.getsockname()[1]
        sport = srv.getsockname()[1]
        now_ts = struct.unpack("I", cli.getsockopt(socket.IPPROTO_TCP, 24, 4))[0]  # TCP_TIMESTAMP
        ts = bytes([1, 1, 8, 10]) + struct.pack("!II", 77, (now_ts - 50) & 0xffffffff)
        f = tcp_pkt("v4", opts=ts, src="127.0.0.1", dst="127.0.0.1", sport=sport, dport=lport)
        dp.run("xdp", f)
        dp.run("xdp", f)  # the same echo again: no second sample
        k = flow_key(4, bytes([127, 0, 0, 1]), sport, bytes([127, 0, 0, 1]), lport)
        st = flow_stats(dp)[k]
        assert st["packets"] == 2 and st["rtt_samples"] == 1
        rtt = st["rtt_last_us"][0]
        assert 49000 <= rtt <= 49000 + 10_000_000  # >= 49 ms, and from this test (< 10 s)
        assert st["rtt_min_us"][0] == rtt and st["rtt_sum_us"] == rtt
        # no socket for this flow: packets counted, no RTT sample
        f2 = tcp_pkt("v4", opts=ts, src="127.0.0.1", dst="127.0.0.1", sport=sport, dport=1)
        dp.run("xdp", f2)
        k2 = flow_key(4, bytes([127, 0, 0, 1]), sport, bytes([127, 0, 0, 1]), 1)
        assert flow_stats(dp)[k2]["packets"] == 1 and flow_stats(dp)[k2]["rtt_samples"] == 0
    finally:
        for s in (cli, acc, srv):
            s.close()
