"""Chain semantics (or/and, as docs/sdk.md describes the walk), limits, counted failures, operator modules."""
import os
import struct

import pytest

from frame_checks import tcp_checksum_ok, window_of
from lab.abi import FIRST_MODULE_SLOT, SEL_F_PREFILTER
from lab.dataplane import DROP, PASS, build_module, recv_win_param, tcp2_key, tcp4_key
from lab.frames import TS, key_for, other_addr, tcp_pkt

pytestmark = pytest.mark.kernel

HOOKS = ["xdp", "tc"]
MODULES = os.path.join(os.path.dirname(__file__), "modules")


def setup_chains(dp, hook):
    """Chain n sets the window to n * 100."""
    for n in (1, 2, 3):
        dp.chain(hook, n, [("set_recv_win", recv_win_param(n * 100))])


def bind(dp, hook, tcp2=None, tcp4=None, tcp=None, kind="v4"):
    fam, local, remote, lport, rport = key_for(hook, kind)
    if tcp2:
        dp.bind_tcp2(hook, tcp2_key(fam, local, remote), tcp2)
    if tcp4:
        dp.bind_tcp4(hook, tcp4_key(fam, local, lport, remote, rport), tcp4)
    if tcp:
        dp.bind_tcp(hook, tcp)


def window_after(dp, hook):
    pkt = tcp_pkt("v4", opts=TS)
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    assert tcp_checksum_ok(out)
    return window_of(out) if out != pkt else None


CASES = [
    # (selector chain, bindings, expected window or None = untouched)
    ([("tcp4", "or"), ("tcp2", "or")], dict(tcp4=1, tcp2=2), 100),    # first match wins
    ([("tcp4", "or"), ("tcp2", "or")], dict(tcp2=2), 200),            # or miss goes on
    ([("tcp4", "or"), ("tcp2", "or")], dict(), None),                 # nothing matches
    ([("tcp2", "and"), ("tcp4", "or")], dict(tcp4=1), None),          # and miss: not a target
    ([("tcp2", "and"), ("tcp4", "and")], dict(tcp2=2, tcp4=1), 100),  # all and: last chain
    ([("tcp2", "and"), ("tcp4", "or")], dict(tcp2=2), 200),           # and, then or miss
    ([("tcp2", "and"), ("tcp4", "or")], dict(tcp2=2, tcp4=1), 100),   # and, then or match
    ([("tcp4", "or"), ("tcp2", "or"), ("tcp", "and")], dict(tcp=3), 300),  # docs/sdk.md example
    ([("tcp4", "or"), ("tcp2", "or"), ("tcp", "and")], dict(tcp2=2, tcp=3), 200),
    ([("tcp", "and"), ("tcp2", "and")], dict(tcp=3), None),
]


@pytest.mark.parametrize("steps,binds,expect", CASES)
@pytest.mark.parametrize("hook", HOOKS)
def test_or_and_semantics(dp, hook, steps, binds, expect):
    setup_chains(dp, hook)
    dp.sel_chain(hook, steps)
    bind(dp, hook, **binds)
    assert window_after(dp, hook) == expect


@pytest.mark.parametrize("hook", HOOKS)
def test_longest_chain_8_selectors_8_actors(dp, hook):
    dp.sel_chain(hook, [("tcp2", "and"), ("tcp4", "and"), ("tcp", "and")] * 2 +
                 [("tcp2", "and"), ("tcp4", "and")])
    dp.chain(hook, 1, [("set_recv_win", recv_win_param(1000 + i)) for i in range(8)])
    bind(dp, hook, tcp2=1, tcp4=1, tcp=1)
    assert window_after(dp, hook) == 1007
    c = dp.counters(hook)
    assert c["win_set"] == 8 and c["target"] == 1 and c["tail_call_fail"] == 0


@pytest.mark.parametrize("hook", HOOKS)
def test_missing_chain_is_counted(dp, hook):
    dp.sel_chain(hook, [("tcp", "or")])
    dp.bind_tcp(hook, 42)  # no chain 42
    assert window_after(dp, hook) is None
    assert dp.counters(hook)["no_chain"] == 1


@pytest.mark.parametrize("hook", HOOKS)
def test_empty_actor_slot_is_counted_and_skipped(dp, hook):
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, 1, [(30, b""), ("set_recv_win", recv_win_param(777))])
    dp.bind_tcp(hook, 1)
    assert window_after(dp, hook) == 777
    c = dp.counters(hook)
    assert c["tail_call_fail"] == 1 and c["win_set"] == 1


@pytest.mark.parametrize("hook", HOOKS)
def test_empty_selector_slot_never_matches(dp, hook):
    setup_chains(dp, hook)
    dp.sel_chain(hook, [(FIRST_MODULE_SLOT + 5, "or"), ("tcp", "or")])
    bind(dp, hook, tcp=3)
    assert window_after(dp, hook) == 300
    assert dp.counters(hook)["tail_call_fail"] == 1


@pytest.mark.parametrize("hook", HOOKS)
def test_builtin_selector_programs_by_tail_call(dp, hook):
    """The sel_tcp* objects work when reached by tail call (placed at module slots)."""
    setup_chains(dp, hook)
    for i, name in enumerate(("sel_tcp2", "sel_tcp4", "sel_tcp")):
        dp.set_prog("sels", hook, FIRST_MODULE_SLOT + i, name)
    try:
        dp.sel_chain(hook, [(FIRST_MODULE_SLOT + 1, "or"), (FIRST_MODULE_SLOT, "and"),
                            (FIRST_MODULE_SLOT + 2, "and")])
        bind(dp, hook, tcp2=2, tcp=3)
        assert window_after(dp, hook) == 300
        bind(dp, hook, tcp4=1)
        assert window_after(dp, hook) == 100
    finally:
        for i in range(3):
            dp.clear_prog("sels", hook, FIRST_MODULE_SLOT + i)


def test_operator_selector_and_actor_modules(dp):
    """Modules written against the SDK (docs/sdk.md template) join the shared maps and chains."""
    hook = "xdp"
    sel = dp.load(hook, build_module(os.path.join(MODULES, "sel_port.c"), hook), "sel_port")
    act = dp.load(hook, build_module(os.path.join(MODULES, "act_ttl.c"), hook), "act_ttl")
    dp.set_prog("sels", hook, FIRST_MODULE_SLOT, sel)
    dp.set_prog("acts", hook, FIRST_MODULE_SLOT, act)
    dp.chain(hook, 5, [("set_recv_win", recv_win_param(555)), (FIRST_MODULE_SLOT, bytes([64]))])
    dp.sel_chain(hook, [(FIRST_MODULE_SLOT, "or")])
    assert window_after(dp, hook) is None  # port not in the module's map: no match
    dp.update(None, "xdp_port_sel", struct.pack("<I", 5201), struct.pack("<I", 5))
    assert window_after(dp, hook) == 555   # module selector -> chain 5 -> both actors
    assert dp.counters(hook)["tail_call_fail"] == 0


def test_operator_actor_verdict(dp):
    hook = "xdp"
    act = dp.load(hook, build_module(os.path.join(MODULES, "act_ttl.c"), hook), "act_ttl")
    dp.set_prog("acts", hook, FIRST_MODULE_SLOT, act)
    dp.sel_chain(hook, [("tcp", "or")])
    dp.bind_tcp(hook, 1)
    pkt = tcp_pkt("v4", opts=TS)  # scapy default TTL 64
    dp.chain(hook, 1, [(FIRST_MODULE_SLOT, bytes([65]))])
    assert dp.run(hook, pkt)[0] == DROP[hook]
    dp.chain(hook, 1, [(FIRST_MODULE_SLOT, bytes([64])), ("set_recv_win", recv_win_param(99))])
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook] and window_of(out) == 99


@pytest.mark.parametrize("selector", ["tcp2", "tcp4"])
@pytest.mark.parametrize("hook", HOOKS)
def test_prefilter(dp, hook, selector):
    """With EMPTCP_SEL_F_PREFILTER a binding counts only if its prefilter bit is set (the bit
    function is re-implemented in Python from abi.h); without the flag the bits are ignored."""
    setup_chains(dp, hook)
    fam, local, remote, lport, rport = key_for(hook, "v4")
    key = tcp2_key(fam, local, remote) if selector == "tcp2" else tcp4_key(fam, local, lport, remote, rport)
    bind(dp, hook, **{selector: 2})
    dp.sel_chain(hook, [(selector, "or")], flags=SEL_F_PREFILTER)
    assert window_after(dp, hook) is None      # bit clear: a miss, the binding is not looked up
    dp.prefilter_add(hook, key)
    assert window_after(dp, hook) == 200       # bit set: the lookup decides
    dp.sel_chain(hook, [(selector, "or")])
    assert window_after(dp, hook) == 200       # flag clear: prefilter not consulted
