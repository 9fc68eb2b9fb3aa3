"""Fleet propagation benchmark (not a test): a private PostgreSQL and N hosts (namespaces with their
own veth, pin root, database and follower), then C fleet commits. For each commit, each host's
propagation time is from the revision's creation (server clock) to the moment the host recorded
it applied (host clock; one machine, one clock). Reports the median over all hosts and commits,
the median of each commit's slowest host and the slowest overall, and the followers' RSS.

    python3 -m bench.fleet --hosts 10 --commits 20 [--bin .build/release/emptcp] [--write]

--write replaces the fleet block of BENCHMARKS.md (bench/report.py keeps that block when it
rewrites the page)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from bench.common import REPO, log
from lab.fleet import Fleet, FleetHost, Postgres

BEGIN, END = "<!-- fleet:begin -->", "<!-- fleet:end -->"


def window_policy(window: int) -> dict:
    return {"selectors": {"xdp": [{"tcp2": "or"}]}, "chains": {"slow": [{"set_recv_win": {"window": window}}]},
            "bindings": [{"hook": "xdp", "selector": "tcp2", "local": "10.99.0.1", "remote": "10.99.0.2", "chain": "slow"}]}


def run(n_hosts: int, commits: int) -> dict:
    with Postgres(tag="bench") as pg:
        fleet = Fleet(pg)
        hosts: list[FleetHost] = []
        try:
            t0 = time.monotonic()
            for i in range(n_hosts):
                hosts.append(FleetHost(fleet, i, heartbeat=10))
            for h in hosts:
                h.start_follower()
            setup_s = time.monotonic() - t0
            first = fleet.commit(window_policy(1000), "warm-up")
            fleet.wait(first, n_hosts, timeout=600)
            per_host: list[float] = []
            slowest: list[float] = []
            for c in range(commits):
                rev = fleet.commit(window_policy(1001 + c), f"bench {c}")
                fleet.wait(rev, n_hosts, timeout=600)
                # From the database: the CLI's JSON prints times to the second.
                rows = pg.psql(f"SELECT extract(epoch FROM h.applied_at - r.created_at) FROM fleet_host h, fleet_revision r "
                               f"WHERE r.id = {rev}", database=fleet.database).stdout.split()
                times = [float(x) for x in rows]
                per_host += times
                slowest.append(max(times))
            rss = [h.rss_kib() for h in hosts]
            return {"hosts": n_hosts, "commits": commits, "setup_s": round(setup_s, 1),
                    "median_ms": round(statistics.median(per_host) * 1000, 1),
                    "median_slowest_ms": round(statistics.median(slowest) * 1000, 1),
                    "slowest_ms": round(max(slowest) * 1000, 1),
                    "rss_median_mib": round(statistics.median(rss) / 1024, 1), "rss_max_mib": round(max(rss) / 1024, 1)}
        finally:
            for h in hosts:
                h.close()


def block(results: list[dict], command: str) -> str:
    lines = [BEGIN, "## Fleet propagation", "",
             f"`{command}`: one machine as a fleet (private PostgreSQL on a unix socket; each host a namespace with "
             "its own veth, pin root, SQLite store and `emptcp fleet follow`, attached in generic XDP). Propagation: "
             "from the fleet revision's creation to the host's record of the apply (store commit + kernel apply "
             "included). Ratios compare 100 hosts with 10.", "",
             "| hosts | commits | median | median of slowest host | slowest | follower RSS median / max |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['hosts']} | {r['commits']} | {r['median_ms']} ms | {r['median_slowest_ms']} ms | {r['slowest_ms']} ms | "
                     f"{r['rss_median_mib']} / {r['rss_max_mib']} MiB |")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        lines += ["", f"{b['hosts']} vs {a['hosts']} hosts: median ×{b['median_ms'] / a['median_ms']:.2f}, "
                      f"median slowest ×{b['median_slowest_ms'] / a['median_slowest_ms']:.2f}, "
                      f"RSS per follower ×{b['rss_median_mib'] / a['rss_median_mib']:.2f}."]
    lines.append(END)
    return "\n".join(lines)


def write(text: str) -> None:
    md = REPO / "BENCHMARKS.md"
    old = md.read_text() if md.exists() else ""
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    md.write_text(new)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", default="10,100", help="comma list of fleet sizes")
    ap.add_argument("--commits", type=int, default=20)
    ap.add_argument("--bin", default=None, help="emptcp binary (default: $EMPTCP_BIN or the debug build)")
    ap.add_argument("--write", action="store_true", help="update the fleet block of BENCHMARKS.md")
    a = ap.parse_args()
    if a.bin:
        os.environ["EMPTCP_BIN"] = a.bin
    results = []
    for n in (int(x) for x in a.hosts.split(",")):
        log(f"fleet: {n} hosts, {a.commits} commits")
        results.append(run(n, a.commits))
        log(json.dumps(results[-1]))
    text = block(results, f"python3 -m bench.fleet --hosts {a.hosts} --commits {a.commits}")
    print(text)
    if a.write:
        write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
