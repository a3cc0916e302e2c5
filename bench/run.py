#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""cprofd side by side with perf, bcc and bpftrace on this machine.

Sections (run in this order; --only picks some):
  bpf-cost   kernel cost per sample: run_time_ns / run_cnt of each profiler's
             BPF program (kernel.bpf_stats_enabled) on 8, 32 and 100-frame stacks
             with frame pointers and a 32-frame one without; cprofd with its
             unwind tables and with frame pointers only
  unwind-tables  build time, rows and kernel memory of unwind tables per binary
             (libc, python3, liblzma, libstdc++) and for every binary mapped
  aggregate  the daemon's decode + intern + count path replayed from records
             captured on a real run (bench/capture, bench/replay); pprof build
             time for 10k and 100k distinct stacks
  symbolize  the symbolizer's synchronous API on real binaries (libc with its
             debug file, node, libjvm, a workload with DWARF): addresses per
             second cold and warm, its memory, against addr2line and
             eu-addr2line on the same addresses
  slowdown   a fixed amount of CPU-bound work alone and under each profiler at
             19, 99 and 999 Hz, one thread and one per core; runs interleaved,
             median of --repeats, as ratios to the unprofiled runs
  headroom   the highest rate at which cprofd loses under 0.1% of its samples
  daemon     cprofd's CPU per 1000 samples and RSS profiling 20 busy processes
  continuous continuous mode at 19 Hz over 500 busy processes: the daemon's CPU
             and RSS, the kernel's time, history bytes per hour and process, and
             the time to query an hour of it (360 windows made by bench/history_fill)

Prints a table per section and writes them all to bench/RESULTS.md, with the
machine's load next to the numbers. No absolute time is ever asserted: the
point is the comparison with peers measured in the same run.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

# The sections and what they share are modules of bench/lib/ (its __init__.py lists them).
from lib.aggregate import section_aggregate
from lib.bpf_cost import section_bpf_cost
from lib.continuous import section_continuous
from lib.common import SECTIONS, load_average
from lib.daemon_cost import section_daemon, section_headroom
from lib.profilers import BaselineProfiler, Daemon, LazyDaemon
from lib.report import write_results
from lib.slowdown import section_slowdown
from lib.symbolize import section_symbolize
from lib.unwind_tables import section_unwind_tables

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class Context:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    ap.add_argument("--repeats", type=int, default=5, help="slowdown rounds (>= 5)")
    ap.add_argument("--repeats-cost", type=int, default=3)
    ap.add_argument("--cost-seconds", type=float, default=5)
    ap.add_argument("--cost-profilers", default="cprofd,cprofd-fp,bcc,bpftrace,floor",
                    help="bpf-cost: which of cprofd,cprofd-fp,bcc,bpftrace,floor")
    ap.add_argument("--cost-frames", default="8,32,100", help="bpf-cost: stack depths")
    ap.add_argument("--baseline-build", help="bpf-cost: also measure the cprofd of this build "
                    "directory (say main's), as the column 'cprofd baseline'")
    ap.add_argument("--units", type=int, default=1500, help="fixed_work units per thread")
    ap.add_argument("--capture-seconds", type=float, default=5)
    ap.add_argument("--symbolize-count", type=int, default=10000,
                    help="symbolize: addresses per binary")
    ap.add_argument("--headroom-seconds", type=float, default=5)
    ap.add_argument("--daemon-seconds", type=int, default=180)
    ap.add_argument("--continuous-seconds", type=int, default=120,
                    help="continuous: how long 500 processes are measured")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF, perf events, bpf_stats)")
    sections = args.only.split(",") if args.only else SECTIONS
    for s in sections:
        if s not in SECTIONS:
            sys.exit("bench: unknown section %s" % s)
    for tool in ("bpftool", "perf", "profile-bpfcc", "bpftrace", "addr2line", "eu-addr2line"):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing: run packaging/install-deps.sh --bench" % tool)

    ctx = Context()
    ctx.args = args
    ctx.build = os.path.abspath(args.build)
    short = {"cprofd": "cprofd", "cprofd-fp": "cprofd, frame pointers", "bcc": "bcc profile",
             "bpftrace": "bpftrace", "floor": "pid filter only"}
    ctx.cost_kinds = [short[k] for k in args.cost_profilers.split(",")]
    if args.baseline_build:
        ctx.cost_kinds.append(BaselineProfiler.name)
    ctx.tmp = tempfile.mkdtemp(prefix="cprof-bench.")
    ctx.daemon = Daemon(ctx.build, ctx.tmp)
    os.mkdir(os.path.join(ctx.tmp, "fp"))
    ctx.fp_daemon = LazyDaemon(ctx.build, os.path.join(ctx.tmp, "fp"), "--unwind-table-size", "0")
    if args.baseline_build:
        os.mkdir(os.path.join(ctx.tmp, "baseline"))
        ctx.baseline = LazyDaemon(os.path.abspath(args.baseline_build),
                                  os.path.join(ctx.tmp, "baseline"))
    funcs = {"bpf-cost": section_bpf_cost, "unwind-tables": section_unwind_tables,
             "aggregate": section_aggregate,
             "symbolize": section_symbolize,
             "slowdown": section_slowdown, "headroom": section_headroom,
             "daemon": section_daemon, "continuous": section_continuous}
    out = {}
    try:
        for s in sections:
            load0 = load_average()
            t0 = time.time()
            lines = funcs[s](ctx)
            lines.append("")
            lines.append("_Load average at start / end of this section: %s / %s; %.0f s._" %
                         (load0, load_average(), time.time() - t0))
            out[s] = lines
            print("\n## %s\n" % s)
            print("\n".join(lines), flush=True)
    finally:
        ctx.daemon.close()
        ctx.fp_daemon.close()
        if args.baseline_build:
            ctx.baseline.close()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    if not args.no_write:
        write_results(args.results, out)



if __name__ == "__main__":
    main()
