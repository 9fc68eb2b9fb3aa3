"""A bulk MPTCP transfer with an integrity check and receiver-side throughput buckets.

    transfer.py recv --port P            prints {"listening": P}, then after one connection:
                                         {"bytes": N, "sha256": H, "buckets": [bytes per 100 ms]}
    transfer.py send --addr A --port P [--rate-mbps R]
                                         sends a deterministic stream until a line on stdin,
                                         then prints {"bytes": N, "sha256": H}

The receiver's buckets run from its first byte to EOF, so a 0 is a 100 ms stretch in which
nothing arrived while the sender was still sending."""

import argparse
import hashlib
import socket
import sys
import threading
import time

# peer.py, beside this script (Python puts a script's own folder first on its path), holds the
# socket set-up both scripts need.
from peer import IPPROTO_MPTCP, emit, mptcp_listener

BUCKET_S = 0.1


def recv(port: int) -> None:
    ls = mptcp_listener(port, 1)
    conn, _ = ls.accept()
    digest, total, buckets, start = hashlib.sha256(), 0, [], None
    while True:
        data = conn.recv(1 << 20)
        now = time.monotonic()
        if not data:
            break
        if start is None:
            start = now
        i = int((now - start) / BUCKET_S)
        while len(buckets) <= i:
            buckets.append(0)
        buckets[i] += len(data)
        total += len(data)
        digest.update(data)
    emit({"bytes": total, "sha256": digest.hexdigest(), "buckets": buckets})
    conn.close()


def send(addr: str, port: int, rate_mbps: float) -> None:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.connect((addr, port))
    emit({"connected": True})
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    block = bytes(range(256)) * 256  # 64 KiB, deterministic
    digest, total, n = hashlib.sha256(), 0, 0
    start = time.monotonic()
    while not stop.is_set():
        if rate_mbps > 0:  # user-space pacing: keeps both ends far from saturating the CPUs
            ahead = total * 8 / (rate_mbps * 1e6) - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(min(ahead, 0.005))
                continue
        chunk = block[n % 251:] + block[:n % 251]
        s.sendall(chunk)
        digest.update(chunk)
        total += len(chunk)
        n += 1
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the receiver closes after it has read everything
    s.close()
    emit({"bytes": total, "sha256": digest.hexdigest()})


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="role", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, required=True)
    s = sub.add_parser("send")
    s.add_argument("--addr", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--rate-mbps", type=float, default=0, help="0: as fast as possible")
    a = ap.parse_args()
    recv(a.port) if a.role == "recv" else send(a.addr, a.port, a.rate_mbps)
