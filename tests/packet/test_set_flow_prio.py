"""set_flow_prio on XDP and TC: MP_PRIO inserted into ACKs (IPv4, IPv4 with IP options, IPv6,
IPv6 with an extension header), lengths and checksums recomputed independently, only the
intended bytes changed; skips (already present, no room, malformed options, SYN) counted and
the packet left unchanged."""
import struct

import pytest

from frame_checks import Hdrs
from lab.dataplane import PASS, recv_win_param
from lab.frames import DSS4, KINDS, TS, tcp_pkt

pytestmark = pytest.mark.kernel

HOOKS = ["xdp", "tc"]
MP_PRIO_B = bytes([30, 3, 0x51, 1])      # backup, 3-byte form + NOP
MP_PRIO_NB = bytes([30, 3, 0x50, 1])     # B = 0


def prio_param(backup=True, addr_id=None):
    return bytes([1 if backup else 0, 0 if addr_id is None else 1, addr_id or 0])


def setup(dp, hook, param=None, more=()):
    dp.use(hook, [("set_flow_prio", param or prio_param())] + list(more),
        slot_names=["set_flow_prio", "set_recv_win"])


def check_grown(before, after, inserted):
    """`after` is `before` with `inserted` (4 bytes) first in the TCP options: every other byte
    equal, lengths +4, checksums valid."""
    a, b = Hdrs(before), Hdrs(after)
    assert len(after) == len(before) + 4 or (len(after) == b.ip_end and b.ip_end == a.ip_end + 4)
    assert b.ip_len == a.ip_len + 4
    assert b.doff == a.doff + 4
    assert b.opts == inserted + a.opts
    assert b.payload == a.payload
    assert b.ip_csum_ok() and b.tcp_csum_ok()
    assert b.l4 == a.l4
    # Ethernet and IP header: only the length (and IPv4 checksum) differ
    lenf = (16, 17) if not a.v6 else (18, 19)
    csf = (24, 25) if not a.v6 else ()
    diff = {i for i in range(a.l4) if before[i] != after[i]}
    assert diff <= set(lenf) | set(csf)
    # fixed TCP header: only data offset and checksum differ
    diff = {i for i in range(20) if before[a.l4 + i] != after[b.l4 + i]}
    assert diff <= {12, 16, 17}
    assert after[b.l4 + 13] == before[a.l4 + 13]  # flags kept


@pytest.mark.parametrize("opts", [b"", TS, DSS4, TS + DSS4], ids=["none", "ts", "dss", "ts+dss"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hook", HOOKS)
def test_insert(dp, hook, kind, opts):
    setup(dp, hook)
    p = tcp_pkt(kind, opts=opts)
    assert Hdrs(p).ip_csum_ok() and Hdrs(p).tcp_csum_ok()
    ret, out, _ = dp.run(hook, p)
    assert ret == PASS[hook]
    check_grown(p, out, MP_PRIO_B)
    c = dp.counters(hook)
    assert c["prio_added"] == 1 and c["prio_present"] == 0 and c["prio_no_room"] == 0


@pytest.mark.parametrize("hook", HOOKS)
def test_forms(dp, hook):
    """B=0, and the 4-byte MPTCP v0 form with an address id."""
    setup(dp, hook, prio_param(backup=False))
    p = tcp_pkt("v4", opts=TS)
    check_grown(p, dp.run(hook, p)[1], MP_PRIO_NB)
    dp.reset()
    setup(dp, hook, prio_param(backup=True, addr_id=7))
    check_grown(p, dp.run(hook, p)[1], bytes([30, 4, 0x51, 7]))


@pytest.mark.parametrize("kind", ["v4", "v6"])
@pytest.mark.parametrize("hook", HOOKS)
def test_room_exactly(dp, hook, kind):
    """36 option bytes + 4 = 40: inserted; 40 bytes: no room, counted, unchanged."""
    opts36 = TS + DSS4 + bytes([1] * 16)
    setup(dp, hook)
    p = tcp_pkt(kind, opts=opts36)
    check_grown(p, dp.run(hook, p)[1], MP_PRIO_B)
    p40 = tcp_pkt(kind, opts=opts36 + bytes([1, 1, 1, 0]))
    ret, out, _ = dp.run(hook, p40)
    assert ret == PASS[hook] and out == p40
    c = dp.counters(hook)
    assert c["prio_added"] == 1 and c["prio_no_room"] == 1


@pytest.mark.parametrize("kind", ["v4", "v6ext"])
@pytest.mark.parametrize("hook", HOOKS)
def test_already_present(dp, hook, kind):
    setup(dp, hook)
    for present in (bytes([30, 3, 0x50, 1]), bytes([30, 4, 0x51, 3])):
        p = tcp_pkt(kind, opts=TS + present)
        ret, out, _ = dp.run(hook, p)
        assert ret == PASS[hook] and out == p
    c = dp.counters(hook)
    assert c["prio_present"] == 2 and c["prio_added"] == 0


@pytest.mark.parametrize("hook", HOOKS)
def test_twice_inserts_once(dp, hook):
    """The output of one run fed again: the MP_PRIO is found, nothing added twice."""
    setup(dp, hook)
    p = tcp_pkt("v4", opts=TS)
    _, once, _ = dp.run(hook, p)
    _, twice, _ = dp.run(hook, once)
    assert twice == once
    c = dp.counters(hook)
    assert c["prio_added"] == 1 and c["prio_present"] == 1


@pytest.mark.parametrize("flags", ["S", "SA", "R", "RA", ""], ids=["syn", "synack", "rst", "rstack", "noack"])
@pytest.mark.parametrize("hook", HOOKS)
def test_not_an_ack(dp, hook, flags):
    setup(dp, hook)
    p = tcp_pkt("v4", opts=TS, flags=flags)
    ret, out, _ = dp.run(hook, p)
    assert ret == PASS[hook] and out == p
    assert dp.counters(hook)["prio_added"] == 0


@pytest.mark.parametrize("bad", [bytes([30, 0, 0x20, 1]),          # length 0
                                 bytes([1, 1, 8, 30]) + bytes(8),  # TS of 30 bytes: past the header
                                 bytes([1, 1, 1, 30])],            # kind without a length byte
                         ids=["len0", "overrun", "nolen"])
@pytest.mark.parametrize("hook", HOOKS)
def test_malformed_options(dp, hook, bad):
    setup(dp, hook)
    p = tcp_pkt("v4", opts=bad)
    ret, out, _ = dp.run(hook, p)
    assert ret == PASS[hook] and out == p
    c = dp.counters(hook)
    assert c["bad_options"] == 1 and c["prio_added"] == 0


@pytest.mark.parametrize("kind", ["v4opt", "v6"])
@pytest.mark.parametrize("hook", HOOKS)
def test_payload(dp, hook, kind):
    """XDP grows data segments too (payload kept); TC grows only payload-less ACKs."""
    setup(dp, hook)
    p = tcp_pkt(kind, opts=TS + DSS4, payload=bytes(range(200)))
    ret, out, _ = dp.run(hook, p)
    c = dp.counters(hook)
    if hook == "xdp":
        check_grown(p, out, MP_PRIO_B)
        assert c["prio_added"] == 1
    else:
        assert out == p and c["prio_no_room"] == 1 and c["prio_added"] == 0


@pytest.mark.parametrize("hook", HOOKS)
def test_ethernet_trailer(dp, hook):
    """A minimum-size frame padded to 60 bytes: the padding is not taken as TCP bytes."""
    setup(dp, hook)
    p = tcp_pkt("v4") + bytes(6)
    ret, out, _ = dp.run(hook, p)
    b = Hdrs(out)
    assert b.opts == MP_PRIO_B and b.payload == b"" and b.ip_csum_ok() and b.tcp_csum_ok()
    assert b.ip_len == 44


@pytest.mark.parametrize("kind", ["v4opt", "v6ext"])
@pytest.mark.parametrize("hook", HOOKS)
def test_next_actor_sees_grown_header(dp, hook, kind):
    """set_flow_prio then set_recv_win: the window lands in the grown header, checksums valid."""
    setup(dp, hook, more=[("set_recv_win", recv_win_param(1234))])
    p = tcp_pkt(kind, opts=TS)
    ret, out, _ = dp.run(hook, p)
    b = Hdrs(out)
    assert b.opts == MP_PRIO_B + TS
    assert struct.unpack_from("!H", out, b.l4 + 14)[0] == 1234
    assert b.ip_csum_ok() and b.tcp_csum_ok()
    c = dp.counters(hook)
    assert c["prio_added"] == 1 and c["win_set"] == 1
