"""Fixtures of the packet tests: the objects built once, one loaded data plane per module,
reset before every test."""
import os
import subprocess

import pytest

from lab.dataplane import HOOKS, ROOT, DataPlane
from lab.emptcp import require


@pytest.fixture(scope="session", autouse=True)
def bpf_built():
    subprocess.run(["bash", os.path.join(ROOT, "bpf", "build.sh")], check=True)


@pytest.fixture(scope="module")
def plane(bpf_built):
    require(os.geteuid() == 0, "the packet tests need root (BPF programs, bpffs, namespaces)")
    p = DataPlane()
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def dp(plane):
    plane.reset()
    yield plane


@pytest.fixture
def rm_chain(dp):
    """Every TCP packet on both hooks through rm_add_addr alone."""
    for hook in HOOKS:
        dp.sel_chain(hook, [("tcp", "or")])
        dp.chain(hook, 1, [("rm_add_addr", b"")])
        dp.bind_tcp(hook, 1)
    return dp
