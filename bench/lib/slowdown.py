# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Section slowdown: a fixed amount of work alone and under each profiler."""
import os
import random
import statistics

from lib.common import load_average, log
from lib.profilers import PEERS, kill, spawn_workload


def run_fixed_work(ctx, threads, prof_kind, hz):
    """Elapsed ns of the fixed work, under prof_kind at hz (None: alone)."""
    w = spawn_workload([os.path.join(ctx.build, "bench", "fixed_work"), "--units",
                        str(ctx.args.units), "--threads", str(threads)])
    prof = None
    try:
        if prof_kind:
            prof = prof_kind(ctx)
            prof.start([w.pid], hz)
        w.stdin.write("go\n")
        w.stdin.flush()
        elapsed = int(w.stdout.readline())
        w.wait()
    finally:
        if prof:
            prof.stop()
        kill(w)
    return elapsed


def section_slowdown(ctx):
    rates = (19, 99, 999)
    thread_counts = (1, os.cpu_count())
    results = {}  # (threads, profiler name or None, hz) -> [ns]
    for rep in range(ctx.args.repeats):
        for threads in thread_counts:
            # Interleaved: every profiler and rate once per round, in a shuffled order,
            # each round with its own unprofiled runs.
            plan = [(None, 0)] * 3 + [(k, hz) for k in PEERS for hz in rates]
            random.shuffle(plan)
            for kind, hz in plan:
                ns = run_fixed_work(ctx, threads, kind, hz)
                key = (threads, kind.name if kind else None, hz if kind else 0)
                results.setdefault(key, []).append(ns)
                log("slowdown: round %d, %d thread(s), %s at %d Hz: %.3f s (load %s)" %
                    (rep + 1, threads, kind.name if kind else "alone", hz, ns / 1e9,
                     load_average()))
    lines = ["Slowdown of a fixed amount of CPU-bound work (`fixed_work --units %d`, frame "
             "pointers) under each profiler: median elapsed time over %d interleaved rounds, "
             "as a ratio to the median unprofiled run. 1.000 is no slowdown." %
             (ctx.args.units, ctx.args.repeats), "",
             "| threads | Hz | " + " | ".join(k.name for k in PEERS) + " |",
             "|---" * (len(PEERS) + 2) + "|"]
    notes = []
    for threads in thread_counts:
        base = statistics.median(results[(threads, None, 0)])
        for hz in rates:
            cells = []
            for k in PEERS:
                runs = results[(threads, k.name, hz)]
                cells.append("%.3f" % (statistics.median(runs) / base))
            lines.append("| %d | %d | %s |" % (threads, hz, " | ".join(cells)))
        alone = results[(threads, None, 0)]
        notes.append("%d thread(s): %.2f s (max/min of its %d runs: %.3f)" %
                     (threads, base / 1e9, len(alone), max(alone) / min(alone)))
    lines += ["", "Unprofiled work, median: " + "; ".join(notes) + ".",
              "perf: `perf record -e cpu-clock -F HZ -g -p PID`; bcc: `profile -F HZ -p PID`; "
              "bpftrace: `@[tid, comm, kstack, ustack] = count()` filtered on the pid; cprofd: "
              "`cprofctl start PID --hz HZ` on a running daemon. Each profiler attaches before "
              "the work starts and stops after it ends; start-up and tear-down are not timed."]
    return lines
