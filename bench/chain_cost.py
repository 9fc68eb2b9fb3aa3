"""Per-packet cost of selector and action chains of different shapes, with BPF_PROG_TEST_RUN
(not a test; run as root, from the repository root):
    python3 -m bench.chain_cost [--repeat 1000000] [--rounds 5] [--json]
Every case is measured in the same run as the bare pass-through program of its hook and reported
as ns/packet and as a ratio to it, bare and case interleaved round by round. Reported: the
minimum over --rounds (the least disturbed run: other work shares this machine) and the median.
The ADD_ADDR-removal case runs with a ring-buffer consumer: its record must really be written,
so it runs in batches smaller than the ring (drained between batches) and fails if any record
was lost (ringbuf_full counter)."""
import argparse
import json
import statistics
import sys

from bench.common import interleaved_ns
from lab.abi import SEL_F_PREFILTER
from lab.dataplane import DataPlane, recv_win_param, tcp2_key, tcp4_key
from lab.frames import ADD_ADDR4, DSS4, TS, tcp_pkt

L, R = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])  # lab.frames' V4 local and remote


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    dp = DataPlane()
    res = {}
    try:
        def measure(hook, name, p, setup, prog="entry", repeat=None):
            dp.reset()
            setup()
            # `repeat`: the ring-buffer case, run in batches below the ring size
            ns, base = interleaved_ns(dp, hook, p, a.rounds, a.repeat, prog=prog, batch=repeat)
            b, n = min(base), min(ns)
            bm, nm = statistics.median(base), statistics.median(ns)
            res[f"{hook}:{name}"] = {"bare_ns": b, "ns": n, "ratio": round(n / b, 2),
                                     "bare_median_ns": bm, "median_ns": nm,
                                     "median_ratio": round(nm / bm, 2)}
            c = dp.counters(hook)
            if c["ringbuf_full"] or c["tail_call_fail"] or c["no_chain"]:
                raise SystemExit(f"{hook}:{name}: unexpected counters {c}")
            if not a.json:
                print(f"{hook:3} {name:40} min {n:6.1f} ns / bare {b:5.1f} = x{n / b:.2f}"
                      f"   median {nm:6.1f} / {bm:5.1f} = x{nm / bm:.2f}", flush=True)

        for hook in ("xdp", "tc"):
            lk = tcp4_key(4, L, 5201, R, 40000) if hook == "xdp" else tcp4_key(4, R, 40000, L, 5201)
            lk2 = tcp2_key(4, L, R) if hook == "xdp" else tcp2_key(4, R, L)
            other4 = tcp4_key(4, L, 5201, R, 1) if hook == "xdp" else tcp4_key(4, R, 1, L, 5201)
            p = tcp_pkt("v4", opts=DSS4 + TS)
            win = ("set_recv_win", recv_win_param(1600))
            rm = ("rm_add_addr", b"")

            def no_chain():
                pass

            def no_binding():
                dp.sel_chain(hook, [("tcp4", "or")])
                dp.chain(hook, 1, [win])
                dp.bind_tcp4(hook, other4, 1)

            def no_binding_prefilter():
                dp.sel_chain(hook, [("tcp4", "or")], flags=SEL_F_PREFILTER)
                dp.chain(hook, 1, [win])
                dp.bind_tcp4(hook, other4, 1)
                dp.prefilter_add(hook, other4)

            def win_rm_prefilter():
                dp.sel_chain(hook, [("tcp4", "or")], flags=SEL_F_PREFILTER)
                dp.chain(hook, 1, [win, rm])
                dp.bind_tcp4(hook, lk, 1)
                dp.prefilter_add(hook, lk)

            def one_one():
                dp.sel_chain(hook, [("tcp4", "or")])
                dp.chain(hook, 1, [win])
                dp.bind_tcp4(hook, lk, 1)

            def two_two():
                dp.sel_chain(hook, [("tcp4", "or"), ("tcp2", "or")])
                dp.chain(hook, 1, [win, rm])
                dp.bind_tcp4(hook, other4, 1)
                dp.bind_tcp2(hook, lk2, 1)

            def win_rm():
                dp.sel_chain(hook, [("tcp4", "or")])
                dp.chain(hook, 1, [win, rm])
                dp.bind_tcp4(hook, lk, 1)

            def longest():
                dp.sel_chain(hook, [("tcp4", "and"), ("tcp2", "and")] * 3 + [("tcp", "and"), ("tcp4", "and")])
                dp.chain(hook, 1, [win, rm] * 4)
                dp.bind_tcp4(hook, lk, 1)
                dp.bind_tcp2(hook, lk2, 1)
                dp.bind_tcp(hook, 1)

            measure(hook, "entry, no selector chain", p, no_chain)
            measure(hook, "entry, tcp4 chain, no binding", p, no_binding)
            measure(hook, "entry, tcp4 chain, no binding, prefilter", p, no_binding_prefilter)
            measure(hook, "1+1 tcp4 -> set_recv_win", p, one_one)
            measure(hook, "1+1 tcp4 -> [set_recv_win,rm_add_addr]", p, win_rm)
            measure(hook, "1+1 tcp4 -> [win,rm], prefilter", p, win_rm_prefilter)
            measure(hook, "2+2 miss tcp4, tcp2 -> [win,rm]", p, two_two)
            measure(hook, "longest 8 sel (and) + 8 actors", p, longest)
            if hook == "xdp":
                measure(hook, "rm_add_addr drop + ring record", tcp_pkt("v4", opts=ADD_ADDR4), win_rm, repeat=4000)
            else:
                measure(hook, "rm_add_addr drop", tcp_pkt("v4", opts=ADD_ADDR4), win_rm)
        if a.json:
            json.dump(res, sys.stdout, indent=1)
    finally:
        dp.close()


if __name__ == "__main__":
    main()
