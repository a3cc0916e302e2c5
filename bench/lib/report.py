# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Writing bench/RESULTS.md."""
import datetime
import os
import platform

from lib.common import SECTIONS


def write_results(path, out):
    """Replaces the sections run now in RESULTS.md, keeping the others and any written by hand
    (a line "<!-- section NAME -->" starts each)."""
    titles = {"bpf-cost": "Kernel cost per sample", "unwind-tables": "Unwind tables",
              "aggregate": "Aggregation throughput", "symbolize": "Symbolization",
              "slowdown": "Target slowdown", "headroom": "Headroom",
              "daemon": "Daemon cost", "continuous": "Continuous mode"}
    old = {}
    if os.path.exists(path):
        current = None
        for line in open(path):
            if line.startswith("<!-- section "):
                current = line.split()[2]
                old[current] = []
            elif current:
                old[current].append(line.rstrip("\n"))
    uname = platform.uname()
    now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    with open(path, "w") as f:
        f.write("# Benchmark results\n\n")
        f.write("Written by `make bench` (bench/run.py); each section says when it last ran. "
                "Machine: %s, %d CPUs, kernel %s.\n\n" % (uname.machine, os.cpu_count(),
                                                           uname.release))
        # Sections written by hand (notes, analysis) are kept as they are, after the measured ones.
        for s in SECTIONS + [k for k in old if k not in SECTIONS]:
            if s in out:
                body = ["## " + titles[s], "", "_Run %s._" % now, ""] + out[s]
            elif s in old:
                body = old[s]
            else:
                continue
            f.write("<!-- section %s -->\n" % s)
            f.write("\n".join(body).rstrip("\n") + "\n\n")
