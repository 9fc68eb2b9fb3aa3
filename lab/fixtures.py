"""pytest fixtures and hooks over the lab. Imported by tests/conftest.py.

Markers (registered in pytest.ini): `kernel` = needs root and this kernel (BPF programs, bpffs,
namespaces), `mptcp` = real MPTCP connections between namespaces (always `kernel` too). Without
root, `pytest -m "not kernel"` runs the rest. When kernel tests are required (CI, or
EMPTCP_REQUIRE_KERNEL=1 as scripts/test.sh sets it), a kernel test that skips is reported failed."""

from __future__ import annotations

import os
import shutil

import pytest

from .emptcp import Emptcp, kernel_required, require
from .lab import Lab

# Fixtures that reach the kernel: a test using one must carry the `kernel` marker.
KERNEL_FIXTURES = {"lab", "client_emptcp", "plane", "dp"}
TOOLS = ("ip", "tc", "nsenter", "ss", "nstat", "ethtool", "dumpcap", "tshark", "bpftool")


def require_kernel_lab() -> None:
    require(os.geteuid() == 0, "kernel tests need root (namespaces, bpffs, XDP)")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    require(not missing, f"missing tools: {', '.join(missing)} (scripts/setup.sh installs them)")
    require(os.path.exists("/proc/sys/net/mptcp/enabled"), "kernel without MPTCP (CONFIG_MPTCP)")


@pytest.fixture
def lab(request):
    """A fresh two-namespace MPTCP lab. The server announces its path-2 address of the family
    given by indirect parametrization (`@pytest.mark.parametrize("lab", [4, 6], indirect=True)`),
    IPv4 by default; `lab.family` tells which."""
    require_kernel_lab()
    family = getattr(request, "param", 4)
    with Lab(signal_family=family) as lb:
        lb.family = family
        yield lb


@pytest.fixture
def client_emptcp(lab, request):
    """emptcp acting in the client namespace, with its own db and bpffs pin root. Its command
    log is printed when the test fails."""
    e = Emptcp(lab.client, lab.tmp / "emptcp")
    yield e
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print("\n".join(e.log))
    e.close()


def pytest_collection_modifyitems(config, items):
    """Keeps the markers honest: an unmarked test on a kernel fixture would escape both
    `-m "not kernel"` and the no-skip rule."""
    for item in items:
        marks = {m.name for m in item.iter_markers()}
        unmarked = KERNEL_FIXTURES & set(getattr(item, "fixturenames", ())) and "kernel" not in marks
        if unmarked or ("mptcp" in marks and "kernel" not in marks):
            raise pytest.UsageError(f"{item.nodeid}: uses the kernel but has no `kernel` marker")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    # An expected failure (xfail: a recorded open finding) is not a skipped prerequisite.
    if rep.skipped and not hasattr(rep, "wasxfail") and kernel_required() and item.get_closest_marker("kernel") is not None:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"kernel test skipped while kernel tests are required: {reason}"
    setattr(item, "rep_" + rep.when, rep)
