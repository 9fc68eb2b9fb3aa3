"""The results page (BENCHMARKS.md) and its PNG plots, from the results document of bench/run.py.

Runs offline: matplotlib with the Agg backend, no network."""

from __future__ import annotations

import os
from pathlib import Path

# Reference figures of the original eMPTCP, run side by side with ours on this kind of machine
# with the same method (BPF_PROG_TEST_RUN, against a bare pass program), and the targets.
EMPTCP_PASS_NS = 34
REF = {
    "floor": ("≈ 34 ns", ""),
    "nobind": ("3.0×", "≤ 2.0×"),
    "empty": ("", "≤ 2.0×"),
    "lookup": ("", "floor of a match"),
    "two_actor": ("7.9×", "≤ 4.0× (stretch 3.0×)"),
    "add_addr": ("8.9 µs (perf buffer + trace_printk)", "≤ 0.5 µs"),
}


def _fmt_s(st: dict, unit: str = "ms", scale: float = 1000.0, digits: int = 1) -> str:
    if not st or st.get("median") is None:
        return "–"
    f = f"{{:.{digits}f}}"
    med, lo, hi = (f.format(st[k] * scale) for k in ("median", "min", "max"))
    return f"{med} {unit} ({lo}–{hi})" if st["n"] > 1 else f"{med} {unit}"


def _fmt_x(st: dict, digits: int = 2) -> str:
    if not st or st.get("median") is None:
        return "–"
    f = f"{{:.{digits}f}}"
    med, lo, hi = (f.format(st[k]) for k in ("median", "min", "max"))
    return f"{med}× ({lo}–{hi})" if st["n"] > 1 else f"{med}×"


def _packet_kind(row: dict) -> str:
    n = row["name"]
    if row["group"] == "floor":
        return "floor"
    if row["group"] == "lookup":
        return "lookup"
    if "no binding" in n:
        return "nobind"
    if "empty" in n:
        return "empty"
    if row["group"] == "add_addr":
        return "add_addr"
    if row["group"] == "chain" and row.get("actors") == ["set_recv_win", "rm_add_addr"] and row["selectors"] == 1:
        return "two_actor"
    return ""


def packet_table(part: dict) -> list[str]:
    lines = [f"### Per packet: BPF_PROG_TEST_RUN, repeat {part['repeat']:,}, {part['reps']} repetitions",
             "",
             "ns per packet as the kernel reports it (median, min–max over the repetitions) and the ratio to "
             "the bare pass program of the same hook and family in the same repetition.",
             "",
             "| hook | IP | figure | ns/packet | × pass | eMPTCP original | target |",
             "|---|---|---|---|---|---|---|"]
    for r in part["rows"]:
        if r["group"] in ("sel-scale", "act-scale"):
            continue
        kind = _packet_kind(r)
        ref, target = REF.get(kind, ("", ""))
        if r["hook"] != "xdp" and kind == "floor":
            ref = ""
        if r["hook"] != "xdp" and kind == "add_addr":  # egress removes without a report
            ref, target = "", ""
        ns = _fmt_s(r["ns"], "ns", 1.0, 0)
        if kind == "add_addr":
            ns += f" = {r['ns']['median'] / 1000:.3f} µs"
        check = f" ⚠ {r['check']}" if "WARNING" in r["check"] else ""
        lines.append(f"| {r['hook']} | v{r['family']} | {r['name']}{check} | {ns} | {_fmt_x(r['ratio'])} | {ref} | {target} |")
    lines += ["", "Chain-length scaling (least-squares slope over 1…8 selectors with one `set_recv_win`, and over "
              "1…8 `set_recv_win` actors behind one `tcp2` selector; medians):", "",
              "| hook | IP | ns per extra selector | ns per extra actor | predicted cost of s selectors + a actors |",
              "|---|---|---|---|---|"]
    for key, s in part["slopes"].items():
        hook, fam = key.split("/")
        if "per_selector_ns" not in s or "per_actor_ns" not in s:
            continue
        base = s["selector_intercept_ns"] + s["actor_intercept_ns"] - _one_plus_one(part, hook, fam)
        lines.append(f"| {hook} | {fam.replace('ipv', 'v')} | {s['per_selector_ns']:.1f} | {s['per_actor_ns']:.1f} | "
                     f"≈ {base:.0f} + {s['per_selector_ns']:.0f}·s + {s['per_actor_ns']:.0f}·a ns |")
    return lines


def _one_plus_one(part: dict, hook: str, fam: str) -> float:
    """The cost of 1 selector + 1 actor (shared by both series' intercepts), for the prediction."""
    for r in part["rows"]:
        if r["hook"] == hook and f"ipv{r['family']}" == fam and r["group"] == "sel-scale" and r["selectors"] == 1:
            return r["ns"]["median"]
    return 0.0


def throughput_table(part: dict) -> list[str]:
    lines = [f"### MPTCP throughput: `mptcpize run iperf3 -C cubic`, 2 subflows over 2 veth pairs, "
             f"{part['seconds']} s × {part['reps']} repetitions",
             "",
             f"Programs on the client's two interfaces. emptcp picks **{part.get('xdp_mode')}** XDP by itself on veth "
             "(`--xdp-mode auto`); both modes are measured, each against bare pass programs in the same mode (their TC "
             "side is a clsact cls_bpf filter, ours a tcx link). `up`: the client sends (data through TC egress, ACKs "
             "through XDP); `down`: `iperf3 -R`, the client receives (data through XDP).",
             "",
             "| direction | programs | Gbit/s | × no programs | × pass floor | target |",
             "|---|---|---|---|---|---|"]
    names = {"none": "none", "pass": "bare pass programs (floor)", "empty": "emptcp, no bindings",
             "chain": "emptcp, 2 selectors + 2 actors on every packet"}
    for d, table in part["directions"].items():
        for mode, t in table.items():
            kind, _, xm = mode.partition("/")
            target = "≥ 0.97× pass" if kind == "chain" else ""
            label = names[kind] + (f", XDP {xm}" if xm else "")
            lines.append(f"| {d} | {label} | {_fmt_s(t['gbps'], '', 1.0, 2)} | {_fmt_x(t['vs_none'])} | "
                         f"{_fmt_x(t['vs_pass'])} | {target} |")
    if part.get("errors"):
        lines += ["", "Errors: " + "; ".join(part["errors"])]
    return lines


def scale_table(part: dict) -> list[str]:
    lines = [f"### Store and applier scale: {part['reps']} repetitions per size, whole `emptcp` processes",
             "",
             "Store: `emptcp commit` of the policy as JSON and as YAML against the same rows inserted into a plain SQLite "
             "table (one transaction, the store's pragmas); one binding re-pointed with `emptcp binding set` and with "
             "`emptcp commit --patch` against `emptcp --version` (process start). Ratios are per repetition: median (min–max).",
             "",
             "| bindings | commit JSON | × raw SQLite | commit YAML | × raw SQLite | raw SQLite insert | `binding set` | "
             "× process start | `commit --patch` | × process start | `emptcp --version` | rollback |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in part["results"].items():
        g = lambda k: r.get(k) or {}  # noqa: E731 - older results lack the new metrics
        lines.append(f"| {int(n):,} | {_fmt_s(g('commit'))} | {_fmt_x(g('commit_vs_sql'))} | {_fmt_s(g('commit_yaml'))} | "
                     f"{_fmt_x(g('commit_yaml_vs_sql'))} | {_fmt_s(g('raw_sql'))} | {_fmt_s(g('change_set'))} | "
                     f"{_fmt_x(g('change_set_vs_start'))} | {_fmt_s(g('change_patch'))} | {_fmt_x(g('change_patch_vs_start'))} | "
                     f"{_fmt_s(g('version'))} | {_fmt_s(g('rollback'))} |")
    lines += ["", "Applier:", "",
              "| bindings | apply | apply again (no-op) | boot restore | raw batch update | apply × raw | boot × raw |",
              "|---|---|---|---|---|---|---|"]
    for n, r in part["results"].items():
        lines.append(f"| {int(n):,} | {_fmt_s(r['apply'])} | {_fmt_s(r['apply_noop'])} | {_fmt_s(r['boot'])} | "
                     f"{_fmt_s(r['raw'], 'ms', 1000.0, 2)} | {_fmt_x(r['apply_vs_raw'], 0)} | {_fmt_x(r['boot_vs_raw'], 0)} |")
    lines += ["", "Targets: commit of 100k bindings < 1 s, a one-binding change on top < 50 ms, "
              "rollback < 1 s. Times include process start-up and opening the database.", "",
              "Memory:", "",
              "| bindings | peak RSS `emptcp commit` JSON | YAML | peak RSS `emptcp apply` | kernel map memory (memlock, all pinned maps) | of which emptcp_x_tcp2 |",
              "|---|---|---|---|---|---|"]
    for n, r in part["results"].items():
        ml = r.get("memlock") or {}
        tot = ml.get("total", 0)
        tcp2 = (ml.get("maps") or {}).get("emptcp_x_tcp2", 0)
        mib = lambda st: f"{st['median'] / 1024:.1f} MiB" if (st or {}).get("median") else "–"  # noqa: E731
        rcs, rys, ras = mib(r.get("rss_commit_kb")), mib(r.get("rss_commit_yaml_kb")), mib(r.get("rss_apply_kb"))
        lines.append(f"| {int(n):,} | {rcs} | {rys} | {ras} | {tot / 1024 / 1024:.1f} MiB | {tcp2 / 1024 / 1024:.2f} MiB |")
    if part.get("errors"):
        lines += ["", "Errors: " + "; ".join(part["errors"])]
    return lines


STORE_FLOORS = {"floor: raw SQLite insert": "raw SQLite insert", "floor: JSONDecoder parse": "JSONDecoder parse",
                "floor: emptcp --version": "`emptcp --version`"}

# The figures the store's targets are about, at the largest size: (operation row, what it is, target).
STORE_HEADLINE = [
    ("emptcp commit FILE.yaml", "`emptcp commit` of a YAML policy file, whole process", "< 1 s"),
    ("emptcp commit FILE.json", "`emptcp commit` of the same policy as JSON, whole process", "< 1 s"),
    ("emptcp binding set (1 binding)", "one binding re-pointed: `emptcp binding set`, whole process", "< 50 ms"),
    ("emptcp commit --patch (1 binding)", "one binding re-pointed: `emptcp commit --patch`, whole process", "< 50 ms"),
    ("commit (full policy)", "`commit(_:)` of the parsed policy, in process", ""),
    ("change 1 binding: commit(changes:)", "`commit(changes:)` of one binding, in process", ""),
    ("rollback all bindings", "rollback where every binding differs, in process", "< 1 s"),
    ("parse+validate YAML file", "parse + validate the YAML file, in process", ""),
]


def _store_ratio(r: dict) -> str:
    if r.get("ratio") is None:
        return "–"
    lo, hi = r.get("ratioMin"), r.get("ratioMax")
    rng = f" ({lo:.2f}–{hi:.2f})" if lo is not None and hi is not None else ""
    return f"{r['ratio']:.2f}×{rng} {STORE_FLOORS.get(r.get('floor'), r.get('floor') or '')}"


def _store_ms(r: dict) -> str:
    return f"{r['medianMs']:.1f} ms ({r['minMs']:.1f}–{r['maxMs']:.1f})"


def store_table(part: dict) -> list[str]:
    """`emptcp-bench store --json`: the headline figures at the largest size, then every row."""
    rows = part.get("rows")
    if not rows:
        return [f"### `emptcp-bench store` (exit {part['rc']}): no results", "", "```",
                (part.get("stdout") or part.get("stderr") or "(no output)")[:4000], "```"]
    reps = part["command"].split("--reps")[-1].split()[0] if "--reps" in part["command"] else "?"
    largest = max(r["bindings"] for r in rows)
    at = {r["operation"]: r for r in rows if r["bindings"] == largest}
    lines = [f"### Store: `emptcp-bench store`, {reps} repetitions per size (exit {part['rc']})", "",
             "Wall time median (min–max) and the ratio to the floor measured in the same run: median / floor median, "
             "then the smallest and largest ratio of one repetition to the floor of the same repetition. Whole-process rows "
             "(`emptcp …`) include process start, opening the database and, for a commit, reading the file; they run with no "
             "data plane attached (store work only). Peak RSS from `/usr/bin/time`.", "",
             f"| {largest:,} bindings | median (min–max) | × floor (range) | peak RSS | target |", "|---|---|---|---|---|"]
    for op, label, target in STORE_HEADLINE:
        r = at.get(op)
        if not r:
            continue
        rss = f"{r['peakRSSMiB']:.1f} MiB" if r.get("peakRSSMiB") else ""
        lines.append(f"| {label} | {_store_ms(r)} | {_store_ratio(r)} | {rss} | {target} |")
    for op, name in STORE_FLOORS.items():
        if op in at:
            rss = f"{at[op]['peakRSSMiB']:.1f} MiB" if at[op].get("peakRSSMiB") else ""
            lines.append(f"| floor: {name} | {_store_ms(at[op])} | | {rss} | |")
    lines += ["", "Every row (cpu: median CPU time of the measuring thread, 0 for whole processes):", "",
              "| operation | bindings | median (min–max) | × floor (range) | cpu | peak RSS |", "|---|---:|---|---|---:|---:|"]
    for r in rows:
        rss = f"{r['peakRSSMiB']:.1f} MiB" if r.get("peakRSSMiB") else ""
        lines.append(f"| {r['operation']} | {r['bindings']:,} | {_store_ms(r)} | {_store_ratio(r)} | {r['cpuMedianMs']:.1f} ms | {rss} |")
    return lines


def apply_table(part: dict) -> list[str]:
    lines = [f"### Applier against its floors: {part['reps']} repetitions per size, whole `emptcp` processes",
             "",
             "Each ratio divides by its floor measured in the same repetition: one raw BPF_MAP_UPDATE_BATCH of the N "
             "bindings for apply, `apply --verify` and boot restore; process start (`emptcp --version`) for the no-op "
             "apply. Median (min–max).",
             "",
             "| bindings | apply | × raw | no-op apply | × process start | apply --verify | × raw | boot restore | × raw "
             "| boot − apply (fixed cost) | raw batch update | process start |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in part["results"].items():
        lines.append(f"| {int(n):,} | {_fmt_s(r['apply'])} | {_fmt_x(r['apply_vs_raw'], 1)} | {_fmt_s(r['noop'])} | "
                     f"{_fmt_x(r['noop_vs_start'], 1)} | {_fmt_s(r['verify'])} | {_fmt_x(r['verify_vs_raw'], 1)} | "
                     f"{_fmt_s(r['boot'])} | {_fmt_x(r['boot_vs_raw'], 1)} | {_fmt_s(r['boot_fixed'])} | "
                     f"{_fmt_s(r['raw'], 'ms', 1000.0, 2)} | {_fmt_s(r['start'])} |")
    lines += ["", "Targets at 100k: apply ≤ 2× raw, no-op apply ≤ 50 ms, boot restore < 1 s with a fixed cost < 300 ms."]
    if part.get("errors"):
        lines += ["", "Errors: " + "; ".join(part["errors"])]
    return lines


def table(doc: dict) -> str:
    out: list[str] = []
    p = doc["parts"]
    if "packet" in p:
        out += packet_table(p["packet"]) + [""]
    if "throughput" in p:
        out += throughput_table(p["throughput"]) + [""]
    if "scale" in p:
        out += scale_table(p["scale"]) + [""]
    if "apply" in p:
        out += apply_table(p["apply"]) + [""]
    if "store" in p:
        out += store_table(p["store"]) + [""]
    if "switch" in p:
        s = p["switch"]
        out += [f"### `emptcp-bench switch` (generation switch and boot restore; exit {s['rc']})", "",
                "Ratios: boot restore, the first change after it (which fills the standby generation) and a no-op "
                "apply to one raw `bpf_map_update_batch` of the same entries; the flip, a one-binding apply and a "
                "rollback to the previous revision (a flip alone) to one raw `bpf_map_update_elem` "
                "([architecture.md](docs/architecture.md#atomic-switch)).", "",
                (s["stdout"] or s["stderr"] or "(no output)")[:8000], ""]
    if "live" in p:
        out += live_table(p["live"]) + [""]
    for name, err in doc["errors"].items():
        out += [f"**{name} failed:** `{err}`", ""]
    return "\n".join(out)


def live_table(part: dict) -> list[str]:
    """bench/live.py: rollback -> repaired connection, against the kernel's own join."""
    r, w, j, m = part["repair"], part["whole"], part["join"], part["memory"]
    lines = [f"### Live repair: `emptcp rollback` with the daemon running, {part['runs']} runs "
             f"({len(r['values'])} repaired, {part['missed']} missed)", "",
             "| measure | median | max | median / kernel join | max / kernel join |", "|---|---:|---:|---:|---:|"]
    for name, st in (("rollback returned → second subflow (MPTCP_INFO)", r), ("rollback started → second subflow", w),
                     ("kernel's own join: connect() returned → second subflow", j)):
        lines.append(f"| {name} | {st['median'] * 1000:.2f} ms | {st['max'] * 1000:.2f} ms | "
                     f"{st['median'] / j['median']:.3f}× | {st['max'] / j['max']:.3f}× |")
    if m:
        lines += ["", f"Daemon memory over {m['injections']:,} MP_PRIO B=0 injections ({m['seen']:,} seen on the path "
                      f"manager's events, each audited): VmRSS {m['rss_before_kb']:,} kB → {m['rss_after_kb']:,} kB "
                      f"({m['ratio']:.3f}×; second half {m['rss_half_kb']:,} kB → {m['rss_after_kb']:,} kB, "
                      f"{m['second_half_ratio']:.3f}×); {m['per_injection_ms']:.2f} ms per request (sock_diag dump, "
                      f"iterator, send, event, audit row)."]
    return lines


def plots(doc: dict, plot_dir: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_dir.mkdir(parents=True, exist_ok=True)
    made = []
    pk = doc["parts"].get("packet")
    if pk:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
        series = [("chain", "k selectors + k actors", lambda r: r["selectors"]),
                  ("sel-scale", "k selectors + 1 actor", lambda r: r["selectors"]),
                  ("act-scale", "1 selector + k actors", lambda r: len(r["actors"]))]
        for ax, (group, title, xf) in zip(axes, series):
            for hook in ("xdp", "tc"):
                for fam in (4, 6):
                    rows = [r for r in pk["rows"] if r["hook"] == hook and r["family"] == fam and r["group"] == group
                            and not (group == "chain" and r["selectors"] == 1 and len(r["actors"]) == 2)]
                    if not rows:
                        continue
                    rows.sort(key=xf)
                    xs = [xf(r) for r in rows]
                    ys = [r["ns"]["median"] for r in rows]
                    lo = [r["ns"]["median"] - r["ns"]["min"] for r in rows]
                    hi = [r["ns"]["max"] - r["ns"]["median"] for r in rows]
                    ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=f"{hook} IPv{fam}")
            floor = [r["ns"]["median"] for r in pk["rows"] if r["group"] == "floor" and r["hook"] == "xdp" and r["family"] == 4]
            if floor:
                ax.axhline(floor[0], color="grey", linestyle=":", label="bare XDP pass (v4)")
            ax.set_title(title)
            ax.set_xlabel("k")
            ax.set_ylabel("ns / packet")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle("Per-packet cost vs chain length (BPF_PROG_TEST_RUN)")
        fig.tight_layout()
        path = plot_dir / "packet_chain_length.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    sc = doc["parts"].get("scale")
    if sc and sc["results"]:
        fig, ax = plt.subplots(figsize=(7.5, 5))
        ns = [int(n) for n in sc["results"]]
        labels = {"commit": "commit", "change_patch": "one-binding change (commit --patch)", "rollback": "rollback", "apply": "apply",
                  "boot": "boot restore", "raw": "raw batch map update"}
        for key, label in labels.items():
            ys = [(sc["results"][str(n)].get(key) or {}).get("median") for n in ns]
            if any(y is None for y in ys):
                continue
            ax.plot(ns, [y * 1000 for y in ys], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("bindings")
        ax.set_ylabel("ms (median)")
        ax.set_title("Store and applier time vs bindings")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = plot_dir / "scale_bindings.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    tp = doc["parts"].get("throughput")
    if tp:
        fig, ax = plt.subplots(figsize=(10, 4.8))
        modes = list(next(iter(tp["directions"].values())).keys())
        width = 0.38
        for i, (d, table) in enumerate(tp["directions"].items()):
            ys = [table[m]["gbps"]["median"] or 0 for m in modes]
            ax.bar([x + i * width for x in range(len(modes))], ys, width, label=d)
        ax.set_xticks([x + width / 2 for x in range(len(modes))])
        short = {"none": "none", "pass": "pass", "empty": "emptcp\nno bindings", "chain": "emptcp\n2+2 chain"}
        ax.set_xticklabels([short[m.partition("/")[0]] + (f"\n({m.partition('/')[2]})" if "/" in m else "")
                            for m in modes], fontsize=8)
        ax.set_ylabel("Gbit/s (median)")
        ax.set_title("MPTCP throughput over two veth pairs (iperf3, cubic)")
        ax.legend()
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        path = plot_dir / "throughput.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    return made


def write(doc: dict, md_path: Path, plot_dir: Path) -> str:
    m = doc["machine"]
    made = []
    try:
        made = plots(doc, plot_dir)
    except Exception as e:  # noqa: BLE001 - the page says so
        doc["errors"]["plots"] = str(e)
    rel = [os.path.relpath(p, md_path.parent) for p in made]
    lines = ["# Benchmarks", "",
             "Generated by `scripts/bench.sh` (do not edit by hand). Every figure is a ratio against a baseline "
             "measured in the same run; min / median / max over the repetitions. Benchmarks are never asserted "
             "in tests. Shared 2-core VM: throughput figures are noisy.", "",
             f"- machine: {m['host']}, {m['cpu']}, {m['cpus']} CPUs, {m['memory']}",
             f"- kernel: {m['kernel']} ({m['os']})",
             f"- toolchain: {m['swift']}",
             f"- date: {m['date']}, commit {m['commit']}",
             f"- command: `{doc['command']}`{' (smoke: tiny counts, not results)' if doc['smoke'] else ''}", "",
             "Original eMPTCP figures (run side by side with ours on this kind of machine, same method): a non-target "
             "packet 3.0× bare; a matching packet through [set_recv_win, rm_add_addr] 7.9×; ADD_ADDR removal with "
             "its report read by a consumer 8.9 µs (perf buffer plus trace_printk). "
             "Targets: non-target ≤ 2.0× bare; 2-actor chain ≤ 4.0× bare (stretch 3.0×); ADD_ADDR removal with its "
             "report read ≤ 0.5 µs; "
             "throughput with the chains on every packet ≥ 97% of the pass-through floor.", ""]
    if rel:
        lines += ["Plots: " + ", ".join(f"[{Path(r).stem}]({r})" for r in rel), ""]
        lines += [f"![{Path(r).stem}]({r})" for r in rel] + [""]
    lines += ["## Results", "", table(doc)]
    text = "\n".join(lines) + "\n"
    # The fleet benchmark (bench/fleet.py) owns a block of the page; keep it across rewrites.
    old = md_path.read_text() if md_path.exists() else ""
    if "<!-- fleet:begin -->" in old and "<!-- fleet:end -->" in old:
        text += "\n" + old[old.index("<!-- fleet:begin -->"):old.index("<!-- fleet:end -->") + len("<!-- fleet:end -->")] + "\n"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text)
    return text
