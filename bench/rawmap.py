"""The floor for `emptcp apply`: one raw BPF_MAP_UPDATE_BATCH of the same binding entries into a
fresh hash map shaped like <hook>_tcp2 (key struct emptcp_tcp2_key, 36 bytes; value __u32 chain
id; 128 Ki entries, BPF_F_NO_PREALLOC), through libbpf with ctypes."""

from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import os
import time

BPF_MAP_TYPE_HASH = 1
BPF_F_NO_PREALLOC = 1
KEY_SIZE, VALUE_SIZE, MAX_ENTRIES = 36, 4, 128 * 1024


class MapCreateOpts(ctypes.Structure):
    # struct bpf_map_create_opts of libbpf 1.1 (bpf.h)
    _fields_ = [("sz", ctypes.c_size_t), ("btf_fd", ctypes.c_uint32), ("btf_key_type_id", ctypes.c_uint32),
                ("btf_value_type_id", ctypes.c_uint32), ("btf_vmlinux_value_type_id", ctypes.c_uint32),
                ("inner_map_fd", ctypes.c_uint32), ("map_flags", ctypes.c_uint32), ("map_extra", ctypes.c_uint64),
                ("numa_node", ctypes.c_uint32), ("map_ifindex", ctypes.c_uint32)]


def _lib():
    lib = ctypes.CDLL(ctypes.util.find_library("bpf") or "libbpf.so.1", use_errno=True)
    lib.bpf_map_create.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_uint32,
                                   ctypes.c_uint32, ctypes.POINTER(MapCreateOpts)]
    lib.bpf_map_update_batch.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                         ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p]
    return lib


def tcp2_key(local: str, remote: str) -> bytes:
    l, r = ipaddress.ip_address(local), ipaddress.ip_address(remote)
    fam = 4 if l.version == 4 else 6
    return bytes([fam, 0, 0, 0]) + l.packed.ljust(16, b"\0") + r.packed.ljust(16, b"\0")


def batch_update_seconds(pairs: list[tuple[str, str]]) -> float:
    """Seconds for one BPF_MAP_UPDATE_BATCH of len(pairs) entries (map creation not included)."""
    lib = _lib()
    opts = MapCreateOpts(sz=ctypes.sizeof(MapCreateOpts), map_flags=BPF_F_NO_PREALLOC)
    fd = lib.bpf_map_create(BPF_MAP_TYPE_HASH, b"bench_tcp2", KEY_SIZE, VALUE_SIZE, MAX_ENTRIES, ctypes.byref(opts))
    if fd < 0:
        raise OSError(ctypes.get_errno(), f"bpf_map_create: {os.strerror(ctypes.get_errno())}")
    try:
        keys = b"".join(tcp2_key(l, r) for l, r in pairs)
        values = (1).to_bytes(4, "little") * len(pairs)
        kbuf = ctypes.create_string_buffer(keys, len(keys))
        vbuf = ctypes.create_string_buffer(values, len(values))
        count = ctypes.c_uint32(len(pairs))
        t0 = time.perf_counter()
        rc = lib.bpf_map_update_batch(fd, kbuf, vbuf, ctypes.byref(count), None)
        dt = time.perf_counter() - t0
        if rc != 0 or count.value != len(pairs):
            raise OSError(ctypes.get_errno(), f"bpf_map_update_batch: rc {rc}, {count.value}/{len(pairs)} written")
        return dt
    finally:
        os.close(fd)
