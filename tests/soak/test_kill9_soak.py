"""kill -9 during commit, rollback, apply (attached in a namespace) and the daemon's injections:
after every trial the store is intact (integrity_check, every revision and its content, a
linear history, the audit rows) and the next apply converges (kill9.py). Short form: 4 trials,
one of each kind; the long form is scripts/reliability.sh (EMPTCP_SOAK_TRIALS sets the count)."""
import os

import pytest

from lab.fixtures import require_kernel_lab

from . import kill9

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

TRIALS = int(os.environ.get("EMPTCP_SOAK_TRIALS", "4"))
SEED = int(os.environ.get("EMPTCP_SOAK_SEED", "77"))


def test_kill9_trials_leave_the_store_intact_and_apply_converges():
    require_kernel_lab()
    trials = kill9.run(TRIALS, SEED)
    bad = [f"trial {i} ({t.kind}, kill after {t.delay:.3f} s, {'killed' if t.killed else 'finished'}): {t.faults}"
           for i, t in enumerate(trials) if t.faults]
    assert not bad, "\n".join(bad)
    assert len(trials) == TRIALS
    # The kills must land inside the commands, not only after them.
    assert any(t.killed for t in trials), "no command was still running when it was killed"
