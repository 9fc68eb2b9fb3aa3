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


def add_addr(flags_id, addr, hmac=b""):
    """An announcing ADD_ADDR option (subtype 3, echo clear) for `addr`, with an optional HMAC."""
    body = bytes([0x30, flags_id]) + addr + hmac
    return bytes([30, len(body) + 2]) + body


A4_ONE = add_addr(4, socket.inet_pton(socket.AF_INET, "10.0.2.2"))
A4_TWO = add_addr(5, socket.inet_pton(socket.AF_INET, "10.0.3.2"))
A6_ONE = add_addr(6, socket.inet_pton(socket.AF_INET6, "fd00:0:2::2"))
A6_TWO = add_addr(7, socket.inet_pton(socket.AF_INET6, "fd00:0:3::2"))


@pytest.mark.parametrize("kind, opts, reported, dropped", [
    # only ADD_ADDRs: the segment is dropped, each option reported
    ("v4", ADD_ADDR4 + A4_ONE + A4_TWO, [ADD_ADDR4, A4_ONE, A4_TWO], 1),
    ("v6", A6_ONE + A6_TWO, [A6_ONE, A6_TWO], 1),
    ("v6", A6_ONE + A4_ONE + A4_TWO, [A6_ONE, A4_ONE, A4_TWO], 1),
    # another MPTCP option remains: NOPed in place, each reported; an echo is neither
    ("v4", A4_ONE + ADD_ADDR4_ECHO + A4_TWO + DSS4, [A4_ONE, A4_TWO], 0),
    ("v6", DSS4 + A4_TWO + A6_ONE, [A4_TWO, A6_ONE], 0),
    ("v4", A4_TWO + DSS4 + A4_ONE + A4_ONE, [A4_TWO, A4_ONE, A4_ONE], 0),
], ids=["v4-three-dropped", "v6-two-dropped", "v6-three-dropped", "v4-two-around-echo",
        "v6-two-nopped", "v4-three-nopped"])
def test_every_add_addr_of_a_segment_is_reported_in_order(rm, kind, opts, reported, dropped):
    pkt = tcp_pkt(kind, opts=opts)
    ret, out, _ = rm.run("xdp", pkt)
    assert ret == (DROP["xdp"] if dropped else PASS["xdp"])
    recs = rm.ring().records()
    assert [parse_add_addr_event(r)["opt"] for r in recs] == reported
    for r in recs:
        check_event(parse_add_addr_event(r), kind, parse_add_addr_event(r)["opt"], dropped)
    counter = "add_addr_dropped" if dropped else "add_addr_nopped"
    assert rm.counters("xdp")[counter] == 1
    if not dropped:
        # every reported option, and nothing else, became NOPs
        expect = opts
        for opt in reported:
            at = expect.index(opt)
            expect = expect[:at] + bytes([1]) * len(opt) + expect[at + len(opt):]
        assert out == tcp_pkt(kind, opts=expect)
