# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Section continuous: what continuous mode costs on a busy machine, and its history."""
import json
import os
import shutil
import signal
import subprocess
import time

from lib.bpf_progs import prog_stats
from lib.common import log
from lib.profilers import Daemon, kill, spawn_workload

PROCESSES = 500
HZ = 19
WARMUP_S = 25


def _continuous(status):
    return status["daemon"]["continuous"]


def _time(argv):
    t0 = time.time()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.time() - t0


def _kernel_us_per_s(prog_id, seconds):
    """Microseconds of BPF time per second, and runs per second, over seconds."""
    t0, r0 = prog_stats(prog_id)
    time.sleep(seconds)
    t1, r1 = prog_stats(prog_id)
    return (t1 - t0) / 1000 / seconds, (r1 - r0) / seconds


def _rates(ctx, tmp, hotspots):
    """The kernel's time for continuous mode alone, a session alone, and both at once.

    Continuous mode has perf events of its own; the other design, one event at the
    highest rate down-sampled per consumer, would run the program at the session's
    rate alone and take the continuous samples out of those ticks. Its cost is then
    the session's plus the continuous samples' minus their own ticks: the rows below
    give both designs' numbers from the same run.
    """
    seconds = 10
    w = spawn_workload([hotspots, "--threads", str(os.cpu_count())])
    rows = []
    try:
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
        os.mkdir(os.path.join(tmp, "rates"))
        d = Daemon(ctx.build, os.path.join(tmp, "rates"), "--continuous", "--continuous-hz",
                   str(HZ), "--history-dir", os.path.join(tmp, "rates", "history"))
        try:
            prog = d.prog_id()
            time.sleep(3)
            rows.append(("continuous mode alone, %d Hz" % HZ,) + _kernel_us_per_s(prog, seconds))
            d.start(w.pid, 997)
            time.sleep(1)
            rows.append(("both: continuous %d Hz and a session at 997 Hz" % HZ,) +
                        _kernel_us_per_s(prog, seconds))
        finally:
            d.close()
        os.mkdir(os.path.join(tmp, "rates-session"))
        d = Daemon(ctx.build, os.path.join(tmp, "rates-session"))
        try:
            prog = d.prog_id()
            d.start(w.pid, 997)
            time.sleep(1)
            rows.append(("a session alone, 997 Hz",) + _kernel_us_per_s(prog, seconds))
        finally:
            d.close()
    finally:
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"], check=True)
        kill(w)
    return rows


def section_continuous(ctx):
    seconds = ctx.args.continuous_seconds
    tmp = os.path.join(ctx.tmp, "continuous")
    os.mkdir(tmp)
    history = os.path.join(tmp, "history")
    d = Daemon(ctx.build, tmp, "--continuous", "--continuous-hz", str(HZ),
               "--history-dir", history)
    hotspots = os.path.join(ctx.build, "workloads", "hotspots")
    rates = _rates(ctx, tmp, hotspots)
    workloads = []
    try:
        workloads = [spawn_workload([hotspots]) for _ in range(PROCESSES)]
        log("continuous: %d processes up; warming up %d s" % (PROCESSES, WARMUP_S))
        time.sleep(WARMUP_S)
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
        s0 = d.status()
        cpu0, t0 = d.cpu_seconds(), time.time()
        prog0 = prog_stats(s0["daemon"]["bpf_prog_id"])
        rss_max = 0
        while time.time() - t0 < seconds:
            time.sleep(5)
            rss_max = max(rss_max, d.rss_kib()[0])
        cpu1, elapsed = d.cpu_seconds(), time.time() - t0
        s1 = d.status()
        prog1 = prog_stats(s1["daemon"]["bpf_prog_id"])
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"], check=True)
        rss, hwm = d.rss_kib()
        bpf_maps = d.bpf_maps_kib()
    finally:
        for w in workloads:
            w.send_signal(signal.SIGKILL)
        for w in workloads:
            w.wait()
    c0, c1 = _continuous(s0), _continuous(s1)
    windows = c1["history"]["windows"] - c0["history"]["windows"]
    disk = c1["history"]["bytes"] - c0["history"]["bytes"]
    processes = c1["processes"]
    run_ns = prog1[0] - prog0[0]
    runs = prog1[1] - prog0[1]

    # An hour of this machine's history: its newest window, copied 360 times back in time
    # (once the daemon let go of the history: a store is one process's at a time).
    d.close()
    hour = os.path.join(tmp, "hour")
    subprocess.run([os.path.join(ctx.build, "bench", "history_fill"), history, hour, "360"],
                   check=True, stdout=subprocess.DEVNULL)
    d2 = Daemon(ctx.build, os.path.join(tmp), "--continuous", "--continuous-hz", "1",
                "--window", "3600", "--history-dir", hour)
    try:
        open_ms = _continuous(d2.status())["history"]["open_ms"]
        ctl = [os.path.join(ctx.build, "cprofctl"), "--socket", d2.sock]
        out = os.path.join(tmp, "hour.pb.gz")
        t_query = min(_time(ctl + ["query", "--since", "2h", "-o", out]) for _ in range(3))
        t_comm = min(_time(ctl + ["query", "--since", "2h", "--comm", "hotspots", "-o", out])
                     for _ in range(3))
        t_list = min(_time(ctl + ["query", "--since", "2h", "--list", "--json"])
                     for _ in range(3))
        hour_bytes = _continuous(d2.status())["history"]["bytes"]
        query_size = os.path.getsize(out)
        rss_query = d2.rss_kib()[1]
    finally:
        d2.close()
    shutil.rmtree(tmp, ignore_errors=True)

    cpu_share = 100 * (cpu1 - cpu0) / elapsed
    per_hour = disk / elapsed * 3600
    lines = [
        "Continuous mode: %d busy `hotspots` processes (%d CPUs), every process sampled at %d "
        "Hz, 10 s windows, for %d s after %d s of warm-up; CPU time from /proc/PID/stat; BPF "
        "time from kernel.bpf_stats_enabled." % (PROCESSES, os.cpu_count(), HZ, seconds,
                                                 WARMUP_S), "",
        "| cprofd CPU (share of one core) | target | RSS max | of it, BPF maps mapped | "
        "RSS peak (VmHWM) | processes per window | windows written | lost |",
        "|---|---|---|---|---|---|---|---|",
        "| %.2f%% | < 1%% | %.1f MiB | %.1f MiB | %.1f MiB | %d | %d | %d |" % (
            cpu_share, rss_max / 1024, bpf_maps / 1024, hwm / 1024, processes, windows,
            c1["lost"] - c0["lost"]), "",
        "Kernel: %d program runs, %.2f us each, %.4f%% of one core." % (
            runs, run_ns / runs / 1000 if runs else 0, 100 * run_ns / 1e9 / elapsed), "",
        "Of the RSS, besides the BPF maps: the symbolizer %.1f MiB (status symbolizer_bytes: "
        "the symbols of every binary the machine runs), the stack table %.1f MiB, %d processes "
        "in the process table; the rest is the daemon's code, libraries and heap." % (
            s1["daemon"]["symbolizer_bytes"] / 2**20, s1["daemon"]["stack_table_bytes"] / 2**20,
            s1["daemon"]["processes"]), "",
        "| history on disk per hour | per process per hour | an hour (360 windows) | "
        "startup scan of it | query of all of it | query by name | --list | merged profile |",
        "|---|---|---|---|---|---|---|---|",
        "| %.1f MiB | %.1f KiB | %.1f MiB | %d ms | %.2f s | %.2f s | %.2f s | %.1f KiB |" % (
            per_hour / 2**20, per_hour / max(processes, 1) / 1024, hour_bytes / 2**20, open_ms,
            t_query, t_comm, t_list, query_size / 1024), "",
        "Target for the query of an hour: under 1 s (cprofctl's wall time, best of 3; the "
        "daemon's RSS peak while querying: %.1f MiB)." % (rss_query / 1024), "",
        "Two consumers, two rates (`hotspots --threads %d`, 10 s each): continuous mode's own "
        "events beside a session's, against one event at the session's rate down-sampled for "
        "continuous mode (its cost: the session's line, plus the continuous samples less "
        "their own ticks)." % os.cpu_count(), "",
        "| events | BPF us per s | runs per s | us per run |", "|---|---|---|---|",
    ]
    for name, us, runs_s in rates:
        lines.append("| %s | %.1f | %.0f | %.2f |" % (name, us, runs_s, us / runs_s if runs_s else 0))
    log("continuous: %s" % json.dumps(c1))
    return lines
