# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The processes: cprofd on a private socket, workloads, and each profiler compared."""
import json
import os
import signal
import subprocess
import tempfile
import time

from lib.bpf_progs import progs_of, wait_progs_of


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

    def bpf_maps_kib(self):
        """RSS of the BPF maps the daemon has mmap()ed (ring buffer, unwind tables)."""
        total, in_map = 0, False
        with open("/proc/%d/smaps" % self.proc.pid) as f:
            for line in f:
                first = line.split(maxsplit=1)[0]
                if "-" in first and not first.endswith(":"):  # a mapping's header line
                    in_map = "bpf-map" in line
                elif in_map and first == "Rss:":
                    total += int(line.split()[1])
        return total

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


class FramePointerProfiler(CprofdProfiler):
    """This build's cprofd without unwind tables (--unwind-table-size 0): frame pointers only."""
    name = "cprofd, frame pointers"

    def start(self, pids, hz):
        self.ctx.fp_daemon.start_daemon()
        self.pids = pids
        for pid in pids:
            self.ctx.fp_daemon.start(pid, hz)
        self.prog_ids = {self.ctx.fp_daemon.prog_id()}

    def stop(self):
        for pid in self.pids:
            self.ctx.fp_daemon.stop(pid)


class LazyDaemon(Daemon):
    """A Daemon started on first use, so it runs only when asked for."""

    def __init__(self, build, tmp, *args):
        self.build, self.tmp, self.proc, self.args = build, tmp, None, args

    def start_daemon(self):
        if self.proc is None:
            Daemon.__init__(self, self.build, self.tmp, *self.args)

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
COST_KINDS = [CprofdProfiler, FramePointerProfiler, BaselineProfiler, BccProfiler,
              BpftraceProfiler, FloorProfiler]
