#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Tally the children's samples of test_children.sh, for cprofd and for perf.

    children.py PROFILE.pb.gz PERF.DATA SPAWNER_PID COMM_PREFIX

The children's samples are those whose comm (cprofd: thread_name) starts
with COMM_PREFIX: after their exec. perf recorded the whole machine, as
cprofd samples it (a cpu-clock event per CPU). For exec and exec_mapped,
cprofd's are all those of another pid than the spawner's, before the exec
too. Prints one line per tool:

    TOOL total T leaf_named L mapped M hot H ld D ld_named N exec E exec_mapped X

total:       samples
leaf_named:  the leaf is in a known mapping and has a function name
mapped:      every frame is in a known mapping (perf: has a dso)
hot:         short_hot is on the stack
ld:          the leaf is in the dynamic loader; ld_named: with a function name
exec:        the stack holds the kernel's fork or exec path, where the user
             frames are the parent's program; exec_mapped: all of them mapped
             (a marker of where cprofd's walk ended is not a frame)
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profiles  # noqa: E402

# cprofd's names for frames it could not name; perf says "[unknown]".
UNNAMED = re.compile(r"(^\[unknown\]|\+0x[0-9a-f]+$|^0x[0-9a-f]+$)")
EXEC_PATH = {"bprm_execve", "begin_new_exec", "load_elf_binary", "ret_from_fork"}
# cprofd's frames that say where and why a user-stack walk ended: not addresses,
# so never "mapped". In exec, past the point where the new program's memory
# replaced the old, the old stack is unreadable and cprofd says so.
WALK_END = re.compile(r"^\[(unwind: .*|truncated)\]$")


def is_kernel(frame):
    return (frame.file or "").startswith("[kernel")


def tally(tool, samples, forks):
    n = dict.fromkeys(("total", "leaf_named", "mapped", "hot", "ld", "ld_named", "exec",
                       "exec_mapped"), 0)
    for s in forks:
        if any(f.function in EXEC_PATH for f in s.stack):
            n["exec"] += s.count
            if all(f.file for f in s.stack
                   if not is_kernel(f) and not WALK_END.match(f.function)):
                n["exec_mapped"] += s.count
    for s in samples:
        if not s.stack:
            continue
        leaf = s.stack[0]
        named = leaf.file is not None and not UNNAMED.search(leaf.function)
        n["total"] += s.count
        n["leaf_named"] += s.count if named else 0
        n["mapped"] += s.count if all(f.file for f in s.stack) else 0
        n["hot"] += s.count if any(f.function == "short_hot" for f in s.stack) else 0
        if leaf.file and "/ld-linux" in leaf.file:
            n["ld"] += s.count
            n["ld_named"] += s.count if named else 0
    print(tool, " ".join(f"{k} {v}" for k, v in n.items()))


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    profile, perf_data, spawner, comm = argv[1:]
    forks = [s for s in profiles.load_pprof(profile, with_files=True)
             if s.labels.get("pid") not in (None, spawner)]
    tally("cprofd", [s for s in forks if s.labels.get("thread_name", "").startswith(comm)], forks)
    perf = [s for s in profiles.load_perf(perf_data, with_files=True)
            if s.labels["comm"].startswith(comm)]
    tally("perf", perf, perf)


if __name__ == "__main__":
    main(sys.argv)
