"""A pin root left by a build from before the `emptcp_` prefix (maps `xdp_selectors`,
`tc_selectors`, ...): attach, apply and status refuse it with one line and exit 1, the pins left
as they were; `detach --all` removes it, after which attach and apply start clean
(docs/operations.md, "Upgrading from unprefixed names")."""

import os

import pytest

from .policies import strip_add_addr

pytestmark = [pytest.mark.kernel]


def pins(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_old_named_pins_are_refused_until_detached(lab, client_emptcp):
    e = client_emptcp
    e("attach", "c1")
    e.commit(strip_add_addr(lab, bound=True))
    maps = e.pin_root / "maps"
    # What an older build leaves: its selector arrays pinned under the old names (bpffs renames
    # in place; the attached entry programs keep using them).
    for hook in ("xdp", "tc"):
        os.rename(maps / f"emptcp_{hook[0]}_sels", maps / f"{hook}_selectors")
    before = pins(e.pin_root)

    for args in (("attach", "c1"), ("apply",), ("status",)):
        r = e(*args, check=False)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1, (args, r.stdout, r.stderr)
        assert "old names (tc_selectors, xdp_selectors)" in lines[0] and "`emptcp detach --all`" in lines[0], lines
        assert pins(e.pin_root) == before, args

    e("detach", "--all")
    assert not maps.exists() and not (e.pin_root / "progs").exists(), pins(e.pin_root)
    e("attach", "c1")
    e("apply")
    assert e("status", "--exit-code", check=False).returncode == 0
    assert {"emptcp_x_sels", "emptcp_t_sels"} <= set(os.listdir(maps))
