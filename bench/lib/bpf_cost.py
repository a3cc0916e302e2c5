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
    # ends in libc's __libc_start_call_main above it: D + 4 user frames.
    for frames in map(int, ctx.args.cost_frames.split(",")):
        workloads = [spawn_workload([os.path.join(ctx.build, "workloads", "deep"), "--depth",
                                     str(frames - 4)]) for _ in range(ncpu)]
        pids = [w.pid for w in workloads]
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
        try:
            row = {"frames": frames}
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
                    log("bpf-cost: %d frames, %s: %.0f ns/run over %d runs (load %s)" %
                        (frames, kind.name, row[kind.name][-1], cnt, load_average()))
            rows.append(row)
        finally:
            subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"], check=True)
            for w in workloads:
                kill(w)
    names = [k.name for k in COST_KINDS if k.name in ctx.cost_kinds]
    peers = [n for n in ("cprofd baseline", "bcc profile", "bpftrace") if n in names]
    if "cprofd" not in names:
        peers = []
    lines = ["Kernel cost per sample at %d Hz: run_time_ns / run_cnt, median of %d runs of "
             "%g s each, interleaved, every CPU busy in a target (`deep`). Lower is better." %
             (hz, ctx.args.repeats_cost, ctx.args.cost_seconds), "",
             "| user frames | " + " | ".join(n + ", us" for n in names) +
             "".join(" | cprofd / %s" % p for p in peers) + " |",
             "|---" * (len(names) + len(peers) + 1) + "|"]
    for row in rows:
        med = {n: statistics.median(row.get(n) or [float("nan")]) for n in names}
        lines.append("| %d | " % row["frames"] +
                     " | ".join("%.2f" % (med[n] / 1000) for n in names) +
                     "".join(" | %.2f" % (med["cprofd"] / med[p]) for p in peers) + " |")
    lines += ["", "bcc: `profile -F 999 -p PIDS` (stack map, a hash of kernel and user stack "
              "ids); bpftrace: `@[tid, comm, kstack, ustack] = count()` with a pid filter; pid "
              "filter only: a bpftrace program that only compares the pid (the floor)."]
    if ctx.args.baseline_build:
        lines.append("cprofd baseline: the cprofd built in `%s`." % ctx.args.baseline_build)
    return lines
