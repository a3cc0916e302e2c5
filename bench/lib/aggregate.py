# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Section aggregate: the daemon's aggregation path replayed, and pprof building."""
import os
import statistics
import subprocess

from lib.common import log
from lib.profilers import kill, spawn_workload


def section_aggregate(ctx):
    """Replay of captured records through the daemon's aggregation path."""
    lines = ["Aggregation: records captured by `bench/capture` from a real run (`hotspots "
             "--threads %d` and `deep` at 999 Hz), replayed by `bench/replay` through "
             "record__decode_sample + session__add_sample, on one core." % os.cpu_count(), "",
             "| records from | records | mean frames | distinct stacks | first pass "
             "(new stacks), samples/s | steady, samples/s | steady, ns/sample |",
             "|---|---|---|---|---|---|---|"]
    runs = [("hotspots", [os.path.join(ctx.build, "workloads", "hotspots"), "--threads",
                          str(os.cpu_count())]),
            ("deep, 100 frames", [os.path.join(ctx.build, "workloads", "deep"), "--depth",
                                  "96"])]
    for name, argv in runs:
        w = spawn_workload(argv)
        path = os.path.join(ctx.tmp, "records.bin")
        try:
            subprocess.run([os.path.join(ctx.build, "bench", "capture"), "--pid", str(w.pid),
                            "--hz", "999", "--seconds", str(ctx.args.capture_seconds),
                            "--out", path], check=True, capture_output=True)
        finally:
            kill(w)
        results = []
        for _ in range(3):
            out = subprocess.run([os.path.join(ctx.build, "bench", "replay"), path,
                                  "--seconds", "2"], check=True, capture_output=True,
                                 text=True).stdout
            results.append(dict(line.split() for line in out.splitlines()))
        best = max(results, key=lambda r: float(r["steady_samples_per_cpu_second"]))
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            name, best["records"], best["mean_depth"], best["distinct_stacks"],
            "{:,}".format(int(statistics.median(
                float(r["cold_samples_per_cpu_second"]) for r in results))),
            "{:,}".format(int(statistics.median(
                float(r["steady_samples_per_cpu_second"]) for r in results))),
            "%.0f" % statistics.median(float(r["steady_ns_per_sample"]) for r in results)))
        log("aggregate: %s: %s" % (name, best))
    lines += ["", "pprof building (`bench/replay --encode N`: N distinct stacks of 16 user "
              "frames in the replay binary's text, symbolized from its ELF symbols, encoded "
              "and gzipped); the second build has the symbols cached.", "",
              "| distinct stacks | first build, ms | second build, ms | profile bytes |",
              "|---|---|---|---|"]
    for n in (10000, 100000):
        out = subprocess.run([os.path.join(ctx.build, "bench", "replay"), "--encode", str(n)],
                             check=True, capture_output=True, text=True).stdout
        r = dict(line.split() for line in out.splitlines())
        lines.append("| {:,} | {} | {} | {:,} |".format(n, r["encode_ms"], r["encode_warm_ms"],
                                                        int(r["profile_bytes"])))
        log("aggregate: encode %d: %s" % (n, r))
    return lines
