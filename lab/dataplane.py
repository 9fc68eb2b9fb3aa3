"""Harness for the emptcp BPF data plane, shared by the packet tests and the packet benchmarks:
one place that loads, configures and runs it.

Loads every object of build/bpf with the loading contract of docs/sdk.md (pin_root_path =
<pin root>/maps through the tiny libbpf loader load.c), fills the program arrays and maps with
bpftool, runs packets through BPF_PROG_TEST_RUN (`bpftool prog run`) and reads the ring buffer
by mmap (lab.bpf). Slots, counters and flags come from abi.h (lab.abi). Each DataPlane owns a
uniquely named bpffs mount and removes it in close().
To load through `emptcp attach` later, only DataPlane.__init__ needs to change.
"""
import json
import hashlib
import os
import struct
import subprocess
import tempfile
import uuid

from .abi import ACT_SLOTS, CHAIN_SLOTS, CNT, CNT_MAX, MAX_ACTORS, MAX_SELECTORS, OP, PREFILTER_BITS_LOG, SEL_SLOTS, kernel_name
from .bpf import RingBuf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BPF_DIR = os.environ.get("EMPTCP_BPF_DIR", os.path.join(ROOT, "build", "bpf"))
HOOKS = ("xdp", "tc")

PASS = {"xdp": 2, "tc": 0xFFFFFFFF}  # XDP_PASS, TC_ACT_UNSPEC (-1 as u32)
DROP = {"xdp": 1, "tc": 2}           # XDP_DROP, TC_ACT_SHOT


def run(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}{r.stdout.strip()}")
    return r


def hexbytes(b):
    return ["hex"] + [f"{x:02x}" for x in b]


def loader_binary():
    """Builds lab/load.c once per process (cached by source mtime)."""
    src = os.path.join(os.path.dirname(__file__), "load.c")
    out = os.path.join(tempfile.gettempdir(), f"emptcp-testload-{int(os.path.getmtime(src))}")
    if not os.path.exists(out):
        run("cc", "-O2", "-Wall", "-o", out + ".tmp", src, "-lbpf")
        os.rename(out + ".tmp", out)
    return out


def build_module(src, hook):
    """Compiles an operator module (one C file using the SDK) with the pinned compiler."""
    # Named after its inputs (the source and the SDK headers): built once per change, never
    # piling up in the temp dir.
    h = hashlib.sha256()
    sdk = os.path.join(ROOT, "bpf", "include", "emptcp")
    for path in [src] + sorted(os.path.join(sdk, n) for n in os.listdir(sdk)):
        with open(path, "rb") as f:
            h.update(f.read())
    digest = h.hexdigest()[:12]
    out = os.path.join(tempfile.gettempdir(), f"emptcp-mod-{digest}.o")
    if os.path.exists(out):
        return out
    run("/usr/bin/clang-14", "-O2", "-g", "-target", "bpf", "-Wall", "-Werror",
        "-I", os.path.join(ROOT, "bpf", "include"),
        "-idirafter", f"/usr/include/{os.uname().machine}-linux-gnu", "-c", src, "-o", out + ".tmp")
    os.rename(out + ".tmp", out)
    return out


def tcp2_key(family, local, remote):
    return bytes([family, 0, 0, 0]) + local.ljust(16, b"\0") + remote.ljust(16, b"\0")


def tcp4_key(family, local, lport, remote, rport):
    return (bytes([family, 0]) + struct.pack("!H", lport) + local.ljust(16, b"\0") +
            remote.ljust(16, b"\0") + struct.pack("!H", rport) + b"\0\0")


def sel_chain_value(steps, flags=0):
    """steps: [(selector name or slot, 'or'|'and')] -> struct emptcp_selector_chain (18 bytes)."""
    b = bytes([len(steps), flags])
    for sel, op in steps:
        b += bytes([SEL_SLOTS.get(sel, sel) if isinstance(sel, str) else sel, OP[op]])
    return b.ljust(2 + 2 * MAX_SELECTORS, b"\0")


def action_chain_value(actors):
    """actors: [(actor name or slot, param bytes)] -> struct emptcp_action_chain (136 bytes)."""
    b = bytes([len(actors)]) + bytes(7)
    for act, param in actors:
        slot = ACT_SLOTS.get(act, act) if isinstance(act, str) else act
        b += bytes([slot]) + bytes(7) + param.ljust(8, b"\0")
    return b.ljust(8 + 16 * MAX_ACTORS, b"\0")


def prefilter_bit(key):
    """abi.h emptcp_prefilter_bit, written again from its comment."""
    h = 2166136261
    for i in range(0, min(len(key), 40), 4):
        h = ((h ^ struct.unpack_from("<I", key, i)[0]) * 16777619) & 0xFFFFFFFF
    h ^= h >> 16
    return h & ((1 << PREFILTER_BITS_LOG) - 1)


def recv_win_param(window):
    return struct.pack("<H", window)


class DataPlane:
    """Both hooks loaded under a private bpffs; every program of build/bpf pinned."""

    EVENTS_BYTES = 1 << 20

    def __init__(self, bpf_dir=BPF_DIR):
        self.root = f"/tmp/emptcp-pkt-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.makedirs(self.root)
        run("mount", "-t", "bpf", "bpf", self.root)
        self.maps = os.path.join(self.root, "maps")
        self.progs = os.path.join(self.root, "progs")
        os.makedirs(self.maps)
        os.makedirs(self.progs)
        self.loader = loader_binary()
        self.verifier = {}
        self._ring = None
        self._prefilter_words = {}
        self._chains = {}
        try:
            for hook in HOOKS:
                for obj in sorted(os.listdir(os.path.join(bpf_dir, hook))):
                    if obj.endswith(".o"):
                        self.load(hook, os.path.join(bpf_dir, hook, obj))
                for name, slot in SEL_SLOTS.items():
                    self.set_prog("sels", hook, slot, f"sel_{name}")
                for name in ("set_recv_win", "rm_add_addr"):
                    self.set_prog("acts", hook, ACT_SLOTS[name], name)
        except Exception:
            self.close()
            raise

    # ---- loading ----
    def load(self, hook, obj, name=None):
        name = name or os.path.basename(obj)[:-2]
        if os.path.exists(self.prog(hook, name)):
            os.unlink(self.prog(hook, name))  # reload: the prog arrays keep the old one until set
        r = run(self.loader, obj, self.maps, self.prog(hook, name))
        self.verifier[(hook, name)] = r.stdout.strip()
        return name

    def prog(self, hook, name):
        return os.path.join(self.progs, f"{hook}_{name}")

    def set_prog(self, array, hook, slot, name):
        run("bpftool", "map", "update", "pinned", self.map(hook, array),
            "key", *hexbytes(struct.pack("<I", slot)), "value", "pinned", self.prog(hook, name))

    def clear_prog(self, array, hook, slot):
        run("bpftool", "map", "delete", "pinned", self.map(hook, array),
            "key", *hexbytes(struct.pack("<I", slot)), check=False)

    def map(self, hook, name):
        """The pinned map `name`: a hook's map by its short name (`chains` on xdp is
        emptcp_x_chains; docs/architecture.md, "Kernel object names"), a shared one by its name."""
        return os.path.join(self.maps, kernel_name(hook, name) if hook else name)

    # ---- configuration ----
    def update(self, hook, name, key, value):
        run("bpftool", "map", "update", "pinned", self.map(hook, name),
            "key", *hexbytes(key), "value", *hexbytes(value))

    def delete(self, hook, name, key):
        run("bpftool", "map", "delete", "pinned", self.map(hook, name), "key", *hexbytes(key))

    def sel_chain(self, hook, steps, flags=0):
        self.update(hook, "selchn", struct.pack("<I", 0), sel_chain_value(steps, flags))

    def prefilter_add(self, hook, key):
        """Sets the prefilter bit of a tcp2/tcp4 key (read-modify-write of one word)."""
        bit = prefilter_bit(key)
        word = struct.pack("<I", bit >> 6)
        r = run("bpftool", "map", "lookup", "pinned", self.map(hook, "prefil"),
                "key", *hexbytes(word), "-j")
        val = int.from_bytes(bytes(int(x, 16) for x in json.loads(r.stdout)["value"]), "little")
        self.update(hook, "prefil", word, (val | (1 << (bit & 63))).to_bytes(8, "little"))
        self._prefilter_words.setdefault(hook, set()).add(word)

    def chain(self, hook, chain_id, actors):
        """Writes chain index `chain_id` (1..CHAIN_SLOTS-1) of generation 0, the one tests drive
        (emptcp_live holds 0): emptcp_<h>_chains[0 * CHAIN_SLOTS + index]."""
        assert 0 < chain_id < CHAIN_SLOTS, chain_id
        self.update(hook, "chains", struct.pack("<I", chain_id), action_chain_value(actors))
        self._chains.setdefault(hook, set()).add(chain_id)

    def use(self, hook, actors, slot_names=()):
        """Plugs the named actors into their slots and makes `actors` the chain of every TCP
        packet on `hook` (the `tcp` selector, chain 1)."""
        for name in slot_names:
            self.set_prog("acts", hook, ACT_SLOTS[name], name)
        self.sel_chain(hook, [("tcp", "or")])
        self.chain(hook, 1, actors)
        self.bind_tcp(hook, 1)

    def bind_tcp2(self, hook, key, chain_id):
        self.update(hook, "tcp2", key, struct.pack("<I", chain_id))

    def bind_tcp4(self, hook, key, chain_id):
        self.update(hook, "tcp4", key, struct.pack("<I", chain_id))

    def bind_tcp(self, hook, chain_id):
        self.update(hook, "tcp", struct.pack("<I", 0), struct.pack("<I", chain_id))

    def dump_keys(self, hook, name):
        r = run("bpftool", "map", "dump", "pinned", self.map(hook, name), "-j")
        return [bytes(int(x, 16) for x in e["key"]) for e in json.loads(r.stdout or "[]")]

    def reset(self):
        """Empties selector chains, bindings and chains of both hooks; zeroes counters."""
        for hook in HOOKS:
            self.sel_chain(hook, [])
            self.bind_tcp(hook, 0)
            for word in self._prefilter_words.pop(hook, set()):
                self.update(hook, "prefil", word, bytes(8))
            for name in ("tcp2", "tcp4"):
                for k in self.dump_keys(hook, name):
                    self.delete(hook, name, k)
            for index in self._chains.pop(hook, set()):  # an array: emptied by zeroing
                self.update(hook, "chains", struct.pack("<I", index), action_chain_value([]))
            zero = bytes(8)
            for i in range(CNT_MAX):
                run("bpftool", "map", "update", "pinned", self.map(hook, "counts"),
                    "key", *hexbytes(struct.pack("<I", i)), "value", *hexbytes(zero))
        if self._ring:
            self._ring.drain()

    # ---- running ----
    def run(self, hook, pkt, repeat=1, name="entry"):
        """Runs `pkt` through program `name` of `hook`; returns (retval, output bytes, ns)."""
        with tempfile.TemporaryDirectory() as d:
            fin, fout = os.path.join(d, "in"), os.path.join(d, "out")
            with open(fin, "wb") as f:
                f.write(bytes(pkt))
            r = run("bpftool", "prog", "run", "pinned", self.prog(hook, name), "data_in", fin,
                    "data_out", fout, "data_size_out", "4096", "repeat", str(repeat))
            line = r.stdout.strip().splitlines()[-1]
            ret = int(line.split("Return value: ")[1].split(",")[0])
            ns = int(line.split("duration")[1].split(":")[1].split("ns")[0])
            with open(fout, "rb") as f:
                out = f.read()
        return ret, out, ns

    def counters(self, hook):
        """Every counter of abi.h's enum emptcp_counter by name, summed over CPUs."""
        r = run("bpftool", "map", "dump", "pinned", self.map(hook, "counts"), "-j")
        out = {}
        for e in json.loads(r.stdout):
            k = e["formatted"]["key"]
            out[k] = sum(v["value"] for v in e["formatted"]["values"])
        return {name: out.get(i, 0) for name, i in CNT.items()}

    def ring(self):
        if not self._ring:
            self._ring = RingBuf(self.map(None, "emptcp_events"), self.EVENTS_BYTES)
        return self._ring

    def close(self):
        if self._ring:
            self._ring.close()
            self._ring = None
        run("umount", self.root, check=False)
        try:
            os.rmdir(self.root)
        except OSError:
            pass
