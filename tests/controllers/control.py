"""Helpers of the controller tests: a raw client of the daemon's socket (the protocol of
docs/controllers.md, spoken directly), the example controller as a process, runtime bindings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

from lab.daemon_request import daemon_request


def runtime_bindings(sock_path: str) -> list[dict]:
    reply = daemon_request(sock_path, {"schema": 1, "op": "bindings"})
    assert reply["ok"], reply
    return reply.get("bindings", [])


class Session:
    """A controller session spoken line by line (language-neutral: no EmptcpControl)."""

    def __init__(self, sock_path: str, name: str, metrics_ms: int = 0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(15)
        self.s.connect(sock_path)
        self.file = self.s.makefile("rwb")
        self.next_id = 1
        self.events: list[dict] = []
        self.send({"schema": 1, "op": "control", "name": name, "metrics_ms": metrics_ms})

    def send(self, doc: dict) -> None:
        self.file.write((json.dumps(doc) + "\n").encode())
        self.file.flush()

    def call(self, verb: str, **keys) -> dict:
        n = self.next_id
        self.next_id += 1
        self.send({"schema": 1, "id": n, "verb": verb, **keys})
        while True:
            line = self.file.readline()
            assert line, "daemon closed the controller session"
            doc = json.loads(line)
            assert doc.get("schema") == 1, doc
            if doc.get("type") == "reply" and doc.get("id") == n:
                return doc
            self.events.append(doc)

    def wait_event(self, predicate) -> dict:
        for doc in self.events:
            if predicate(doc):
                return doc
        while True:
            line = self.file.readline()
            assert line, "daemon closed the controller session"
            doc = json.loads(line)
            self.events.append(doc)
            if predicate(doc):
                return doc

    def close(self) -> None:
        try:
            self.file.close()
            self.s.close()
        except OSError:
            pass


def metered_link(node, e, sock_path: str, address: str, cap_file: Path, metrics_ms: int = 100,
                 record_chain: str | None = None) -> subprocess.Popen:
    binary = str(Path(e.bin).parent / "emptcp-metered-link")
    log = open(e.workdir / "metered-link.log", "a")
    args = [binary, "--address", address, "--cap-file", str(cap_file), "--socket", sock_path, "--metrics-ms", str(metrics_ms)]
    if record_chain:
        args += ["--record-chain", record_chain]
    return node.popen(args, stdout=log, stderr=log)


def uid_nobody_request(sock_path: str) -> subprocess.CompletedProcess:
    """A controller hello from uid 65534; prints the reply or the connect error."""
    code = (
        "import os, socket, json, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "try:\n"
        f"    s.connect({sock_path!r})\n"
        "except OSError as e:\n"
        "    print('connect refused:', e.errno); sys.exit(0)\n"
        "s.sendall(b'{\"schema\":1,\"op\":\"control\",\"name\":\"x\"}\\n')\n"
        "print(s.makefile().readline())\n"
    )
    return subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
