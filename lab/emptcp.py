"""Running the real `emptcp` binary inside a lab namespace, with its own database and pin root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .lab import LabError, Node, run

REPO = Path(__file__).resolve().parents[1]


def kernel_required() -> bool:
    """Under CI (`CI` set) or with EMPTCP_REQUIRE_KERNEL=1 (scripts/test.sh), a kernel test may
    not skip: a missing prerequisite is a failure."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("EMPTCP_REQUIRE_KERNEL") == "1"


def require(ok: bool, why: str) -> None:
    """A missing prerequisite: when kernel tests are required the test fails and says why;
    elsewhere it is skipped."""
    if ok:
        return
    import pytest
    if kernel_required():
        pytest.fail(f"prerequisite missing (kernel tests required): {why}", pytrace=False)
    pytest.skip(why)


def lock_path(pin_root) -> str:
    """ApplyLock.path: the absolute pin root without empty components, `/` written `-`, every
    byte outside [A-Za-z0-9._] written %xx."""
    parts = [p for p in os.path.abspath(str(pin_root)).split("/") if p]
    name = ""
    for byte in "/".join(parts).encode():
        c = chr(byte)
        if c == "/":
            name += "-"
        elif c.isascii() and (c.isalnum() or c in "._"):
            name += c
        else:
            name += f"%{byte:02x}"
    return f"/run/emptcp/apply-{name}.lock"


def emptcp_bin() -> str:
    """$EMPTCP_BIN, else the debug build in this checkout. A missing binary is a failure."""
    path = os.environ.get("EMPTCP_BIN") or str(REPO / ".build" / "debug" / "emptcp")
    if not os.access(path, os.X_OK):
        raise LabError(f"emptcp binary not found at {path} (set EMPTCP_BIN or run scripts/setup.sh)")
    return path


class Emptcp:
    """`emptcp` run in `node` through nsenter (the caller's mounts stay visible), with a database
    and a bpffs pin root of its own under `workdir`. close() detaches and unmounts."""

    def __init__(self, node: Node, workdir: Path, binary: str | None = None):
        self.node = node
        self.bin = binary or emptcp_bin()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db = self.workdir / "emptcp.db"
        self.pin_root = self.workdir / "pins"
        self.pin_root.mkdir(exist_ok=True)
        run(["mount", "-t", "bpf", "bpf", str(self.pin_root)])
        self._mounted = True
        self._n = 0
        self.log: list[str] = []

    def env(self) -> dict:
        env = dict(os.environ)
        env["EMPTCP_DB"] = str(self.db)
        env["EMPTCP_PIN_ROOT"] = str(self.pin_root)
        env.setdefault("EMPTCP_BPF_DIR", str(REPO / "build" / "bpf"))
        return env

    def __call__(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        p = self.node.run([self.bin, *args], check=False, timeout=timeout, env=self.env())
        self.log.append(f"$ emptcp {' '.join(args)}  -> {p.returncode}\n{p.stdout}{p.stderr}")
        if check and p.returncode != 0:
            raise LabError(f"emptcp {' '.join(args)} exited {p.returncode}: {(p.stderr or p.stdout).strip()}")
        return p

    def commit(self, policy: dict, message: str = "test") -> subprocess.CompletedProcess:
        """Writes `policy` as a JSON policy file (a policy file may be JSON as well as YAML) and commits it."""
        self._n += 1
        path = self.workdir / f"policy{self._n}.json"
        path.write_text(json.dumps(policy, indent=2))
        return self("commit", str(path), "-m", message)

    def status(self) -> dict:
        return json.loads(self("status", "--json").stdout)

    def close(self) -> None:
        self("detach", "--all", check=False, timeout=60)
        if self._mounted:
            run(["umount", "-l", str(self.pin_root)], check=False)
            self._mounted = False
        shutil.rmtree(self.workdir, ignore_errors=True)
        # Detaching the last interface removes the data plane's lock file; a test that failed
        # before attaching (or left the lock held) would otherwise leave it in /run/emptcp.
        try:
            os.unlink(lock_path(self.pin_root))
        except FileNotFoundError:
            pass
