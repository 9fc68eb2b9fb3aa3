"""The bpf() system call from Python (ctypes), for what bpftool cannot do or does too slowly:
mmap a ring buffer (BPF_OBJ_GET), read and fill a map without forking per key (BPF_MAP_LOOKUP_ELEM,
BPF_MAP_UPDATE_ELEM, BPF_MAP_UPDATE_BATCH), run a program once per call from this process (BPF_PROG_TEST_RUN).
The attribute layouts are those of union bpf_attr in <linux/bpf.h>; the only ctypes BPF layer of
the tests and benchmarks."""

from __future__ import annotations

import ctypes
import mmap
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_NR_BPF = 321 if os.uname().machine == "x86_64" else 280
_ATTR_SIZE = 128

# enum bpf_cmd
MAP_CREATE, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, OBJ_GET, PROG_TEST_RUN = 0, 1, 2, 3, 7, 10
MAP_UPDATE_BATCH = 26
MAP_TYPE_HASH = 1
F_NO_PREALLOC = 1


def call(cmd: int, attr: bytes) -> tuple[int, bytes]:
    """bpf(cmd, attr); returns (result, the attribute block as the kernel left it)."""
    buf = ctypes.create_string_buffer(attr.ljust(_ATTR_SIZE, b"\0"), _ATTR_SIZE)
    r = _libc.syscall(_NR_BPF, cmd, buf, _ATTR_SIZE)
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf cmd {cmd}: {os.strerror(err)}")
    return r, buf.raw


def obj_get(path: str) -> int:
    """A new fd of the pinned object at `path`."""
    p = ctypes.create_string_buffer(path.encode())
    return call(OBJ_GET, struct.pack("QII", ctypes.addressof(p), 0, 0))[0]


def map_create(map_type: int, key_size: int, value_size: int, max_entries: int, *, flags: int = 0,
               name: bytes = b"") -> int:
    return call(MAP_CREATE, struct.pack("IIIIIII16s", map_type, key_size, value_size, max_entries,
                                        flags, 0, 0, name[:15]))[0]


def map_lookup(fd: int, key: bytes, value_size: int) -> bytes:
    """The value of `key` (ENOENT raises OSError)."""
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value_size)
    call(MAP_LOOKUP_ELEM, struct.pack("IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))
    return v.raw


def map_update(fd: int, key: bytes, value: bytes) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value, len(value))
    call(MAP_UPDATE_ELEM, struct.pack("IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))


def map_delete(fd: int, key: bytes) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    call(MAP_DELETE_ELEM, struct.pack("IIQ", fd, 0, ctypes.addressof(k)))


class UpdateBatch:
    """One BPF_MAP_UPDATE_BATCH of `count` packed keys and values, prepared up front so that
    run() times the system call alone."""

    def __init__(self, keys: bytes, values: bytes, count: int):
        self.keys = ctypes.create_string_buffer(keys, len(keys))
        self.values = ctypes.create_string_buffer(values, len(values))
        self.count = count

    def run(self, fd: int) -> int:
        """Writes the batch into map `fd`; returns how many entries the kernel wrote."""
        _, attr = call(MAP_UPDATE_BATCH, struct.pack(
            "QQQQIIQQ", 0, 0, ctypes.addressof(self.keys), ctypes.addressof(self.values),
            self.count, fd, 0, 0))
        return struct.unpack_from("I", attr, 32)[0]


class ProgRun:
    """BPF_PROG_TEST_RUN on a pinned program, repeat 1, from this process (no bpftool fork,
    so the caches stay as warm as a packet stream leaves them)."""

    def __init__(self, path: str):
        self.fd = obj_get(path)
        self.out = ctypes.create_string_buffer(4096)

    def run(self, frame: bytes) -> int:
        """Runs `frame` once; returns the kernel's duration in ns."""
        data = ctypes.create_string_buffer(frame, len(frame))
        _, attr = call(PROG_TEST_RUN, struct.pack(
            "IIIIQQIIIIQQIII", self.fd, 0, len(frame), 4096, ctypes.addressof(data),
            ctypes.addressof(self.out), 1, 0, 0, 0, 0, 0, 0, 0, 0))
        return struct.unpack_from("I", attr, 36)[0]

    def close(self) -> None:
        os.close(self.fd)


class RingBuf:
    """Consumer side of a pinned BPF ring buffer, by mmap."""

    def __init__(self, path: str, size: int):
        self.fd = obj_get(path)
        self.size = size
        pg = mmap.PAGESIZE
        self.cons = mmap.mmap(self.fd, pg, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self.prod = mmap.mmap(self.fd, pg + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=pg)
        self.pg = pg

    def records(self) -> list[bytes]:
        """Returns the committed records not read yet and consumes them."""
        out = []
        cons = struct.unpack_from("Q", self.cons, 0)[0]
        prod = struct.unpack_from("Q", self.prod, 0)[0]
        while cons < prod:
            off = self.pg + (cons & (self.size - 1))
            hdr_len, _ = struct.unpack_from("II", self.prod, off)
            if hdr_len & (1 << 31):  # busy: not committed yet
                break
            n = hdr_len & ~((1 << 31) | (1 << 30))
            if not hdr_len & (1 << 30):  # not discarded
                out.append(bytes(self.prod[off + 8: off + 8 + n]))
            cons += (n + 8 + 7) & ~7
        struct.pack_into("Q", self.cons, 0, cons)
        return out

    def drain(self) -> None:
        prod = struct.unpack_from("Q", self.prod, 0)[0]
        struct.pack_into("Q", self.cons, 0, prod)

    def close(self) -> None:
        self.cons.close()
        self.prod.close()
        os.close(self.fd)
