# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Section unwind-tables: what unwind tables cost to build and to keep in the kernel."""
import glob
import os
import subprocess

from lib.common import log

BINARIES = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/python3.11",
            "/usr/lib/x86_64-linux-gnu/liblzma.so.5", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"]


def parse(line):
    words = line.split()
    out = dict(zip(words[0::2], words[1::2]))
    return {k: (v if k == "file" else float(v)) for k, v in out.items()}


def run_build(ctx, paths, repeats):
    argv = [os.path.join(ctx.build, "bench", "unwind_build"), "--repeats", str(repeats)]
    p = subprocess.run(argv + paths, capture_output=True, text=True)
    return [parse(line) for line in p.stdout.splitlines() if line.startswith("file ")]


def mapped_binaries():
    """Every distinct file mapped executable by a process of this machine now."""
    files = set()
    for maps in glob.glob("/proc/[0-9]*/maps"):
        try:
            with open(maps) as f:
                for line in f:
                    fields = line.split(maxsplit=5)
                    if len(fields) == 6 and "x" in fields[1] and fields[5].startswith("/"):
                        files.add(fields[5].strip())
        except OSError:
            continue
    return sorted(f for f in files if os.path.isfile(f))


def section_unwind_tables(ctx):
    lines = ["Unwind tables: `bench/unwind_build BIN` builds a binary's table with "
             "cfi_table__build() (what the daemon's worker runs, from .eh_frame) 20 times; "
             "CPU time of one build, best and median. Kernel memory: 8 bytes a row and 8 a page "
             "of the page index, in the BPF arrays (rules are shared by all files).", "",
             "| binary | FDEs | rows | rules | build, best ms | build, median ms | kernel memory |",
             "|---|---|---|---|---|---|---|"]
    for r in run_build(ctx, BINARIES, 20):
        lines.append("| %s | %d | %d | %d | %.2f | %.2f | %.0f KiB |" % (
            os.path.basename(r["file"]), r["fdes"], r["rows"], r["rules"], r["best_ms"],
            r["median_ms"], r["kernel_bytes"] / 1024))
    files = mapped_binaries()
    built = run_build(ctx, files, 1)
    log("unwind-tables: %d of %d mapped binaries built" % (len(built), len(files)))
    rows = sum(r["rows"] for r in built)
    kernel = sum(r["kernel_bytes"] for r in built)
    ms = sum(r["best_ms"] for r in built)
    status = ctx.daemon.status()["daemon"].get("unwind", {})
    lines += ["", "Every binary mapped executable by a process of this machine at the time (%d "
              "files, %d with CFI): %d rows, %.1f MiB of kernel memory, %.0f ms to build them all "
              "on one core. cprofd's maps as sized by default (`--unwind-table-size 32M`): "
              "%.1f MiB of kernel memory in all (rows, page index, rules, process entries), "
              "room for %d rows." % (len(files), len(built), rows, kernel / 2**20, ms,
                                     status.get("kernel_bytes", 0) / 2**20,
                                     status.get("rows_capacity", 0))]
    return lines
