"""Live repair: how long after `emptcp rollback` returns the kernel shows the repaired
connection, and the daemon's memory over many injections.

  repair     per run: commit `rm_add_addr` on path 1, open one MPTCP connection (the server's
             ADD_ADDR is removed), wait until the server stopped retransmitting it, run
             `emptcp rollback` with the daemon running, then poll MPTCP_INFO until the
             connection has its second subflow. Time = rollback returned -> second subflow seen
             (the rollback hands the repair over and the daemon injects before answering, so
             this is mostly the join's own handshake), and rollback started -> seen (whole
             command: process start, store, apply, hand-over, injection, join).
  join       the same connection set-up without emptcp's policy: connect() returned -> second
             subflow seen (the kernel's own join after an ADD_ADDR); the ratio repair/join puts
             the repair in units of what the kernel takes anyway.
  memory     daemon VmRSS before, during (every N/10) and after N MP_PRIO B=0 injections (each
             one verified on the path manager's events and audited), requested over the
             daemon's socket. SQLite's page cache (2 MiB by default) fills during the first
             thousands; flat means the second half adds nothing.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench.common import log, stats
from lab import ADD_ADDR_SETTLE_S, Emptcp, Lab, MptcpClient, MptcpServer, policy, tcp2
from lab.daemon_request import daemon_request

PORT = 5241
NEUTRAL = {"selectors": {"xdp": [{"tcp2": "or"}]}, "chains": {"count": [{"record": {"pkt": True}}]}, "bindings": []}


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _wait_join(cl: MptcpClient, t0: float, timeout: float = 10.0) -> float | None:
    while time.perf_counter() - t0 < timeout:
        if cl.info().get("subflows", 0) >= 1:
            return time.perf_counter() - t0
    return None


def run(emptcp_bin: str, bpf_dir: Path, runs: int, injections: int) -> dict:
    with Lab(signal_family=4, tag="l") as lab:
        e = Emptcp(lab.client, lab.tmp / "emptcp", binary=emptcp_bin)
        env = e.env()
        env["EMPTCP_BPF_DIR"] = str(bpf_dir)
        sock = str(e.workdir / "daemon.sock")
        env["EMPTCP_DAEMON_SOCKET"] = sock
        e.env = lambda: env  # every emptcp call of this part talks to this daemon
        try:
            p1 = lab.paths[0]
            strip = policy(xdp=[("tcp2", "or")], chains={"strip": [{"rm_add_addr": {}}]},
                           bindings=[tcp2("xdp", p1.client(4), p1.server(4), "strip")])
            e("attach", "c1", "c2")
            e.commit(NEUTRAL, "neutral")
            MptcpServer(lab.server, PORT)

            join = []
            for _ in range(runs):
                with MptcpClient(lab.client, p1.server(4), PORT) as cl:
                    t = _wait_join(cl, time.perf_counter())
                if t is not None:
                    join.append(t)

            daemon = lab.client.popen([emptcp_bin, "daemon"], env=env)
            while not Path(sock).exists():
                time.sleep(0.05)
            repair, whole, missed = [], [], 0
            for i in range(runs):
                e.commit(strip, f"strip {i}")
                with MptcpClient(lab.client, p1.server(4), PORT) as cl:
                    time.sleep(ADD_ADDR_SETTLE_S)  # no retransmitted ADD_ADDR left to join by itself
                    start = time.perf_counter()
                    e("rollback")
                    returned = time.perf_counter()
                    t = _wait_join(cl, returned)
                    if t is None:
                        missed += 1
                    else:
                        repair.append(t)
                        whole.append(returned - start + t)
            log(f"live: {len(repair)} repairs, {missed} missed")

            # Memory: MP_PRIO B=0 on one live subflow, verified each time (SUB_PRIORITY).
            memory = {}
            with MptcpClient(lab.client, p1.server(4), PORT) as cl:
                cl.wait_subflows(1)
                flow = f"{p1.client(4)}:{cl.local_port}-{p1.server(4)}:{PORT}"
                warm = min(1000, injections // 10)
                for _ in range(warm):
                    daemon_request(sock, {"op": "restore-prio", "flow": flow})
                before = _rss_kb(daemon.pid)
                seen, samples = 0, []
                step = max(1, injections // 10)
                t0 = time.perf_counter()
                for i in range(injections):
                    seen += daemon_request(sock, {"op": "restore-prio", "flow": flow}).get("ok", False)
                    if (i + 1) % step == 0:
                        samples.append(_rss_kb(daemon.pid))
                elapsed = time.perf_counter() - t0
                after = _rss_kb(daemon.pid)
                half = samples[len(samples) // 2 - 1] if len(samples) >= 2 else before
                memory = {"injections": injections, "seen": seen, "rss_before_kb": before, "rss_after_kb": after,
                          "rss_samples_kb": samples, "rss_half_kb": half,
                          "ratio": after / before if before else None, "second_half_ratio": after / half if half else None,
                          "per_injection_ms": elapsed * 1000 / injections}
            with sqlite3.connect(e.db) as db:
                audited = db.execute("SELECT count(*) FROM audit WHERE action = 'inject'").fetchone()[0]
            daemon.terminate()
            daemon.wait(timeout=30)
            rs, js, ws = stats(repair), stats(join), stats(whole)
            return {"runs": runs, "repair": rs, "whole": ws, "join": js, "missed": missed, "memory": memory, "audited": audited,
                    "ratio_median": rs["median"] / js["median"] if rs["median"] and js["median"] else None,
                    "ratio_max": rs["max"] / js["max"] if rs["max"] and js["max"] else None}
        finally:
            e.close()
