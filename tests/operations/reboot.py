"""What a reboot does to emptcp, simulated in the lab: the bpffs pins vanish (and with them the
links, programs and maps they held), the confirmation timer process is gone, the database stays.
Plus readers of the database that do not open it through emptcp (which would enforce deadlines)."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import sqlite3
import time

from lab import Emptcp, LabError, Node, run

# enum bpf_link_type: BPF_LINK_TYPE_XDP, BPF_LINK_TYPE_TCX (Linux 6.6).
XDP_LINK_TYPE = 6
TCX_LINK_TYPE = 11


def confirm_timers(e: Emptcp) -> list[int]:
    """Pids of the `emptcp confirm --expire-after` timer processes of this lab's database."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"--expire-after" in argv and str(e.db).encode() in argv:
            pids.append(int(entry))
    return pids


def kill_confirm_timers(e: Emptcp) -> int:
    """Kills this database's timer processes (by pid), as a power cut would. Returns how many."""
    pids = confirm_timers(e)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(pids)


def xdp_program(node: Node, dev: str) -> int | None:
    """The id of the XDP program on `dev`, from the kernel (netlink via `ip -j link`)."""
    info = json.loads(node.out(["ip", "-j", "-d", "link", "show", dev]))[0]
    return (info.get("xdp") or {}).get("prog", {}).get("id")


_libbpf = None


def _bpf():
    global _libbpf
    if _libbpf is None:
        _libbpf = ctypes.CDLL(ctypes.util.find_library("bpf") or "libbpf.so.1", use_errno=True)
    return _libbpf


def links_running(programs: set[int]) -> list[dict]:
    """Every BPF link (system-wide) whose program is one of `programs`, as {id, type, prog_id,
    ifindex}; ifindex 0 once detached. Link info carries only an ifindex, which devices of other
    network namespaces reuse, so tests select links by the program ids their own emptcp loaded
    (ids are unique). Read through libbpf: bpftool 7.1 prints neither tcx links' type name nor
    their ifindex. struct bpf_link_info is type, id, prog_id, then (8-aligned) the union whose
    xdp and tcx members both start with the ifindex."""
    lib, next_id, found = _bpf(), ctypes.c_uint32(0), []
    while lib.bpf_link_get_next_id(next_id, ctypes.byref(next_id)) == 0:
        fd = lib.bpf_link_get_fd_by_id(next_id)
        if fd < 0:
            continue
        try:
            info = (ctypes.c_uint32 * 32)()
            size = ctypes.c_uint32(ctypes.sizeof(info))
            if lib.bpf_obj_get_info_by_fd(fd, info, ctypes.byref(size)) == 0 and info[2] in programs:
                found.append({"id": info[1], "type": info[0], "prog_id": info[2], "ifindex": info[4]})
        finally:
            os.close(fd)
    return found


def attached_links(programs: set[int]) -> list[dict]:
    return [l for l in links_running(programs) if l["ifindex"] != 0]


def detach_links_running(programs: set[int]) -> None:
    """Detaches every link of `programs`, as the devices' reset at a reboot would."""
    lib = _bpf()
    for link in attached_links(programs):
        fd = lib.bpf_link_get_fd_by_id(link["id"])
        if fd >= 0:
            lib.bpf_link_detach(fd)
            os.close(fd)


def ifindex(node: Node, dev: str) -> int:
    return json.loads(node.out(["ip", "-j", "link", "show", dev]))[0]["ifindex"]


def program_ids(e: Emptcp) -> set[int]:
    """The program ids of emptcp's links, from `emptcp status`."""
    return {h["program_id"] for i in e.status()["kernel"]["interfaces"] for h in i["hooks"] if h["program_id"]}


def pinned_program_ids(e: Emptcp, devs: tuple[str, ...]) -> set[int]:
    """The programs of the links pinned for `devs`, read with bpftool (not through emptcp, which
    would open the store and so enforce a confirmation deadline)."""
    ids = set()
    for dev in devs:
        for hook in ("xdp", "tc"):
            pin = e.pin_root / "links" / dev / hook
            if pin.exists():
                ids.add(json.loads(run(["bpftool", "-j", "link", "show", "pinned", str(pin)]).stdout)["prog_id"])
    return ids


def simulate_reboot(e: Emptcp, devs: tuple[str, ...]) -> None:
    """Power cut without a detach: the timer dies, the pin root's bpffs goes away (pins, links,
    programs, maps), and a fresh empty bpffs is mounted in its place, as at boot. Checks that no
    emptcp program is left on `devs`."""
    ours = pinned_program_ids(e, devs)
    kill_confirm_timers(e)
    run(["umount", str(e.pin_root)])
    run(["mount", "-t", "bpf", "bpf", str(e.pin_root)])
    # A process of another mount namespace created meanwhile (any `ip netns exec` on the host)
    # holds a copy of the old bpffs mount, keeping its pins and so the links alive: remove what
    # a reboot removes with the devices' state.
    detach_links_running(ours)
    end = time.monotonic() + 10
    while attached_links(ours) or any(xdp_program(e.node, d) is not None for d in devs):
        if time.monotonic() > end:
            raise LabError(f"programs still attached to {devs} after the pins were gone")
        time.sleep(0.05)
    assert set(os.listdir(e.pin_root)) <= {"maps.debug", "progs.debug"}


def audit_rows(e: Emptcp) -> list[dict]:
    """The audit log read with plain SQL (opening it through emptcp would enforce deadlines)."""
    con = sqlite3.connect(f"file:{e.db}?mode=ro", uri=True, timeout=30)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT action, revision, outcome, detail FROM audit ORDER BY id")]
    finally:
        con.close()


def pending_deadline(e: Emptcp) -> float | None:
    """The pending confirmation's deadline (Unix seconds), read with plain SQL."""
    con = sqlite3.connect(f"file:{e.db}?mode=ro", uri=True, timeout=30)
    try:
        row = con.execute("SELECT deadline FROM pending_confirm").fetchone()
        return row[0] / 1000 if row else None
    finally:
        con.close()


def wait_until(what: str, condition, timeout: float) -> None:
    """Waits for an outcome (not a timing assertion): fails naming `what` if it never comes."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def wait_past(deadline: float) -> None:
    """Sleeps until the wall clock is past `deadline` (Unix seconds)."""
    while time.time() <= deadline + 0.2:
        time.sleep(min(0.5, max(0.05, deadline + 0.25 - time.time())))
