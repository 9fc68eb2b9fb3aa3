"""Per-packet cost of the actors set_flow_prio, recover_add_addr, record and catch_mptcp_events
with BPF_PROG_TEST_RUN (not a test; run as root, from the repository root):
    python3 -m bench.actor_cost [--repeat 1000000] [--rounds 5] [--single 20000] [--json]

Each case runs the hook's entry program with the `tcp` selector and a one-actor chain, in the
same run as the bare pass program of that hook (build/bpf/<hook>/pass.o); reported as
ns/packet (median of --rounds) and as a ratio to pass.

BPF_PROG_TEST_RUN with `repeat` runs the program again on the same buffer, so an edit made by
the first run is seen by the next: set_flow_prio inserts once and then takes its "already
present" path. The insertion itself is therefore measured with repeat 1 over --single runs
(BPF_PROG_TEST_RUN called directly, a fresh copy of the frame each time; median), against pass
measured the same way, interleaved; those numbers carry the per-call timer overhead and are only
comparable with each other. Ring-buffer cases run in batches below the ring size, drained
between batches, and fail if a record was lost."""
import argparse
import json
import statistics
import struct
import sys

from bench.common import interleaved_ns
from lab.bpf import ProgRun
from lab.dataplane import DataPlane
from lab.frames import DSS4, TS, tcp_pkt

MPC_ACK = bytes([30, 20, 0x01, 0x81]) + bytes(range(16))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--single", type=int, default=20000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    dp = DataPlane()
    res = {}

    def report(key, n, b):
        res[key] = {"ns": round(n, 1), "bare_ns": round(b, 1), "ratio": round(n / b, 2)}
        if not a.json:
            print(f"{key:52} {n:8.1f} ns  bare {b:6.1f} ns  x{n / b:.2f}", flush=True)

    def measure(hook, name, p, actors, batch=None):
        dp.reset()
        dp.use(hook, actors, slot_names=[x[0] for x in actors])
        dp.ring().drain()
        ns, base = interleaved_ns(dp, hook, p, a.rounds, a.repeat, batch=batch)
        c = dp.counters(hook)
        if c["ringbuf_full"] or c["malformed"] or c["bad_options"]:
            raise SystemExit(f"{hook}:{name}: unexpected counters {c}")
        report(f"{hook}:{name}", statistics.median(ns), statistics.median(base))

    def measure_single(hook, name, frames, actors):
        """repeat 1, a fresh frame per run (frames[i % len]), interleaved with pass."""
        dp.reset()
        dp.use(hook, actors, slot_names=[x[0] for x in actors])
        entry, bare = ProgRun(dp.prog(hook, "entry")), ProgRun(dp.prog(hook, "pass"))
        ns, base = [], []
        try:
            for i in range(a.single):
                f = frames[i % len(frames)]
                base.append(bare.run(f))
                ns.append(entry.run(f))
                if i % 1000 == 999:
                    dp.ring().drain()
        finally:
            entry.close()
            bare.close()
        c = dp.counters(hook)
        if c["ringbuf_full"] or c["malformed"] or c["bad_options"]:
            raise SystemExit(f"{hook}:{name}: unexpected counters {c}")
        report(f"{hook}:{name} (repeat 1)", statistics.median(ns), statistics.median(base))

    try:
        prio = ("set_flow_prio", bytes([1, 0, 0]))
        ack = tcp_pkt("v4", opts=TS + DSS4)
        acked = tcp_pkt("v4", opts=TS + DSS4 + bytes([30, 3, 0x51, 1]))
        for hook in ("xdp", "tc"):
            measure(hook, "entry, tcp selector, empty chain", ack, [])
            measure(hook, "set_flow_prio, MP_PRIO present (skip)", acked, [prio])
            measure_single(hook, "set_flow_prio insert", [ack], [prio])
            measure_single(hook, "entry, tcp selector, empty chain", [ack], [])
        measure("xdp", "recover_add_addr, state unchanged", ack, [("recover_add_addr", b"")])
        changing = [tcp_pkt("v4", opts=TS + DSS4, ack=1000 + i) for i in range(16)]
        measure_single("xdp", "recover_add_addr, ack changes every packet", changing,
                       [("recover_add_addr", b"")])
        measure("xdp", "record pkt+flow+rtt, same TSecr", ack, [("record", bytes([7]))])
        measure("xdp", "record pkt+flow", ack, [("record", bytes([3]))])
        new_ecr = [tcp_pkt("v4", opts=bytes([1, 1, 8, 10]) + struct.pack("!II", 5, 100 + i))
                   for i in range(1024)]
        measure_single("xdp", "record rtt, new TSecr (socket lookup)", new_ecr,
                       [("record", bytes([7]))])
        measure("tc", "catch_mptcp_events, no event (TS+DSS)", ack,
                [("catch_mptcp_events", b"")])
        measure("tc", "catch_mptcp_events, MP_CAPABLE record", tcp_pkt("v4", opts=MPC_ACK + TS),
                [("catch_mptcp_events", b"")], batch=4000)
        if a.json:
            json.dump(res, sys.stdout, indent=1)
    finally:
        dp.close()


if __name__ == "__main__":
    main()
