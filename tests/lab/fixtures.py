"""pytest fixtures over the lab. Imported by tests/conftest.py."""

from __future__ import annotations

import os
import shutil

import pytest

from .emptcp import Emptcp, require
from .lab import Lab

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


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
