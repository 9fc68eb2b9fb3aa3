"""Malformed and foreign packets pass unchanged and are counted; nothing reads or writes out of
bounds (the verifier proves the bounds, these show the run-time outcome)."""
import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from lab.dataplane import DROP, PASS, recv_win_param
from lab.frames import ADD_ADDR4, DSS4, tcp_pkt

pytestmark = pytest.mark.kernel

HOOKS = ["xdp", "tc"]

# A malformed option ends the kernel's option walk (net/mptcp/options.c, like tcp_parse_options):
# what comes after it is never read, so an ADD_ADDR there is harmless and the packet passes as is.
BAD_OPTIONS = {
    "len0": bytes([30, 0, 0x30, 0]) + ADD_ADDR4,
    "len1": bytes([8, 1, 1, 1]) + ADD_ADDR4,
    "past_header": DSS4 + bytes([30, 24, 0x30, 2]) + bytes(4),
    "after_eol_ignored_but_bad_first": bytes([1, 1, 8, 0]) + ADD_ADDR4,
}

# The kernel reads these ADD_ADDRs: before a malformed option (it has taken the ADD_ADDR when it
# meets the bad one), or after a 2-byte MPTCP option (no subtype: the kernel skips it and goes on).
# They are the segment's only MPTCP options, so the segment is dropped.
ACCEPTED_BY_KERNEL = {
    "len_byte_missing": ADD_ADDR4 + bytes([1, 1, 1, 8]),
    "mptcp_len2": bytes([30, 2, 1, 1]) + ADD_ADDR4,
}


@pytest.fixture
def rm_chain(dp):
    for hook in HOOKS:
        dp.sel_chain(hook, [("tcp", "or")])
        dp.chain(hook, 1, [("rm_add_addr", b"")])
        dp.bind_tcp(hook, 1)
    return dp


@pytest.mark.parametrize("name", sorted(BAD_OPTIONS))
@pytest.mark.parametrize("hook", HOOKS)
def test_bad_options_pass_unchanged(rm_chain, hook, name):
    pkt = tcp_pkt("v4", opts=BAD_OPTIONS[name])
    ret, out, _ = rm_chain.run(hook, pkt)
    assert ret == PASS[hook]
    assert out == pkt
    c = rm_chain.counters(hook)
    assert c["bad_options"] == 1
    assert c["add_addr_nopped"] == 0 and c["add_addr_dropped"] == 0


@pytest.mark.parametrize("name", sorted(ACCEPTED_BY_KERNEL))
@pytest.mark.parametrize("hook", HOOKS)
def test_add_addr_the_kernel_reads_is_removed(rm_chain, hook, name):
    pkt = tcp_pkt("v4", opts=ACCEPTED_BY_KERNEL[name])
    ret, _, _ = rm_chain.run(hook, pkt)
    assert ret == DROP[hook]
    assert rm_chain.counters(hook)["add_addr_dropped"] == 1


def test_eol_ends_the_walk(rm_chain):
    """An ADD_ADDR after EOL is not an option: nothing to remove, nothing counted as bad."""
    pkt = tcp_pkt("v4", opts=DSS4 + bytes([0, 0, 0, 0]) + ADD_ADDR4)
    for hook in HOOKS:
        ret, out, _ = rm_chain.run(hook, pkt)
        assert ret == PASS[hook] and out == pkt
        c = rm_chain.counters(hook)
        assert c["bad_options"] == 0 and c["add_addr_nopped"] == 0


def truncated_tcp():
    """TCP header says 60 bytes, the packet ends after 28."""
    p = bytearray(tcp_pkt("v4", opts=DSS4))
    p[34 + 12] = 15 << 4
    return bytes(p)


def ihl_too_small():
    p = bytearray(tcp_pkt("v4", opts=DSS4))
    p[14] = 0x44
    return bytes(p)


MALFORMED = {
    "tcp_truncated": truncated_tcp,
    "ip_truncated": lambda: tcp_pkt("v4")[:14 + 12],
    "tcp_header_cut": lambda: tcp_pkt("v4", opts=DSS4 + ADD_ADDR4)[:34 + 30],
    "ipv6_truncated": lambda: tcp_pkt("v6")[:14 + 40 + 10],
    "ihl_too_small": ihl_too_small,
    "eth_only": lambda: tcp_pkt("v4")[:14],
}


# BPF_PROG_TEST_RUN for TC refuses frames whose IP header is cut (the stack never hands such
# an skb to TC egress either), so those two run on XDP only.
TC_REFUSED = {"eth_only", "ip_truncated"}


@pytest.mark.parametrize("hook,name", [(h, n) for h in HOOKS for n in sorted(MALFORMED)
                                       if not (h == "tc" and n in TC_REFUSED)])
def test_truncated_pass_unchanged(dp, hook, name):
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, 1, [("set_recv_win", recv_win_param(100)), ("rm_add_addr", b"")])
    dp.bind_tcp(hook, 1)
    pkt = MALFORMED[name]()
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    assert out == pkt
    c = dp.counters(hook)
    assert c["malformed"] == 1 and c["target"] == 0


FOREIGN = {
    "udp": lambda: bytes(Ether() / IP(src="10.0.0.2", dst="10.0.0.1") / UDP(sport=1, dport=2)),
    "fragment": lambda: bytes(Ether() / IP(src="10.0.0.2", dst="10.0.0.1", proto=6, frag=100) /
                              (b"\0" * 20)),
    "arp_type": lambda: b"\xff" * 12 + struct.pack("!H", 0x0806) + b"\0" * 28,
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
@pytest.mark.parametrize("hook", HOOKS)
def test_not_tcp_passes(dp, hook, name):
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, 1, [("set_recv_win", recv_win_param(100))])
    dp.bind_tcp(hook, 1)
    pkt = FOREIGN[name]()
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook] and out == pkt
    assert dp.counters(hook)["not_tcp"] == 1
