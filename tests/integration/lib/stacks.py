#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Whole stacks, cprofd against perf --call-graph dwarf on the same run.

    stacks.py PROFILE.pb.gz PERF.DATA [--top N] [--only FUNCTION]

Prints one line of JSON: for each tool, how many samples (user stacks,
kernel frames left out) reach a thread's entry (_start,
__libc_start_call_main, start_thread, clone3...), and for perf's N most
common stacks (function names, leaf first; the frames neither tool names
are "[unknown in BINARY]") whether cprofd has the same stack, frame by
frame, and the share of perf's samples those stacks hold; and for each
tool, the share of its samples whose callers (the stack above the leaf,
unnamed frames compared by binary and address) the other tool has too. With --only, just the samples with FUNCTION on their stack count.
"""

import argparse
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profiles  # noqa: E402

ENTRIES = {"_start", "__libc_start_call_main", "__libc_start_main", "__libc_start_main_impl",
           "start_thread", "clone3", "__clone3", "clone", "__clone", "thread_start"}


# An unnamed frame: the binary and the address in it.
_UNNAMED = re.compile(r"^[^\[\]\s]+\+0x[0-9a-f]+$")


def user_stack(sample, perf, exact=True):
    """The user frames' function names, leaf first, without offsets. An unnamed
    frame, BINARY+0xADDRESS in both tools, stays as it is when exact, else
    becomes "[unknown in BINARY]"."""
    out = []
    for f in sample.stack:
        if (f.file or "").startswith("[kernel"):
            continue
        if _UNNAMED.match(f.function):
            out.append(f.function if exact else
                       "[unknown in %s]" % f.function.rsplit("+0x", 1)[0])
            continue
        name = f.function.split("+0x")[0] if perf else f.function
        out.append(profiles.comparable_symbol(name))
    return tuple(out)


def tally(samples, perf, only, exact):
    stacks = collections.Counter()
    for s in samples:
        stack = user_stack(s, perf, exact)
        if not stack or (only and only not in stack):
            continue
        stacks[stack] += s.count
    total = sum(stacks.values())
    whole = sum(n for st, n in stacks.items() if any(f in ENTRIES for f in st))
    return stacks, total, whole


def shared_callers(a, b):
    """The share of a's samples (percent) whose callers, every frame above the leaf,
    are those of a stack of b. The leaf is where each tool's own tick fell; the
    callers are what the unwinding found."""
    b_callers = {stack[1:] for stack in b}
    total = sum(a.values())
    same = sum(n for stack, n in a.items() if stack[1:] in b_callers)
    return round(100 * same / total, 1) if total else 0


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("pprof")
    parser.add_argument("perf")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--only")
    args = parser.parse_args(argv[1:])
    mine = profiles.load_pprof(args.pprof, inlined=True, with_files=True)
    perfs = profiles.load_perf(args.perf, with_files=True, unknown_offsets=True)
    # Callers frame by frame, unnamed frames by address; top stacks by name,
    # where one binary's unnamed frames are one name and the leaf's noise smaller.
    ours, total, whole = tally(mine, False, args.only, True)
    theirs, p_total, p_whole = tally(perfs, True, args.only, True)
    callers = {"cprofd_in_perf": shared_callers(ours, theirs),
               "perf_in_cprofd": shared_callers(theirs, ours)}
    ours, _, _ = tally(mine, False, args.only, False)
    theirs, _, _ = tally(perfs, True, args.only, False)
    top = []
    for stack, n in theirs.most_common(args.top):
        top.append({"perf_share": round(100 * n / p_total, 1) if p_total else 0,
                    "cprofd_share": round(100 * ours.get(stack, 0) / total, 1) if total else 0,
                    "depth": len(stack), "stack": " <- ".join(stack[:6]) +
                    (f" ... ({len(stack)} frames)" if len(stack) > 6 else "")})
    print(json.dumps({"cprofd": {"samples": total, "reach_entry": whole},
                      "perf": {"samples": p_total, "reach_entry": p_whole},
                      "callers": callers,
                      "top": top}))


if __name__ == "__main__":
    main(sys.argv)
