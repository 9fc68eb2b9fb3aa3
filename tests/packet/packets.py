"""Packets for the data-plane tests, and an independent check of what came out (scapy)."""
import struct

from scapy.layers.inet import IP, TCP, IPOption_NOP, IPOption_Router_Alert, in4_chksum
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop, in6_chksum
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import checksum

# The flow: the remote peer R sends to the local host L. XDP (ingress at L) sees local = dst;
# TC (egress at R) sees local = src: key_for() orients keys the same way as the kernel side.
V4 = {"L": "10.0.0.1", "R": "10.0.0.2", "X": "10.0.0.9"}
V6 = {"L": "fd00::1", "R": "fd00::2", "X": "fd00::9"}
LPORT, RPORT = 5201, 40000

TS = bytes([1, 1, 8, 10]) + struct.pack("!II", 1000, 2000)            # NOP NOP TS
DSS = bytes([30, 8, 0x20, 0x01]) + struct.pack("!I", 0x11223344)     # DSS, 32-bit data ack
ADD_ADDR4 = bytes([30, 16, 0x30, 2, 10, 0, 1, 1]) + bytes(range(1, 9))          # v4 + HMAC
ADD_ADDR4_ECHO = bytes([30, 8, 0x31, 2, 10, 0, 1, 1])                           # echo, no HMAC
ADD_ADDR6 = bytes([30, 28, 0x30, 3]) + bytes.fromhex("fd000000000000000000000000000a01") + bytes(range(1, 9))


def family_of(kind):
    return 6 if kind.startswith("v6") else 4


def addrs(kind):
    return V6 if family_of(kind) == 6 else V4


def tcp_pkt(kind="v4", opts=b"", payload=b"", flags="A", window=5000, seq=1000, ack=2000,
            src=None, dst=None, sport=RPORT, dport=LPORT):
    """kind: v4, v4opt (IPv4 with 8 bytes of IP options), v6, v6ext (hop-by-hop header)."""
    a = addrs(kind)
    src, dst = src or a["R"], dst or a["L"]
    assert len(opts) % 4 == 0 and len(opts) <= 40
    tcp = TCP(sport=sport, dport=dport, flags=flags, window=window, seq=seq, ack=ack,
              dataofs=5 + len(opts) // 4) / Raw(opts + payload)
    if kind == "v4":
        ip = IP(src=src, dst=dst)
    elif kind == "v4opt":
        ip = IP(src=src, dst=dst, options=[IPOption_Router_Alert(), IPOption_NOP(),
                                           IPOption_NOP(), IPOption_NOP(), IPOption_NOP()])
    elif kind == "v6":
        ip = IPv6(src=src, dst=dst)
    elif kind == "v6ext":
        ip = IPv6(src=src, dst=dst) / IPv6ExtHdrHopByHop()
    else:
        raise ValueError(kind)
    return bytes(Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") / ip / tcp)


def l4_offset(pkt):
    """TCP header offset of a packet built by tcp_pkt (parsed independently of the BPF side)."""
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


def key_for(hook, kind):
    """(family, local, remote, local_port, remote_port) for the flow of tcp_pkt on `hook`."""
    import socket
    a = addrs(kind)
    fam = family_of(kind)
    af = socket.AF_INET6 if fam == 6 else socket.AF_INET
    L, R = socket.inet_pton(af, a["L"]), socket.inet_pton(af, a["R"])
    if hook == "xdp":
        return fam, L, R, LPORT, RPORT
    return fam, R, L, RPORT, LPORT


def other_addr(kind):
    import socket
    fam = family_of(kind)
    return socket.inet_pton(socket.AF_INET6 if fam == 6 else socket.AF_INET, addrs(kind)["X"])


# struct emptcp_ev_add_addr (abi.h)
EV_HDR = struct.Struct("<HHHBBIIQ")          # version type len hook pad ifindex pad2 ts
EV_FLOW = struct.Struct("<BB2s2s2s16s16s")   # family pad sport dport pad2 saddr daddr


def parse_add_addr_event(rec):
    version, typ, length, hook, _, ifindex, _, ts = EV_HDR.unpack_from(rec, 0)
    fam, _, sport, dport, _, saddr, daddr = EV_FLOW.unpack_from(rec, EV_HDR.size)
    off = EV_HDR.size + EV_FLOW.size
    seq, ack = struct.unpack_from("!II", rec, off)
    window, = struct.unpack_from("!H", rec, off + 8)
    dropped, opt_len = rec[off + 10], rec[off + 11]
    opt = rec[off + 12: off + 12 + opt_len]
    return dict(version=version, type=typ, len=length, hook=hook, ifindex=ifindex, ts=ts,
                family=fam, sport=struct.unpack("!H", sport)[0],
                dport=struct.unpack("!H", dport)[0], saddr=saddr, daddr=daddr, seq=seq,
                ack=ack, window=window, dropped=dropped, opt=opt)
