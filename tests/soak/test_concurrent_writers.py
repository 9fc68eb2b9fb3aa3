"""Concurrent writers on one store (writers.py): no corruption, no lost revision, a linear
history, one audit row per attempt, and every writer gets success or one clear line. Short form:
4 writers for 5 s; the long form (scripts/reliability.sh) runs 60 s
(EMPTCP_SOAK_WRITERS, EMPTCP_SOAK_WRITERS_SECONDS)."""
import os

from lab.emptcp import emptcp_bin

from . import writers

WRITERS = int(os.environ.get("EMPTCP_SOAK_WRITERS", "4"))
SECONDS = float(os.environ.get("EMPTCP_SOAK_WRITERS_SECONDS", "5"))


def test_concurrent_writers_lose_nothing(tmp_path):
    res = writers.run(emptcp_bin(), tmp_path / "soak-writers", WRITERS, SECONDS)
    assert not res.faults, "\n".join(res.faults[:20])
    assert len({a.writer for a in res.attempts}) == WRITERS
    assert {a.kind for a in res.attempts if a.rc == 0} == {"commit", "rollback"}
