"""Ring-buffer records of the data plane (emptcp_events), decoded from their abi.h layouts by
hand: the common header and flow, and the bodies of the rm_add_addr, recover_add_addr and
catch_mptcp_events records. test_objects.py checks these layouts' sizes against the C compiler."""
import struct

HDR = struct.Struct("<HHHBBIIQ")           # emptcp_event_hdr up to the flow
FLOW = struct.Struct("<Bx2s2s2x16s16s")    # emptcp_flow (ports as on the wire)
HDR_LEN = HDR.size + FLOW.size             # 64
EV_ADD_ADDR = struct.Struct("!IIHBB")      # emptcp_ev_add_addr body before opt[]
EV_MPTCP = struct.Struct("<BBBBI8s8s")     # emptcp_ev_mptcp body
EV_ACK = struct.Struct("<4s4s2sBBII4xQ")   # emptcp_ev_ack_state body (data_ack 8-aligned)


def header(rec):
    """The common header and flow of a record; addresses as their 16 stored bytes."""
    version, typ, length, hook, _, ifindex, _, ts = HDR.unpack_from(rec, 0)
    fam, sport, dport, saddr, daddr = FLOW.unpack_from(rec, HDR.size)
    return {"version": version, "type": typ, "len": length, "hook": hook, "ifindex": ifindex,
            "ts": ts, "family": fam, "sport": struct.unpack("!H", sport)[0],
            "dport": struct.unpack("!H", dport)[0], "saddr": saddr, "daddr": daddr}


def records(dp):
    """The ring's new records decoded: header fields, flow (addresses cut to the family's
    length), raw body and raw record."""
    out = []
    for r in dp.ring().records():
        h = header(r)
        n = 4 if h["family"] == 4 else 16
        h.update(saddr=h["saddr"][:n], daddr=h["daddr"][:n], body=r[HDR_LEN:], raw=r)
        out.append(h)
    return out


def parse_add_addr_event(rec):
    """An EMPTCP_EV_RM_ADD_ADDR record: header, the segment's state and the removed option."""
    ev = header(rec)
    seq, ack, window, dropped, opt_len = EV_ADD_ADDR.unpack_from(rec, HDR_LEN)
    opt = rec[HDR_LEN + EV_ADD_ADDR.size: HDR_LEN + EV_ADD_ADDR.size + opt_len]
    ev.update(seq=seq, ack=ack, window=window, dropped=dropped, opt=opt)
    return ev


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
