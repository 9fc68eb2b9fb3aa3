"""Every built-in selector x actor on both hooks, IPv4 (with and without IP options) and IPv6
(with and without an extension header), matching and not matching: packets through the entry
program with BPF_PROG_TEST_RUN, the output checked with scapy."""
import pytest

from frame_checks import changed, l4_offset, option_bytes, tcp_checksum_ok, window_of
from lab.dataplane import DROP, PASS, recv_win_param, tcp2_key, tcp4_key
from lab.frames import (ADD_ADDR4, ADD_ADDR6, DSS4, KINDS, TS, family_of, key_for, other_addr,
                        tcp_pkt)

pytestmark = pytest.mark.kernel

HOOKS = ["xdp", "tc"]
SELECTORS = ["tcp2", "tcp4", "tcp"]
CHAIN = 7


def bind(dp, hook, kind, selector, match):
    fam, local, remote, lport, rport = key_for(hook, kind)
    if not match:
        remote = other_addr(kind)  # a binding for another peer only
    if selector == "tcp2":
        dp.bind_tcp2(hook, tcp2_key(fam, local, remote), CHAIN)
    elif selector == "tcp4":
        dp.bind_tcp4(hook, tcp4_key(fam, local, lport, remote, rport), CHAIN)
    elif match:
        dp.bind_tcp(hook, CHAIN)


def add_addr_for(kind):
    return ADD_ADDR6 if family_of(kind) == 6 else ADD_ADDR4 + TS


@pytest.mark.parametrize("match", [True, False], ids=["match", "nomatch"])
@pytest.mark.parametrize("selector", SELECTORS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hook", HOOKS)
def test_set_recv_win(dp, hook, kind, selector, match):
    dp.sel_chain(hook, [(selector, "or")])
    dp.chain(hook, CHAIN, [("set_recv_win", recv_win_param(1600))])
    bind(dp, hook, kind, selector, match)
    pkt = tcp_pkt(kind, opts=TS + DSS4, payload=b"hello", window=5000)
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    c = dp.counters(hook)
    if not match:
        assert out == pkt
        assert c["target"] == 0 and c["win_set"] == 0
        return
    off = l4_offset(pkt)
    assert window_of(out) == 1600
    assert tcp_checksum_ok(out)
    assert changed(pkt, out) <= {off + 14, off + 15, off + 16, off + 17}
    assert c["target"] == 1 and c["win_set"] == 1
    assert c["tail_call_fail"] == 0 and c["malformed"] == 0


@pytest.mark.parametrize("match", [True, False], ids=["match", "nomatch"])
@pytest.mark.parametrize("selector", SELECTORS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hook", HOOKS)
def test_rm_add_addr_nop(dp, hook, kind, selector, match):
    """ADD_ADDR next to a DSS4: the ADD_ADDR bytes become NOPs, the DSS4 stays."""
    dp.sel_chain(hook, [(selector, "or")])
    dp.chain(hook, CHAIN, [("rm_add_addr", b"")])
    bind(dp, hook, kind, selector, match)
    add = add_addr_for(kind)
    pkt = tcp_pkt(kind, opts=DSS4 + add)
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    c = dp.counters(hook)
    if not match:
        assert out == pkt
        assert c["add_addr_nopped"] == 0
        return
    off = l4_offset(pkt)
    alen = add[1]
    opts = option_bytes(out)
    assert opts[:8] == DSS4
    assert opts[8:8 + alen] == b"\x01" * alen
    assert opts[8 + alen:] == add[alen:]
    assert tcp_checksum_ok(out)
    assert changed(pkt, out) <= set(range(off + 28, off + 28 + alen)) | {off + 16, off + 17}
    assert c["add_addr_nopped"] == 1 and c["add_addr_dropped"] == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hook", HOOKS)
def test_rm_add_addr_drop(dp, hook, kind):
    """ADD_ADDR as the only MPTCP option: the segment is dropped (a NOP-only segment would make
    the peer fall back to TCP: docs/lab.md)."""
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, CHAIN, [("rm_add_addr", b"")])
    dp.bind_tcp(hook, CHAIN)
    pkt = tcp_pkt(kind, opts=add_addr_for(kind))
    ret, out, _ = dp.run(hook, pkt)
    assert ret == DROP[hook]
    assert out == pkt
    c = dp.counters(hook)
    assert c["add_addr_dropped"] == 1 and c["add_addr_nopped"] == 0


@pytest.mark.parametrize("hook", HOOKS)
def test_two_actors_one_pass(dp, hook):
    """[set_recv_win, rm_add_addr]: both edits in one pass, one valid checksum."""
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, CHAIN, [("set_recv_win", recv_win_param(1234)), ("rm_add_addr", b"")])
    dp.bind_tcp(hook, CHAIN)
    pkt = tcp_pkt("v4", opts=DSS4 + ADD_ADDR4 + TS)
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    assert window_of(out) == 1234
    assert option_bytes(out) == DSS4 + b"\x01" * 16 + TS
    assert tcp_checksum_ok(out)
