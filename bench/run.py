"""Runs every benchmark part and writes the results page. Called by scripts/bench.sh, from the
repository root as a module (so `bench` and the shared `lab` package import without path edits):

    python3 -m bench.run --bin-dir .build/release [--smoke] [--parts packet,throughput,scale,apply,store,switch,live]

Full run: BPF_PROG_TEST_RUN repeat 1e6 x 5 repetitions; iperf3 5 s x 5 repetitions per mode and
direction; 1k/10k/100k bindings x 5 repetitions (apply: 1k/100k). --smoke: tiny counts and sizes (CI), results in
bench-out/ only. A part that fails is reported on the page with its error; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench import apply as apply_bench, live, packet, report, scale, throughput
from bench.common import REPO, bins, log, sh


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"host": platform.node(), "kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
            "memory": mem, "os": platform.platform(), "swift": swift[0] if swift else "",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit}


def store_bench(bench_bin: str, out_dir: Path, smoke: bool) -> dict:
    """`emptcp-bench store` (the store's own benchmark), passed through as it prints."""
    help_text = sh([bench_bin, "store", "--help"], check=False).stdout
    cmd = [bench_bin, "store"]
    if smoke:
        if "--sizes" in help_text:
            cmd += ["--sizes", "100"]
        if "--reps" in help_text:
            cmd += ["--reps", "1"]
    elif "--reps" in help_text:
        cmd += ["--reps", "5"]
    p = sh(cmd, check=False, timeout=3600)
    return {"command": shlex.join(cmd), "rc": p.returncode, "stdout": p.stdout.strip(), "stderr": p.stderr.strip()[-2000:]}


def switch_bench(bench_bin: str, smoke: bool) -> dict:
    """`emptcp-bench switch` (generation switch and boot restore), passed through as it prints."""
    cmd = [bench_bin, "switch"] + (["--quick"] if smoke else ["--reps", "5"])
    p = sh(cmd, check=False, timeout=3600)
    return {"command": shlex.join(cmd), "rc": p.returncode, "stdout": p.stdout.strip(), "stderr": p.stderr.strip()[-2000:]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--bpf-dir", default=str(REPO / "build" / "bpf"))
    ap.add_argument("--out", default=str(REPO / "bench-out"))
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--parts", default="packet,throughput,scale,apply,store,switch,live")
    ap.add_argument("--command", default="scripts/bench.sh", help="the command line shown on the page")
    a = ap.parse_args()

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    emptcp_bin, bench_bin = bins(a.bin_dir)
    bpf_dir = Path(a.bpf_dir)
    parts = [p for p in a.parts.split(",") if p]
    smoke = a.smoke
    doc = {"machine": machine(), "command": a.command, "smoke": smoke, "parts": {}, "errors": {}}
    log(f"parts {parts}{' (smoke)' if smoke else ''}; binaries in {a.bin_dir}")

    def part(name, fn):
        if name not in parts:
            return
        t0 = time.time()
        try:
            doc["parts"][name] = fn()
        except Exception as e:  # noqa: BLE001 - shown on the page, never hidden
            doc["errors"][name] = f"{type(e).__name__}: {e}"
            log(f"{name} failed: {e}")
            traceback.print_exc()
        log(f"{name}: {time.time() - t0:.0f}s")

    part("packet", lambda: packet.run(bench_bin, bpf_dir, out, repeat=1000 if smoke else 1_000_000,
                                      reps=2 if smoke else 5))
    part("throughput", lambda: throughput.run(emptcp_bin, bpf_dir, seconds=1 if smoke else 5,
                                              reps=1 if smoke else 5))
    def scale_part():
        work = Path(f"/tmp/emptcp-bench-scale-{os.getpid()}")
        try:
            return scale.run(emptcp_bin, bpf_dir, work, sizes=[100, 1000] if smoke else [1000, 10_000, 100_000],
                             reps=1 if smoke else 5)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    part("scale", scale_part)

    def apply_part():
        work = Path(f"/tmp/emptcp-bench-apply-{os.getpid()}")
        try:
            return apply_bench.run(emptcp_bin, bpf_dir, work, sizes=[100, 1000] if smoke else [1000, 100_000],
                                   reps=1 if smoke else 5)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    part("apply", apply_part)
    part("store", lambda: store_bench(bench_bin, out, smoke))
    part("switch", lambda: switch_bench(bench_bin, smoke))
    part("live", lambda: live.run(emptcp_bin, bpf_dir, runs=2 if smoke else 50, injections=200 if smoke else 10_000))

    (out / "results.json").write_text(json.dumps(doc, indent=1))
    md = out / "BENCHMARKS.smoke.md" if smoke else REPO / "BENCHMARKS.md"
    plots = out / "plots" if smoke else REPO / "bench" / "plots"
    text = report.write(doc, md, plots)
    print(report.table(doc))
    log(f"wrote {md} and plots in {plots}")
    if smoke and doc["errors"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
