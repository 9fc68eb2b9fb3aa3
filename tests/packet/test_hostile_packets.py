"""Hostile packets through BPF_PROG_TEST_RUN, checked by scapy.

rm_add_addr must remove every ADD_ADDR the receiving stack would act on. The kernel walks a
segment's options once (net/mptcp/options.c, as tcp_parse_options does): it stops at EOL, at a
length below 2 and at an option running past the header; every ADD_ADDR it reads before that
is taken, an echo (E=1) does not hide an announcement after it, and a later announcement
overrides an earlier one. So ordering tricks must not smuggle an announcement past the actor.

The parser must not rewrite frames whose lengths disagree (IP length past the frame, TCP header
outside the IP packet, version nibble against the ethertype): the stack drops them, so they
pass unchanged."""
import struct

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from frame_checks import changed, l4_offset, option_bytes, tcp_checksum_ok
from lab.dataplane import DROP, PASS, recv_win_param
from lab.frames import ADD_ADDR4, ADD_ADDR4_ECHO, ADD_ADDR6, DSS4, tcp_pkt

pytestmark = pytest.mark.kernel

HOOKS = ["xdp", "tc"]
NOP = 1


def opts(hexstr):
    return bytes.fromhex(hexstr.replace(" ", ""))


# (options, byte ranges within the options that must become NOPs); every case keeps a DSS so the
# segment stays MPTCP and is rewritten rather than dropped.
REWRITES = {
    # echo first, then a real announcement: the example the probe sent
    "echo_then_announce": (opts("1e0831050a000005 1e1030070a0000090000000000000000 1e08200100000000"), [(8, 24)]),
    # two announcements: both go
    "two_announcements": (ADD_ADDR4 + ADD_ADDR4[:2] + bytes([0x30, 9]) + ADD_ADDR4[4:] + DSS4, [(0, 16), (16, 32)]),
    # an announcement, then a malformed option: the kernel has read the announcement already
    "announce_then_malformed": (DSS4 + ADD_ADDR4 + bytes([1, 1, 8, 0]) + bytes(8), [(8, 24)]),
    # after a 2-byte MPTCP option, which the kernel skips without stopping
    "after_two_byte_mptcp": (bytes([30, 2, 1, 1]) + DSS4 + ADD_ADDR4 + bytes(8), [(12, 28)]),
}


@pytest.fixture
def rm_chain(dp):
    for hook in HOOKS:
        dp.sel_chain(hook, [("tcp", "or")])
        dp.chain(hook, 1, [("rm_add_addr", b"")])
        dp.bind_tcp(hook, 1)
    return dp


def pad(o):
    return o + bytes([0] * (-len(o) % 4))


@pytest.mark.parametrize("name", sorted(REWRITES))
@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("kind", ["v4", "v6"])
def test_every_announcement_the_kernel_reads_is_removed(rm_chain, hook, kind, name):
    o, ranges = REWRITES[name]
    o = pad(o)
    pkt = tcp_pkt(kind, opts=o, payload=b"data")
    ret, out, _ = rm_chain.run(hook, pkt)
    assert ret == PASS[hook]
    got = option_bytes(out)
    want = bytearray(o)
    for a, b in ranges:
        want[a:b] = bytes([NOP] * (b - a))
    assert got == bytes(want), f"{got.hex()} != {bytes(want).hex()}"
    base = l4_offset(pkt) + 20
    assert changed(pkt, out) <= {base + i for a, b in ranges for i in range(a, b)} | \
        {l4_offset(pkt) + 16, l4_offset(pkt) + 17}
    assert tcp_checksum_ok(out)
    assert rm_chain.counters(hook)["add_addr_nopped"] == 1


@pytest.mark.parametrize("hook", HOOKS)
def test_echo_only_passes(rm_chain, hook):
    pkt = tcp_pkt("v4", opts=ADD_ADDR4_ECHO + DSS4)
    ret, out, _ = rm_chain.run(hook, pkt)
    assert ret == PASS[hook] and out == pkt


@pytest.mark.parametrize("hook", HOOKS)
def test_only_announcements_drop_the_segment(rm_chain, hook):
    """Dropped when no other MPTCP option would remain (an echo does remain: rewritten)."""
    pkt = tcp_pkt("v4", opts=pad(ADD_ADDR6 + ADD_ADDR4_ECHO))
    ret, out, _ = rm_chain.run(hook, pkt)
    assert ret == PASS[hook]
    assert option_bytes(out)[:28] == bytes([NOP] * 28) and tcp_checksum_ok(out)
    pkt = tcp_pkt("v4", opts=pad(ADD_ADDR4 + ADD_ADDR4[:2] + bytes([0x30, 9]) + ADD_ADDR4[4:]))
    ret, _, _ = rm_chain.run(hook, pkt)
    assert ret == DROP[hook]


# ---- lengths ----

def v4_total_length(pkt, delta):
    p = bytearray(pkt)
    tot = struct.unpack_from("!H", p, 16)[0] + delta
    struct.pack_into("!H", p, 16, tot)
    struct.pack_into("!H", p, 24, 0)
    ih = bytes(Ether(bytes(p))[IP])[:20]
    s = sum(struct.unpack("!10H", ih))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    struct.pack_into("!H", p, 24, ~s & 0xffff)
    return bytes(p)


def v6_payload_length(pkt, delta):
    p = bytearray(pkt)
    struct.pack_into("!H", p, 18, struct.unpack_from("!H", p, 18)[0] + delta)
    return bytes(p)


def with_ethertype(pkt, ethertype):
    p = bytearray(pkt)
    struct.pack_into("!H", p, 12, ethertype)
    return bytes(p)


def with_version(pkt, version):
    p = bytearray(pkt)
    p[14] = (version << 4) | (p[14] & 0x0f)
    return bytes(p)


OPTS = DSS4 + ADD_ADDR4
BAD_LENGTHS = {
    "v4_total_past_frame": lambda: v4_total_length(tcp_pkt("v4", opts=OPTS), +40),
    "v4_total_cuts_tcp_header": lambda: v4_total_length(tcp_pkt("v4", opts=OPTS), -24),
    "v4_total_below_header": lambda: v4_total_length(tcp_pkt("v4", opts=OPTS), -(20 + len(OPTS) + 4)),
    "v6_payload_past_frame": lambda: v6_payload_length(tcp_pkt("v6", opts=OPTS), +40),
    "v6_payload_cuts_tcp_header": lambda: v6_payload_length(tcp_pkt("v6", opts=OPTS), -24),
    "v6_jumbo_zero": lambda: v6_payload_length(tcp_pkt("v6", opts=OPTS), -(20 + len(OPTS))),
    "v6_in_ipv4_ethertype": lambda: with_ethertype(tcp_pkt("v6", opts=OPTS), 0x0800),
    "v6_version_nibble_4": lambda: with_version(tcp_pkt("v6", opts=OPTS), 4),
}


@pytest.mark.parametrize("name", sorted(BAD_LENGTHS))
@pytest.mark.parametrize("hook", HOOKS)
def test_disagreeing_lengths_pass_unchanged(dp, hook, name):
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, 1, [("set_recv_win", recv_win_param(100)), ("rm_add_addr", b"")])
    dp.bind_tcp(hook, 1)
    pkt = BAD_LENGTHS[name]()
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    assert out == pkt
    c = dp.counters(hook)
    assert c["malformed"] == 1 and c["target"] == 0


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("kind", ["v4", "v6"])
def test_trailing_padding_is_what_the_kernel_trims(dp, hook, kind):
    """Bytes after the IP packet: the TCP header is inside it, so it is rewritten as usual and
    the padding is left alone."""
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, 1, [("set_recv_win", recv_win_param(100))])
    dp.bind_tcp(hook, 1)
    pkt = tcp_pkt(kind) + bytes(6)
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    assert out[-6:] == bytes(6) and len(out) == len(pkt)
    e = Ether(out[:-6])
    assert e[TCP].window == 100 and tcp_checksum_ok(out[:-6])
