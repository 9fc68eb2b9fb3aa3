"""The boot units run what the boot restore tests check: the ExecStart of emptcp-restore.service
and of emptcp-attach@.service, taken from the unit files and run (with the lab's database and pin
root instead of the units' defaults) after a simulated reboot, restore the current revision. The
udev rule starts the attach unit for new network interfaces."""

import os
import re
import shlex
import shutil
import subprocess

import pytest

from .policies import strip_add_addr
from .reboot import simulate_reboot, xdp_program

PACKAGING = os.path.join(os.path.dirname(__file__), "..", "..", "packaging")


def unit(name: str) -> str:
    with open(os.path.join(PACKAGING, name)) as f:
        return f.read()


def exec_start(name: str, binary: str) -> list[str]:
    line = re.search(r"^ExecStart=(.+)$", unit(name), re.M).group(1)
    return [binary if a == "/usr/local/bin/emptcp" else a for a in shlex.split(line)]


@pytest.mark.kernel
@pytest.mark.parametrize("name", ["emptcp-restore.service", "emptcp-attach@.service"])
def test_boot_unit_command_restores_after_reboot(lab, client_emptcp, name):
    e = client_emptcp
    e("attach", "c1")
    e.commit(strip_add_addr(lab, bound=True))
    current = e.status()["current_revision"]
    simulate_reboot(e, ("c1",))

    argv = exec_start(name, e.bin)
    assert argv[-2:] == ["apply", "--boot"], argv
    p = e.node.run(argv, check=False, env=e.env())
    assert p.returncode == 0, p.stderr
    status = e.status()
    assert status["kernel"]["kernel_revision"] == current and status["in_sync"], status
    assert xdp_program(lab.client, "c1") is not None


def test_boot_units_order_and_udev_rule():
    restore = unit("emptcp-restore.service")
    lines = dict(re.findall(r"^(\w+)=(.*)$", restore, re.M))  # last value of each key is enough here
    assert "Type=oneshot" in restore and "RemainAfterExit=yes" in restore
    assert re.search(r"^After=.*\bsys-fs-bpf\.mount\b", restore, re.M), restore
    assert re.search(r"^Before=.*\bnetwork-pre\.target\b", restore, re.M), restore
    assert lines["WantedBy"] == "sysinit.target"
    rule = unit("90-emptcp.rules")
    assert 'SUBSYSTEM=="net"' in rule and "emptcp-attach@$name.service" in rule
    if shutil.which("systemd-analyze"):
        p = subprocess.run(["systemd-analyze", "verify", os.path.join(PACKAGING, "emptcp-restore.service"),
                            os.path.join(PACKAGING, "emptcp-attach@.service").replace("@.service", "@c1.service")],
                           capture_output=True, text=True)
        assert "error" not in p.stderr.lower(), p.stderr
