#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""cprofd side by side with perf, bcc and bpftrace on this machine.

Sections (run in this order; --only picks some):
  bpf-cost   kernel cost per sample: run_time_ns / run_cnt of each profiler's
             BPF program (kernel.bpf_stats_enabled) on 8, 32 and 100-frame stacks
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

Prints a table per section and writes them all to bench/RESULTS.md, with the
machine's load next to the numbers. No absolute time is ever asserted: the
point is the comparison with peers measured in the same run.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECTIONS = ["bpf-cost", "aggregate", "symbolize", "slowdown", "headroom", "daemon"]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


# --- BPF programs and their stats ---------------------------------------------

def perf_event_progs():
    """Ids of loaded BPF programs of type perf_event."""
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"] for p in json.loads(out) if p.get("type") == "perf_event"}


def prog_stats(prog_id):
    out = subprocess.run(["bpftool", "prog", "show", "id", str(prog_id), "-j"],
                         capture_output=True, text=True, check=True).stdout
    p = json.loads(out)
    return p.get("run_time_ns", 0), p.get("run_cnt", 0)


def progs_of(pid):
    """Ids of the BPF programs process pid holds open (other tests may load their own)."""
    ids = set()
    fdinfo = "/proc/%d/fdinfo" % pid
    try:
        names = os.listdir(fdinfo)
    except OSError:
        return ids
    for name in names:
        try:
            with open(os.path.join(fdinfo, name)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids & perf_event_progs()


def wait_progs_of(proc, timeout=60):
    """Waits until proc holds a perf_event program open; returns their ids."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = progs_of(proc.pid)
        if ids:
            return ids
        if proc.poll() is not None:
            raise RuntimeError("profiler exited before attaching: %s" % proc.args)
        time.sleep(0.1)
    raise RuntimeError("no BPF program appeared for %s" % proc.args)


# --- processes ------------------------------------------------------------------

class Daemon:
    """A cprofd on a private socket."""

    def __init__(self, build, tmp, *args):
        self.build = build
        self.tmp = tmp
        self.sock = os.path.join(tmp, "cprofd.sock")
        self.log = open(os.path.join(tmp, "cprofd.log"), "w")
        self.proc = subprocess.Popen([os.path.join(build, "cprofd"), "--socket", self.sock,
                                      "--foreground", *args], stderr=self.log,
                                     stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            time.sleep(0.05)
        raise RuntimeError("cprofd did not start")

    def ctl(self, *args):
        return subprocess.run([os.path.join(self.build, "cprofctl"), "--socket", self.sock,
                               *args], capture_output=True, text=True, check=True).stdout

    def start(self, pid, hz):
        self.ctl("start", str(pid), "--hz", str(hz))

    def stop(self, pid, out=None):
        # Never -o /dev/null: cprofctl writes PATH.tmp and renames it over PATH.
        self.ctl("stop", str(pid), "-o", out or os.path.join(self.tmp, "discarded.pb.gz"))

    def status(self):
        return json.loads(self.ctl("status", "--json"))

    def session(self, pid):
        for s in self.status()["sessions"]:
            if s["pid"] == pid:
                return s
        raise KeyError(pid)

    def prog_id(self):
        return self.status()["daemon"]["bpf_prog_id"]

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        rss = hwm = 0
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return rss, hwm

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def spawn_workload(argv):
    """Starts a workload that prints its pid first; returns the Popen."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    pid = int(p.stdout.readline())
    assert pid == p.pid
    return p


def kill(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Profiler:
    """One profiler attached to some pids: start() returns when it samples."""
    name = "?"

    def __init__(self, ctx):
        self.ctx = ctx
        self.prog_ids = set()

    def start(self, pids, hz):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError


class CprofdProfiler(Profiler):
    name = "cprofd"

    def start(self, pids, hz):
        self.pids = pids
        for pid in pids:
            self.ctx.daemon.start(pid, hz)
        self.prog_ids = {self.ctx.daemon.prog_id()}

    def stop(self):
        for pid in self.pids:
            self.ctx.daemon.stop(pid)


class BaselineProfiler(CprofdProfiler):
    """cprofd from another build (--baseline-build), say main's, for before/after."""
    name = "cprofd baseline"

    def start(self, pids, hz):
        self.ctx.baseline.start_daemon()
        self.pids = pids
        for pid in pids:
            self.ctx.baseline.start(pid, hz)
        self.prog_ids = {self.ctx.baseline.prog_id()}

    def stop(self):
        for pid in self.pids:
            self.ctx.baseline.stop(pid)


class LazyDaemon(Daemon):
    """A Daemon started on first use, so it runs only when asked for."""

    def __init__(self, build, tmp):
        self.build, self.tmp, self.proc = build, tmp, None

    def start_daemon(self):
        if self.proc is None:
            Daemon.__init__(self, self.build, self.tmp)

    def close(self):
        if self.proc is not None:
            Daemon.close(self)


class SpawnedProfiler(Profiler):
    """A peer run as a child process; it is ready when its BPF program loads."""
    uses_bpf = True

    def argv(self, pids, hz):
        raise NotImplementedError

    def start(self, pids, hz):
        self.out = tempfile.NamedTemporaryFile(dir=self.ctx.tmp, delete=False)
        self.proc = subprocess.Popen(self.argv(pids, hz), stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        try:
            if self.uses_bpf:
                wait_progs_of(self.proc)
            time.sleep(1)  # attached to every CPU, not only loaded
            if self.uses_bpf:
                # Some tools load throw-away programs first, to probe features.
                self.prog_ids = progs_of(self.proc.pid)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        kill(self.proc, signal.SIGINT)
        self.out.close()
        os.unlink(self.out.name)


class PerfProfiler(SpawnedProfiler):
    name = "perf -g"
    uses_bpf = False

    def argv(self, pids, hz):
        self.data = os.path.join(self.ctx.tmp, "perf.data")
        return ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(hz), "-g", "-p",
                ",".join(map(str, pids)), "-o", self.data]

    def start(self, pids, hz):
        super().start(pids, hz)
        time.sleep(0.5)

    def stop(self):
        super().stop()
        if os.path.exists(self.data):
            os.unlink(self.data)


class BccProfiler(SpawnedProfiler):
    name = "bcc profile"

    def argv(self, pids, hz):
        # A duration: a child of a background job ignores SIGINT, and -f
        # prints nothing until the end anyway.
        return ["profile-bpfcc", "-F", str(hz), "-f", "-p", ",".join(map(str, pids)), "3600"]

    def stop(self):
        kill(self.proc, signal.SIGTERM)
        self.out.close()
        os.unlink(self.out.name)


class BpftraceProfiler(SpawnedProfiler):
    name = "bpftrace"

    def argv(self, pids, hz):
        cond = " || ".join("pid == %d" % p for p in pids)
        # What cprofd keeps per sample: thread, its name, kernel and user stack.
        return ["bpftrace", "-e",
                "profile:hz:%d /%s/ { @[tid, comm, kstack, ustack] = count(); }" % (hz, cond)]


class FloorProfiler(SpawnedProfiler):
    """The floor: a program that only reads the pid and compares it."""
    name = "pid filter only"

    def argv(self, pids, hz):
        cond = " || ".join("pid == %d" % p for p in pids)
        return ["bpftrace", "-e", "profile:hz:%d /%s/ { }" % (hz, cond)]


PEERS = [CprofdProfiler, PerfProfiler, BccProfiler, BpftraceProfiler]
COST_KINDS = [CprofdProfiler, BaselineProfiler, BccProfiler, BpftraceProfiler, FloorProfiler]


# --- sections ---------------------------------------------------------------------

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


def build_id_debug_file(path):
    """The debug file libc6-dbg and friends install for path, by build ID, or None."""
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]{2})([0-9a-f]+)", out)
    if not m:
        return None
    debug = "/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1), m.group(2))
    return debug if os.path.exists(debug) else None


def peer_names(text):
    """Innermost function per address of `addr2line -a -f -i` output (binutils or
    elfutils): a "0x..." line, then function and file:line pairs, innermost first."""
    names = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("0x"):
            names.append(lines[i + 1] if i + 1 < len(lines) else "??")
    return names


def comparable_name(name):
    """A function name as both sides can agree on it: its last component without
    parameters, return type, symbol version or leading underscores. addr2line -C prints
    "long ns::f<long>(long)" and an inlined function by its DWARF name alone ("mix_step"),
    the symbolizer "ns::f<long>"; libc's symbols carry versions ("xdr_long@GLIBC_2.2.5")
    and internal aliases ("__GI___fstat64")."""
    name = name.split("@")[0].strip()
    depth, start, end = 0, 0, len(name)
    for i, c in enumerate(name):
        if c in "<(":
            if c == "(" and depth == 0 and i > 0:
                end = i
                break
            depth += 1
        elif c in ">)":
            depth -= 1
        elif depth == 0 and (c == " " or name.startswith("::", i)):
            start = i + (2 if c == ":" else 1)
    name = name[start:end] or name
    if name.startswith("__GI_"):
        name = name[5:]
    return name.lstrip("_")


def run_peer(argv, addresses):
    """(CPU seconds, exit status, stdout) of a peer reading the addresses on stdin."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(addresses) as f:
        done = subprocess.run(argv, stdin=f, capture_output=True, text=True, errors="replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.returncode, done.stdout


def section_symbolize(ctx):
    """The symbolizer's synchronous API against addr2line and eu-addr2line."""
    n = ctx.args.symbolize_count
    binaries = [("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
                ("node", shutil.which("node")),
                ("libjvm.so", next(iter(sorted(glob.glob(
                    "/usr/lib/jvm/java-17-openjdk-*/lib/server/libjvm.so"))), None)),
                ("templates (DWARF, inlines)",
                 os.path.join(ctx.build, "workloads", "templates"))]
    lines = ["Symbolization: `bench/symbolize BIN --count %d` draws %d addresses from BIN's "
             "text (a random function of its symbol table plus a random offset in it, "
             "seed 1) and looks each up with `symbolizer__lookup_frames` (inlined frames "
             "included). Cold: a fresh symbolizer, one pass, loading the tables included; "
             "warm: further passes over the same addresses for 1 s. CPU time, one core. "
             "Peers, on the same addresses in one batch (stdin), so their rate is a cold "
             "one: `addr2line -a -f -i -C -e BIN` (binutils) and `eu-addr2line -a -f -i -C "
             "-e BIN` (elfutils). Ratio: cprofd cold / peer; above 1, cprofd is faster. "
             "Memory: `symbolizer__memory()` after the cold pass, and the growth of the "
             "process's anonymous RSS over it. Names: how often the innermost function "
             "agrees with addr2line's, compared by the last component of the name, without "
             "parameters, return type, version or leading underscores (so libc's aliases "
             "at one address, such as fopen/_IO_new_fopen, still count as different)." % (n, n), "",
             "| binary | functions | cold, addr/s | warm, addr/s | frames/addr | "
             "addr2line, addr/s | ratio | eu-addr2line, addr/s | ratio | "
             "symbolizer__memory | RSS growth | names agree |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for name, path in binaries:
        if not path or not os.path.exists(path):
            lines.append("| %s | not installed | | | | | | | | | | |" % name)
            continue
        addresses = os.path.join(ctx.tmp, "addresses.txt")
        names_path = os.path.join(ctx.tmp, "names.txt")
        out = subprocess.run([os.path.join(ctx.build, "bench", "symbolize"), path,
                              "--count", str(n), "--addresses", addresses,
                              "--names", names_path], check=True, capture_output=True,
                             text=True).stdout
        r = dict(line.split(" ", 1) for line in out.splitlines())
        ours = [line.split(" ", 1)[1] for line in open(names_path).read().splitlines()]
        a2l_cpu, _, a2l_out = run_peer(["addr2line", "-a", "-f", "-i", "-C", "-e", path],
                                       addresses)
        eu_cpu, eu_rc, _ = run_peer(["eu-addr2line", "-a", "-f", "-i", "-C", "-e", path],
                                    addresses)
        theirs = peer_names(a2l_out)
        same = sum(1 for a, b in zip(ours, theirs) if comparable_name(a) == comparable_name(b))
        cold = float(r["cold_addresses_per_second"])
        a2l = n / a2l_cpu if a2l_cpu else float("inf")
        eu = n / eu_cpu if eu_cpu else float("inf")
        debug = build_id_debug_file(path)
        label = name + (" + debug file" if debug else "")
        lines.append("| %s | {:,} | {:,} | {:,} | %s | {:,} | %.2f | {:,} | %.2f | %.1f MiB | "
                     "%.1f MiB | %.1f%% |".format(
                         int(r["functions"]), int(cold), int(float(r["warm_addresses_per_second"])),
                         int(a2l), int(eu)) % (
                         label, r["mean_frames"], cold / a2l, cold / eu,
                         int(r["memory_bytes"]) / 2**20,
                         int(r["rss_anon_growth_kib"]) / 1024, 100.0 * same / n))
        if int(r["unnamed"]):
            notes.append("%s: %s of %d addresses unnamed by cprofd." % (name, r["unnamed"], n))
        if eu_rc:
            notes.append("%s: eu-addr2line exited %d (it does when an address has no "
                         "answer); its time is still the whole batch." % (name, eu_rc))
        log("symbolize: %s: %s; addr2line %.2f s, eu-addr2line %.2f s, names %d/%d" % (
            name, r, a2l_cpu, eu_cpu, same, n))
    if notes:
        lines += [""] + notes
    return lines


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
             "RSS while sampling (max) | RSS peak (VmHWM) incl. stopping all 20 |",
             "|---|---|---|---|---|---|---|",
             "| %d | %d | %.2f | %.2f | %.3f%% | %.1f MiB | %.1f MiB |" % (
                 samples, lost, cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / samples if samples else 0,
                 100 * (cpu1 - cpu0) / ctx.args.daemon_seconds, rss_max / 1024,
                 hwm_after / 1024), "",
             "Stopping all %d sessions (build, symbolize, gzip, send each profile): %.2f s "
             "wall, %.2f s of cprofd CPU." % (n, t_stop, cpu_stop1 - cpu_stop0)]
    del elapsed
    return lines


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
    ap.add_argument("--cost-profilers", default="cprofd,bcc,bpftrace,floor",
                    help="bpf-cost: which of cprofd,bcc,bpftrace,floor")
    ap.add_argument("--cost-frames", default="8,32,100", help="bpf-cost: stack depths")
    ap.add_argument("--baseline-build", help="bpf-cost: also measure the cprofd of this build "
                    "directory (say main's), as the column 'cprofd baseline'")
    ap.add_argument("--units", type=int, default=1500, help="fixed_work units per thread")
    ap.add_argument("--capture-seconds", type=float, default=5)
    ap.add_argument("--symbolize-count", type=int, default=10000,
                    help="symbolize: addresses per binary")
    ap.add_argument("--headroom-seconds", type=float, default=5)
    ap.add_argument("--daemon-seconds", type=int, default=180)
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
    short = {"cprofd": "cprofd", "bcc": "bcc profile", "bpftrace": "bpftrace",
             "floor": "pid filter only"}
    ctx.cost_kinds = [short[k] for k in args.cost_profilers.split(",")]
    if args.baseline_build:
        ctx.cost_kinds.append(BaselineProfiler.name)
    ctx.tmp = tempfile.mkdtemp(prefix="cprof-bench.")
    ctx.daemon = Daemon(ctx.build, ctx.tmp)
    if args.baseline_build:
        os.mkdir(os.path.join(ctx.tmp, "baseline"))
        ctx.baseline = LazyDaemon(os.path.abspath(args.baseline_build),
                                  os.path.join(ctx.tmp, "baseline"))
    funcs = {"bpf-cost": section_bpf_cost, "aggregate": section_aggregate,
             "symbolize": section_symbolize,
             "slowdown": section_slowdown, "headroom": section_headroom,
             "daemon": section_daemon}
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
        if args.baseline_build:
            ctx.baseline.close()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    if not args.no_write:
        write_results(args.results, out)


def write_results(path, out):
    """Replaces the sections run now in RESULTS.md, keeping the others and any written by hand
    (a line "<!-- section NAME -->" starts each)."""
    titles = {"bpf-cost": "Kernel cost per sample", "aggregate": "Aggregation throughput",
              "symbolize": "Symbolization",
              "slowdown": "Target slowdown", "headroom": "Headroom",
              "daemon": "Daemon cost"}
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


if __name__ == "__main__":
    main()
