#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The caller of a frameless leaf is kept. The leaf_calls workload spends its
# time in leaf functions (no frame set up, so %rbp still names the middle
# function's frame) called from middle_a and middle_b. cprofd profiles it
# while perf -g records the same run; go tool pprof -traces must show the
# right middle function under >= 90% of each leaf's samples, and
# shared_leaf's samples must split between its two callers as the work
# does (2:1). perf's share is printed for comparison: a frame-pointer walk
# alone skips the middle function.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "leaf frames"

start_daemon || { not_ok "cprofd starts"; finish; exit; }

start_workload leaf_calls --seconds 30
pid=$WORKLOAD_PID
sleep 0.3
perf record -q -e cpu-clock -F 99 -g -p "$pid" -o "$TMP/perf.data" -- sleep 8 \
	>"$TMP/perf.log" 2>&1 &
perf_pid=$!
"$CPROFCTL" start "$pid" --hz 99 >/dev/null
sleep 8
"$CPROFCTL" stop "$pid" -o "$TMP/leaf.pb.gz" >"$TMP/stop.txt"
wait "$perf_pid"
kill "$pid" 2>/dev/null
diag "$(cat "$TMP/stop.txt")"

PPROF_TMPDIR=$TMP go tool pprof -traces "$TMP/leaf.pb.gz" >"$TMP/traces.txt" 2>&1
$PROFILES folded --perf "$TMP/perf.data" >"$TMP/perf.folded" 2>"$TMP/perf.err"

# For each leaf, the share of its samples with an expected caller right
# above it, from pprof's -traces (leaf first) and perf's folded stacks (root first).
python3 - "$TMP/traces.txt" "$TMP/perf.folded" >"$TMP/callers.txt" 2>&1 <<'PY'
import collections, re, sys

CALLERS = {"leaf_a": {"middle_a"}, "leaf_b": {"middle_b"},
           "shared_leaf": {"middle_a", "middle_b"}}

def pprof_stacks(path):
    """[(count, [leaf, caller, ...])] from go tool pprof -traces."""
    stacks, current = [], None
    for line in open(path):
        if line.startswith("-----------+"):
            if current and current[1]:
                stacks.append(current)
            current = None
            continue
        m = re.match(r"^\s*(\d+(?:\.\d+)?)(ms|s|us|ns)?\s+(\S.*)$", line)
        if m and current is None and m.group(2):
            scale = {"ns": 1e-6, "us": 1e-3, "ms": 1, "s": 1000}[m.group(2)]
            current = (float(m.group(1)) * scale, [m.group(3).strip()])
        elif current is not None and line.strip():
            current[1].append(line.strip())
    if current and current[1]:
        stacks.append(current)
    return stacks

def perf_stacks(path):
    out = []
    for line in open(path):
        stack, count = line.rstrip("\n").rsplit(" ", 1)
        out.append((float(count), list(reversed(stack.split(";")))))
    return out

def shares(stacks):
    total, right, by_caller = (collections.Counter(), collections.Counter(),
                               collections.defaultdict(collections.Counter))
    for count, frames in stacks:
        leaf = frames[0]
        if leaf not in CALLERS:
            continue
        caller = frames[1] if len(frames) > 1 else "-"
        total[leaf] += count
        by_caller[leaf][caller] += count
        if caller in CALLERS[leaf]:
            right[leaf] += count
    return total, right, by_caller

ok = True
pt, pr, pc = shares(pprof_stacks(sys.argv[1]))
ft, fr, _ = shares(perf_stacks(sys.argv[2]))
for leaf in CALLERS:
    p = 100 * pr[leaf] / pt[leaf] if pt[leaf] else 0
    f = 100 * fr[leaf] / ft[leaf] if ft[leaf] else 0
    print(f"{leaf}: cprofd {p:.0f}% of {pt[leaf]:.0f} ms under the right caller; "
          f"perf {f:.0f}% of {ft[leaf]:.0f} samples")
    if pt[leaf] < 300 or p < 90:
        ok = False
a, b = pc["shared_leaf"]["middle_a"], pc["shared_leaf"]["middle_b"]
share_a = 100 * a / (a + b) if a + b else 0
print(f"shared_leaf: {share_a:.0f}% under middle_a (the work is 67%)")
if abs(share_a - 200 / 3) > 10:
    ok = False
sys.exit(0 if ok else 1)
PY
rc=$?
sed 's/^/#   /' "$TMP/callers.txt"
check "leaf_a, leaf_b and shared_leaf: >= 90% of samples under their caller (go tool pprof -traces)" \
	test "$rc" = 0
check "leaf_b's caller recovered where its return address is not at sp (CFA = sp + 32)" \
	grep -Eq '^leaf_b: cprofd (9[0-9]|100)% ' "$TMP/callers.txt"
# The caller sits between the leaf and the rest of the stack, up to main.
check "middle_a > leaf_a reaches main" \
	$PROFILES chain --pprof "$TMP/leaf.pb.gz" --chain main,run_workload,middle_a,leaf_a \
	--min-fraction 0.9 >/dev/null
check "middle_b > leaf_b reaches main" \
	$PROFILES chain --pprof "$TMP/leaf.pb.gz" --chain main,run_workload,middle_b,leaf_b \
	--min-fraction 0.9 >/dev/null

stop_daemon
check "cprofd exits cleanly" test $? = 0
finish
