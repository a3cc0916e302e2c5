#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The BPF unwinder (bpf/unwind.h) against gdb, on cores of real processes.
# Each process is dumped by gcore; $BUILD/tests/replay walks every thread
# of the core as the BPF program would (tests/replay/README.md), gdb
# prints its own backtrace of the same core, and the two must agree frame
# by frame, by pc. gdb's virtual frames (inlined calls, and the tail-call
# frames it infers from DWARF call sites) have no frame on the stack and
# are left out; a "<signal handler called>" frame is a real one
# (__restore_rt). gdb may show more frames than the replay only where the
# replay's stop reason says why (truncated, unsupported). Each process
# must have >= 95% of its frames agree, deep_nofp every thread, and every
# thread's walk must reach the thread's entry (_start, clone3), by gdb's
# names for the last frames.
#
# Processes: deep_nofp (-fomit-frame-pointer, 40 frames deep) with two
# threads, and with --signals stopped inside its SIGPROF handler; Debian's
# python3.11 (no frame pointers) in a deep Python recursion, in two
# threads; xz -9e compressing a file (liblzma). gcore needs ptrace on
# another process: root.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
REPLAY=$BUILD/tests/replay
# Whatever happens, nothing started here outlives the test.
trap 'for p in "${pids_to_kill[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
# No network from gdb: the debug info it has is the machine's.
export DEBUGINFOD_URLS=

if [ ! -x "$REPLAY" ]; then
	not_ok "replay: $REPLAY is built (make tests)"
	finish
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "replay against gdb" "needs root for gcore (ptrace of another process)"
	finish
	exit
fi
if ! command -v gcore >/dev/null || ! command -v gdb >/dev/null; then
	skip "replay against gdb" "gdb is not installed (packaging/install-deps.sh)"
	finish
	exit
fi

GDB=(gdb -batch -nx -iex 'set debuginfod enabled off' -ex 'set pagination off'
     -ex 'set width 0' -ex 'set print frame-arguments none')

# gdb's frames through its Python API, after its bt: the pc of every frame
# (bt leaves it out at the start of a line, and for "<signal handler
# called>") and its type (bt does not say which frames are inlined or
# tail calls).
cat >"$TMP/frames.py" <<'PY'
import gdb

TYPES = {gdb.NORMAL_FRAME: "normal", gdb.DUMMY_FRAME: "dummy", gdb.INLINE_FRAME: "inline",
         gdb.TAILCALL_FRAME: "tailcall", gdb.SIGTRAMP_FRAME: "sigtramp", gdb.ARCH_FRAME: "arch"}
print("@frames")
for th in sorted(gdb.selected_inferior().threads(), key=lambda t: -t.num):
    th.switch()
    print("@thread %d" % th.ptid[1])
    f = last = gdb.newest_frame()
    try:
        while f is not None:
            print("@frame %d 0x%x %s %s" % (f.level(), f.pc(), TYPES.get(f.type(), "other"),
                                            f.name() or "??"))
            last, f = f, f.older()
        print("@end %s" % gdb.frame_stop_reason_string(last.unwind_stop_reason()))
    except gdb.error as e:
        print("@end error: %s" % e)
PY

# Compares replay's walk (argv[1]) with gdb's frames (argv[2]); writes
# "agree|entry PASS|FAIL text" lines to argv[3]; prints the details.
cat >"$TMP/compare.py" <<'PY'
import re, sys

replay_out, gdb_out, results = sys.argv[1:4]
flags = set(sys.argv[4:])
EXCUSED = {"truncated", "unsupported"}  # stops that say why gdb has more
ENTRY = {"_start", "clone3", "clone", "__clone3", "__clone", "__GI___clone3", "__GI___clone"}
# The caller of these is the entry even where its name is stripped (gdb's "??").
ENTRY_CALLEES = {"__libc_start_main_impl", "__libc_start_main", "start_thread"}
VIRTUAL = {"inline", "tailcall"}

walks = {}
for line in open(replay_out):
    m = re.match(r"^thread (\d+) stop=(\S+) frames=(\d+):(.*)$", line)
    if m:
        pcs = [int(x, 16) for x in m.group(4).split()]
        assert len(pcs) == int(m.group(3)), line
        walks[int(m.group(1))] = (m.group(2), pcs)

bt, frames, ends, tid, in_frames = {}, {}, {}, None, False
for line in open(gdb_out):
    line = line.rstrip("\n")
    if line == "@frames":
        in_frames = True
        continue
    if not in_frames:
        m = re.match(r"^Thread \d+ \(.*?\bLWP (\d+)\b", line)
        if m:
            tid = int(m.group(1))
            bt[tid] = 0
        elif tid is not None and re.match(r"^#\d+ ", line):
            bt[tid] += 1
        continue
    if line.startswith("@thread "):
        tid = int(line.split()[1])
        frames[tid] = []
    elif line.startswith("@frame "):
        _, level, pc, kind, name = line.split(" ", 4)
        frames[tid].append((int(level), int(pc, 16), kind, name))
    elif line.startswith("@end "):
        ends[tid] = line[5:]

out = open(results, "w")
threads_ok = frames_ok = frames_total = 0
entries_ok, problems = 0, []
for tid in sorted(set(frames) | set(walks)):
    stop, pcs = walks.get(tid, ("missing", []))
    all_frames = frames.get(tid, [])
    real = [f for f in all_frames if f[2] not in VIRTUAL]
    if tid in bt and bt[tid] != len(all_frames):
        problems.append("thread %d: bt shows %d frames, the Python API %d" %
                        (tid, bt[tid], len(all_frames)))
    n = min(len(pcs), len(real))
    diffs = [i for i in range(n) if pcs[i] != real[i][1]]
    missing, extra = len(real) - n, len(pcs) - n
    excused = missing if stop in EXCUSED else 0
    total = len(real) - excused + extra
    agree = n - len(diffs)
    good = tid in walks and tid in frames and not diffs and missing == excused and not extra
    threads_ok += good
    frames_ok += agree
    frames_total += total
    print("#   thread %d: replay stop=%s, %d frames; gdb %d frames (%d virtual left out), "
          "gdb's end: %s; %d/%d agree" % (tid, stop, len(pcs), len(real),
                                          len(all_frames) - len(real), ends.get(tid, "-"),
                                          agree, total))
    for i in diffs[:8]:
        print("#     frame %d: replay 0x%x, gdb 0x%x in %s (gdb #%d)" %
              (i, pcs[i], real[i][1], real[i][3], real[i][0]))
    if len(diffs) > 8:
        print("#     ... %d more frames differ" % (len(diffs) - 8))
    if missing > excused:
        print("#     gdb has %d frames more, from #%d: %s" %
              (missing, real[n][0], " ".join("0x%x %s" % (f[1], f[3]) for f in real[n:n + 4])))
    if extra:
        print("#     replay has %d frames more: %s" %
              (extra, " ".join("0x%x" % pc for pc in pcs[n:n + 4])))
    # The entry: the walk ends where the table says the stack does, on
    # gdb's last frame, and gdb names that frame (or its callee) an entry.
    names = [f[3] for f in real]
    entry = (stop == "end" and pcs and len(pcs) == len(real) and pcs[-1] == real[-1][1] and
             (names[-1] in ENTRY or (len(names) > 1 and names[-2] in ENTRY_CALLEES)))
    entries_ok += bool(entry)
    if not entry:
        print("#     does not reach the entry: last frames %s" %
              " < ".join(names[-3:][::-1]))

n_threads = len(set(frames) | set(walks))
share = 100.0 * frames_ok / frames_total if frames_total else 0
summary = "threads agreeing %d/%d, frames agreeing %d/%d (%.1f%%)" % (
    threads_ok, n_threads, frames_ok, frames_total, share)
good = n_threads > 0 and share >= 95 and not problems
if "--all-threads" in flags:
    good = good and threads_ok == n_threads
for p in problems:
    print("#   " + p)
print("agree %s %s" % ("PASS" if good else "FAIL", summary), file=out)
print("entry %s %d/%d threads reach their entry" % (
    "PASS" if n_threads and entries_ok == n_threads else "FAIL", entries_ok, n_threads), file=out)
PY

# start_process NAME COMMAND...: runs it, its stdout in $TMP/NAME.out; sets PID.
start_process() {
	local name=$1; shift
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PID=$!
	pids_to_kill+=("$PID")
}

# stop_process: kills the last one started, and reaps it (no "Killed" from bash).
stop_process() {
	kill -9 "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
}

# wait_line NAME: waits (up to 5 s) for the first line of NAME's output.
wait_line() {
	for _ in $(seq 100); do
		[ -s "$TMP/$1.out" ] && return 0
		sleep 0.05
	done
	return 1
}

# dump NAME PID: gcore of PID into $TMP/NAME.core; the log in $TMP/NAME.gcore.
dump() {
	gcore -o "$TMP/$1" "$2" >"$TMP/$1.gcore" 2>&1 && [ -s "$TMP/$1.$2" ] &&
		mv "$TMP/$1.$2" "$TMP/$1.core"
}

# gcore could not make a core: a failure under CI, where it must work.
no_core() {
	diag "gcore: $(tail -3 "$TMP/$1.gcore" 2>/dev/null | tr '\n' ' ')"
	skip "$1: gcore" "could not dump the process (ptrace refused?)"
}

# check_core NAME EXE [compare flags]: replay and gdb on $TMP/NAME.core, then the checks.
check_core() {
	local name=$1 exe=$2 line; shift 2
	if ! "$REPLAY" "$TMP/$name.core" >"$TMP/$name.replay" 2>"$TMP/$name.replay.err"; then
		not_ok "$name: replay reads the core"
		sed 's/^/#   /' "$TMP/$name.replay.err"
		return
	fi
	"${GDB[@]}" -ex 'set backtrace past-main on' -ex 'thread apply all bt' -x "$TMP/frames.py" \
		"$exe" "$TMP/$name.core" >"$TMP/$name.gdb" 2>&1
	python3 "$TMP/compare.py" "$TMP/$name.replay" "$TMP/$name.gdb" "$TMP/$name.result" "$@" \
		>"$TMP/$name.compare" 2>&1
	if [ ! -s "$TMP/$name.result" ]; then
		not_ok "$name: the comparison ran"
		sed 's/^/#   /' "$TMP/$name.compare"
		return
	fi
	line=$(grep '^agree ' "$TMP/$name.result")
	# The details of every thread when something fails, the summary always.
	if [[ $line == "agree PASS"* ]] && grep -q '^entry PASS' "$TMP/$name.result"; then
		grep -v '^#     ' "$TMP/$name.compare"
	else
		cat "$TMP/$name.compare"
	fi
	if [[ $line == "agree PASS"* ]]; then
		ok "$name: replay agrees with gdb: ${line#agree PASS }"
	else
		not_ok "$name: replay agrees with gdb: ${line#agree FAIL }"
	fi
	line=$(grep '^entry ' "$TMP/$name.result")
	if [[ $line == "entry PASS"* ]]; then
		ok "$name: ${line#entry PASS }"
	else
		not_ok "$name: ${line#entry FAIL }"
	fi
}

# deep_nofp, two threads, 40 frames deep.
start_process deep_nofp "$WORKLOADS/deep_nofp" --seconds 30 --depth 40 --threads 2
if wait_line deep_nofp; then
	sleep 0.3
	if dump deep_nofp "$PID"; then
		check_core deep_nofp "$WORKLOADS/deep_nofp" --all-threads
	else
		no_core deep_nofp
	fi
else
	not_ok "deep_nofp starts"
fi
stop_process

# deep_nofp --signals: a 1 kHz SIGPROF handler that spins. The timer fires
# on the scheduler tick (about 250 signals a second here) and the handler
# runs some 30 us, so a core taken at random catches a thread in it less
# than once in a hundred: gdb stops the process at the handler instead
# (in_signal_handler, a tail call to spin_nofp), steps a thread into
# spin_nofp's loop and dumps it there. Tried again if no core has a thread
# in the handler.
start_process deep_nofp_signals "$WORKLOADS/deep_nofp" --seconds 30 --depth 40 --threads 2 \
	--signals
name=deep_nofp_signals
if wait_line $name; then
	sleep 0.3
	cat >"$TMP/catch.gdb" <<EOF
set confirm off
break in_signal_handler
continue
delete
stepi 7
gcore $TMP/$name.core
detach
EOF
	tries=0 in_handler=0
	for try in 1 2 3; do
		tries=$try
		rm -f "$TMP/$name.core"
		timeout 10 "${GDB[@]}" -p "$PID" -x "$TMP/catch.gdb" >"$TMP/$name.gcore" 2>&1
		[ -s "$TMP/$name.core" ] || continue
		in_handler=$("${GDB[@]}" -ex 'thread apply all bt' "$WORKLOADS/deep_nofp" \
			"$TMP/$name.core" 2>&1 | grep -c '<signal handler called>')
		[ "$in_handler" -gt 0 ] && break
	done
	if [ ! -s "$TMP/$name.core" ]; then
		no_core $name
	else
		check "$name: threads in the SIGPROF handler: $in_handler; tries: $tries" \
			test "$in_handler" -gt 0
		check_core $name "$WORKLOADS/deep_nofp" --all-threads
	fi
else
	not_ok "deep_nofp --signals starts"
fi
stop_process

# python3.11, built without frame pointers: a Python recursion 300 and 400
# deep in two threads, through map() every 40 levels so the interpreter
# recurses in C too (a Python-to-Python call alone does not, since 3.11).
cat >"$TMP/deep.py" <<'EOF'
import os, sys, threading

sys.setrecursionlimit(10000)

def spin():
    x = 0
    while True:
        for i in range(1000):
            x = (x * 31 + i) % 1000003

def deep(n):
    if n == 0:
        spin()
    if n % 40 == 0:
        return list(map(deep, [n - 1]))[0] + 1
    return deep(n - 1) + 1

threading.Thread(target=deep, args=(300,), daemon=True).start()
print(os.getpid(), flush=True)
deep(400)
EOF
PYTHON=$(readlink -f /usr/bin/python3)
start_process python3 "$PYTHON" "$TMP/deep.py"
if wait_line python3; then
	sleep 0.5
	if dump python3 "$PID"; then
		check_core python3 "$PYTHON"
	else
		no_core python3
	fi
else
	not_ok "python3 starts"
fi
stop_process

# xz -9e on 11 MB of base64: liblzma's encoder. The memory limit scales the
# dictionary down (64 to 4 MiB), or the core would be 700 MB of it.
head -c 8M /dev/urandom | base64 >"$TMP/input.txt"
start_process xz xz -9e -T1 --memlimit-compress=48MiB -c "$TMP/input.txt"
sleep 0.7
if kill -0 "$PID" 2>/dev/null && dump xz "$PID"; then
	check_core xz /usr/bin/xz
else
	no_core xz
fi
stop_process

finish
