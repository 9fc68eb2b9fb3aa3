"""One fuzz chunk: N generated and mutated frames through one actor on one hook
(BPF_PROG_TEST_RUN through bpf(2), a burst of frames per pass), each judged by the Python
oracle of fuzz_frames, then every rewritten frame with its input by tshark in one bulk run
(fuzz_tshark). Used by the short form (test_packet_fuzz.py) and the long form (fuzz_long.py)."""
import ctypes
import os
import random
from dataclasses import dataclass, field

from lab.dataplane import DROP

from fuzz_frames import PARAMS, check, mutate, seed_frame
from fuzz_tshark import check_pairs

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_BPF = 321  # x86_64
_BPF_OBJ_GET, _BPF_PROG_TEST_RUN = 7, 10
BURST = 4096  # frames generated, then run, then judged together


class _ObjGet(ctypes.Structure):
    _fields_ = [("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32), ("file_flags", ctypes.c_uint32),
                ("path_fd", ctypes.c_int32), ("pad", ctypes.c_uint8 * 108)]


class _TestRun(ctypes.Structure):
    _fields_ = [("prog_fd", ctypes.c_uint32), ("retval", ctypes.c_uint32), ("data_size_in", ctypes.c_uint32),
                ("data_size_out", ctypes.c_uint32), ("data_in", ctypes.c_uint64), ("data_out", ctypes.c_uint64),
                ("repeat", ctypes.c_uint32), ("duration", ctypes.c_uint32), ("ctx_size_in", ctypes.c_uint32),
                ("ctx_size_out", ctypes.c_uint32), ("ctx_in", ctypes.c_uint64), ("ctx_out", ctypes.c_uint64),
                ("flags", ctypes.c_uint32), ("cpu", ctypes.c_uint32), ("batch_size", ctypes.c_uint32),
                ("pad", ctypes.c_uint8 * 64)]


def _bpf(cmd, attr):
    r = _libc.syscall(_SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r


class Runner:
    """A pinned program run on frames, one BPF_PROG_TEST_RUN each, buffers reused."""

    def __init__(self, path):
        name = ctypes.create_string_buffer(path.encode())
        self.fd = _bpf(_BPF_OBJ_GET, _ObjGet(pathname=ctypes.addressof(name)))
        self.inp = ctypes.create_string_buffer(4096)
        self.out = ctypes.create_string_buffer(4096)
        self.attr = _TestRun(prog_fd=self.fd, data_in=ctypes.addressof(self.inp),
                             data_out=ctypes.addressof(self.out), repeat=1)

    def run(self, frame):
        """(return value, output frame), or OSError when the kernel refuses the frame."""
        ctypes.memmove(self.inp, frame, len(frame))
        a = self.attr
        a.data_size_in, a.data_size_out = len(frame), len(self.out)
        _bpf(_BPF_PROG_TEST_RUN, a)
        return a.retval, self.out.raw[:a.data_size_out]

    def close(self):
        os.close(self.fd)


@dataclass
class Outcome:
    hook: str
    actor: str
    tried: int = 0       # frames the kernel ran
    refused: int = 0     # frames TC's test run refuses (no full IP header)
    rewritten: int = 0
    dropped: int = 0
    failures: list = field(default_factory=list)  # (why, input hex, output hex)


def run_chunk(dp, hook, actor, seed, chunk, frames, max_failures=20):
    """Configures `dp` for `actor` alone on `hook` and runs `frames` frames of the chunk's own
    random stream (seed, hook, actor, chunk: a failure replays from these)."""
    dp.use(hook, [(actor, PARAMS.get(actor, b""))], slot_names=[actor])
    rng = random.Random(f"{seed}-{hook}-{actor}-{chunk}")
    runner = Runner(dp.prog(hook, "entry"))
    res = Outcome(hook, actor)
    try:
        done = 0
        while done < frames:
            burst = [mutate(rng, seed_frame(rng)) for _ in range(min(BURST, frames - done))]
            ran = []
            for before in burst:
                try:
                    ran.append((before, *runner.run(before)))
                except OSError as e:
                    # TC's test run refuses frames without a full IP header, as the stack never
                    # hands such an skb to TC; XDP takes anything.
                    if hook != "tc":
                        res.failures.append((f"kernel refused the frame: {e}", before.hex(), ""))
                    res.refused += 1
            pairs = []
            for before, ret, after in ran:
                res.tried += 1
                try:
                    check(actor, hook, before, ret, after)
                except AssertionError as e:
                    res.failures.append((str(e), before.hex(), after.hex()))
                    continue
                if ret == DROP[hook]:
                    res.dropped += 1
                elif after != before:
                    pairs.append((before, after))
            res.rewritten += len(pairs)
            if pairs:
                try:
                    for k, fault in check_pairs(actor, pairs):
                        res.failures.append((f"tshark: {fault}", pairs[k][0].hex(), pairs[k][1].hex()))
                except Exception as e:  # a judge that cannot read a burst fails it, visibly
                    res.failures.append((f"tshark judge error: {e!r}", pairs[0][0].hex(), pairs[0][1].hex()))
            done += len(burst)
            if len(res.failures) >= max_failures:
                break
    finally:
        runner.close()
    return res
