"""The contract for a frame whose lengths cannot be trusted: with a chain that would rewrite any
TCP packet bound, the frame passes byte for byte, counted as malformed and never as a target."""
from lab.dataplane import PASS, recv_win_param


def assert_malformed_passes_unchanged(dp, hook, pkt):
    dp.sel_chain(hook, [("tcp", "or")])
    dp.chain(hook, 1, [("set_recv_win", recv_win_param(100)), ("rm_add_addr", b"")])
    dp.bind_tcp(hook, 1)
    ret, out, _ = dp.run(hook, pkt)
    assert ret == PASS[hook]
    assert out == pkt
    c = dp.counters(hook)
    assert c["malformed"] == 1 and c["target"] == 0
