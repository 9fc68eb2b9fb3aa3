"""A fleet on one machine: a private PostgreSQL server and hosts that follow it.

`Postgres` runs its own cluster: `initdb` into a scratch directory owned by the `postgres` user,
`pg_ctl` listening only on a unix socket in that directory (no TCP), trust authentication (the
socket directory is the boundary). close() stops it and removes the directory, even after a
failure. `Fleet` adds the fleet schema (`emptcp fleet init`), a writer login role and one
follower login role per host.

`FleetHost` is one host: a network namespace with its own veth pair, bpffs pin root, local
database and `emptcp fleet follow` process; its data plane is attached in generic XDP mode.
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .emptcp import Emptcp, emptcp_bin
from .lab import LabError, Node, run

_counter = itertools.count()
PG_BIN = Path("/usr/lib/postgresql")


def pg_bindir() -> Path:
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/VERSION/bin)."""
    versions = sorted((p for p in PG_BIN.glob("*/bin") if (p / "pg_ctl").exists()), key=lambda p: int(p.parent.name))
    if not versions:
        raise LabError("PostgreSQL server not installed (apt package postgresql; scripts/setup.sh)")
    return versions[-1]


class Postgres:
    """A private PostgreSQL cluster on a unix socket; stopped and removed by close()."""

    def __init__(self, tag: str = "pg"):
        self.id = f"etf{os.getpid()}{tag}{next(_counter)}"
        self.dir = Path(f"/tmp/{self.id}")
        self.data = self.dir / "data"
        self.socket_dir = self.dir
        self.port = 20000 + (os.getpid() * 7 + next(_counter)) % 20000
        self.bin = pg_bindir()
        self.user = pwd.getpwnam("postgres")
        self._started = False
        try:
            self.dir.mkdir(parents=True)
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
            self._as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                               "--no-sync"])
            self.start()
        except BaseException:
            self.close()
            raise

    def _as_postgres(self, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        return run(["runuser", "-u", "postgres", "--", *cmd], **kw)

    def start(self) -> None:
        opts = f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c max_connections=400 -c fsync=off"
        self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "server.log"),
                           "-w", "start"], timeout=60)
        self._started = True

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], timeout=60, check=False)
        self._started = False

    def url(self, user: str, database: str) -> str:
        return f"postgresql:///{database}?host={self.socket_dir}&port={self.port}&user={user}"

    def psql(self, sql: str, *, user: str = "postgres", database: str = "postgres", check: bool = True) -> subprocess.CompletedProcess:
        return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p", str(self.port), "-U", user,
                    "-d", database, "-At", "-c", sql], check=check)

    def close(self) -> None:
        if self._started or (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Postgres":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Fleet:
    """A fleet database on `pg`: schema, a writer role and follower roles, and the CLI as writer."""

    def __init__(self, pg: Postgres, database: str = "fleet"):
        self.pg = pg
        self.database = database
        self.bin = emptcp_bin()
        pg.psql(f"CREATE DATABASE {database}")
        self.admin_url = pg.url("postgres", database)
        self.writer = "fleet_writer"
        pg.psql(f"CREATE ROLE {self.writer} LOGIN")
        self.cli("fleet", "init", url=self.admin_url)
        pg.psql(f"GRANT emptcp_fleet_writer TO {self.writer}")
        self.writer_url = pg.url(self.writer, database)
        self._n = 0
        self.workdir = pg.dir / f"{database}-policies"
        self.workdir.mkdir(exist_ok=True)

    def follower_role(self, name: str) -> str:
        """A login role for one host, member of the follower group (created once per cluster)."""
        exists = self.pg.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'").stdout.strip()
        if not exists:
            self.pg.psql(f"CREATE ROLE {name} LOGIN IN ROLE emptcp_fleet_follower")
        return self.pg.url(name, self.database)

    def cli(self, *args: str, url: str | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env["EMPTCP_FLEET"] = url or self.writer_url
        p = run([self.bin, *args], check=False, timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise LabError(f"emptcp {' '.join(args)} exited {p.returncode}: {(p.stderr or p.stdout).strip()}")
        return p

    def commit(self, policy: dict, message: str = "test") -> int:
        self._n += 1
        path = self.workdir / f"policy{self._n}.json"
        path.write_text(json.dumps(policy, indent=2))
        return json.loads(self.cli("fleet", "commit", str(path), "-m", message, "--json").stdout)["id"]

    def wait(self, rev: int, hosts: int, timeout: float = 300) -> subprocess.CompletedProcess:
        """`fleet wait`; the bound is generous because a loaded 2-core CI machine is slow, not wrong."""
        return self.cli("fleet", "wait", str(rev), "--hosts", str(hosts), "--timeout", str(timeout), timeout=timeout + 30)

    def status(self) -> dict:
        return json.loads(self.cli("fleet", "status", "--json").stdout)


class FleetHost:
    """One host: namespace with a veth pair (v0 attached), own pin root, database and follower."""

    def __init__(self, fleet: Fleet, index: int, *, heartbeat: float = 0.5, attach: bool = True, labels: dict | None = None):
        self.fleet = fleet
        self.name = f"etf{os.getpid()}h{index}x{next(_counter)}"
        self.index = index
        self._procs: list[subprocess.Popen] = []
        self.node = Node(self.name, self)  # Node keeps started processes in `_procs`
        self.heartbeat = heartbeat
        self.labels = labels or {"rack": str(index % 2)}
        self.follower: subprocess.Popen | None = None
        self.emptcp: Emptcp | None = None
        self._ns = False
        try:
            run(["ip", "netns", "add", self.name])
            self._ns = True
            run(["ip", "-n", self.name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
            for dev in ("lo", "v0", "v1"):
                run(["ip", "-n", self.name, "link", "set", dev, "up"])
            self.emptcp = Emptcp(self.node, fleet.pg.dir / "hosts" / self.name)
            if attach:
                self.emptcp("attach", "v0", "--xdp-mode", "generic")
            self.url = fleet.follower_role(f"h{self.name}")
        except BaseException:
            self.close()
            raise

    @property
    def log_path(self) -> Path:
        return self.emptcp.workdir / "follow.log"

    def start_follower(self) -> None:
        labels = [a for k, v in self.labels.items() for a in ("--label", f"{k}={v}")]
        env = self.emptcp.env()
        env["EMPTCP_FLEET"] = self.url
        env.setdefault("EMPTCP_LOG_LEVEL", "info")
        log = open(self.log_path, "a")
        self.follower = self.node.popen([self.emptcp.bin, "fleet", "follow", "--host-id", self.name, "--heartbeat", str(self.heartbeat),
                                         *labels], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def stop_follower(self, sig: int = signal.SIGTERM) -> None:
        if self.follower and self.follower.poll() is None:
            os.killpg(self.follower.pid, sig)
            self.follower.wait(timeout=10)
        self.follower = None

    def simulate_reboot(self) -> None:
        """What a reboot does to the data plane: the links are new (nothing attached) and the
        bpffs pin root is empty. The store survives, as a disk does."""
        run(["ip", "-n", self.name, "link", "del", "v0"])
        run(["ip", "-n", self.name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
        for dev in ("v0", "v1"):
            run(["ip", "-n", self.name, "link", "set", dev, "up"])
        run(["umount", "-l", str(self.emptcp.pin_root)])
        run(["mount", "-t", "bpf", "bpf", str(self.emptcp.pin_root)])

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.follower.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def status(self) -> dict:
        return self.emptcp.status()

    def close(self) -> None:
        for p in self._procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=10)
        if self.emptcp:
            self.emptcp.close()
        if self._ns:
            run(["ip", "netns", "del", self.name], check=False)
