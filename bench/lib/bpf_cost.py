# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Section bpf-cost: the kernel cost per sample of each BPF profiler."""
import os
import statistics
import subprocess
import time

from lib.bpf_progs import prog_stats
from lib.common import load_average, log
from lib.profilers import COST_KINDS, kill, spawn_workload


def section_bpf_cost(ctx):
    """run_time_ns / run_cnt of each BPF profiler with every CPU busy in a target."""
    hz = 999
    ncpu = os.cpu_count()
    rows = []
    # deep --depth D has D + 3 frames from deep_leaf to main, and the walk
    # ends in libc's __libc_start_call_main above it: D + 4 user frames
    # (frame pointers; with tables, two more to _start). deep_nofp --depth D,
    # built without frame pointers, has D + 5 to _start; only a CFI walk
    # sees them all.
    cases = [("deep", frames, ["--depth", str(frames - 4)])
             for frames in map(int, ctx.args.cost_frames.split(","))]
    cases.append(("deep_nofp", 32, ["--depth", "27", "--seconds", "100000"]))
    for workload, frames, wargs in cases:
        workloads = [spawn_workload([os.path.join(ctx.build, "workloads", workload)] + wargs)
                     for _ in range(ncpu)]
        pids = [w.pid for w in workloads]
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
        try:
            row = {"frames": frames, "workload": workload}
            kinds = [k for k in COST_KINDS if k.name in ctx.cost_kinds]
            for _ in range(ctx.args.repeats_cost):
                for kind in kinds:
                    prof = kind(ctx)
                    prof.start(pids, hz)
                    try:
                        time.sleep(1)
                        # Other tests on the machine may switch the stats off: on again.
                        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"],
                                       check=True)
                        before = {i: prog_stats(i) for i in prof.prog_ids}
                        time.sleep(ctx.args.cost_seconds)
                        after = {i: prog_stats(i) for i in prof.prog_ids}
                    finally:
                        prof.stop()
                    ns = sum(after[i][0] - before[i][0] for i in after)
                    cnt = sum(after[i][1] - before[i][1] for i in after)
                    if cnt < 100:  # stats switched off meanwhile: try again next round
                        log("bpf-cost: %s: only %d runs counted, dropped" % (kind.name, cnt))
                        continue
                    row.setdefault(kind.name, []).append(ns / cnt)
                    log("bpf-cost: %s, %d frames, %s: %.0f ns/run over %d runs (load %s)" %
                        (workload, frames, kind.name, row[kind.name][-1], cnt, load_average()))
            rows.append(row)
        finally:
            subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"], check=True)
            for w in workloads:
                kill(w)
    names = [k.name for k in COST_KINDS if k.name in ctx.cost_kinds]
    ratios = [(a, b) for a, b in (("cprofd", "cprofd, frame pointers"),
                                  ("cprofd, frame pointers", "bpftrace"),
                                  ("cprofd, frame pointers", "bcc profile"),
                                  ("cprofd", "bpftrace"), ("cprofd", "cprofd baseline"))
              if a in names and b in names]
    lines = ["Kernel cost per sample at %d Hz: run_time_ns / run_cnt, median of %d runs of "
             "%g s each, interleaved, every CPU busy in a target. Lower is better." %
             (hz, ctx.args.repeats_cost, ctx.args.cost_seconds), "",
             "| workload | user frames | " + " | ".join(n + ", us" for n in names) +
             "".join(" | %s / %s" % r for r in ratios) + " |",
             "|---" * (len(names) + len(ratios) + 2) + "|"]
    meds = {}
    for row in rows:
        med = {n: statistics.median(row.get(n) or [float("nan")]) for n in names}
        meds[(row["workload"], row["frames"])] = med
        lines.append("| %s | %d | " % (row["workload"], row["frames"]) +
                     " | ".join("%.2f" % (med[n] / 1000) for n in names) +
                     "".join(" | %.2f" % (med[a] / med[b]) for a, b in ratios) + " |")
    lines += ["", "cprofd: unwind tables on (the default): every binary here has .eh_frame, so "
              "the walk goes by tables, and to _start; cprofd, frame pointers: the same build "
              "with `--unwind-table-size 0`. `deep` is built with frame pointers, `deep_nofp` "
              "with `-O2 -fomit-frame-pointer`: there the peers' frame-pointer walks stop after "
              "a frame or two, which is cheap and wrong. bcc: `profile -F 999 -p PIDS` (stack "
              "map, a hash of kernel and user stack ids); bpftrace: "
              "`@[tid, comm, kstack, ustack] = count()` with a pid filter; pid filter only: a "
              "bpftrace program that only compares the pid (the floor)."]
    lines.append("Both workloads are recursions: a walk by tables remembers the last row it "
                 "found, and from the third frame on every frame is the same function again, so "
                 "most frames skip the search. A stack of distinct functions pays the page "
                 "index and a binary search (about 7 steps) per frame: before the walk had that "
                 "cache, `deep` at 100 frames cost 7.03 us by tables, 3.37 us by frame "
                 "pointers (same run).")
    fp, nofp = meds.get(("deep", 32)), meds.get(("deep_nofp", 32))
    if fp and nofp and "cprofd" in names and "cprofd, frame pointers" in names:
        lines.append("Unwinding by tables a 32-frame stack without frame pointers against the "
                     "frame-pointer walk of a 32-frame stack: %.2f us / %.2f us = %.2fx." % (
                         nofp["cprofd"] / 1000, fp["cprofd, frame pointers"] / 1000,
                         nofp["cprofd"] / fp["cprofd, frame pointers"]))
    if ctx.args.baseline_build:
        lines.append("cprofd baseline: the cprofd built in `%s`." % ctx.args.baseline_build)
    return lines
