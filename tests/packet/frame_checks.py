"""Independent checks of the frames that came out of the data plane: once through scapy's
parsers and checksums, once through a header parser and checksum written by hand (plain Python),
neither sharing code with the BPF side."""
import struct

from scapy.layers.inet import IP, in4_chksum
from scapy.layers.inet6 import IPv6, in6_chksum
from scapy.layers.l2 import Ether
from scapy.utils import checksum


# ---- through scapy ----
def l4_offset(pkt):
    """TCP header offset of a frame built by lab.frames.tcp_pkt."""
    e = Ether(pkt)
    if IP in e:
        return 14 + e[IP].ihl * 4
    off, nh = 14 + 40, e[IPv6].nh
    while nh != 6:
        nh, off = pkt[off], off + (pkt[off + 1] + 1) * 8
    return off


def tcp_checksum_ok(pkt):
    e = Ether(pkt)
    off = l4_offset(pkt)
    if IP in e:
        seg = pkt[off:14 + e[IP].len]
        return checksum(pkt[14:off]) == 0 and in4_chksum(6, e[IP], seg) == 0
    seg = pkt[off:]
    return in6_chksum(6, e[IPv6], seg) == 0


def changed(a, b):
    assert len(a) == len(b), f"length changed {len(a)} -> {len(b)}"
    return {i for i in range(len(a)) if a[i] != b[i]}


def window_of(pkt):
    off = l4_offset(pkt)
    return struct.unpack_from("!H", pkt, off + 14)[0]


def option_bytes(pkt):
    off = l4_offset(pkt)
    doff = (pkt[off + 12] >> 4) * 4
    return pkt[off + 20: off + doff]


# ---- by hand ----
def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


class Hdrs:
    """Offsets and lengths of a frame, parsed by hand."""

    def __init__(self, b):
        self.b = b
        et = struct.unpack("!H", b[12:14])[0]
        self.l3 = 14
        if et == 0x0800:
            self.v6 = False
            ihl = (b[14] & 0x0f) * 4
            self.ip_len = struct.unpack("!H", b[16:18])[0]
            self.l4 = 14 + ihl
            self.ip_end = 14 + self.ip_len
        else:
            assert et == 0x86DD
            self.v6 = True
            self.ip_len = struct.unpack("!H", b[18:20])[0] + 40
            off, nh = 54, b[20]
            while nh != 6:
                nh, off = b[off], off + (b[off + 1] + 1) * 8
            self.l4 = off
            self.ip_end = 14 + self.ip_len
        self.doff = (b[self.l4 + 12] >> 4) * 4
        self.opts = b[self.l4 + 20:self.l4 + self.doff]
        self.payload = b[self.l4 + self.doff:self.ip_end]

    def ip_csum_ok(self):
        return self.v6 or csum(self.b[14:self.l4]) == 0xffff

    def tcp_csum_ok(self):
        seg = self.b[self.l4:self.ip_end]
        if self.v6:
            ph = self.b[22:54] + struct.pack("!IxxxB", len(seg), 6)
        else:
            ph = self.b[26:34] + struct.pack("!xBH", 6, len(seg))
        return csum(ph + seg) == 0xffff
