"""Helpers of the issue-4 packet tests (set_flow_prio, recover_add_addr, record,
catch_mptcp_events, the example module): packet building, an independent header parser and
checksum (plain Python, not scapy's), counters by index, ring records, per-CPU map reading."""
import ctypes
import json
import os
import struct

from dataplane import ACT_SLOTS, run
from packets import tcp_pkt

# abi.h
CNT = {"malformed": 2, "target": 5, "ringbuf_full": 8, "prio_no_room": 9, "prio_present": 10,
       "prio_added": 11, "record_full": 12, "win_set": 13, "bad_options": 14}
EV = {"mp_capable": 1, "mp_join": 2, "fin": 3, "rst": 4, "rm_add_addr": 5, "recover": 6,
      "mp_prio": 7}
HDR = struct.Struct("<HHHBBIIQ")           # emptcp_event_hdr up to the flow
FLOW = struct.Struct("<BxHH2x16s16s")      # emptcp_flow (ports big endian: unpacked below)
HDR_LEN = HDR.size + FLOW.size             # 64
EV_MPTCP = struct.Struct("<BBBBI8s8s")     # emptcp_ev_mptcp body
EV_ACK = struct.Struct("<4s4s2sBBII4xQ")   # emptcp_ev_ack_state body (data_ack 8-aligned)
STATS = struct.Struct("<QQQQIIQ")          # emptcp_flow_stats

L4, R4 = "10.0.0.1", "10.0.0.2"
L6, R6 = "fd00::1", "fd00::2"
LPORT, RPORT = 5201, 40000
KINDS = ["v4", "v4opt", "v6", "v6ext"]

TS = bytes([1, 1, 8, 10]) + struct.pack("!II", 1000, 2000)            # NOP NOP TS
DSS4 = bytes([30, 8, 0x20, 0x01]) + struct.pack("!I", 0x11223344)    # DSS, 32-bit data ACK
DSS8 = bytes([30, 12, 0x20, 0x03]) + struct.pack("!Q", 0x0102030405060708)  # 64-bit data ACK


def pkt(kind="v4", opts=b"", payload=b"", flags="A", seq=1000, ack=2000, window=5000,
        src=None, dst=None, sport=RPORT, dport=LPORT):
    """A frame from the peer (src) to us (dst): the core packet tests' builder, same addresses."""
    return tcp_pkt(kind, opts=opts, payload=payload, flags=flags, window=window, seq=seq, ack=ack,
                   src=src, dst=dst, sport=sport, dport=dport)


# ---- independent parsing and checksums (no scapy) ----
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


# ---- data plane access ----
def counters(dp, hook):
    r = run("bpftool", "map", "dump", "pinned", dp.map(hook, "counters"), "-j")
    out = {}
    for e in json.loads(r.stdout):
        out[e["formatted"]["key"]] = sum(v["value"] for v in e["formatted"]["values"])
    return {name: out.get(i, 0) for name, i in CNT.items()}


def use(dp, hook, actors, slot_names=()):
    """Plugs the actors into their slots and makes them the chain of every TCP packet."""
    for name in slot_names:
        dp.set_prog("actions", hook, ACT_SLOTS[name], name)
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, 1, actors)
    dp.bind_tcp(hook, 1)


def records(dp):
    """Ring records decoded: list of dicts (header fields, flow, raw body)."""
    out = []
    for r in dp.ring().records():
        version, typ, length, hook, _, ifindex, _, ts = HDR.unpack_from(r, 0)
        fam, sport, dport, saddr, daddr = FLOW.unpack_from(r, HDR.size)
        n = 4 if fam == 4 else 16
        out.append({"version": version, "type": typ, "len": length, "hook": hook, "ts": ts,
                    "family": fam, "sport": struct.unpack("!H", struct.pack("<H", sport))[0],
                    "dport": struct.unpack("!H", struct.pack("<H", dport))[0],
                    "saddr": saddr[:n], "daddr": daddr[:n], "body": r[HDR_LEN:], "raw": r})
    return out


def mptcp_body(rec):
    sub, tcpf, hl, hr, token, lk, rk = EV_MPTCP.unpack_from(rec["body"], 0)
    return {"subtype_flags": sub, "tcp_flags": tcpf, "has_local_key": hl,
            "has_remote_key": hr, "token": struct.pack("<I", token), "local_key": lk,
            "remote_key": rk}


def ack_body(rec):
    seq, ack, win, has_ts, has_da, tsval, tsecr, da = EV_ACK.unpack_from(rec["body"], 0)
    return {"seq": struct.unpack("!I", seq)[0], "ack": struct.unpack("!I", ack)[0],
            "window": struct.unpack("!H", win)[0], "has_ts": has_ts, "has_data_ack": has_da,
            "tsval": tsval, "tsecr": tsecr, "data_ack": da}


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
    """xdp_flow_stats summed over CPUs: {key bytes: dict}."""
    r = run("bpftool", "map", "dump", "pinned", dp.map(None, "xdp_flow_stats"), "-j")
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


class _Bpf:
    """BPF_MAP_UPDATE_ELEM / DELETE by raw syscall, to fill a map fast (bpftool forks per key)."""
    libc = ctypes.CDLL(None, use_errno=True)
    NR = 321 if os.uname().machine == "x86_64" else 280

    @classmethod
    def call(cls, cmd, attr):
        buf = ctypes.create_string_buffer(attr, len(attr))
        r = cls.libc.syscall(cls.NR, cmd, buf, len(attr))
        if r < 0:
            raise OSError(ctypes.get_errno(), f"bpf cmd {cmd}")
        return r

    @classmethod
    def obj_get(cls, path):
        p = ctypes.create_string_buffer(path.encode())
        return cls.call(7, struct.pack("QII", ctypes.addressof(p), 0, 0).ljust(128, b"\0"))

    @classmethod
    def update(cls, fd, key, value):
        k = ctypes.create_string_buffer(key, len(key))
        v = ctypes.create_string_buffer(value, len(value))
        attr = struct.pack("IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0)
        cls.call(2, attr.ljust(128, b"\0"))

    @classmethod
    def delete(cls, fd, key):
        k = ctypes.create_string_buffer(key, len(key))
        cls.call(3, struct.pack("IIQ", fd, 0, ctypes.addressof(k)).ljust(128, b"\0"))


class ProgRun:
    """BPF_PROG_TEST_RUN on a pinned program, repeat 1, from this process (no bpftool fork,
    so the caches stay as warm as a packet stream leaves them)."""

    def __init__(self, path):
        self.fd = _Bpf.obj_get(path)
        self.out = ctypes.create_string_buffer(4096)

    def run(self, frame):
        data = ctypes.create_string_buffer(frame, len(frame))
        attr = struct.pack("IIIIQQIIIIQQIII", self.fd, 0, len(frame), 4096,
                           ctypes.addressof(data), ctypes.addressof(self.out), 1, 0, 0, 0, 0, 0,
                           0, 0, 0).ljust(128, b"\0")
        buf = ctypes.create_string_buffer(attr, len(attr))
        if _Bpf.libc.syscall(_Bpf.NR, 10, buf, len(attr)) < 0:
            raise OSError(ctypes.get_errno(), "BPF_PROG_TEST_RUN")
        return struct.unpack_from("I", buf.raw, 36)[0]  # duration

    def close(self):
        os.close(self.fd)
