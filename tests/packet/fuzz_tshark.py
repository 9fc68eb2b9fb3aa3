"""The fuzz's second, independent judge: every rewritten frame and its input, written to a pcap
and read back by tshark (Wireshark's dissectors, its checksum validation on) in one run.

For each pair tshark must see: an input whose IPv6 extension headers it reads as well-formed
(the stack drops the others, so they must pass unchanged); the output's IPv4 header
checksum and TCP checksum as good as the input's; no malformed-packet mark the input did not have; IP lengths inside the frame and TCP
header plus payload equal to the IP payload; every field outside the actor's rewrite unchanged
(addresses, ports, sequence numbers, flags, urgent pointer, payload, and for all but
set_flow_prio the lengths); rm_add_addr leaves no more announcing ADD_ADDRs than came in, and
set_flow_prio adds exactly one MP_PRIO when it grows a frame."""
import os
import struct
import subprocess
import tempfile

FIELDS = ["frame.len", "eth.type", "ip.hdr_len", "ip.len", "ip.checksum.status", "ipv6.plen",
          "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.ttl", "ip.id", "ip.proto",
          "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags",
          "tcp.window_size_value", "tcp.urgent_pointer", "tcp.hdr_len", "tcp.len",
          "tcp.checksum.status", "tcp.payload", "tcp.options", "tcp.options.mptcp.subtype",
          "tcp.options.mptcp.echo", "_ws.malformed", "_ws.expert.message"]
# What each actor may change, by tshark field name; everything else must read the same.
MAY_CHANGE = {
    "set_recv_win": {"tcp.window_size_value"},
    "rm_add_addr": {"tcp.options", "tcp.options.mptcp.subtype", "tcp.options.mptcp.echo"},
    "set_flow_prio": {"tcp.options", "tcp.options.mptcp.subtype", "tcp.options.mptcp.echo",
                      "frame.len", "ip.len", "ipv6.plen", "tcp.hdr_len"},
}
AFTER_TCP_OPTIONS = {"tcp.payload", "tcp.len", "tcp.options", "tcp.options.mptcp.subtype", "tcp.options.mptcp.echo"}
# Checked on their own below, or (expert messages quote the checksum) never equal.
NOT_COMPARED = {"tcp.checksum.status", "ip.checksum.status", "_ws.malformed", "_ws.expert.message"}
TSHARK_OPTS = ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
               "-o", "tcp.analyze_sequence_numbers:FALSE", "-o", "tcp.desegment_tcp_streams:FALSE",
               "-o", "mptcp.analyze_mptcp:FALSE"]


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # LINKTYPE_ETHERNET
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


def read_fields(frames):
    """tshark's reading of each frame: one dict of FIELDS per frame, in order."""
    with tempfile.TemporaryDirectory(prefix="soak-fuzz-") as d:
        path = os.path.join(d, "pairs.pcap")
        write_pcap(path, frames)
        cmd = ["tshark", "-n", "-r", path, *TSHARK_OPTS, "-T", "fields", "-E", "separator=\t",
               "-E", "occurrence=a", "-E", "aggregator=,"]
        for f in FIELDS:
            cmd += ["-e", f]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("\t"))) for line in out.split("\n") if line]
    assert len(rows) == len(frames), f"tshark read {len(rows)} of {len(frames)} frames"
    return rows


def _ints(v):
    return [int(x, 0) for x in v.split(",") if x] if v else []


def _first(v):
    """The first (outermost) value of a field, None when tshark did not read it."""
    values = _ints(v)
    return values[0] if values else None


def _malformed_layer(row):
    """The protocol tshark names in its malformed-packet mark ("" when none, "?" unnamed)."""
    mark = row["_ws.malformed"]
    if not mark:
        return ""
    return mark.split("Malformed Packet: ", 1)[1].split("]")[0] if "Malformed Packet: " in mark else "?"


def _announcing(row):
    subs, echoes = _ints(row["tcp.options.mptcp.subtype"]), _ints(row["tcp.options.mptcp.echo"])
    return subs.count(3) - sum(echoes)


def pair_faults(actor, a, b):
    """What is wrong with output row `b` of input row `a` for `actor`, as a list of strings."""
    layer = _malformed_layer(a)
    if layer.startswith("IPv6"):
        # The stack drops a frame whose IPv6 extension header options run past their header
        # (ip6_parse_tlv): emptcp must pass such a frame unchanged. Not so for IPv4 options:
        # tshark calls an unknown option of another length malformed, the stack ignores it;
        # and a malformed TCP or MPTCP option is only skipped by the stack.
        return [f"rewrote a frame tshark reads as malformed in {layer}"]
    faults = []
    if a["ip.checksum.status"] and b["ip.checksum.status"] != a["ip.checksum.status"]:
        faults.append(f"IP checksum status {a['ip.checksum.status']} -> {b['ip.checksum.status']}")
    if b["tcp.checksum.status"] != a["tcp.checksum.status"]:
        faults.append(f"TCP checksum status {a['tcp.checksum.status']} -> {b['tcp.checksum.status']}")
    if b["_ws.malformed"] and not a["_ws.malformed"]:
        faults.append(f"malformed after the rewrite: {b['_ws.expert.message']}")
    flen = int(b["frame.len"])
    ip_len, ihl = _first(b["ip.len"]), _first(b["ip.hdr_len"])
    hdr, payload = _first(b["tcp.hdr_len"]), _first(b["tcp.len"])
    if ip_len is not None:
        if 14 + ip_len > flen:
            faults.append(f"IP length {ip_len} past the frame ({flen})")
        if None not in (ihl, hdr, payload) and ihl + hdr + payload != ip_len:
            faults.append("IP length is not IP header + TCP header + payload")
    plen = _first(b["ipv6.plen"])
    if plen is not None and 54 + plen > flen:
        faults.append(f"IPv6 payload length past the frame ({flen})")
    allowed = set(MAY_CHANGE.get(actor, set()))
    if layer:
        # tshark stops reading a segment at a malformed TCP or MPTCP option, so what follows
        # (payload, later options) is not comparable; the oracle's byte diff covers it.
        allowed |= AFTER_TCP_OPTIONS
    for f in FIELDS:
        if f not in allowed and f not in NOT_COMPARED and a[f] != b[f]:
            faults.append(f"{f} changed: {a[f]!r} -> {b[f]!r}")
    if actor == "rm_add_addr" and _announcing(b) > _announcing(a):
        faults.append("more announcing ADD_ADDRs after rm_add_addr")
    if actor == "set_flow_prio" and b["tcp.hdr_len"] != a["tcp.hdr_len"]:
        grown = (_first(b["tcp.hdr_len"]) or 0) - (_first(a["tcp.hdr_len"]) or 0)
        added = _ints(b["tcp.options.mptcp.subtype"]).count(5) - _ints(a["tcp.options.mptcp.subtype"]).count(5)
        if grown != 4 or added != 1:
            faults.append(f"grown by {grown} bytes with {added} MP_PRIO added")
    return faults


def check_pairs(actor, pairs):
    """[(index, fault)] for the (input, output) pairs tshark finds wrong."""
    rows = read_fields([f for pair in pairs for f in pair])
    bad = []
    for k in range(len(pairs)):
        for fault in pair_faults(actor, rows[2 * k], rows[2 * k + 1]):
            bad.append((k, fault))
    return bad
