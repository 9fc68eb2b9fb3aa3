"""The build and loading contract: every object loads with the pinned-map contract, the
verifier's work stays far below its budget, and the constants the tests use match abi.h."""
import os
import re

import pytest

from dataplane import ACT_SLOTS, BPF_DIR, CNT, FIRST_MODULE_SLOT, ROOT, SEL_SLOTS

MINE = ["entry", "pass", "sel_tcp", "sel_tcp2", "sel_tcp4", "set_recv_win", "rm_add_addr"]
MAPS = ["selectors", "actions", "sel_chain", "tcp2", "tcp4", "tcp_dflt", "chains", "counters",
        "scratch"]


@pytest.mark.parametrize("hook", ["xdp", "tc"])
def test_objects_exist_one_program_each(hook):
    for name in MINE:
        assert os.path.exists(os.path.join(BPF_DIR, hook, name + ".o")), name


def test_all_objects_load_well_below_verifier_budget(plane):
    for (hook, name), line in plane.verifier.items():
        m = re.search(r"processed (\d+) insns", line)
        assert m, (hook, name, line)
        assert int(m.group(1)) < 400000, (hook, name, line)


def test_shared_maps_pinned_by_name(plane):
    pinned = set(os.listdir(plane.maps))
    for hook in ("xdp", "tc"):
        for m in MAPS:
            assert f"{hook}_{m}" in pinned
    assert {"emptcp_events", "emptcp_meta"} <= pinned
    assert all(len(n) <= 15 for n in pinned)


def test_abi_constants_match_header():
    abi = open(os.path.join(ROOT, "bpf", "include", "emptcp", "abi.h")).read()

    def val(name):
        return int(re.search(rf"\b{name}\s*=\s*(\d+)", abi).group(1))

    for n, v in SEL_SLOTS.items():
        assert val(f"EMPTCP_SEL_{n.upper()}") == v
    for n, v in ACT_SLOTS.items():
        assert val(f"EMPTCP_ACT_{n.upper()}") == v
    for n, v in CNT.items():
        assert val(f"EMPTCP_CNT_{n.upper()}") == v
    assert int(re.search(r"#define EMPTCP_FIRST_MODULE_SLOT (\d+)", abi).group(1)) == FIRST_MODULE_SLOT
