"""One request to the daemon's socket (docs/controllers.md, docs/events.md): a JSON line out,
a JSON line back. Shared by the controller tests and the live-repair benchmark."""

from __future__ import annotations

import json
import socket


def daemon_request(sock_path: str, doc: dict, timeout: float = 10) -> dict:
    """Connects to the daemon's unix socket, sends `doc` as one line and reads the reply up to
    its newline (or until the daemon closes the connection)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall((json.dumps(doc) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)
