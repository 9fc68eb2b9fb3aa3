"""One consumer, many readers: while `emptcp daemon` runs it owns the ring buffer, and
`emptcp events` reads through the daemon's socket, so the daemon (its own --events output) and
any number of `emptcp events` readers each see every record; without a daemon `emptcp events`
reads the ring itself."""

import json
import signal
import subprocess
import time

import pytest

from lab import MptcpClient, MptcpServer

from .live import Daemon, wait_for

pytestmark = [pytest.mark.kernel, pytest.mark.mptcp]

PORT = 5233
CATCH = {"selectors": {"tc": [{"tcp": "or"}]}, "chains": {"ev": [{"catch_mptcp_events": {}}]},
         "bindings": [{"hook": "tc", "selector": "tcp", "chain": "ev"}]}


def records(text: str) -> list[tuple]:
    out = []
    for line in text.splitlines():
        if line.strip():
            r = json.loads(line)
            out.append((r["ts_ns"], r["type"], r.get("sport"), r.get("dport")))
    return out


def test_daemon_and_two_event_readers_each_see_every_record(lab, client_emptcp, monkeypatch):
    e = client_emptcp
    e("attach", "c1", "c2")
    e.commit(CATCH, "report MPTCP signals on egress")
    own = e.workdir / "daemon-events.jsonl"
    daemon = Daemon(e, lab.client, monkeypatch, events_path=own)
    readers = [lab.client.popen([e.bin, "events", "--json"], env=e.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    assert wait_for(lambda: daemon.log().count("events subscriber") >= 2), daemon.log()
    MptcpServer(lab.server, PORT)
    for _ in range(3):
        with MptcpClient(lab.client, lab.paths[0].server(4), PORT) as cl:
            cl.wait_subflows(1)
    # The FINs of the last connection are the last records; wait until the daemon has them.
    assert wait_for(lambda: len([r for r in records(own.read_text()) if r[1] == "FIN"]) >= 6, timeout=15), own.read_text()[-2000:]
    time.sleep(0.5)
    outputs = []
    for r in readers:
        r.send_signal(signal.SIGINT)
        out, err = r.communicate(timeout=10)
        assert r.returncode == 0, err
        assert "through the daemon" in err, err
        outputs.append(records(out))
    mine = records(own.read_text())
    assert len(mine) >= 12, mine  # per connection at least MP_CAPABLE x3, MP_JOIN, FIN x2
    assert outputs[0] == mine and outputs[1] == mine
    assert daemon.stop() == 0, daemon.log()

    # No daemon: `emptcp events` reads the ring itself.
    direct = lab.client.popen([e.bin, "events", "--json", "--count", "1"], env=e.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    with MptcpClient(lab.client, lab.paths[0].server(4), PORT):
        out, err = direct.communicate(timeout=15)
    assert direct.returncode == 0 and len(records(out)) == 1, err
    assert "through the daemon" not in err
