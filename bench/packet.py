"""Per-packet cost: runs `emptcp-bench packet` (BPF_PROG_TEST_RUN) and derives the slopes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.common import log, sh, slope, stats


def run(bench_bin: str, bpf_dir: Path, out_dir: Path, *, repeat: int, reps: int) -> dict:
    out = out_dir / "packet.json"
    log(f"packet: repeat {repeat}, {reps} repetitions")
    p = sh([bench_bin, "packet", "--bpf-dir", str(bpf_dir), "--repeat", str(repeat), "--reps", str(reps),
            "--json", str(out)], timeout=3600)
    doc = json.loads(out.read_text())
    rows = []
    for r in doc["results"]:
        rows.append({**{k: r[k] for k in ("hook", "family", "group", "name", "selectors", "actors", "check")},
                     "ns": stats(r["ns"]), "ratio": stats(r["ratio"])})
    slopes = {}
    for hook in sorted({r["hook"] for r in rows}):
        for fam in sorted({r["family"] for r in rows}):
            mine = [r for r in rows if r["hook"] == hook and r["family"] == fam]
            sel = [r for r in mine if r["group"] == "sel-scale"]
            act = [r for r in mine if r["group"] == "act-scale"]
            entry = {}
            if len(sel) >= 2:
                b, a = slope([r["selectors"] for r in sel], [r["ns"]["median"] for r in sel])
                entry["per_selector_ns"], entry["selector_intercept_ns"] = b, a
            if len(act) >= 2:
                b, a = slope([len(r["actors"]) for r in act], [r["ns"]["median"] for r in act])
                entry["per_actor_ns"], entry["actor_intercept_ns"] = b, a
            slopes[f"{hook}/ipv{fam}"] = entry
    warnings = [f"{r['hook']} ipv{r['family']} {r['name']}: {r['check']}" for r in rows if "WARNING" in r["check"]]
    return {"repeat": repeat, "reps": reps, "rows": rows, "slopes": slopes, "warnings": warnings,
            "stderr": p.stderr.strip().splitlines()[-10:]}
