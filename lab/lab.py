"""Two network namespaces joined by two veth pairs, with MPTCP set up so that one connection
gets exactly two subflows: the initial one on path 1 and a join to the address the server
announces (ADD_ADDR) on path 2.

    client ns                                   server ns
    c1  10.N.1.1/24  fd00:N:1::1/64  <--veth-->  s1  10.N.1.2/24  fd00:N:1::2/64
    c2  10.N.2.1/24  fd00:N:2::1/64  <--veth-->  s2  10.N.2.2/24  fd00:N:2::2/64

Server: endpoint `signal` on its path-2 address of family `signal_family` (4 or 6; None: no
endpoint), so it sends ADD_ADDR after the handshake of every connection. Client: no endpoints of its own (a `subflow` endpoint would
add a third subflow towards the server's first address and hide whether the ADD_ADDR arrived);
limits `subflows 2 add_addr_accepted 2` on both sides. Pass `client_subflow_endpoint=True` for
the variant with a client `subflow` endpoint (3 subflows per connection, see docs/lab.md).

Every command runs through `nsenter --net=/run/netns/NAME`, never `ip netns exec`: the latter
remounts /sys in a private mount namespace, so a bpffs pin root mounted by emptcp inside it would
vanish with the command. Names are unique per process and lab (`et<pid>x<k>c` / `...s`), and
`close()` removes everything even after a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

_counter = itertools.count()


class LabError(RuntimeError):
    """A lab command failed; the message names the command and its stderr."""


def run(cmd: list[str], *, check: bool = True, timeout: float = 60, input: str | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `cmd`, captures text output; raises LabError naming the command when it fails."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, env=env)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout}s: {shlex.join(cmd)}") from e
    if check and p.returncode != 0:
        raise LabError(f"exit {p.returncode}: {shlex.join(cmd)}: {(p.stderr or p.stdout).strip()}")
    return p


@dataclass
class Path_:
    """One veth pair: client side and server side, IPv4 and IPv6 addresses."""
    index: int
    client_if: str
    server_if: str
    client4: str
    server4: str
    client6: str
    server6: str

    def client(self, family: int = 4) -> str:
        return self.client4 if family == 4 else self.client6

    def server(self, family: int = 4) -> str:
        return self.server4 if family == 4 else self.server6


@dataclass
class Node:
    """One namespace. `run`/`popen` execute inside it with the caller's mounts (nsenter)."""
    name: str
    lab: "Lab" = field(repr=False)

    @property
    def netns_path(self) -> str:
        return f"/run/netns/{self.name}"

    def prefix(self) -> list[str]:
        return ["nsenter", f"--net={self.netns_path}"]

    def run(self, cmd: list[str] | str, **kw) -> subprocess.CompletedProcess:
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        return run(self.prefix() + cmd, **kw)

    def out(self, cmd: list[str] | str, **kw) -> str:
        return self.run(cmd, **kw).stdout

    def popen(self, cmd: list[str], **kw) -> subprocess.Popen:
        """Starts a process in the namespace; the lab kills it (by its pid) on close."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        p = subprocess.Popen(self.prefix() + cmd, start_new_session=True, **kw)
        self.lab._procs.append(p)
        return p

    def nstat(self) -> dict[str, int]:
        """Absolute kernel counters of this namespace (`nstat -asz`: ignore and never update the
        history file, which nstat shares between namespaces)."""
        counters = {}
        for line in self.out(["nstat", "-asz", "--json"]).splitlines():
            line = line.strip()
            if not line:
                continue
            data = json.loads(line)
            for table in data.values():
                for k, v in table.items():
                    counters[k] = int(v)
        return counters

    def mptcp_counters(self) -> dict[str, int]:
        return {k: v for k, v in self.nstat().items() if k.startswith("MPTcpExt")}

    def ethtool_tx(self, dev: str, on: bool) -> None:
        self.run(["ethtool", "-K", dev, "tx", "on" if on else "off"])


class Lab:
    """The two-namespace MPTCP lab. Use as a context manager or call close()."""

    def __init__(self, *, signal_family: int | None = 4, client_subflow_endpoint: bool = False,
                 tag: str = "x", prefix: str = "et"):
        k = next(_counter)
        pid = os.getpid()
        self.id = f"{prefix}{pid}{tag}{k}"
        # Second octet unique per (pid, lab) among concurrently running test processes, mostly.
        self.n = (pid * 7 + k) % 200 + 20
        self.client = Node(self.id + "c", self)
        self.server = Node(self.id + "s", self)
        self.paths: list[Path_] = []
        self._procs: list[subprocess.Popen] = []
        self._closed = False
        self._tmp = Path(f"/tmp/{self.id}")
        try:
            self.signal_family = signal_family
            self._build(client_subflow_endpoint)
        except BaseException:
            self.close()
            raise

    # -- set-up ---------------------------------------------------------------------------------
    def _build(self, client_subflow_endpoint: bool) -> None:
        n = self.n
        self._tmp.mkdir(parents=True, exist_ok=True)
        for node in (self.client, self.server):
            run(["ip", "netns", "add", node.name])
        for i in (1, 2):
            p = Path_(i, f"c{i}", f"s{i}", f"10.{n}.{i}.1", f"10.{n}.{i}.2",
                      f"fd00:{n}:{i}::1", f"fd00:{n}:{i}::2")
            # Created straight inside the namespaces: the short names never meet the root's.
            run(["ip", "link", "add", p.client_if, "netns", self.client.name, "type", "veth",
                 "peer", "name", p.server_if, "netns", self.server.name])
            for node, dev, a4, a6 in ((self.client, p.client_if, p.client4, p.client6),
                                      (self.server, p.server_if, p.server4, p.server6)):
                ns = ["ip", "-n", node.name]
                run(ns + ["addr", "add", f"{a4}/24", "dev", dev])
                run(ns + ["addr", "add", f"{a6}/64", "dev", dev, "nodad"])
                run(ns + ["link", "set", dev, "up"])
            self.paths.append(p)
        for node in (self.client, self.server):
            run(["ip", "-n", node.name, "link", "set", "lo", "up"])
            node.run(["sysctl", "-qw", "net.mptcp.enabled=1"])
            # Keep reverse-path filtering out of the way of subflows on the second path.
            node.run(["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"])
            run(["ip", "-n", node.name, "mptcp", "limits", "set", "subflows", "2",
                 "add_addr_accepted", "2"])
        p2 = self.paths[1]
        if self.signal_family:
            run(["ip", "-n", self.server.name, "mptcp", "endpoint", "add",
                 p2.server(self.signal_family), "dev", p2.server_if, "signal"])
        if client_subflow_endpoint:
            run(["ip", "-n", self.client.name, "mptcp", "endpoint", "add", p2.client4,
                 "dev", p2.client_if, "subflow"])
        self.wait_ipv6_ready()

    def wait_ipv6_ready(self, deadline: float = 10.0) -> None:
        """Waits until no address is tentative (nodad makes this immediate; kept as a guard)."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            tentative = any("tentative" in node.out(["ip", "-6", "addr"]) for node in (self.client, self.server))
            if not tentative:
                return
            time.sleep(0.1)

    @property
    def tmp(self) -> Path:
        """A scratch directory of this lab, removed on close."""
        return self._tmp

    # -- teardown -------------------------------------------------------------------------------
    def kill_procs(self) -> None:
        for p in self._procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self._procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=5)
        self._procs.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.kill_procs()
        for node in (self.client, self.server):
            run(["ip", "netns", "del", node.name], check=False)
        run(["rm", "-rf", str(self._tmp)], check=False)

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
