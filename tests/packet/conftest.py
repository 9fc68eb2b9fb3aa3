"""Fixtures of the packet tests: the objects built once, one loaded data plane per module,
reset before every test."""
import os
import subprocess

import pytest

from dataplane import ROOT, DataPlane


@pytest.fixture(scope="session", autouse=True)
def bpf_built():
    if os.geteuid() != 0:
        pytest.fail("tests/packet needs root (BPF programs, bpffs, namespaces)")
    subprocess.run(["bash", os.path.join(ROOT, "bpf", "build.sh")], check=True)


@pytest.fixture(scope="module")
def plane(bpf_built):
    p = DataPlane()
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def dp(plane):
    plane.reset()
    yield plane
