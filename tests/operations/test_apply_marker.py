"""The generation markers (emptcp_meta: per generation the revision and the digest of its
content, docs/applier.md "The marker"): a no-op `emptcp apply` proves from them that the kernel
holds the revision and reads no policy map; `apply --verify` and `status` read every map. The
markers are cleared before a generation is written and set after, so a kill -9 in the middle
leaves one that the next apply does not trust."""

import json
import os
import signal
import struct
import subprocess
from contextlib import closing

import pytest

from lab import bpf, policy, tcp2

from .policies import strip_add_addr

pytestmark = [pytest.mark.kernel]

META_GEN_REVISION, META_GEN_DIGEST = 2, 5  # abi.h enum emptcp_meta_key, + generation


class Meta:
    """emptcp_meta and emptcp_live of a pin root, read and written through bpf()."""

    def __init__(self, pin_root):
        self.meta = bpf.obj_get(str(pin_root / "maps" / "emptcp_meta"))
        self.live_map = bpf.obj_get(str(pin_root / "maps" / "emptcp_live"))

    def get(self, index: int) -> int:
        return struct.unpack("<Q", bpf.map_lookup(self.meta, struct.pack("<I", index), 8))[0]

    def set(self, index: int, value: int) -> None:
        bpf.map_update(self.meta, struct.pack("<I", index), struct.pack("<Q", value))

    def live(self) -> int:
        return struct.unpack("<I", bpf.map_lookup(self.live_map, struct.pack("<I", 0), 4))[0] & 1

    def markers(self) -> list[tuple[int, int]]:
        return [(self.get(META_GEN_REVISION + g), self.get(META_GEN_DIGEST + g)) for g in (0, 1)]

    def close(self) -> None:
        os.close(self.meta)
        os.close(self.live_map)


def apply_json(e, *args: str) -> dict:
    return json.loads(e("apply", "--json", *args).stdout)


def in_sync(e) -> bool:
    return e("status", "--exit-code", check=False).returncode == 0


@pytest.fixture
def stripping(lab, client_emptcp):
    """client_emptcp attached on c1 with the ADD_ADDR-stripping policy committed (revision 1)."""
    client_emptcp("attach", "c1")
    client_emptcp.commit(strip_add_addr(lab, bound=True))
    return client_emptcp


def test_noop_apply_trusts_the_markers_verify_and_status_read_the_maps(lab, stripping):
    e = stripping
    with closing(Meta(e.pin_root)) as meta:
        # Only the live generation's marker proves what is in force; the standby one was never
        # written (an apply writes the standby generation and flips, nothing more).
        r, d = meta.markers()[meta.live()]
        assert r == 1 and d != 0, meta.markers()

        # Nothing to do: the markers prove it, nothing is written, the report says so.
        noop = apply_json(e)
        assert noop["fast_path"] and not noop["verified"] and not noop["switched"], noop
        assert all(m["added"] == m["removed"] == m["changed"] == 0 for m in noop["maps"]), noop
        assert noop["standby_writes"] == 0 and noop["program_slots"] == 0 and noop["links"] == [], noop

        # A binding changed behind emptcp's back, in the live generation.
        tcp2_map = str(e.pin_root / "maps" / "emptcp_x_tcp2")
        live = meta.live()
        entries = json.loads(lab.client.out(["bpftool", "-j", "map", "dump", "pinned", tcp2_map]))
        entry = next(x for x in entries if int(x["key"][1], 16) == live)
        lab.client.run(["bpftool", "map", "update", "pinned", tcp2_map, "key", *entry["key"], "value", "0x39", "0x30", "0", "0"])

        # `apply` alone trusts the markers and leaves it; `status` reads the maps and finds it.
        trusted = apply_json(e)
        assert trusted["fast_path"], trusted
        after = json.loads(lab.client.out(["bpftool", "-j", "map", "lookup", "pinned", tcp2_map, "key", *entry["key"]]))
        assert [int(b, 16) for b in after["value"]] == [0x39, 0x30, 0, 0], after
        drift = e.status()["kernel"]["drift"]
        assert [d["map"] for d in drift] == ["emptcp_x_tcp2"] and drift[0]["problem"] == "differs", drift
        assert not in_sync(e)

        # `apply --verify` reads everything and repairs it; then the fast path again.
        verified = apply_json(e, "--verify")
        assert verified["verified"] and not verified["fast_path"], verified
        # The live generation is never written in place: the standby is written and goes live;
        # the drifted one keeps its entries but loses its marker, so the next switch rewrites it.
        assert [(m["map"], m["changed"]) for m in verified["maps"] if m["added"] + m["removed"] + m["changed"]] == [("emptcp_x_tcp2", 1)], verified
        assert verified["switched"] and verified["standby_writes"] == 0, verified
        assert meta.markers()[1 - meta.live()] == (0, 0), meta.markers()
        assert in_sync(e) and e.status()["kernel"]["drift"] == []
        assert apply_json(e)["fast_path"]


def test_a_marker_that_disagrees_with_the_store_forces_the_full_plan(lab, stripping):
    e = stripping
    with closing(Meta(e.pin_root)) as meta:
        stamped = meta.markers()

        # A live digest that is not the store's revision's: the maps are read and compared.
        meta.set(META_GEN_DIGEST + meta.live(), 0x1234)
        full = apply_json(e)
        assert not full["fast_path"] and not full["switched"], full
        assert meta.markers() == stamped
        assert apply_json(e)["fast_path"]

        # Another revision committed without applying (another pin root): planned and switched.
        p1, f = lab.paths[0], lab.family
        other = policy(xdp=[("tcp2", "or")], chains={"strip": [{"rm_add_addr": {}}], "slow": [{"set_recv_win": {"window": 1600}}]},
                       bindings=[tcp2("xdp", p1.client(f), p1.server(f), "slow")])
        path = e.workdir / "other.json"
        path.write_text(json.dumps(other))
        lab.client.run([e.bin, "commit", str(path), "-m", "elsewhere"], env=dict(e.env(), EMPTCP_PIN_ROOT=str(e.workdir / "spare")))
        switched = apply_json(e)
        assert not switched["fast_path"] and switched["switched"] and switched["previous_revision"] == 1, switched
        # The new revision is live; the old generation keeps revision 1, ready for a rollback.
        live = meta.live()
        assert switched["revision"] == 2 and meta.markers()[live][0] == 2 and meta.markers()[1 - live][0] == 1, meta.markers()
        assert switched["standby_writes"] == 0, switched
        assert in_sync(e) and apply_json(e)["fast_path"]


def test_a_rollback_to_the_previous_revision_goes_live_from_the_standby(lab, stripping):
    """The old generation keeps the revision it held: rolling back to it switches to that
    generation, and the generation left keeps the revision rolled back from."""
    e = stripping
    with closing(Meta(e.pin_root)) as meta:
        first = meta.markers()[meta.live()]
        e.commit(bindings(lab, 100, "slow"))          # revision 2, applied: it goes live
        second_gen = meta.live()
        second = meta.markers()[second_gen]
        assert second[0] == 2 and meta.markers()[1 - second_gen] == first, meta.markers()

        e("rollback", "1", "-m", "back")                # revision 3 = revision 1's content
        live = meta.live()
        assert live == 1 - second_gen, meta.markers()
        # Same content as revision 1, so the same digest; only the revision is renamed.
        assert meta.markers()[live] == (3, first[1]), meta.markers()
        assert meta.markers()[second_gen] == second, meta.markers()
        assert in_sync(e) and e.status()["kernel"]["drift"] == []
        assert apply_json(e)["fast_path"]


def bindings(lab, n: int, chain: str) -> dict:
    p1, f = lab.paths[0], lab.family
    binds = [tcp2("xdp", f"10.{100 + i // 65536}.{(i // 256) % 256}.{i % 256}", "10.255.0.1", chain) for i in range(n)]
    binds.append(tcp2("xdp", p1.client(f), p1.server(f), "strip"))
    return policy(xdp=[("tcp2", "or")], chains={"strip": [{"rm_add_addr": {}}], "slow": [{"set_recv_win": {"window": 1600}}],
                                                "fast": [{"set_recv_win": {"window": 3200}}]}, bindings=binds)


def test_kill_mid_apply_leaves_a_marker_that_forces_the_full_path(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1")
    # Two revisions, so both generations are complete (the standby one holds the first).
    e.commit(bindings(lab, 20_000, "fast"))
    e.commit(bindings(lab, 20_000, "slow"))
    with closing(Meta(e.pin_root)) as meta:
        caught = False
        for attempt in range(10):
            # The next revision is committed to another pin root (store only); `apply` writes it.
            # Three chains in turn: the standby generation (two revisions back) differs in every entry.
            chain = ("strip", "fast", "slow")[attempt % 3]
            path = e.workdir / f"kill{attempt}.json"
            path.write_text(json.dumps(bindings(lab, 20_000, chain)))
            lab.client.run([e.bin, "commit", str(path), "-m", "to kill"], env=dict(e.env(), EMPTCP_PIN_ROOT=str(e.workdir / "spare")))
            proc = subprocess.Popen(lab.client.prefix() + [e.bin, "apply"], env=e.env(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Killed as soon as a generation's marker is cleared: it is being written.
            while proc.poll() is None:
                if any(d == 0 for _, d in meta.markers()):
                    proc.send_signal(signal.SIGKILL)
                    break
            proc.wait()
            incomplete = [g for g, (r, d) in enumerate(meta.markers()) if d == 0 or r == 0]
            if not incomplete:
                # The apply ended before the kill landed: nothing to check this time.
                assert apply_json(e)["fast_path"]
                continue
            caught = True
            # The generation being written is not claimed complete, so the next apply does not
            # trust the markers: it reads, finishes the writes and converges.
            nxt = apply_json(e)
            assert not nxt["fast_path"], (meta.markers(), nxt)
            assert in_sync(e) and e.status()["kernel"]["drift"] == []
            r, d = meta.markers()[meta.live()]
            assert r == nxt["revision"] and d != 0 and nxt["switched"], (meta.markers(), nxt)
            assert apply_json(e)["fast_path"]
            break
        assert caught, "no kill landed while a generation was being written in 10 attempts"
