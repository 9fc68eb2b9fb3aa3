"""Readers name a missing permission as such. As an unprivileged user (uid 65534 through
setpriv), `status`, `stats` and `events` on an attached data plane answer "permission denied:
need root or CAP_BPF to read pinned maps under DIR", exit 1, whether the bpffs directory cannot
be searched (bpffs is mounted 0700) or the directories are open and bpf(2) itself refuses (no
CAP_BPF); never "not loaded". A pin root that really holds nothing still says "not loaded"."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kernel]

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
READERS = [["status"], ["stats"], ["events", "--count", "1"]]


@pytest.fixture
def readable_db(client_emptcp):
    """A database the unprivileged user may read, outside the test's private directories: status
    reads its store before the pin root (a missing database is an error of its own), and the
    store is not what is tested here. Committed against a scratch pin root, so nothing is applied."""
    e = client_emptcp
    d = Path(tempfile.mkdtemp(prefix="emptcp-reader-db-"))
    try:
        os.chmod(d, 0o755)
        policy = d / "empty.json"
        policy.write_text("{}")
        db = d / "emptcp.db"
        e.node.run([e.bin, "--db", str(db), "--pin-root", str(d / "no-pins"), "commit", str(policy)], env=e.env(), timeout=30)
        os.chmod(db, 0o644)
        yield db
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_nobody(lab, e, pin_root, db, *args):
    return lab.client.run([*NOBODY, e.bin, "--db", str(db), "--pin-root", str(pin_root), *args],
                          check=False, env=e.env(), timeout=30)


def test_readers_say_permission_denied_not_not_loaded(lab, client_emptcp, readable_db):
    e = client_emptcp
    e("attach", "c1")
    e.commit({"selectors": {"xdp": [{"tcp2": "or"}]}, "chains": {"rec": [{"record": {}}]}, "bindings": []}, "record loaded")
    expected = f"permission denied: need root or CAP_BPF to read pinned maps under {e.pin_root}"

    # The pin root as mounted for the test: its path is not searchable by others.
    for args in READERS:
        p = as_nobody(lab, e, e.pin_root, readable_db, *args)
        assert p.returncode == 1 and p.stderr.strip() == f"emptcp {args[0]}: {expected}", (args, p.stderr)

    # Every directory open to others: the pins are visible, and bpf(2) refuses without CAP_BPF.
    for d in (lab.tmp, e.workdir):
        os.chmod(d, 0o711)
    for root, dirs, files in os.walk(e.pin_root):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    assert lab.client.run([*NOBODY, "test", "-e", str(e.pin_root / "maps" / "emptcp_meta")], check=False).returncode == 0
    for args in READERS:
        p = as_nobody(lab, e, e.pin_root, readable_db, *args)
        assert p.returncode == 1 and p.stderr.strip() == f"emptcp {args[0]}: {expected}", (args, p.stderr)

    # Root reads the same pin root.
    assert e("status").returncode == 0 and e("stats").returncode == 0

    # An open directory that holds no data plane: that one is "not loaded".
    empty = e.workdir / "empty-root"
    empty.mkdir()
    os.chmod(empty, 0o755)
    p = as_nobody(lab, e, empty, readable_db, "stats")
    assert p.returncode == 1 and "no programs or maps are loaded under" in p.stderr, p.stderr
