"""Hostile strings in every field a user can put text into: commit and rollback messages, the
author (SUDO_USER), the host name (a UTS namespace), policy file names (control characters,
invalid UTF-8), chain, selector, actor and module names, binding addresses. Each is either
refused with one line on stderr and exit 2 (nothing committed), or stored: then text output
(log, audit, show, diff) shows it with no raw control character, escape sequence or
bidirectional override, one line per row, and --json gives it back verbatim.

Values: ESC sequences (OSC title, clear screen), CR, BEL, TAB, DEL, a C1 CSI, RTL override and
bidi isolates, SQL quotes, 100,000 characters, a non-BMP character."""
import json
import os
import shutil
import subprocess
import sys
import unicodedata

import pytest

from lab.emptcp import emptcp_bin

HOSTILE = {
    "esc": "ok\x1b]0;owned\x07\x1b[2Jfake",
    "cr": "shown\rhidden",
    "tab_del": "a\tb\x7fc",
    "c1": "a\u009b31mb",
    "rtl": "report\u202etxt.exe",
    "bidi": "\u2066x\u2069\u200f",
    "sql": "x'); DROP TABLE revision; --\"",
    "long": "L" * 100_000,
    "astral": "\U0001F642 ok",
}
NEWLINE = "first\n2  2026-01-01T00:00:00Z  root@vm  commit  forged row"
BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"}


def terminal_safe(text: str) -> list[str]:
    """The characters of `text` a terminal would act on (newlines end rows and are allowed)."""
    return [repr(c) for c in text if c != "\n" and (unicodedata.category(c) == "Cc" or c in BIDI)]


class Store:
    def __init__(self, tmp_path, env=None):
        self.dir = tmp_path / "soak-hostile"
        self.dir.mkdir()
        self.env = dict(os.environ, EMPTCP_DB=str(self.dir / "e.db"), **(env or {}))
        self.n = 0

    def __call__(self, *args, env=None, prefix=()):
        return subprocess.run([*prefix, emptcp_bin(), *args], env=env or self.env, capture_output=True)

    def policy(self, text=None) -> str:
        self.n += 1
        path = self.dir / f"p{self.n}.yaml"
        path.write_text(text or f"chains: {{c: [{{set_recv_win: {{window: {self.n}}}}}]}}\n")
        return str(path)

    def text(self, *args) -> str:
        p = self(*args)
        assert p.returncode == 0, p.stderr
        out = p.stdout.decode()
        assert not terminal_safe(out), (args, terminal_safe(out)[:5])
        return out

    def json(self, *args):
        p = self(*args, "--json")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)


def refused(p):
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 2, (p.returncode, err)
    assert len(err.strip().splitlines()) == 1, err
    assert not terminal_safe(err), terminal_safe(err)
    assert p.stdout == b""


@pytest.mark.parametrize("name", HOSTILE)
def test_messages_are_stored_escaped_in_text_verbatim_in_json(tmp_path, name):
    s = Store(tmp_path)
    value = HOSTILE[name]
    assert s("commit", s.policy(), "-m", value).returncode == 0
    assert s("commit", s.policy(), "-m", "second").returncode == 0
    assert s("rollback", "1", "-m", value).returncode == 0
    revs = s.json("log")["revisions"]
    assert [r["message"] for r in revs if r["id"] in (1, 3)] == [value, value]
    audit = s.json("audit")["entries"]
    assert audit[0]["detail"].endswith("; " + value), audit[0]["detail"][-80:]  # a rollback's row names its target
    log, aud = s.text("log"), s.text("audit")
    assert len(log.strip().splitlines()) == 3 and len(aud.strip().splitlines()) == 3
    s.text("show", "3")
    s.text("diff", "1", "2")
    assert s.json("show", "3") == s.json("show", "1")


def test_a_newline_in_a_message_cannot_forge_a_row(tmp_path):
    s = Store(tmp_path)
    assert s("commit", s.policy(), "-m", NEWLINE).returncode == 0
    assert s.json("log")["revisions"][0]["message"] == NEWLINE
    assert len(s.text("log").strip().splitlines()) == 1
    assert len(s.text("audit").strip().splitlines()) == 1


def test_author_from_sudo_user_is_escaped_and_verbatim(tmp_path):
    s = Store(tmp_path)
    evil = HOSTILE["esc"] + HOSTILE["rtl"]
    assert s("commit", s.policy(), env=dict(s.env, SUDO_USER=evil)).returncode == 0
    assert evil in s.json("log")["revisions"][0]["user"]
    assert evil in s.json("audit")["entries"][0]["user"]
    s.text("log")
    s.text("audit")


@pytest.mark.kernel
def test_host_name_is_escaped_and_verbatim(tmp_path):
    """The host name comes from the kernel: set to a hostile one in a UTS namespace of its own."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.fail("needs root and unshare")
    s = Store(tmp_path)
    evil = "h\x1b[2J\u202e"
    script = "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execv(sys.argv[2], sys.argv[2:])"
    p = s("commit", s.policy(), prefix=("unshare", "-u", sys.executable, "-c", script, evil))
    assert p.returncode == 0, p.stderr
    assert s.json("log")["revisions"][0]["host"] == evil
    s.text("log")
    s.text("audit")


@pytest.mark.parametrize("fname", [b"f\x1b[31m.yaml", b"n\xff\xfe.yaml", b"r\xe2\x80\xaetxt.yaml", b"q'\";--.yaml"])
def test_file_names_commit_and_are_escaped_when_they_fail(tmp_path, fname):
    s = Store(tmp_path)
    good = os.path.join(os.fsencode(s.dir), fname)
    with open(good, "wb") as f:
        f.write(b"chains: {c: [{set_recv_win: {window: 9}}]}\n")
    assert s("commit", good).returncode == 0
    with open(good, "wb") as f:
        f.write(b"chains: {c: [{set_recv_win: {window: -1}}]}\n")
    p = s("commit", good)
    refused(p)
    rows = s.json("audit")["entries"]
    assert [r["outcome"] for r in rows] == ["ok", "failed"]
    # The failed row's detail is the line the user saw, file name escaped as printed (bytes
    # that are not UTF-8 cannot travel in JSON verbatim).
    assert p.stderr.decode().strip() == "emptcp commit: " + rows[1]["detail"]
    s.text("audit")


@pytest.mark.parametrize("where", ["chain", "selector", "actor", "binding address", "binding chain"])
def test_names_in_a_policy_are_refused_in_one_escaped_line(tmp_path, where):
    s = Store(tmp_path)
    assert s("commit", s.policy(), "-m", "base").returncode == 0
    before = s.json("log")
    for name in ("esc", "rtl", "sql", "long", "c1"):
        v = json.dumps(HOSTILE[name])
        text = {
            "chain": f'{{"chains": {{{v}: [{{"set_recv_win": {{"window": 1}}}}]}}}}',
            "selector": f'{{"selectors": {{"xdp": [{{{v}: "or"}}]}}}}',
            "actor": f'{{"chains": {{"c": [{{{v}: {{}}}}]}}}}',
            "binding address": f'{{"selectors": {{"xdp": [{{"tcp2": "or"}}]}}, "chains": {{"c": [{{"rm_add_addr": {{}}}}]}}, '
                               f'"bindings": [{{"hook": "xdp", "selector": "tcp2", "local": {v}, "remote": "10.0.0.1", "chain": "c"}}]}}',
            "binding chain": f'{{"selectors": {{"xdp": [{{"tcp2": "or"}}]}}, "chains": {{"c": [{{"rm_add_addr": {{}}}}]}}, '
                             f'"bindings": [{{"hook": "xdp", "selector": "tcp2", "local": "10.0.0.2", "remote": "10.0.0.1", "chain": {v}}}]}}',
        }[where]
        path = s.dir / f"hostile-{name}.json"
        path.write_text(text)
        refused(s("commit", str(path)))
        assert s.json("audit")["entries"][-1]["outcome"] == "failed", name
    assert s.json("log") == before


def test_module_names_are_refused_in_one_escaped_line(tmp_path):
    s = Store(tmp_path)
    obj = s.dir / "m.o"
    obj.write_bytes(b"\x7fELF")
    for name in ("esc", "rtl", "sql", "long"):
        refused(s("module", "add", str(obj), "--hook", "xdp", "--name", HOSTILE[name]))
    s.text("audit")
