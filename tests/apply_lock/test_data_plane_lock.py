"""The data plane lock (docs/applier.md "One apply at a time"): every change of the kernel state
under a pin root holds an flock on /run/emptcp/apply-<pin root>.lock for its whole length. A
second apply waits for the first, or gives up after EMPTCP_LOCK_TIMEOUT seconds with one line and
exit 1, changing nothing; a holder killed with SIGKILL releases the lock."""

import fcntl
import json
import os
import signal
import struct
import subprocess
import time

import pytest

from lab import bpf, policy, tcp2
from lab.emptcp import lock_path

pytestmark = [pytest.mark.kernel]

META_GEN_REVISION, META_GEN_DIGEST = 2, 5  # abi.h enum emptcp_meta_key, + generation


def many_bindings(n: int, chain: str, window: int = 1600) -> dict:
    """n tcp2 bindings, all to `chain`: two of these differ in every entry, so an apply between
    them rewrites every binding of both generations (long enough for two applies to overlap).
    `window` makes the content new (a commit of the current content is refused)."""
    binds = [tcp2("xdp", f"10.{100 + i // 65536}.{(i // 256) % 256}.{i % 256}", "10.255.0.1", chain) for i in range(n)]
    return policy(xdp=[("tcp2", "or")],
                  chains={"slow": [{"set_recv_win": {"window": window}}], "fast": [{"set_recv_win": {"window": 2 * window}}]},
                  bindings=binds)


def markers(pin_root) -> list[tuple[int, int]]:
    fd = bpf.obj_get(str(pin_root / "maps" / "emptcp_meta"))
    try:
        get = lambda i: struct.unpack("<Q", bpf.map_lookup(fd, struct.pack("<I", i), 8))[0]  # noqa: E731
        return [(get(META_GEN_REVISION + g), get(META_GEN_DIGEST + g)) for g in (0, 1)]
    finally:
        os.close(fd)


def live_marker(pin_root) -> tuple[int, int]:
    """The live generation's marker: the standby one may hold the previous revision."""
    fd = bpf.obj_get(str(pin_root / "maps" / "emptcp_live"))
    try:
        live = bpf.map_lookup(fd, struct.pack("<I", 0), 4)[0] & 1
    finally:
        os.close(fd)
    return markers(pin_root)[live]


def current_revision(e) -> int:
    return int(e.status()["current_revision"])


def start(e, lab, *args: str, timeout: str | None = None) -> subprocess.Popen:
    env = e.env()
    if timeout is not None:
        env["EMPTCP_LOCK_TIMEOUT"] = timeout
    return lab.client.popen([e.bin, *args], env=env)


def test_concurrent_commits_end_with_one_consistent_revision_in_force(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1")
    e.commit(many_bindings(4000, "slow"), "base")
    for round_ in range(4):
        files = []
        for chain in ("fast", "slow"):
            path = e.workdir / f"{chain}-{round_}.json"
            path.write_text(json.dumps(many_bindings(4000, chain, window=2000 + 100 * round_)))
            files.append(path)
        # Two commits at once, each applying what is current when it holds the lock.
        procs = [start(e, lab, "commit", str(f), "-m", f"round {round_} {f.stem}") for f in files]
        outs = [p.communicate(timeout=300) for p in procs]
        assert all(p.returncode == 0 for p in procs), outs
        assert not any("apply failed" in err for _, err in outs), outs
        # The kernel holds exactly the store's current revision, whole, in the live generation.
        current = current_revision(e)
        r, d = live_marker(e.pin_root)
        assert r == current and d != 0, (current, markers(e.pin_root))
        s = e("status", "--exit-code", "--json", check=False)
        assert s.returncode == 0, s.stdout
        verified = e("apply", "--verify", "--json")
        report = json.loads(verified.stdout)
        assert report["verified"] and all(m["added"] + m["removed"] + m["changed"] == 0 for m in report["maps"]), report
        assert report["standby_writes"] == 0, report


def test_a_second_apply_gives_up_after_the_timeout_and_changes_nothing(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1")
    p1, f = lab.paths[0], lab.family
    e.commit(policy(xdp=[("tcp2", "or")], chains={"slow": [{"set_recv_win": {"window": 1600}}]},
                    bindings=[tcp2("xdp", p1.client(f), p1.server(f), "slow")]), "one")
    before = markers(e.pin_root)
    path = lock_path(e.pin_root)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        os.ftruncate(holder, 0)
        os.write(holder, b"pid 4242 (test holder)\n")
        # A revision committed while another process holds the data plane: stored, not applied.
        two = e.workdir / "two.json"
        two.write_text(json.dumps(policy(xdp=[("tcp2", "or")], chains={"fast": [{"set_recv_win": {"window": 3200}}]},
                                         bindings=[tcp2("xdp", p1.client(f), p1.server(f), "fast")])))
        p = start(e, lab, "commit", str(two), "-m", "two", timeout="1")
        out, err = p.communicate(timeout=60)
        assert p.returncode == 1 and "revision 2:" in out and "pid 4242 (test holder)" in err, (out, err)
        assert current_revision(e) == 2 and markers(e.pin_root) == before
        p = start(e, lab, "apply", timeout="1")
        out, err = p.communicate(timeout=60)
        assert p.returncode == 1, (out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "pid 4242 (test holder)" in lines[0] and path in lines[0], err
        assert markers(e.pin_root) == before
        # While the holder lives a waiting apply stays blocked; once it lets go the apply goes on.
        p = start(e, lab, "apply", "--json", timeout="60")
        time.sleep(0.5)
        assert p.poll() is None, p.communicate()
        fcntl.flock(holder, fcntl.LOCK_UN)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    finally:
        os.close(holder)
    assert live_marker(e.pin_root)[0] == current_revision(e)
    assert e("status", "--exit-code", check=False).returncode == 0


def test_a_holder_killed_with_sigkill_does_not_block_the_next_apply(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1")
    e.commit(many_bindings(4000, "slow"), "base")
    path = e.workdir / "fast.json"
    path.write_text(json.dumps(many_bindings(20000, "fast")))
    # A commit whose apply is killed while it holds the lock (it holds it from its start).
    p = start(e, lab, "commit", str(path), "-m", "killed")
    deadline = time.monotonic() + 60
    held = False
    while time.monotonic() < deadline and p.poll() is None:
        probe = os.open(lock_path(e.pin_root), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(probe, fcntl.LOCK_UN)
        except BlockingIOError:
            held = True
        finally:
            os.close(probe)
        if held:
            break
        time.sleep(0.005)
    assert held, "the commit never held the data plane lock"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    # The next apply neither waits for the dead holder nor fails: it converges to the current revision.
    r = start(e, lab, "apply", timeout="0")
    out, err = r.communicate(timeout=300)
    assert r.returncode == 0, err
    r, d = live_marker(e.pin_root)
    assert r == current_revision(e) and d != 0
    assert e("status", "--exit-code", check=False).returncode == 0
