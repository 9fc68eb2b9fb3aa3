"""Building blocks the MPTCP integration tests share: policies in the policy-file format
(docs/store.md), and one observed connection (what the client's stack did with it)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .lab import Lab
from .traffic import MptcpClient, mptcp_sockets, tcp_subflows

FALLBACK_COUNTERS = (
    "MPTcpExtMPCapableDataFallback", "MPTcpExtDssFallback", "MPTcpExtMPCapableFallbackACK",
    "MPTcpExtMPCapableFallbackSYNACK", "MPTcpExtDSSCorruptionFallback", "MPTcpExtFallbackFailed",
)

# After the last ADD_ADDR copy would have been sent (the 4th, 1.46 s after the first: docs/lab.md)
# plus margin.
# Not a timing assertion: the test only waits this long before reading the outcome.
ADD_ADDR_SETTLE_S = 4.0


def policy(*, xdp: list | None = None, tc: list | None = None, chains: dict | None = None,
           bindings: list | None = None) -> dict:
    """A policy file as a dict (commit writes it as JSON, which the policy parser reads like YAML)."""
    selectors = {}
    if xdp is not None:
        selectors["xdp"] = [{s: op} for s, op in xdp]
    if tc is not None:
        selectors["tc"] = [{s: op} for s, op in tc]
    return {"selectors": selectors, "chains": chains or {}, "bindings": bindings or []}


def tcp2(hook: str, local: str, remote: str, chain: str) -> dict:
    return {"hook": hook, "selector": "tcp2", "local": local, "remote": remote, "chain": chain}


@dataclass
class Observed:
    """What one MPTCP connection looked like from both namespaces."""
    info: dict
    subflows: list[str]
    ss_mptcp: str
    client_delta: dict[str, int] = field(default_factory=dict)
    server_delta: dict[str, int] = field(default_factory=dict)

    @property
    def subflow_count(self) -> int:
        return len(self.subflows)

    def fallback_counters(self) -> dict[str, int]:
        both = {f"client.{k}": self.client_delta.get(k, 0) for k in FALLBACK_COUNTERS}
        both.update({f"server.{k}": self.server_delta.get(k, 0) for k in FALLBACK_COUNTERS})
        return {k: v for k, v in both.items() if v}

    def describe(self) -> str:
        return (f"info={self.info}\nsubflows={self.subflows}\nss -M:\n{self.ss_mptcp}\n"
                f"client counters={self.client_delta}\nserver counters={self.server_delta}")


def _delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def observe_connection(lab: Lab, port: int, *, family: int = 4, expect_join: bool,
                       rate_kbps: int = 200, during=None) -> Observed:
    """Opens one MPTCP connection on path 1 and keeps it open until the outcome is settled:
    with `expect_join`, until the second subflow appears (or 10 s pass); without, for
    ADD_ADDR_SETTLE_S so every ADD_ADDR copy has had its chance. `during(client)` runs while
    the connection is open. Counter values are deltas over the connection's lifetime."""
    c0, s0 = lab.client.mptcp_counters(), lab.server.mptcp_counters()
    with MptcpClient(lab.client, lab.paths[0].server(family), port, rate_kbps=rate_kbps) as cl:
        if expect_join:
            cl.wait_subflows(1, timeout=10)
            time.sleep(0.5)  # let a (wrong) third subflow show up too, if any
        else:
            time.sleep(ADD_ADDR_SETTLE_S)
        if during is not None:
            during(cl)
        info = cl.info()
        subflows = tcp_subflows(lab.client, port)
        ss_m = mptcp_sockets(lab.client, port)
    c1, s1 = lab.client.mptcp_counters(), lab.server.mptcp_counters()
    return Observed(info, subflows, ss_m, _delta(c1, c0), _delta(s1, s0))
