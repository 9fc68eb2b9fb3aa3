"""MPTCP throughput over the lab's two veth pairs with `mptcpize run iperf3 -C cubic`.

Lab variant: the client has a `subflow` endpoint on its second interface and the server no
`signal` endpoint, so every connection has exactly 2 subflows (one per veth pair) without any
ADD_ADDR: the chain under test may then hold `rm_add_addr` on every packet without changing the
topology. Modes, interleaved in every repetition, for each XDP attach mode M (native: emptcp's default
on veth; generic):
  none     no programs
  pass/M   bare pass programs on both hooks of both client interfaces (XDP in mode M, TC as a
           clsact cls_bpf filter): the floor for that attach mode
  empty/M  emptcp attached (`--xdp-mode M`, tc tcx), no binding
  chain/M  emptcp attached, every packet through 2 selectors + 2 actors on both hooks:
           selectors [tcp2 and, tcp and], chain [set_recv_win {65535}, rm_add_addr]
Directions: `up` (client sends: TC egress sees data, XDP sees ACKs) and `down` (iperf3 -R: the
client's XDP sees the data).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from bench.common import REPO, log, stats
from lab import Emptcp, Lab, LabError

PORT = 5301
XDP_MODES = ("native", "generic")
MODES = ("none",) + tuple(f"{k}/{m}" for m in XDP_MODES for k in ("pass", "empty", "chain"))


def chain_policy(lab: Lab) -> dict:
    p1, p2 = lab.paths
    binds = []
    for hook in ("xdp", "tc"):
        for local in (p1.client4, p2.client4):
            binds.append({"hook": hook, "selector": "tcp2", "local": local, "remote": p1.server4, "chain": "every"})
        binds.append({"hook": hook, "selector": "tcp", "chain": "every"})
    sel = [{"tcp2": "and"}, {"tcp": "and"}]
    return {"selectors": {"xdp": sel, "tc": sel},
            "chains": {"every": [{"set_recv_win": {"window": 65535}}, {"rm_add_addr": {}}]},
            "bindings": binds}


def empty_policy() -> dict:
    return {"selectors": {"xdp": [{"tcp2": "or"}], "tc": [{"tcp2": "or"}]},
            "chains": {"every": [{"set_recv_win": {"window": 65535}}]}, "bindings": []}


class ThroughputLab:
    def __init__(self, emptcp_bin: str, bpf_dir: Path):
        self.lab = Lab(signal_family=None, client_subflow_endpoint=True, tag="b")
        self.bpf_dir = bpf_dir
        self.emptcp = Emptcp(self.lab.client, self.lab.tmp / "emptcp", binary=emptcp_bin)
        self.xdp_mode = None
        self.committed = None  # the policy of the current revision: an identical commit is refused
        self.server = self.lab.server.popen(["iperf3", "-s", "-p", str(PORT)], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def devs(self) -> list[str]:
        return [p.client_if for p in self.lab.paths]

    # -- modes ------------------------------------------------------------------------------
    def attach_ours(self, policy: dict, message: str, xdp_mode: str = "auto") -> None:
        self.emptcp("attach", "--xdp-mode", xdp_mode, *self.devs())  # applies the current revision
        if policy != self.committed:
            self.emptcp.commit(policy, message)
            self.committed = policy
        if self.xdp_mode is None:
            net = self.lab.client.out(["bpftool", "net", "show", "dev", self.devs()[0]])
            self.xdp_mode = "generic" if " generic " in net else "native" if " driver " in net else "unknown"

    def detach_ours(self) -> None:
        self.emptcp("detach", *self.devs())

    def attach_pass(self, xdp_mode: str) -> None:
        mode = "xdpdrv" if xdp_mode == "native" else "xdpgeneric"
        c = self.lab.client
        for dev in self.devs():
            c.run(["ip", "link", "set", "dev", dev, mode, "obj", str(self.bpf_dir / "xdp" / "pass.o"), "sec", "xdp"])
            c.run(["tc", "qdisc", "add", "dev", dev, "clsact"])
            c.run(["tc", "filter", "add", "dev", dev, "egress", "bpf", "da", "obj",
                   str(self.bpf_dir / "tc" / "pass.o"), "sec", "tc"])

    def detach_pass(self, xdp_mode: str) -> None:
        mode = "xdpdrv" if xdp_mode == "native" else "xdpgeneric"
        c = self.lab.client
        for dev in self.devs():
            c.run(["ip", "link", "set", "dev", dev, mode, "off"], check=False)
            c.run(["tc", "qdisc", "del", "dev", dev, "clsact"], check=False)

    # -- traffic ------------------------------------------------------------------------------
    def iperf(self, seconds: float, reverse: bool) -> dict:
        cmd = ["mptcpize", "run", "iperf3", "-c", self.lab.paths[0].server4, "-p", str(PORT),
               "-t", str(seconds), "-C", "cubic", "-J"]
        if reverse:
            cmd.append("-R")
        p = self.lab.client.run(cmd, check=False, timeout=seconds + 60)
        try:
            doc = json.loads(p.stdout)
        except json.JSONDecodeError:
            raise LabError(f"iperf3 printed no JSON (rc={p.returncode}): {p.stderr.strip()[-300:]}")
        if "error" in doc:
            raise LabError(f"iperf3: {doc['error']}")
        bps = doc["end"]["sum_received"]["bits_per_second"]
        return {"gbps": bps / 1e9}

    def subflows_now(self) -> int:
        out = self.lab.client.out(["ss", "-tnH", "state", "established", f"( dport = :{PORT} )"])
        return len([l for l in out.splitlines() if l.strip()])

    def close(self) -> None:
        try:
            self.emptcp.close()
        finally:
            self.lab.close()


def run(emptcp_bin: str, bpf_dir: Path, *, seconds: float, reps: int, directions=("up", "down")) -> dict:
    tl = ThroughputLab(emptcp_bin, bpf_dir)
    res = {d: {m: [] for m in MODES} for d in directions}
    errors: list[str] = []
    try:
        # Learn the XDP mode emptcp picks by itself (auto) on veth.
        tl.attach_ours(empty_policy(), "bench: learn attach mode")
        tl.detach_ours()
        log(f"throughput: emptcp's auto XDP mode here: {tl.xdp_mode}; {reps} x {len(MODES)} modes x "
            f"{len(directions)} directions x {seconds}s")
        for rep in range(reps):
            for mode in MODES:
                kind, _, xm = mode.partition("/")
                try:
                    if kind == "pass":
                        tl.attach_pass(xm)
                    elif kind == "empty":
                        tl.attach_ours(empty_policy(), "bench: no bindings", xm)
                    elif kind == "chain":
                        tl.attach_ours(chain_policy(tl.lab), "bench: 2+2 on every packet", xm)
                    for d in directions:
                        r = tl.iperf(seconds, reverse=(d == "down"))
                        res[d][mode].append(r["gbps"])
                        log(f"throughput rep {rep + 1} {mode:13s} {d:4s} {r['gbps']:.2f} Gbit/s")
                except (LabError, RuntimeError) as e:
                    errors.append(f"rep {rep + 1} {mode}: {e}")
                    log(f"throughput rep {rep + 1} {mode}: {e}")
                finally:
                    if kind == "pass":
                        tl.detach_pass(xm)
                    elif kind in ("empty", "chain"):
                        try:
                            tl.detach_ours()
                        except (LabError, RuntimeError) as e:
                            errors.append(f"detach: {e}")
    finally:
        tl.close()
    out = {"seconds": seconds, "reps": reps, "xdp_mode": tl.xdp_mode, "errors": errors, "directions": {}}
    for d in directions:
        table = {}
        for mode in MODES:
            vals = res[d][mode]
            xm = mode.partition("/")[2]
            none, floor = res[d]["none"], res[d].get(f"pass/{xm}", [])
            ratio_none = [v / n for v, n in zip(vals, none) if n] if vals and none else []
            ratio_floor = [v / f for v, f in zip(vals, floor) if f] if vals and floor else []
            table[mode] = {"gbps": stats(vals), "vs_none": stats(ratio_none), "vs_pass": stats(ratio_floor)}
        out["directions"][d] = table
    return out
