"""catch_mptcp_events on TC: MP_CAPABLE (keys), MP_JOIN (token), MP_PRIO, FIN and RST as
emptcp_ev_mptcp records read back from the `emptcp_events` ring; the packet never changes."""
import socket
import struct

import pytest

from event_records import HDR_LEN, mptcp_body, records
from lab.abi import EV
from lab.dataplane import PASS
from lab.frames import TS, tcp_pkt

pytestmark = pytest.mark.kernel

KEY_A = bytes.fromhex("0123456789abcdef")
KEY_B = bytes.fromhex("fedcba9876543210")
MPC_SYN = bytes([30, 4, 0x01, 0x81])                       # v1 SYN: no key
MPC_SYNACK = bytes([30, 12, 0x01, 0x81]) + KEY_B           # sender's key
MPC_ACK = bytes([30, 20, 0x01, 0x81]) + KEY_A + KEY_B      # both keys
JOIN_SYN = bytes([30, 12, 0x10, 0x02]) + bytes.fromhex("a1b2c3d4") + bytes(4)  # token, nonce
JOIN_SYNACK = bytes([30, 16, 0x10, 0x02]) + bytes(12)
PRIO = bytes([30, 3, 0x51, 1])
EV_MPTCP_LEN = HDR_LEN + 24


def setup(dp):
    dp.use("tc", [("catch_mptcp_events", b"")], slot_names=["catch_mptcp_events"])
    dp.ring().drain()


def one_run(dp, p):
    ret, out, _ = dp.run("tc", p)
    assert ret == PASS["tc"] and out == p
    return records(dp)


@pytest.mark.parametrize("kind", ["v4", "v4opt", "v6", "v6ext"])
def test_mp_capable_handshake(dp, kind):
    setup(dp)
    syn = one_run(dp, tcp_pkt(kind, opts=MPC_SYN, flags="S", seq=1, ack=0))
    synack = one_run(dp, tcp_pkt(kind, opts=MPC_SYNACK, flags="SA"))
    ack = one_run(dp, tcp_pkt(kind, opts=MPC_ACK + TS, flags="A"))
    for recs in (syn, synack, ack):
        assert len(recs) == 1
        r = recs[0]
        assert r["type"] == EV["mp_capable"] and r["version"] == 1 and r["hook"] == 1
        assert r["len"] == EV_MPTCP_LEN == len(r["raw"])
        # the flow as on the wire: TC egress at the peer R sending to L
        fam = socket.AF_INET6 if kind.startswith("v6") else socket.AF_INET
        assert r["saddr"] == socket.inet_pton(fam, "fd00::2" if fam == socket.AF_INET6 else "10.0.0.2")
        assert r["sport"] == 40000 and r["dport"] == 5201
    b = [mptcp_body(x[0]) for x in (syn, synack, ack)]
    assert b[0]["has_local_key"] == 0 and b[0]["has_remote_key"] == 0
    assert b[0]["subtype_flags"] == 0x01 and b[0]["tcp_flags"] == 0x02
    assert b[1]["has_local_key"] == 1 and b[1]["local_key"] == KEY_B and b[1]["has_remote_key"] == 0
    assert b[2]["has_local_key"] == 1 and b[2]["local_key"] == KEY_A
    assert b[2]["has_remote_key"] == 1 and b[2]["remote_key"] == KEY_B
    assert b[2]["tcp_flags"] == 0x10


def test_mp_join_token_on_syn_only(dp):
    setup(dp)
    recs = one_run(dp, tcp_pkt("v4", opts=JOIN_SYN, flags="S"))
    assert [r["type"] for r in recs] == [EV["mp_join"]]
    body = mptcp_body(recs[0])
    assert body["token"] == bytes.fromhex("a1b2c3d4") and body["subtype_flags"] == 0x10
    assert one_run(dp, tcp_pkt("v4", opts=JOIN_SYNACK, flags="SA")) == []


@pytest.mark.parametrize("flags,types", [("FA", ["fin"]), ("R", ["rst"]), ("RA", ["rst"]),
                                         ("FRA", ["fin", "rst"]), ("A", [])])
def test_fin_rst(dp, flags, types):
    setup(dp)
    recs = one_run(dp, tcp_pkt("v6", opts=TS, flags=flags))
    assert [r["type"] for r in recs] == [EV[t] for t in types]
    for r in recs:
        assert mptcp_body(r)["subtype_flags"] == 0


def test_mp_prio_and_fin_together(dp):
    setup(dp)
    recs = one_run(dp, tcp_pkt("v4", opts=TS + PRIO, flags="FA"))
    assert [r["type"] for r in recs] == [EV["mp_prio"], EV["fin"]]
    assert mptcp_body(recs[0])["subtype_flags"] == 0x51


def test_malformed_options_still_report_fin(dp):
    setup(dp)
    recs = one_run(dp, tcp_pkt("v4", opts=bytes([30, 0, 0x01, 0x81]), flags="FA"))
    assert [r["type"] for r in recs] == [EV["fin"]]
    assert dp.counters("tc")["bad_options"] == 1


def test_full_options(dp):
    """40 option bytes: MP_CAPABLE (20) + TS (12) + 8 NOPs."""
    setup(dp)
    recs = one_run(dp, tcp_pkt("v4", opts=MPC_ACK + TS + bytes([1] * 8), flags="A"))
    assert len(recs) == 1 and mptcp_body(recs[0])["remote_key"] == KEY_B


def test_plain_tcp_no_record(dp):
    setup(dp)
    assert one_run(dp, tcp_pkt("v4", opts=TS, flags="A", payload=b"x" * 100)) == []
    assert dp.counters("tc")["ringbuf_full"] == 0
