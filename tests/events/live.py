"""Helpers of the live-repair tests: the daemon as a process in the client namespace, the
subflows of a connection as `ss -ti` shows them, and the audit rows of injections."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

from lab import LabError

# The policy a rollback returns to: bindings that neither strip nor mark anything.
NEUTRAL = {"selectors": {"xdp": [{"tcp2": "or"}]}, "chains": {"count": [{"record": {"pkt": True}}]}, "bindings": []}


class Daemon:
    """`emptcp daemon` in `node`, its socket under the Emptcp workdir; EMPTCP_DAEMON_SOCKET is
    set in the environment every emptcp call of the test inherits (monkeypatch)."""

    def __init__(self, e, node, monkeypatch, events_path=None):
        self.e, self.node = e, node
        self.sock = str(e.workdir / "daemon.sock")
        monkeypatch.setenv("EMPTCP_DAEMON_SOCKET", self.sock)
        self.events_path = events_path
        self.proc = None
        self.start()

    def start(self) -> None:
        args = [self.e.bin, "daemon"]
        out = subprocess.DEVNULL
        if self.events_path is not None:
            args += ["--events", "--json"]
            out = open(self.events_path, "a")
        env = self.e.env()
        env["EMPTCP_LOG_LEVEL"] = "info"
        self.stderr = open(self.e.workdir / "daemon.log", "a")
        self.proc = self.node.popen(args, env=env, stdout=out, stderr=self.stderr)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if self.node.run(["test", "-S", self.sock], check=False).returncode == 0 and self.answers():
                return
            if self.proc.poll() is not None:
                raise LabError(f"daemon exited {self.proc.returncode}: {self.log()}")
            time.sleep(0.1)
        raise LabError(f"daemon socket {self.sock} did not appear: {self.log()}")

    def answers(self) -> bool:
        return self.e("daemon", "--connections", check=False).returncode == 0

    def log(self) -> str:
        self.stderr.flush()
        return (self.e.workdir / "daemon.log").read_text()[-4000:]

    def connections(self) -> dict[str, list[str]]:
        reply = json.loads(self.e("daemon", "--connections").stdout)
        return {c["token"]: c["subflows"] for c in reply.get("connections", [])}

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)
        return self.proc.returncode


def subflows(node, port: int) -> list[dict]:
    """The client's established TCP sockets to `port`, from `ss -tinH`: local, remote, MPTCP
    subflow flags (`B`: the peer marked it backup) and bytes_received / bytes_acked."""
    out = node.out(["ss", "-tinH", "state", "established", f"( dport = :{port} )"])
    blocks, current = [], ""
    for line in out.splitlines():
        if line and not line[0].isspace():
            if current:
                blocks.append(current)
            current = line
        else:
            current += " " + line.strip()
    if current:
        blocks.append(current)
    result = []
    for b in blocks:
        f = b.split()
        flags = re.search(r"tcp-ulp-mptcp flags:(\S+)", b)
        received = re.search(r"bytes_received:(\d+)", b)
        acked = re.search(r"bytes_acked:(\d+)", b)
        result.append({"local": f[2], "remote": f[3], "flags": flags.group(1) if flags else "",
                       "received": int(received.group(1)) if received else 0,
                       "acked": int(acked.group(1)) if acked else 0})
    return result


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Polls `predicate` until it returns something truthy or `timeout` passes; returns the last
    value (the caller asserts on it)."""
    end = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < end:
        time.sleep(interval)
        value = predicate()
    return value


def audit_rows(e, action: str) -> list[dict]:
    rows = json.loads(e("audit", "--json").stdout)
    if isinstance(rows, dict):
        rows = rows.get("entries", rows.get("audit", []))
    return [r for r in rows if r.get("action") == action]
