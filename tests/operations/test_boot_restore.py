"""Boot restore (`emptcp apply --boot`, what emptcp-restore.service runs) after a simulated
reboot: pins, links and the timer gone, the database kept. The kernel must end up holding the
current revision and real MPTCP traffic must follow it; interfaces recorded but absent at boot
are left for later (emptcp-attach@IFACE.service runs the same command), an explicit detach is
not undone, and emptcp's own links orphaned by an earlier load are replaced, not refused."""

import subprocess

import pytest

from lab import MptcpServer, observe_connection, run

from .policies import assert_no_join, strip_add_addr
from .reboot import attached_links, ifindex, links_running, program_ids, simulate_reboot, xdp_program

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5210


def add_veth(node, dev: str) -> None:
    """An extra interface of the client (a veth pair inside the namespace; no dummy driver here)."""
    node.run(["ip", "link", "add", dev, "type", "veth", "peer", "name", dev + "p"])
    for d in (dev, dev + "p"):
        node.run(["ip", "link", "set", d, "up"])


def test_boot_restore_after_reboot_applies_current_revision(lab, client_emptcp):
    e, c = client_emptcp, lab.client
    for dev in ("c3", "c4"):
        add_veth(c, dev)
    e("attach", "c1", "c2", "c3", "c4")
    e.commit(strip_add_addr(lab, bound=True), "strip ADD_ADDR on path 1")
    current = e.status()["current_revision"]
    e("detach", "c4")             # explicit: must stay detached after the reboot
    c.run(["ip", "link", "del", "c3"])  # recorded, but will not exist when the machine boots

    simulate_reboot(e, ("c1", "c2", "c4"))
    boot = e("apply", "--boot")
    assert "c3: not present" in boot.stdout, boot.stdout

    status = e.status()
    assert status["kernel"]["kernel_revision"] == current == status["current_revision"], status
    assert status["in_sync"], status
    assert sorted(i["name"] for i in status["kernel"]["interfaces"]) == ["c1", "c2"], status
    c4 = ifindex(c, "c4")
    assert xdp_program(c, "c4") is None, "a detached interface was attached at boot"
    assert not [l for l in attached_links(program_ids(e)) if l["ifindex"] == c4], "a detached interface was attached at boot"
    assert e("status", "--exit-code", check=False).returncode == 0

    MptcpServer(lab.server, PORT)
    assert_no_join(observe_connection(lab, PORT, expect_join=False))

    # The interface appears later: its udev event runs the same command again.
    add_veth(c, "c3")
    e("apply", "--boot")
    ours = {i["name"]: i for i in e.status()["kernel"]["interfaces"]}
    assert "c3" in ours and len(ours["c3"]["hooks"]) == 2, ours
    xdp_id = next(h["program_id"] for h in ours["c3"]["hooks"] if h["hook"] == "xdp")
    assert xdp_program(c, "c3") == xdp_id


def test_boot_replaces_orphaned_emptcp_links(lab, client_emptcp):
    """An earlier load's links outlive its pins when something else still holds them (here a
    second bpffs, as a mount namespace that kept the old pin root would). Boot must recognise
    emptcp's own entry program on the interface and replace it, leaving exactly one of ours."""
    e, c = client_emptcp, lab.client
    e("attach", "c1")
    e.commit(strip_add_addr(lab, bound=True))
    before = {h["hook"]: h["program_id"] for h in e.status()["kernel"]["interfaces"][0]["hooks"]}
    elsewhere = lab.tmp / "elsewhere"
    elsewhere.mkdir()
    run(["mount", "-t", "bpf", "bpf", str(elsewhere)])
    try:
        for hook in ("xdp", "tc"):
            run(["bpftool", "link", "pin", "pinned", str(e.pin_root / "links" / "c1" / hook), str(elsewhere / hook)])
        run(["umount", str(e.pin_root)])
        run(["mount", "-t", "bpf", "bpf", str(e.pin_root)])
        assert xdp_program(c, "c1") == before["xdp"], "the orphaned XDP link should still be attached"

        boot = e("apply", "--boot", check=False)
        assert boot.returncode == 0, boot.stderr

        after = {h["hook"]: h["program_id"] for h in e.status()["kernel"]["interfaces"][0]["hooks"]}
        assert after["xdp"] != before["xdp"] and xdp_program(c, "c1") == after["xdp"]
        # The orphans are detached (still pinned elsewhere, so listed, with ifindex 0); exactly
        # one link of each new program, on c1.
        orphans = links_running({before["xdp"], before["tc"]})
        assert len(orphans) == 2 and all(l["ifindex"] == 0 for l in orphans), orphans
        c1 = ifindex(c, "c1")
        for hook in ("xdp", "tc"):
            links = links_running({after[hook]})
            assert [l["ifindex"] for l in links] == [c1], (hook, links)
        assert e("status", "--exit-code", check=False).returncode == 0
    finally:
        subprocess.run(["umount", str(elsewhere)], check=False)
