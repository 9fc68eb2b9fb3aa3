"""Fixtures of the fleet suite: one PostgreSQL server and one fleet of hosts per module.

The host count is EMPTCP_FLEET_HOSTS (default 10, the CI form; 100 is the full form)."""

from __future__ import annotations

import os

import pytest

from lab.fixtures import require_kernel_lab
from lab.emptcp import require
from lab.fleet import Fleet, FleetHost, Postgres, pg_bindir


def fleet_host_count() -> int:
    return int(os.environ.get("EMPTCP_FLEET_HOSTS", "10"))


@pytest.fixture(scope="module")
def pg():
    require_kernel_lab()
    try:
        pg_bindir()
    except Exception as e:  # noqa: BLE001 (the reason is what matters)
        require(False, str(e))
    with Postgres() as server:
        yield server


@pytest.fixture(scope="module")
def fleet(pg):
    return Fleet(pg)


@pytest.fixture(scope="module")
def hosts(fleet):
    made: list[FleetHost] = []
    try:
        for i in range(fleet_host_count()):
            made.append(FleetHost(fleet, i))
        for h in made:
            h.start_follower()
        yield made
    finally:
        failed = [h for h in made if h.log_path.exists()]
        for h in failed[:3]:
            print(f"--- {h.name} follow.log (tail)\n" + "\n".join(h.log_path.read_text().splitlines()[-15:]))
        for h in made:
            h.close()
