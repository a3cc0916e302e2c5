# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What every part of the benchmarks uses: the section names, logging, the load."""
import sys


SECTIONS = ["bpf-cost", "unwind-tables", "aggregate", "symbolize", "slowdown", "headroom", "daemon",
            "continuous"]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]
