"""rm_add_addr on XDP reports every removed ADD_ADDR in the ring buffer (emptcp_events)."""
import socket

import pytest

from event_records import parse_add_addr_event
from lab.abi import EV
from lab.dataplane import DROP, PASS
from lab.frames import ADD_ADDR4, ADD_ADDR4_ECHO, ADD_ADDR6, DSS4, LPORT, RPORT, V4, V6, tcp_pkt

pytestmark = pytest.mark.kernel

EV_LEN = 120  # sizeof(struct emptcp_ev_add_addr)


@pytest.fixture
def rm(dp):
    for hook in ("xdp", "tc"):
        dp.sel_chain(hook, [("tcp", "or")])
        dp.chain(hook, 1, [("rm_add_addr", b"")])
        dp.bind_tcp(hook, 1)
    dp.ring().drain()
    return dp


def check_event(ev, kind, opt, dropped):
    fam, a = (6, V6) if kind == "v6" else (4, V4)
    af = socket.AF_INET6 if fam == 6 else socket.AF_INET
    assert ev["version"] == 1 and ev["type"] == EV["rm_add_addr"] and ev["len"] == EV_LEN
    assert ev["hook"] == 0 and ev["family"] == fam
    assert ev["sport"] == RPORT and ev["dport"] == LPORT
    assert ev["saddr"][:len(socket.inet_pton(af, a["R"]))] == socket.inet_pton(af, a["R"])
    assert ev["daddr"][:len(socket.inet_pton(af, a["L"]))] == socket.inet_pton(af, a["L"])
    assert (ev["seq"], ev["ack"], ev["window"]) == (1000, 2000, 5000)
    assert ev["dropped"] == dropped
    assert ev["opt"] == opt


def test_drop_reports_option(rm):
    ret, _, _ = rm.run("xdp", tcp_pkt("v4", opts=ADD_ADDR4))
    assert ret == DROP["xdp"]
    recs = rm.ring().records()
    assert len(recs) == 1
    check_event(parse_add_addr_event(recs[0]), "v4", ADD_ADDR4, 1)


def test_nop_reports_option(rm):
    ret, _, _ = rm.run("xdp", tcp_pkt("v6", opts=DSS4 + ADD_ADDR6))
    assert ret == PASS["xdp"]
    recs = rm.ring().records()
    assert len(recs) == 1
    check_event(parse_add_addr_event(recs[0]), "v6", ADD_ADDR6, 0)


def test_every_retransmitted_copy_is_reported(rm):
    pkt = tcp_pkt("v4", opts=ADD_ADDR4)
    for _ in range(3):
        assert rm.run("xdp", pkt)[0] == DROP["xdp"]
    assert rm.run("xdp", pkt, repeat=4)[0] == DROP["xdp"]
    recs = rm.ring().records()
    assert len(recs) == 7
    for r in recs:
        check_event(parse_add_addr_event(r), "v4", ADD_ADDR4, 1)
    assert rm.counters("xdp")["add_addr_dropped"] == 7


def test_tc_does_not_report(rm):
    assert rm.run("tc", tcp_pkt("v4", opts=ADD_ADDR4))[0] == DROP["tc"]
    assert rm.ring().records() == []


def test_echo_is_kept(rm):
    pkt = tcp_pkt("v4", opts=ADD_ADDR4_ECHO)
    ret, out, _ = rm.run("xdp", pkt)
    assert ret == PASS["xdp"] and out == pkt
    assert rm.ring().records() == []
