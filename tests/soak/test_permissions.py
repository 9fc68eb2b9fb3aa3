"""Who may read what emptcp creates, whatever the umask: every file and directory emptcp makes
is its owner's only. Run with umask 000 (the worst an operator's shell can hand down):

- the store: a database in directories that do not exist yet: the directories 0700, the
  database and its -wal and -shm 0600 (also checked, with the reader's side, by the Swift store
  tests);
- the pin root after `attach`: every directory emptcp makes under it 0700, every pinned map,
  program and link 0600 (the kernel takes the mode of a pin from its creator);
- the daemon: its socket in a directory that does not exist yet: the directory 0700, the socket
  and its lock file 0600, and a user other than root cannot connect."""
import os
import stat
import subprocess
import time

import pytest

from lab import Emptcp, Lab
from lab.fixtures import require_kernel_lab

pytestmark = pytest.mark.kernel

UMASK0 = 'umask 000; exec "$@"'


def loose(path) -> list[str]:
    """Everything under `path` (itself included) that group or others may use."""
    out = []
    for root, dirs, files in os.walk(path):
        for name in [""] + dirs + files:
            p = os.path.join(root, name) if name else root
            mode = os.lstat(p).st_mode
            if stat.S_IMODE(mode) & 0o077:
                out.append(f"{p} {stat.S_IMODE(mode):o}")
    return out


@pytest.fixture
def soak_lab():
    require_kernel_lab()
    with Lab(prefix="soak-", tag="p") as lb:
        e = Emptcp(lb.client, lb.tmp / "emptcp")
        try:
            yield lb, e
        finally:
            e.close()


def umask0(lb, e, *args, **kw):
    return lb.client.run(["sh", "-c", UMASK0, "sh", e.bin, *args], env=e.env(), check=False, **kw)


def test_store_files_are_owner_only_under_umask_000(soak_lab, tmp_path):
    lb, e = soak_lab
    db = tmp_path / "soak-perm" / "deeper" / "e.db"
    pol = tmp_path / "p.json"
    pol.write_text('{"chains": {"c": [{"rm_add_addr": {}}]}}')
    env = dict(e.env(), EMPTCP_DB=str(db))
    p = subprocess.run(["sh", "-c", UMASK0, "sh", e.bin, "commit", str(pol)], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "e.db" in os.listdir(db.parent)
    assert loose(tmp_path / "soak-perm") == []  # -wal and -shm too, if the last close left them


def test_pin_root_is_owner_only_under_umask_000(soak_lab):
    lb, e = soak_lab
    r = umask0(lb, e, "attach", "c1", "c2")
    assert r.returncode == 0, r.stderr
    pol = lb.tmp / "p.json"
    pol.write_text('{"chains": {"c": [{"rm_add_addr": {}}]}}')
    r = umask0(lb, e, "commit", str(pol))
    assert r.returncode == 0, r.stderr
    entries = [os.path.join(root, n) for root, dirs, files in os.walk(e.pin_root) for n in dirs + files]
    assert len(entries) > 10, entries
    # The pin root itself is the test's bpffs mount; what emptcp made is below it.
    assert [x for x in loose(e.pin_root) if not x.startswith(f"{e.pin_root} ")] == []


def test_daemon_socket_is_owner_only_under_umask_000(soak_lab):
    lb, e = soak_lab
    assert umask0(lb, e, "attach", "c1").returncode == 0
    sock_dir = e.workdir / "soak-run" / "emptcp"
    sock = sock_dir / "daemon.sock"
    env = dict(e.env(), EMPTCP_DAEMON_SOCKET=str(sock))
    log = open(e.workdir / "daemon.log", "w")
    d = lb.client.popen(["sh", "-c", UMASK0, "sh", e.bin, "daemon", "run"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        end = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < end and d.poll() is None:
            time.sleep(0.1)
        assert sock.exists(), f"daemon exited {d.poll()}: {(e.workdir / 'daemon.log').read_text()[-2000:]}"
        assert stat.S_ISSOCK(os.lstat(sock).st_mode)
        assert loose(e.workdir / "soak-run") == []
        nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "python3", "-c",
                                 f"import socket; socket.socket(socket.AF_UNIX).connect({str(sock)!r})"],
                                capture_output=True, text=True)
        assert nobody.returncode != 0 and "Permission denied" in nobody.stderr, nobody.stderr
    finally:
        d.terminate()
        d.wait(timeout=15)
        log.close()
