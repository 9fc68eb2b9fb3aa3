"""The build and loading contract: every object loads with the pinned-map contract, the
verifier's work stays far below its budget, and the constants and layouts the tests use match
abi.h as the C compiler reads it."""
import os
import re
import subprocess
import tempfile

import pytest

from event_records import EV_ACK, EV_ADD_ADDR, EV_MPTCP, FLOW, HDR, HDR_LEN
from lab import abi
from lab.dataplane import BPF_DIR, ROOT, action_chain_value, sel_chain_value, tcp2_key, tcp4_key

MINE = ["entry", "pass", "sel_tcp", "sel_tcp2", "sel_tcp4", "set_recv_win", "rm_add_addr"]
MAPS = ["sels", "acts", "selchn", "tcp2", "tcp4", "tcp", "chains", "counts", "pkt"]


@pytest.mark.parametrize("hook", ["xdp", "tc"])
def test_objects_exist_one_program_each(hook):
    for name in MINE:
        assert os.path.exists(os.path.join(BPF_DIR, hook, name + ".o")), name


@pytest.mark.kernel
def test_all_objects_load_well_below_verifier_budget(plane):
    for (hook, name), line in plane.verifier.items():
        m = re.search(r"processed (\d+) insns", line)
        assert m, (hook, name, line)
        assert int(m.group(1)) < 400000, (hook, name, line)


@pytest.mark.kernel
def test_shared_maps_pinned_by_name(plane):
    pinned = set(os.listdir(plane.maps))
    for hook in ("xdp", "tc"):
        for m in MAPS:
            assert abi.kernel_name(hook, m) in pinned
    assert {"emptcp_events", "emptcp_meta"} <= pinned
    assert all(len(n) <= 15 for n in pinned)


def test_abi_constants_match_header():
    """lab.abi's constants, read from abi.h by its own parser, and the layouts the Python side
    packs and unpacks, against what the C compiler makes of the same header."""
    names = sorted(abi.VALUES)
    sizes = {"hdr": "sizeof(struct emptcp_event_hdr)", "flow": "sizeof(struct emptcp_flow)",
             "ev_add_addr": "offsetof(struct emptcp_ev_add_addr, opt)",
             "ev_mptcp": "sizeof(struct emptcp_ev_mptcp)",
             "ev_ack": "sizeof(struct emptcp_ev_ack_state)",
             "sel_chain": "sizeof(struct emptcp_selector_chain)",
             "action_chain": "sizeof(struct emptcp_action_chain)",
             "tcp2_key": "sizeof(struct emptcp_tcp2_key)", "tcp4_key": "sizeof(struct emptcp_tcp4_key)"}
    body = "".join(f'    printf("{n} %lld\\n", (long long)({n}));\n' for n in names)
    body += "".join(f'    printf("{k} %lld\\n", (long long)({e}));\n' for k, e in sizes.items())
    src = ("#include <stddef.h>\n#include <stdio.h>\n#include <emptcp/abi.h>\n"
           "int main(void)\n{\n" + body + "    return 0;\n}\n")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "abi.c"), "w") as f:
            f.write(src)
        subprocess.run(["cc", "-Wall", "-Werror", "-I", os.path.join(ROOT, "bpf", "include"),
                        "-o", os.path.join(d, "abi"), os.path.join(d, "abi.c")], check=True)
        out = subprocess.run([os.path.join(d, "abi")], capture_output=True, text=True,
                             check=True).stdout
    c = {k: int(v) for k, v in (line.split() for line in out.splitlines())}

    assert {n: abi.VALUES[n] for n in names} == {n: c[n] for n in names}
    families = {"SEL": abi.SEL_SLOTS, "ACT": abi.ACT_SLOTS, "OP": abi.OP, "CNT": abi.CNT,
                "EV": abi.EV, "RECORD": abi.RECORD, "HOOK": abi.HOOK}
    for prefix, values in families.items():
        assert values and {n: c[f"EMPTCP_{prefix}_{n.upper()}"] for n in values} == values, prefix
    assert abi.FIRST_MODULE_SLOT == c["EMPTCP_FIRST_MODULE_SLOT"]
    assert abi.SEL_F_PREFILTER == c["EMPTCP_SEL_F_PREFILTER"]
    assert abi.PREFILTER_BITS_LOG == c["EMPTCP_PREFILTER_BITS_LOG"]
    assert HDR.size + FLOW.size == c["hdr"] == HDR_LEN and FLOW.size == c["flow"]
    assert HDR_LEN + EV_ADD_ADDR.size == c["ev_add_addr"]
    assert HDR_LEN + EV_MPTCP.size == c["ev_mptcp"]
    assert HDR_LEN + EV_ACK.size == c["ev_ack"]
    assert len(sel_chain_value([])) == c["sel_chain"]
    assert len(action_chain_value([])) == c["action_chain"]
    assert len(tcp2_key(4, b"", b"")) == c["tcp2_key"]
    assert len(tcp4_key(4, b"", 0, b"", 0)) == c["tcp4_key"]
