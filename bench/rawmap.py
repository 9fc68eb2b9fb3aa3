"""The floor for `emptcp apply`: one raw BPF_MAP_UPDATE_BATCH of the same binding entries into a
fresh hash map shaped like <hook>_tcp2 (key struct emptcp_tcp2_key, 36 bytes; value __u32 chain
id; 128 Ki entries, BPF_F_NO_PREALLOC), through the bpf() syscall (lab.bpf)."""

from __future__ import annotations

import ipaddress
import os
import time

from lab import bpf
from lab.dataplane import tcp2_key as packed_tcp2_key

KEY_SIZE, VALUE_SIZE, MAX_ENTRIES = 36, 4, 128 * 1024


def tcp2_key(local: str, remote: str) -> bytes:
    l, r = ipaddress.ip_address(local), ipaddress.ip_address(remote)
    return packed_tcp2_key(l.version, l.packed, r.packed)


def batch_update_seconds(pairs: list[tuple[str, str]]) -> float:
    """Seconds for one BPF_MAP_UPDATE_BATCH of len(pairs) entries (map creation not included)."""
    fd = bpf.map_create(bpf.MAP_TYPE_HASH, KEY_SIZE, VALUE_SIZE, MAX_ENTRIES,
                        flags=bpf.F_NO_PREALLOC, name=b"bench_tcp2")
    try:
        batch = bpf.UpdateBatch(b"".join(tcp2_key(l, r) for l, r in pairs),
                                (1).to_bytes(4, "little") * len(pairs), len(pairs))
        t0 = time.perf_counter()
        written = batch.run(fd)
        dt = time.perf_counter() - t0
        if written != len(pairs):
            raise OSError(0, f"BPF_MAP_UPDATE_BATCH: {written}/{len(pairs)} written")
        return dt
    finally:
        os.close(fd)
