"""`emptcp status --exit-code`, like `git diff --exit-code`: 1 when the kernel differs from the
current revision (another revision in emptcp_meta, a drifted map entry), 0 when it matches.
Without the flag status exits 0 either way."""

import json

import pytest

from lab import run

from .policies import strip_add_addr

pytestmark = [pytest.mark.kernel]


def bpftool_json(*args: str):
    return json.loads(run(["bpftool", "-j", *args]).stdout or "null")


def test_status_exit_code_reports_kernel_differences(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1")
    e.commit(strip_add_addr(lab, bound=True))
    assert e("status", "--exit-code", check=False).returncode == 0

    # emptcp_meta keys 2 and 3 hold the revision each policy generation holds completely; status
    # reports the live one's. Revision 99 in both, which the store never made.
    meta = str(e.pin_root / "maps" / "emptcp_meta")
    saved = bpftool_json("map", "lookup", "pinned", meta, "key", "2", "0", "0", "0")["value"]
    other = ["0x63"] + ["0"] * (len(saved) - 1)
    for generation_key in ("2", "3"):
        run(["bpftool", "map", "update", "pinned", meta, "key", generation_key, "0", "0", "0", "value", *other])
    plain = e("status", check=False)
    assert plain.returncode == 0 and "kernel 99" in plain.stdout, plain.stdout
    flagged = e("status", "--exit-code", check=False)
    assert flagged.returncode == 1, flagged
    assert "kernel 99" in flagged.stdout

    e("apply")
    assert e("status", "--exit-code", check=False).returncode == 0

    # Drift with the right revision: one binding removed behind emptcp's back.
    tcp2 = str(e.pin_root / "maps" / "emptcp_x_tcp2")
    entry = bpftool_json("map", "dump", "pinned", tcp2)[0]
    run(["bpftool", "map", "delete", "pinned", tcp2, "key", *entry["key"]])
    drifted = e("status", "--exit-code", "--json", check=False)
    assert drifted.returncode == 1
    report = json.loads(drifted.stdout)
    assert report["kernel"]["kernel_revision"] == report["current_revision"], report
    assert report["kernel"]["drift"], report
    assert e("status", check=False).returncode == 0
