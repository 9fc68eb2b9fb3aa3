"""kill -9 at a random moment of a store write or a kernel write, then the checks every trial
ends with. One lab (two namespaces, `soak-` prefixed), emptcp attached to the client's two
veths with its own database and bpffs pin root, trials of four kinds:

- commit:   `emptcp commit` of a fresh policy (1-400 bindings: the larger ones take long enough
            to be killed inside SQLite's write or the map writes), SIGKILLed after a random delay
            in [0, 1.2 x the longest such command seen so far];
- rollback: `emptcp rollback REV` to an earlier revision of other content, killed the same way;
- apply:    a commit killed at a random moment first (so the kernel holds the old revision,
            the new one or part of it), then `emptcp apply`, killed the same way;
- daemon:   the daemon running, a policy that strips the server's ADD_ADDR on path 1, one MPTCP
            connection left with one subflow, then `emptcp rollback` hands the repair to the
            daemon and the daemon is SIGKILLed at a random moment of the hand-over or the
            injection; a new daemon must finish the repair (the connection opens its second
            subflow).

After every trial: the store's invariants (store_invariants: integrity_check, every revision and
its content, a linear history, the audit rows), then `emptcp apply` exits 0 and `emptcp status`
says the kernel is in sync with the current revision."""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field

from lab import ADD_ADDR_SETTLE_S, Emptcp, Lab, MptcpClient, MptcpServer, policy, tcp2

from .store_invariants import Snapshot, faults

KINDS = ("commit", "rollback", "apply", "daemon")
PORT = 5291


@dataclass
class Trial:
    kind: str
    delay: float
    killed: bool            # the process was still running when SIGKILL came
    faults: list[str] = field(default_factory=list)
    lost: int = 0           # revisions seen before and missing after
    corrupt: bool = False   # integrity_check failed


class _Env:
    """Stands in for pytest's monkeypatch where the daemon helper sets its socket variable."""

    def setenv(self, key, value):
        os.environ[key] = value


class KillSoak:
    def __init__(self, lab: Lab, e: Emptcp, seed: int):
        self.lab, self.e = lab, e
        self.rng = random.Random(seed)
        self.longest = {"commit": 0.3, "rollback": 0.3, "apply": 0.3, "daemon": 0.3}
        self.snap = Snapshot()
        self.daemon = None
        self.server = None
        self._n = 0
        self.extra: list[str] = []
        e("attach", "c1", "c2")
        self.e.commit(self.random_policy(), "soak base")
        self.snap = faults(e.db)[1]

    # ---- policies ----
    def random_policy(self, strip: bool = False) -> dict:
        p1, p2 = self.lab.paths
        n = self.rng.choice([1, 3, 40, 150, 400])
        chains = {"slow": [{"set_recv_win": {"window": self.rng.randrange(1000, 60000)}}],
                  "mark": [{"set_flow_prio": {"backup": self.rng.random() < 0.5}}]}
        # The daemon trials leave path 2 alone: the repaired connection joins over it.
        bindings = [] if strip else [tcp2("tc", p2.client4, p2.server4, "mark")]
        if strip:
            chains["strip"] = [{"rm_add_addr": {}}]
            bindings.append(tcp2("xdp", p1.client4, p1.server4, "strip"))
        for i in range(n):
            bindings.append({"hook": "xdp", "selector": "tcp4", "local": p2.client4,
                             "local_port": 1 + (i * 37 + self._n) % 65535, "remote": f"10.250.{i // 250}.{i % 250 + 1}",
                             "remote_port": self.rng.randrange(1, 65536), "chain": "slow"})
        self._n += 1
        return policy(xdp=[("tcp4", "or"), ("tcp2", "or")], tc=[("tcp2", "or")], chains=chains, bindings=bindings)

    def write_policy(self, pol: dict) -> str:
        self._n += 1
        path = self.e.workdir / f"soak-{self._n}.json"
        path.write_text(json.dumps(pol))
        return str(path)

    # ---- one killed command ----
    def killed(self, kind: str, args: list[str]) -> tuple[float, bool]:
        delay = self.rng.uniform(0, 1.2 * self.longest[kind])
        t0 = time.monotonic()
        p = self.lab.client.popen([self.e.bin, *args], env=self.e.env())
        try:
            p.wait(timeout=delay)
            running = False
        except subprocess.TimeoutExpired:
            running = True
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        p.stdout.close()
        p.stderr.close()
        if not running:
            self.longest[kind] = max(self.longest[kind], time.monotonic() - t0)
        return delay, running

    def other_revision(self) -> int | None:
        with sqlite3.connect(self.e.db, timeout=60) as con:
            revs = con.execute("SELECT id, content_hash FROM revision ORDER BY id").fetchall()
        current = revs[-1][1]
        others = [rid for rid, h in revs if h != current]
        return self.rng.choice(others) if others else None

    # ---- trials ----
    def trial(self, kind: str) -> Trial:
        if kind == "commit":
            delay, running = self.killed(kind, ["commit", self.write_policy(self.random_policy()), "-m", f"soak {self._n}"])
        elif kind == "rollback":
            target = self.other_revision()
            if target is None:
                self.e.commit(self.random_policy(), "soak: a revision to roll back to")
                target = self.other_revision()
            delay, running = self.killed(kind, ["rollback", str(target), "-m", f"soak {self._n}"])
        elif kind == "apply":
            delay, running = self.apply_trial()
        else:
            delay, running = self.daemon_trial()
        return self.judge(Trial(kind, delay, running))

    def apply_trial(self) -> tuple[float, bool]:
        # The kernel must disagree with the store for apply to have work: a commit killed at
        # once never reaches the kernel, but one that finished its store write has; an apply
        # killed half-way leaves maps of two revisions. Either way apply must converge.
        self.killed("commit", ["commit", self.write_policy(self.random_policy()), "-m", f"soak {self._n}"])
        return self.killed("apply", ["apply"])

    def daemon_trial(self) -> tuple[float, bool]:
        from tests.events.live import Daemon  # the live-repair tests' daemon helper
        if self.server is None:
            self.server = MptcpServer(self.lab.server, PORT)
        if self.daemon is None:
            self.daemon = Daemon(self.e, self.lab.client, _Env())
        # The revision rolled back to must not strip as well (a rollback trial may have made a
        # stripping revision current): a fresh one that does not, then the one that does.
        self.e.commit(self.random_policy(), f"soak {self._n}: keep ADD_ADDR")
        before_strip = faults(self.e.db)[1].count
        self.e.commit(self.random_policy(strip=True), f"soak {self._n}: strip ADD_ADDR on path 1")
        delay, running = 0.0, False
        with MptcpClient(self.lab.client, self.lab.paths[0].server4, PORT) as cl:
            time.sleep(ADD_ADDR_SETTLE_S)
            if cl.info().get("subflows", 0) != 0:
                self.extra = ["set-up: the server's ADD_ADDR was not stripped (the connection joined)"]
                return 0.0, False
            delay = self.rng.uniform(0, 1.2 * self.longest["daemon"])
            t0 = time.monotonic()
            rb = self.lab.client.popen([self.e.bin, "rollback", str(before_strip), "-m", f"soak {self._n}"], env=self.e.env())
            time.sleep(delay)
            running = self.daemon.proc.poll() is None
            self.daemon.kill9()
            try:
                out, err = rb.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                rb.kill()
                out, err = rb.communicate()
                self.extra = ["rollback hung for 60 s after the daemon was killed"]
            if rb.returncode != 0 and not self.extra:
                self.extra = [f"rollback with the daemon killed exited {rb.returncode}: {err.strip()}"]
            elif len(err.strip().splitlines()) > 1:
                self.extra = [f"rollback printed more than one line on stderr: {err.strip()}"]
            self.longest["daemon"] = max(self.longest["daemon"], time.monotonic() - t0)
            self.daemon.start()
            end = time.monotonic() + 20
            while cl.info().get("subflows", 0) < 1 and time.monotonic() < end:
                time.sleep(0.1)
            if cl.info().get("subflows", 0) < 1:
                self.extra = self.extra + ["the repair was lost: no second subflow after the daemon restarted; "
                                           + self.repair_state(rb_out=out, rb_err=err)]
        return delay, running

    def repair_state(self, rb_out: str, rb_err: str) -> str:
        """What the store and the daemon say about the repair, for the failure message."""
        with sqlite3.connect(self.e.db, timeout=60) as con:
            work = con.execute("SELECT id, revision, kind, state, detail FROM runtime_work ORDER BY id DESC LIMIT 3").fetchall()
            removed = con.execute("SELECT count(*) FROM runtime_removed_add_addr").fetchone()[0]
            inject = con.execute("SELECT outcome, detail FROM audit WHERE action = 'inject' ORDER BY id DESC LIMIT 2").fetchall()
        return (f"rollback said {(rb_out + rb_err).strip()[-300:]!r}; runtime_work {work}; saved ADD_ADDRs {removed}; "
                f"last injections {inject}; daemon log {self.daemon.log()[-600:]!r}")

    def judge(self, t: Trial) -> Trial:
        t.faults += self.extra
        self.extra = []
        bad, now = faults(self.e.db, self.snap)
        t.corrupt = any(b.startswith("integrity_check") for b in bad)
        t.lost = len(set(self.snap.hashes) - set(now.hashes))
        t.faults += bad
        if not t.corrupt:
            self.snap = now
        r = self.e("apply", check=False, timeout=180)
        if r.returncode != 0:
            t.faults.append(f"apply after the kill exited {r.returncode}: {r.stderr.strip()}")
        st = json.loads(self.e("status", "--json", check=False).stdout or "{}")
        if not st.get("in_sync"):
            t.faults.append(f"status after apply: not in sync ({json.dumps(st.get('kernel', {}).get('drift', ''))[:300]})")
        return t

    def close(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()


def run(trials: int, seed: int, kinds=KINDS, report=None) -> list[Trial]:
    """`trials` trials cycling through `kinds` in a fresh lab; report(trial) after each."""
    out = []
    with Lab(prefix="soak-", tag="k") as lab:
        e = Emptcp(lab.client, lab.tmp / "emptcp")
        soak = None
        try:
            soak = KillSoak(lab, e, seed)
            for i in range(trials):
                t = soak.trial(kinds[i % len(kinds)])
                out.append(t)
                if report:
                    report(i, t)
        finally:
            if soak:
                soak.close()
            e.close()
    return out
