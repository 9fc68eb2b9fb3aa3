"""The clsact fall back goes through libbpf's TC API, not the `tc` program: with no `tc` (nor
anything else) on PATH, `attach --tc-mode clsact` puts our filter (handle 0xe1, priority 49152)
on a new clsact qdisc, `status` sees it, and `detach` removes the filter and the qdisc it
created; a foreign filter on a qdisc that was there before keeps both."""

import shutil
import subprocess

import pytest

pytestmark = [pytest.mark.kernel]


def emptcp_without_path(lab, e, *args):
    nsenter = shutil.which("nsenter")
    env = dict(e.env(), PATH="/nonexistent")
    return subprocess.run([nsenter, f"--net={lab.client.netns_path}", e.bin, *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_clsact_attach_and_detach_need_no_tc_program(lab, client_emptcp):
    e = client_emptcp
    p = emptcp_without_path(lab, e, "attach", "c1", "--tc-mode", "clsact")
    assert p.returncode == 0 and "tc clsact" in p.stdout, p.stderr
    filters = lab.client.out(["tc", "filter", "show", "dev", "c1", "egress"])
    assert "pref 49152" in filters and "handle 0xe1" in filters and "direct-action" in filters, filters
    status = emptcp_without_path(lab, e, "status", "--json")
    assert status.returncode == 0 and '"mode" : "clsact"' in status.stdout, status.stdout
    p = emptcp_without_path(lab, e, "detach", "c1")
    assert p.returncode == 0, p.stderr
    assert "clsact" not in lab.client.out(["tc", "qdisc", "show", "dev", "c1"])

    # Someone else's qdisc and filter: ours comes and goes, theirs stays.
    lab.client.run(["tc", "qdisc", "add", "dev", "c1", "clsact"])
    lab.client.run(["tc", "filter", "add", "dev", "c1", "ingress", "pref", "7", "bpf", "da",
                    "obj", str(e.env()["EMPTCP_BPF_DIR"] + "/tc/pass.o"), "sec", "tc"])
    assert emptcp_without_path(lab, e, "attach", "c1", "--tc-mode", "clsact").returncode == 0
    assert "handle 0xe1" in lab.client.out(["tc", "filter", "show", "dev", "c1", "egress"])
    assert emptcp_without_path(lab, e, "detach", "c1").returncode == 0
    assert "handle 0xe1" not in lab.client.out(["tc", "filter", "show", "dev", "c1", "egress"])
    assert "pass.o" in lab.client.out(["tc", "filter", "show", "dev", "c1", "ingress"])
    assert "clsact" in lab.client.out(["tc", "qdisc", "show", "dev", "c1"])
