"""Traffic and observation inside a lab: the MPTCP peer (peer.py), packet captures, `ss`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from .lab import LabError, Node, run

PEER = str(Path(__file__).with_name("peer.py"))
TRANSFER = str(Path(__file__).with_name("transfer.py"))  # bulk transfer with an integrity check


def _read_json_line(p: subprocess.Popen, key: str, timeout: float = 15.0) -> dict:
    """Reads stdout lines of `p` until one is a JSON object holding `key`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = p.stdout.readline()
        if not line:
            err = p.stderr.read() if p.poll() is not None else ""
            raise LabError(f"peer exited (rc={p.poll()}) before '{key}': {err.strip()}")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if key in obj:
            return obj[key]
    raise LabError(f"peer did not report '{key}' within {timeout}s")


class MptcpServer:
    """peer.py server in `node`, listening on [::]:port for IPv4 and IPv6."""

    def __init__(self, node: Node, port: int):
        self.node, self.port = node, port
        self.proc = node.popen([sys.executable, PEER, "server", "--port", str(port)])
        _read_json_line(self.proc, "listening")


class MptcpClient:
    """One MPTCP connection from `node` to addr:port, open until close()."""

    def __init__(self, node: Node, addr: str, port: int, rate_kbps: int = 200):
        self.node = node
        self.proc = node.popen([sys.executable, PEER, "client", "--addr", addr, "--port", str(port),
                                "--rate-kbps", str(rate_kbps)], stdin=subprocess.PIPE)
        self.conn = _read_json_line(self.proc, "connected")
        self.local_port = self.conn["local_port"]

    def info(self) -> dict:
        """MPTCP_INFO: subflows (beyond the first), fallback, add_addr_accepted, token."""
        self.proc.stdin.write("info\n")
        self.proc.stdin.flush()
        return _read_json_line(self.proc, "info")

    def wait_subflows(self, extra: int, timeout: float = 10.0) -> dict:
        """Polls until MPTCP_INFO reports `extra` additional subflows, or the timeout passes;
        returns the last info either way (the caller asserts)."""
        end = time.monotonic() + timeout
        info = self.info()
        while info.get("subflows", 0) < extra and time.monotonic() < end:
            time.sleep(0.1)
            info = self.info()
        return info

    def close(self) -> int:
        if self.proc.poll() is not None:
            return -1
        self.proc.stdin.write("close\n")
        self.proc.stdin.flush()
        sent = _read_json_line(self.proc, "closed")
        self.proc.wait(timeout=10)
        return sent

    def __enter__(self) -> "MptcpClient":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close()
        except (LabError, OSError, ValueError):
            pass


def tcp_subflows(node: Node, port: int) -> list[str]:
    """Established TCP sockets of `node` to or from `port`: one per MPTCP subflow."""
    out = node.out(["ss", "-tnH", "state", "established", f"( dport = :{port} or sport = :{port} )"])
    return [line for line in out.splitlines() if line.strip()]


def mptcp_sockets(node: Node, port: int) -> str:
    """`ss -Mi` of the MPTCP sockets on `port` (prints `fallback` for a fallen-back socket)."""
    return node.out(["ss", "-MinH", f"( dport = :{port} or sport = :{port} )"])


class Capture:
    """dumpcap on one interface of a namespace, written to a pcapng file; read with tshark."""

    def __init__(self, node: Node, dev: str, path: Path, bpf_filter: str = "tcp"):
        self.node, self.dev, self.path = node, dev, Path(path)
        if self.path.exists():
            self.path.unlink()
        self.proc = node.popen(["dumpcap", "-q", "-i", dev, "-f", bpf_filter, "-w", str(self.path)])
        end = time.monotonic() + 15
        # dumpcap writes the file header once the interface is open: from then on it captures.
        while not (self.path.exists() and self.path.stat().st_size > 0):
            if self.proc.poll() is not None:
                raise LabError(f"dumpcap on {dev} exited: {self.proc.stderr.read().strip()}")
            if time.monotonic() > end:
                raise LabError(f"dumpcap on {dev} did not start within 15s")
            time.sleep(0.05)
        time.sleep(0.2)

    def stop(self) -> Path:
        if self.proc.poll() is None:
            time.sleep(0.2)  # let the last packets reach the ring
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        return self.path

    def fields(self, display_filter: str, *fields: str, check_checksum: bool = False) -> list[list[str]]:
        """One row per packet matching `display_filter`, one column per field (tshark -T fields)."""
        cmd = ["tshark", "-n", "-r", str(self.path), "-Y", display_filter, "-T", "fields",
               "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
        if check_checksum:
            cmd += ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"]
        for f in fields:
            cmd += ["-e", f]
        out = run(cmd, timeout=120).stdout
        return [line.split("|") for line in out.splitlines() if line.strip()]

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
