# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Loaded BPF programs of type perf_event, who holds them, and their stats."""
import json
import os
import subprocess
import time


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
