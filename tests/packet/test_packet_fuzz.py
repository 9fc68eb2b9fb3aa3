"""Mutated packets through every actor on both hooks (BPF_PROG_TEST_RUN), each judged twice:

- by a plain-Python reading of the frame (fuzz_frames): the program returns pass or drop, and
  only rm_add_addr and set_flow_prio may drop; record, recover_add_addr and catch_mptcp_events
  never change a byte; a frame the kernel's receive path would drop (lengths or version that
  disagree, TCP header outside the IP packet) passes unchanged; after rm_add_addr no ADD_ADDR
  the kernel's option walk would read is left; a rewritten frame changes only what its actor
  may change, its IP lengths agree with the frame, its TCP checksum is right exactly when the
  input's was;
- by tshark, every rewritten frame with its input (fuzz_tshark): checksums, lengths, every field
  outside the rewrite.

This is the short form (300 frames per actor and hook, fixed seed), part of the packet suite,
plus every failing frame a run has found (fuzz_regressions.txt). The long form, a million frames
over both cores, is `python3 tests/packet/fuzz_long.py` (scripts/reliability.sh runs it)."""
import os
from pathlib import Path

import pytest

from frame_checks import csum
from fuzz_frames import ACTORS, PARAMS, check
from fuzz_run import Runner, run_chunk
from fuzz_tshark import check_pairs
from lab.frames import ADD_ADDR4, DSS4, tcp_pkt

FRAMES = int(os.environ.get("EMPTCP_FUZZ_FRAMES", "300"))
SEED = int(os.environ.get("EMPTCP_FUZZ_SEED", "4242"))
REGRESSIONS = Path(__file__).with_name("fuzz_regressions.txt")
PAIRS = [(h, a) for h in ACTORS for a in ACTORS[h]]


def regressions():
    """One param per line `[open] hook actor frame-hex  # why` of fuzz_regressions.txt; an `open`
    line is a finding not fixed yet: a strict xfail, so the fix shows as XPASS and fails until
    the line loses its `open`."""
    out = []
    for n, line in enumerate(REGRESSIONS.read_text().splitlines(), 1):
        words = line.split("#")[0].split()
        if not words:
            continue
        is_open = words[0] == "open"
        hook, actor, frame = words[is_open:is_open + 3]
        marks = [pytest.mark.xfail(strict=True, reason=line.split("#", 1)[-1].strip())] if is_open else []
        out.append(pytest.param(hook, actor, bytes.fromhex(frame), id=f"line{n}-{hook}-{actor}", marks=marks))
    return out


@pytest.mark.kernel
@pytest.mark.parametrize("hook,actor", PAIRS)
def test_mutated_frames(dp, hook, actor):
    res = run_chunk(dp, hook, actor, SEED, 0, FRAMES)
    assert not res.failures, "\n".join(f"seed {SEED} {hook} {actor}: {why}\nin  {i}\nout {o}"
                                       for why, i, o in res.failures[:5])
    assert res.tried + res.refused == FRAMES
    if actor in ("set_recv_win", "set_flow_prio", "rm_add_addr"):
        assert res.rewritten > 0, "no frame was rewritten: the mutations never reach the actor"


@pytest.mark.kernel
@pytest.mark.parametrize("hook,actor,frame", regressions())
def test_frames_a_fuzz_run_found(dp, hook, actor, frame):
    """A frame of fuzz_regressions.txt through its actor, judged as in the fuzz."""
    dp.use(hook, [(actor, PARAMS.get(actor, b""))], slot_names=[actor])
    runner = Runner(dp.prog(hook, "entry"))
    try:
        ret, after = runner.run(frame)
    finally:
        runner.close()
    check(actor, hook, frame, ret, after)
    assert after == frame or not check_pairs(actor, [(frame, after)]), check_pairs(actor, [(frame, after)])


def _fix_tcp_checksum(frame, l4):
    f = bytearray(frame)
    f[l4 + 16:l4 + 18] = b"\0\0"
    seg = bytes(f[l4:])
    pseudo = f[26:34] + bytes([0, 6]) + len(seg).to_bytes(2, "big")
    f[l4 + 16:l4 + 18] = (0xFFFF - csum(bytes(pseudo) + seg)).to_bytes(2, "big")
    return bytes(f)


def test_tshark_judge_catches_what_it_checks():
    """The tshark judge is not a formality: a window rewrite with a stale checksum, a port
    changed by set_recv_win, an ADD_ADDR left by rm_add_addr with the length grown, and an IP
    length past the frame are each reported; the honest rewrite is not."""
    before = tcp_pkt("v4", opts=ADD_ADDR4 + DSS4, payload=b"x" * 7)
    l4 = 34
    win = bytearray(before)
    win[l4 + 14:l4 + 16] = (777).to_bytes(2, "big")
    honest = _fix_tcp_checksum(win, l4)
    port = bytearray(honest)
    port[l4:l4 + 2] = (1).to_bytes(2, "big")
    longer = bytearray(_fix_tcp_checksum(win, l4))
    longer[16:18] = (int.from_bytes(longer[16:18], "big") + 40).to_bytes(2, "big")
    nop = bytearray(before)
    nop[l4 + 36:l4 + 44] = b"\x01" * 8  # the DSS removed, the ADD_ADDR kept
    cases = {"honest": honest, "stale checksum": bytes(win), "port": _fix_tcp_checksum(port, l4),
             "length": bytes(longer)}
    found = {name: [f for _, f in check_pairs("set_recv_win", [(before, after)])] for name, after in cases.items()}
    assert found["honest"] == []
    assert any("TCP checksum" in f for f in found["stale checksum"])
    assert any("tcp.srcport" in f for f in found["port"])
    assert any("IP length" in f for f in found["length"])
    assert check_pairs("rm_add_addr", [(before, _fix_tcp_checksum(nop, l4))]) == []
    grown = bytearray(before)
    grown[l4 + 38] = 0x30  # ADD_ADDR subtype written over the DSS: one more announcement
    assert any("more announcing" in f for _, f in check_pairs("rm_add_addr", [(before, _fix_tcp_checksum(grown, l4))]))
