"""Ethernet frames of one TCP flow for the data-plane tests and benchmarks (built with scapy),
and the TCP/MPTCP option bytes they carry.

The flow: the remote peer R sends to the local host L. XDP (ingress at L) sees local = dst;
TC (egress at R) sees local = src: key_for() orients keys the same way as the kernel side."""
import socket
import struct

from scapy.layers.inet import IP, TCP, IPOption_NOP, IPOption_Router_Alert
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import Ether
from scapy.packet import Raw

V4 = {"L": "10.0.0.1", "R": "10.0.0.2", "X": "10.0.0.9"}
V6 = {"L": "fd00::1", "R": "fd00::2", "X": "fd00::9"}
LPORT, RPORT = 5201, 40000
KINDS = ["v4", "v4opt", "v6", "v6ext"]

TS = bytes([1, 1, 8, 10]) + struct.pack("!II", 1000, 2000)            # NOP NOP TS
DSS4 = bytes([30, 8, 0x20, 0x01]) + struct.pack("!I", 0x11223344)    # DSS, 32-bit data ACK
DSS8 = bytes([30, 12, 0x20, 0x03]) + struct.pack("!Q", 0x0102030405060708)  # 64-bit data ACK
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


def key_for(hook, kind):
    """(family, local, remote, local_port, remote_port) for the flow of tcp_pkt on `hook`."""
    a = addrs(kind)
    fam = family_of(kind)
    af = socket.AF_INET6 if fam == 6 else socket.AF_INET
    L, R = socket.inet_pton(af, a["L"]), socket.inet_pton(af, a["R"])
    if hook == "xdp":
        return fam, L, R, LPORT, RPORT
    return fam, R, L, RPORT, LPORT


def other_addr(kind):
    fam = family_of(kind)
    return socket.inet_pton(socket.AF_INET6 if fam == 6 else socket.AF_INET, addrs(kind)["X"])
