# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Sections headroom and daemon: how fast cprofd can sample, and what it costs."""
import os
import signal
import time

from lib.common import log
from lib.profilers import kill, spawn_workload


def section_headroom(ctx):
    ncpu = os.cpu_count()
    rates = (999, 2000, 4000, 7000, 10000)
    w = spawn_workload([os.path.join(ctx.build, "workloads", "hotspots"), "--threads",
                        str(ncpu)])
    rows, best = [], None
    try:
        for hz in rates:
            ctx.daemon.start(w.pid, hz)
            time.sleep(ctx.args.headroom_seconds)
            os.kill(w.pid, signal.SIGSTOP)
            time.sleep(0.3)
            s = ctx.daemon.session(w.pid)
            ctx.daemon.stop(w.pid)
            os.kill(w.pid, signal.SIGCONT)
            total = s["samples"] + s["lost"]
            frac = s["lost"] / total if total else 1.0
            rows.append((hz, s["fired"], s["samples"], s["lost"], frac))
            if frac < 0.001 and s["samples"] + s["lost"] == s["fired"]:
                best = hz
            log("headroom: %d Hz: %s" % (hz, rows[-1]))
    finally:
        kill(w)
    lines = ["Headroom: `hotspots --threads %d` (every CPU busy in the target) for %g s per "
             "rate, default daemon settings (4 MiB ring, drain every 100 ms). cprofd accepts "
             "at most 10000 Hz." % (ncpu, ctx.args.headroom_seconds), "",
             "| Hz | fired | captured | lost | lost share |", "|---|---|---|---|---|"]
    for hz, fired, samples, lost, frac in rows:
        lines.append("| %d | %d | %d | %d | %.4f%% |" % (hz, fired, samples, lost, frac * 100))
    lines += ["", "Highest rate with under 0.1%% lost: **%s**." %
              ("%d Hz" % best if best else "none tried")]
    return lines


def section_daemon(ctx):
    n = 20
    hz = 99
    workloads = [spawn_workload([os.path.join(ctx.build, "workloads", "hotspots")])
                 for _ in range(n)]
    try:
        for w in workloads:
            ctx.daemon.start(w.pid, hz)
        time.sleep(2)
        cpu0 = ctx.daemon.cpu_seconds()
        samples0 = ctx.daemon.status()["daemon"]["records"]
        t0 = time.time()
        rss_max = 0
        while time.time() - t0 < ctx.args.daemon_seconds:
            time.sleep(5)
            rss_max = max(rss_max, ctx.daemon.rss_kib()[0])
        cpu1 = ctx.daemon.cpu_seconds()
        status = ctx.daemon.status()
        samples1 = status["daemon"]["records"]
        rss, hwm = ctx.daemon.rss_kib()
        bpf_maps = ctx.daemon.bpf_maps_kib()
        lost = sum(s["lost"] for s in status["sessions"])
        # Stopping builds and hands out each profile: the most a client makes it do.
        t_stop = time.time()
        cpu_stop0 = ctx.daemon.cpu_seconds()
        for w in workloads:
            ctx.daemon.stop(w.pid, os.path.join(ctx.tmp, "p.pb.gz"))
        cpu_stop1 = ctx.daemon.cpu_seconds()
        t_stop = time.time() - t_stop
        rss_after, hwm_after = ctx.daemon.rss_kib()
    finally:
        for w in workloads:
            kill(w)
    samples = samples1 - samples0
    elapsed = time.time() - t0
    lines = ["Daemon cost: %d `hotspots` processes (busy, %d CPUs) profiled at %d Hz for %d s "
             "by one cprofd; CPU time from /proc/PID/stat (clock ticks, 10 ms)." %
             (n, os.cpu_count(), hz, ctx.args.daemon_seconds), "",
             "| samples | lost | cprofd CPU s | CPU ms per 1000 samples | CPU share | "
             "RSS while sampling (max) | RSS peak (VmHWM) incl. stopping all 20 | "
             "of it, BPF maps mapped |",
             "|---|---|---|---|---|---|---|---|",
             "| %d | %d | %.2f | %.2f | %.3f%% | %.1f MiB | %.1f MiB | %.1f MiB |" % (
                 samples, lost, cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / samples if samples else 0,
                 100 * (cpu1 - cpu0) / ctx.args.daemon_seconds, rss_max / 1024,
                 hwm_after / 1024, bpf_maps / 1024), "",
             "BPF maps mapped: the ring buffer (its data pages twice) and the unwind tables' "
             "arrays, which the daemon keeps mmap()ed to write tables into; kernel memory "
             "(status: ring_buffer_bytes, unwind kernel_bytes), counted in RSS because every "
             "page of such a map is mapped at once.", "",
             "Stopping all %d sessions (build, symbolize, gzip, send each profile): %.2f s "
             "wall, %.2f s of cprofd CPU." % (n, t_stop, cpu_stop1 - cpu_stop0)]
    del elapsed
    return lines
