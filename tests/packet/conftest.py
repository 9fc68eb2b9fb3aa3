"""Fixtures of the packet tests: one loaded data plane per module, reset before every test."""
import os
import subprocess

import pytest

from dataplane import ROOT, DataPlane


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        raise pytest.UsageError("tests/packet needs root (BPF programs, bpffs)")
    subprocess.run(["bash", os.path.join(ROOT, "bpf", "build.sh")], check=True)


@pytest.fixture(scope="module")
def plane():
    p = DataPlane()
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def dp(plane):
    plane.reset()
    yield plane
