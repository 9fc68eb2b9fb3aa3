"""A minimal MPTCP peer, run inside a lab namespace (no third-party modules).

    python3 peer.py server --port P
        Listens on [::]:P (dual stack, IPPROTO_MPTCP), prints one JSON line {"listening": P},
        then accepts connections forever and discards what they send.

    python3 peer.py client --addr A --port P [--rate-kbps R]
        Connects with IPPROTO_MPTCP, prints {"connected": {...}}, then sends R kB/s (0: nothing)
        in a background thread and answers commands read from stdin, one per line:
          info   -> {"info": {...}}   MPTCP_INFO of the connection (subflows, fallback, token...)
          close  -> {"closed": bytes_sent} and exits.
        EOF on stdin is the same as close.

Keeping the connection open under the test's control lets a test read `ss`, `nstat` and a capture
while the connection lives, instead of guessing how long a transfer takes.
"""

import argparse
import json
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)
SOL_MPTCP = 284
MPTCP_INFO = 1
MPTCP_INFO_FLAG_FALLBACK = 1 << 0
MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED = 1 << 1


def emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def mptcp_info(sock: socket.socket) -> dict:
    """struct mptcp_info (include/uapi/linux/mptcp.h); fields up to mptcpi_subflows_total."""
    raw = sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 256)
    info = {"len": len(raw)}
    if len(raw) >= 44:
        (subflows, add_addr_signal, add_addr_accepted, subflows_max, signal_max, accepted_max,
         flags, token, write_seq, snd_una, rcv_nxt, addr_used, addr_max, csum) = struct.unpack_from(
            "=6B2xII QQQ 3B", raw, 0)
        info.update(subflows=subflows, add_addr_signal=add_addr_signal,
                    add_addr_accepted=add_addr_accepted, subflows_max=subflows_max,
                    flags=flags, fallback=bool(flags & MPTCP_INFO_FLAG_FALLBACK),
                    remote_key_received=bool(flags & MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED),
                    token=f"{token:x}", csum_enabled=csum)
    if len(raw) >= 81:
        bytes_sent, bytes_received, bytes_acked = struct.unpack_from("=QQQ", raw, 56)
        info.update(bytes_sent=bytes_sent, bytes_received=bytes_received, bytes_acked=bytes_acked,
                    subflows_total=raw[80])
    return info


def mptcp_listener(port: int, backlog: int) -> socket.socket:
    """A dual-stack (IPv4 and IPv6) MPTCP listening socket; prints {"listening": port} when ready."""
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, IPPROTO_MPTCP)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", port))
    ls.listen(backlog)
    emit({"listening": port})
    return ls


def server(port: int) -> None:
    ls = mptcp_listener(port, 16)

    def drain(conn: socket.socket) -> None:
        with conn:
            while conn.recv(1 << 16):
                pass

    while True:
        conn, _ = ls.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def client(addr: str, port: int, rate_kbps: int) -> None:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.connect((addr, port))
    local = s.getsockname()
    emit({"connected": {"local": local[0], "local_port": local[1], "remote": addr, "port": port}})
    sent = [0]
    stop = threading.Event()

    def pump() -> None:
        chunk = b"x" * 1024
        per_tick = max(1, rate_kbps // 100)  # 10 ms ticks
        while not stop.is_set():
            try:
                for _ in range(per_tick):
                    sent[0] += s.send(chunk)
            except OSError:
                return
            time.sleep(0.01)

    if rate_kbps > 0:
        threading.Thread(target=pump, daemon=True).start()
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "info":
            emit({"info": mptcp_info(s)})
        elif cmd == "close":
            break
    stop.set()
    time.sleep(0.05)
    s.close()
    emit({"closed": sent[0]})


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="role", required=True)
    sp = sub.add_parser("server")
    sp.add_argument("--port", type=int, required=True)
    cp = sub.add_parser("client")
    cp.add_argument("--addr", required=True)
    cp.add_argument("--port", type=int, required=True)
    cp.add_argument("--rate-kbps", type=int, default=200)
    a = ap.parse_args()
    if a.role == "server":
        server(a.port)
    else:
        client(a.addr, a.port, a.rate_kbps)


if __name__ == "__main__":
    main()
