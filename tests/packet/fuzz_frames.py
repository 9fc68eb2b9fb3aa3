"""The frames of the packet fuzz and the oracle they are judged by, with no code shared with
the BPF side: valid seeds (IPv4 with and without IP options, IPv6 with and without an extension
header; DSS, timestamps, echo and announcing ADD_ADDRs, MP_PRIO; payloads; SYN/RST/FIN; Ethernet
padding), 1-3 mutations each, and a plain-Python reading of a frame as the kernel's receive path
and its MPTCP option walk (net/mptcp/options.c) see it."""
import functools
import struct

from frame_checks import csum
from lab.dataplane import DROP, PASS, recv_win_param
from lab.frames import ADD_ADDR4, ADD_ADDR4_ECHO, ADD_ADDR6, DSS4, TS, tcp_pkt

ACTORS = {
    "xdp": ["set_recv_win", "set_flow_prio", "rm_add_addr", "recover_add_addr", "record"],
    "tc": ["set_recv_win", "set_flow_prio", "rm_add_addr", "catch_mptcp_events"],
}
PARAMS = {
    "set_recv_win": recv_win_param(777),
    "set_flow_prio": bytes([1, 0, 0]),
    "record": bytes([7]),
}
MAY_DROP = {"rm_add_addr", "set_flow_prio"}
NEVER_REWRITES = {"record", "recover_add_addr", "catch_mptcp_events"}

MP_PRIO = bytes([30, 3, 0x51, 1])
SEED_OPTIONS = [b"", DSS4, TS + DSS4, ADD_ADDR4 + DSS4, ADD_ADDR4_ECHO + ADD_ADDR4 + DSS4,
                ADD_ADDR6 + DSS4, MP_PRIO + DSS4, ADD_ADDR4 + ADD_ADDR4, TS]

# Seeds are few (kinds x options x payloads x flags): each is built by scapy once.
_seed = functools.lru_cache(maxsize=None)(tcp_pkt)


# ---- an independent reading of a frame (what the kernel's receive path accepts) ----

def option_accepted(kind, data, nh_off, hopbyhop):
    """One option other than padding, as the kernel's handlers judge it (emptcp cannot see whether
    Mobile IPv6 is configured, so a home address counts as dropped)."""
    if hopbyhop and kind == 0x05:
        return len(data) == 2                       # router alert
    if hopbyhop and kind == 0xC2:
        return False                                # jumbo: only with a payload length of 0
    if hopbyhop and kind == 0x07:
        return len(data) >= 8 and data[4] * 4 + 8 <= len(data)  # CALIPSO
    if hopbyhop and kind == 0x31:
        return nh_off % 4 == 0 and len(data) >= 2   # IOAM
    if not hopbyhop and kind == 0xC9:
        return False                                # home address
    return kind & 0xC0 == 0                         # unknown: skip, or drop the packet


def options_accepted(opts, hopbyhop, nh_off):
    """Whether the kernel's receive path keeps a packet with these hop-by-hop or destination
    options (its defaults: at most 8 options, padding runs of at most 7 zero bytes, an unknown
    option whose type asks for a discard drops the packet)."""
    pos = pad = count = 0
    while pos < len(opts):
        if opts[pos] == 0:
            pad += 1
            if pad > 7:
                return False
            pos += 1
            continue
        if pos + 2 > len(opts) or pos + 2 + opts[pos + 1] > len(opts):
            return False
        kind, body = opts[pos], opts[pos + 2:pos + 2 + opts[pos + 1]]
        if kind == 1:
            pad += 2 + len(body)
            if pad > 7 or any(body):
                return False
        else:
            count += 1
            if count > 8 or not option_accepted(kind, body, nh_off + pos, hopbyhop):
                return False
            pad = 0
        pos += 2 + len(body)
    return True


def reading(frame):
    """(l3, l4, tcp header length, ip end, family) for a frame the stack would take, else None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack_from("!H", frame, 12)[0]
    if etype == 0x0800:
        if len(frame) < 34 or frame[14] >> 4 != 4 or frame[14] & 15 < 5:
            return None
        ihl, tot = (frame[14] & 15) * 4, struct.unpack_from("!H", frame, 16)[0]
        if frame[23] != 6 or struct.unpack_from("!H", frame, 20)[0] & 0x1fff or tot < ihl or 14 + tot > len(frame):
            return None
        l4, end, fam = 14 + ihl, 14 + tot, 4
    elif etype == 0x86DD:
        if len(frame) < 54 or frame[14] >> 4 != 6:
            return None
        plen = struct.unpack_from("!H", frame, 18)[0]
        if plen == 0 or 54 + plen > len(frame):
            return None
        nh, l4, end, fam = frame[20], 54, 54 + plen, 6
        for i in range(4):
            if nh == 6:
                break
            if nh not in (0, 43, 60) or l4 + 4 > len(frame) or (nh == 0 and i > 0):
                return None
            size = (frame[l4 + 1] + 1) * 8
            if nh == 43 and frame[l4 + 3] != 0:
                return None  # segments left: this host would route it on, not read it
            if nh in (0, 60) and not options_accepted(frame[l4 + 2:l4 + size], nh == 0, l4 + 2 - 14):
                return None
            nh, l4 = frame[l4], l4 + size
        if nh != 6:
            return None
    else:
        return None
    if l4 + 20 > end:
        return None
    hlen = (frame[l4 + 12] >> 4) * 4
    if hlen < 20 or l4 + hlen > end:
        return None
    return 14, l4, hlen, end, fam


def tcp_sum_ok(frame, r):
    l3, l4, _, end, fam = r
    seg = frame[l4:end]
    if fam == 4:
        pseudo = frame[l3 + 12:l3 + 20] + struct.pack("!BBH", 0, 6, len(seg))
    else:
        pseudo = frame[l3 + 8:l3 + 40] + struct.pack("!IxxxB", len(seg), 6)
    return csum(pseudo + seg) == 0xffff


def ip_len_fields(r):
    l3, _, _, _, fam = r
    return {l3 + 2, l3 + 3, l3 + 10, l3 + 11} if fam == 4 else {l3 + 4, l3 + 5}


# ---- mutations ----

def seed_frame(rng):
    kind = rng.choice(["v4", "v4opt", "v6", "v6ext"])
    opts = rng.choice(SEED_OPTIONS)
    opts += bytes(-len(opts) % 4)
    payload = bytes(rng.choice([0, 0, 1, 7, 100]))
    frame = _seed(kind, opts=opts, payload=payload, flags=rng.choice(["A", "A", "PA", "S", "R", "FA"]))
    if rng.random() < 0.2:
        frame += bytes(rng.randrange(1, 8))  # trailing bytes (Ethernet padding)
    return bytearray(frame)


def mutate(rng, f):
    for _ in range(rng.randrange(1, 4)):
        r = reading(bytes(f))
        what = rng.randrange(7)
        if what == 0 and r:  # option bytes
            l4, hlen = r[1], r[2]
            if hlen > 20:
                f[rng.randrange(l4 + 20, l4 + hlen)] = rng.choice([0, 1, 2, 3, 8, 30, 255, rng.randrange(256)])
        elif what == 1 and r:  # an ADD_ADDR subtype or echo bit somewhere in the options
            l4, hlen = r[1], r[2]
            if hlen > 22:
                f[rng.randrange(l4 + 20, l4 + hlen)] = rng.choice([0x30, 0x31, 0x20, 0x50])
        elif what == 2 and r:  # data offset
            f[r[1] + 12] = (rng.randrange(16) << 4) | (f[r[1] + 12] & 15)
        elif what == 3 and len(f) >= 20:  # IP length fields and version nibble
            if struct.unpack_from("!H", f, 12)[0] == 0x0800:
                struct.pack_into("!H", f, 16, max(0, struct.unpack_from("!H", f, 16)[0] + rng.randrange(-48, 48)))
            else:
                struct.pack_into("!H", f, 18, max(0, struct.unpack_from("!H", f, 18)[0] + rng.randrange(-48, 48)))
            if rng.random() < 0.2:
                f[14] = (rng.choice([4, 6, 5, 0]) << 4) | (f[14] & 15)
        elif what == 4 and len(f) > 14:  # cut the frame
            del f[rng.randrange(14, len(f)):]
        elif what == 5:  # any byte
            if len(f):
                f[rng.randrange(len(f))] = rng.randrange(256)
        elif len(f) >= 14:  # ethertype
            if rng.random() < 0.3:
                struct.pack_into("!H", f, 12, rng.choice([0x0800, 0x86DD, 0x0806]))
    return bytes(f)


def allowed_changes(actor, r):
    _, l4, hlen, _, _ = r
    if actor == "set_recv_win":
        return {l4 + 14, l4 + 15, l4 + 16, l4 + 17}
    if actor == "rm_add_addr":
        return set(range(l4 + 20, l4 + hlen)) | {l4 + 16, l4 + 17}
    return set()


def announcement_read(frame, r):
    """Whether the kernel's option walk (net/mptcp/options.c) reads an ADD_ADDR with E=0."""
    _, l4, hlen, _, _ = r
    i, end = l4 + 20, l4 + hlen
    while i < end:
        kind = frame[i]
        if kind == 0:
            return False
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end or frame[i + 1] < 2 or i + frame[i + 1] > end:
            return False
        n = frame[i + 1]
        if kind == 30 and n >= 3 and frame[i + 2] >> 4 == 3 and not frame[i + 2] & 1:
            return True
        i += n
    return False


def check(actor, hook, before, ret, after):
    assert ret in (PASS[hook], DROP[hook]), f"return value {ret}"
    if ret == DROP[hook]:
        assert actor in MAY_DROP, "dropped"
        return
    if actor == "rm_add_addr":
        ra = reading(after)
        assert ra is None or not announcement_read(after, ra), "an ADD_ADDR the stack reads got through"
    if after == before:
        return
    assert actor not in NEVER_REWRITES, "rewrote"
    r = reading(before)
    assert r is not None, "rewrote a frame the stack would drop"
    ra = reading(after)
    assert ra is not None, "output lengths disagree with the frame"
    assert tcp_sum_ok(after, ra) == tcp_sum_ok(before, r), "TCP checksum"
    l4, end = r[1], r[3]
    if actor == "set_flow_prio" and ra[3] == end + 4:
        # Grown by the MP_PRIO option. Bytes after the IP packet (padding the stack trims)
        # may be dropped or moved: only the IP packet is compared.
        assert after[l4 + 20:l4 + 22] == bytes([30, 3]) or after[l4 + 20:l4 + 22] == bytes([30, 4]), "inserted option"
        shrunk = after[:l4 + 20] + after[l4 + 24:ra[3]]
        diff = {i for i in range(end) if shrunk[i] != before[i]}
        assert diff <= ip_len_fields(r) | {l4 + 12, l4 + 16, l4 + 17}, f"changed {sorted(diff)}"
        return
    assert len(after) == len(before), "length changed"
    diff = {i for i in range(len(before)) if before[i] != after[i]}
    assert diff <= allowed_changes(actor, r), f"changed {sorted(diff)}"
    if actor == "rm_add_addr":
        assert all(after[i] == 1 for i in diff - {l4 + 16, l4 + 17}), "only NOPs written"
