"""The example operator module examples/modules/set_dscp.c: built by bpf/build.sh from the SDK
headers alone, plugged into a free module slot of emptcp_t_acts, it rewrites the DSCP bits (ECN
kept) with a valid IPv4 header checksum, changes nothing else, and hands over to the next actor."""
import os

import pytest

from frame_checks import Hdrs, csum
from lab.abi import FIRST_MODULE_SLOT
from lab.dataplane import BPF_DIR, PASS, ROOT, build_module, recv_win_param
from lab.frames import TS, tcp_pkt

SRC = os.path.join(ROOT, "examples", "modules", "set_dscp.c")
OBJ = os.path.join(BPF_DIR, "examples", "set_dscp.o")


@pytest.fixture
def dscp(dp):
    dp.load("tc", OBJ, name="set_dscp")
    dp.set_prog("acts", "tc", FIRST_MODULE_SLOT, "set_dscp")
    dp.set_prog("acts", "tc", 1, "set_recv_win")
    dp.sel_chain("tc", [("tcp", "or")])
    dp.bind_tcp("tc", 1)
    yield dp
    dp.clear_prog("acts", "tc", FIRST_MODULE_SLOT)


def test_built_by_build_step_from_sdk_only():
    assert os.path.exists(OBJ)
    assert '#include "' not in open(SRC).read()  # SDK headers only, nothing from bpf/lib
    os.unlink(build_module(SRC, "tc"))           # compiles with -I bpf/include alone


@pytest.mark.kernel
@pytest.mark.parametrize("kind,ecn", [("v4", 0), ("v4opt", 3), ("v6", 1), ("v6ext", 2)])
def test_set_dscp(dscp, kind, ecn):
    dscp.chain("tc", 1, [(FIRST_MODULE_SLOT, bytes([46])), ("set_recv_win", recv_win_param(999))])
    p = bytearray(tcp_pkt(kind, opts=TS, payload=b"data"))
    if kind.startswith("v4"):  # set an ECN codepoint (and fix the header checksum by hand)
        p[15] = ecn
        p[24:26] = b"\0\0"
        c = 0xffff - csum(bytes(p[14:Hdrs(bytes(p)).l4]))
        p[24:26] = c.to_bytes(2, "big")
    else:
        p[15] = (p[15] & 0xcf) | (ecn << 4)
    p = bytes(p)
    ret, out, _ = dscp.run("tc", p)
    assert ret == PASS["tc"]
    h = Hdrs(out)
    tclass = out[15] if not h.v6 else ((out[14] & 0x0f) << 4) | (out[15] >> 4)
    assert tclass >> 2 == 46 and tclass & 3 == ecn
    assert h.ip_csum_ok() and h.tcp_csum_ok()
    diff = {i for i in range(len(p)) if p[i] != out[i]}
    ip_fields = {15, 24, 25} if not h.v6 else {14, 15}
    win = {h.l4 + 14, h.l4 + 15, h.l4 + 16, h.l4 + 17}
    assert diff <= ip_fields | win
    assert dscp.counters("tc")["win_set"] == 1  # the next actor ran
