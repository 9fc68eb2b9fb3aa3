"""Benchmark, not a test (not collected by default; run it by name):

    EMPTCP_BIN=… EMPTCP_BPF_DIR=… python3 -m pytest -q -s tests/controllers/bench_runtime_binding.py

For 200 MPTCP connections, the time from a controller receiving the connection's establishment
event (ESTABLISHED / SUB_ESTABLISHED from the kernel's path manager) to the daemon's reply that
the runtime binding is in the live generation of the map (read back), measured at the controller;
as a ratio to one plain request round trip on the daemon's socket (`bindings`) of the same run.
Prints one Markdown table for BENCHMARKS.md."""

import statistics
import time

import pytest

from lab import MptcpClient, MptcpServer
from lab.daemon_request import daemon_request

from tests.events.live import Daemon

from .control import Session
from .test_controllers import METERED, PORT

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

RUNS = 200


def test_bench_established_to_runtime_binding(lab, client_emptcp, monkeypatch):
    e, f = client_emptcp, lab.family
    e("attach", "c1", "c2")
    e.commit(METERED, "metered chain")
    daemon = Daemon(e, lab.client, monkeypatch)
    MptcpServer(lab.server, PORT)
    session = Session(daemon.sock, "bench")
    bind_ms, rtt_ms = [], []
    try:
        for _ in range(RUNS):
            cl = MptcpClient(lab.client, lab.paths[0].server(f), PORT)
            ev = session.wait_event(lambda d: d.get("event") in ("connection_established", "subflow_established") and d.get("subflow"))
            seen = time.monotonic()
            r = session.call("bind", hook="xdp", flow=ev["subflow"], chain="metered")
            bind_ms.append((time.monotonic() - seen) * 1000)
            assert r["ok"], r
            session.events.clear()
            t = time.monotonic()
            daemon_request(daemon.sock, {"schema": 1, "op": "bindings"})
            rtt_ms.append((time.monotonic() - t) * 1000)
            cl.close()
    finally:
        session.close()
    daemon.stop()
    base = statistics.median(rtt_ms)
    med, mx = statistics.median(bind_ms), max(bind_ms)
    print()
    print(f"### Controllers: establishment event → runtime binding in the map ({RUNS} connections)")
    print()
    print("| measure | median | max | median / request round trip | max / request round trip |")
    print("|---|---:|---:|---:|---:|")
    print(f"| event received → bind reply (kernel holds it, live generation) | {med:.2f} ms | {mx:.2f} ms | {med / base:.2f}× | {mx / base:.2f}× |")
    print(f"| one `bindings` request round trip (new connection) | {base:.2f} ms | {max(rtt_ms):.2f} ms | 1.00× | {max(rtt_ms) / base:.2f}× |")
