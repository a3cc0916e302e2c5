#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Symbols users can trust on real programs: a C++ workload with templates,
# namespaces and inlined code is profiled by cprofd while perf records the
# same run; go tool pprof must show demangled names, file:line and the
# inlined frames, the mangled names must be kept as system names, kernel
# frames must sit in the kernel mapping, and cprofd's top functions must be
# perf's. Programs from Debian that spend their time in libc (sed's regex
# engine, sort -g's strtold) must have the top functions perf report shows
# for the same run. Then JIT code, named from the JIT's perf map: a Java
# program's eight hot methods and a node --perf-basic-prof program's eight
# hot JavaScript functions; again 6 of perf's top 8 at least.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "symbols"

start_daemon || { not_ok "cprofd starts"; finish; exit; }

# --- C++: demangled names, file:line, inlined frames, perf's top functions ---
start_workload templates --seconds 30
cxx_pid=$WORKLOAD_PID
sleep 0.3
perf record -q -e cpu-clock -F 99 -g -p "$cxx_pid" -o "$TMP/perf.data" -- sleep 8 \
	>"$TMP/perf.log" 2>&1 &
perf_pid=$!
"$CPROFCTL" start "$cxx_pid" --hz 99 >/dev/null
sleep 8
"$CPROFCTL" stop "$cxx_pid" -o "$TMP/cxx.pb.gz" >"$TMP/stop.txt"
wait "$perf_pid"
kill "$cxx_pid" 2>/dev/null
diag "$(cat "$TMP/stop.txt")"

pprof_top "$TMP/cxx.pb.gz" >"$TMP/top.txt"
sed 's/^/#   /' "$TMP/top.txt" | sed -n '1,16p'
check "pprof -top shows a demangled template instance" \
	grep -qF 'cprof_work::mixer<unsigned long, 1>::run' "$TMP/top.txt"
check "pprof -top shows a demangled member function in a namespace" \
	grep -qF 'cprof_work::hasher::digest' "$TMP/top.txt"
check "no mangled C++ name is shown" bash -c "! grep -Eq ' _Z[A-Za-z0-9_]+' '$TMP/top.txt'"

go tool pprof -raw -symbolize=none "$TMP/cxx.pb.gz" >"$TMP/raw.txt" 2>&1
check "pprof -raw shows file:line of the hot functions" \
	grep -Eq 'cprof_work::hasher::digest .*tests/workloads/templates\.cc:[0-9]+ ' "$TMP/raw.txt"
# The line mix_step's body is on, from the source.
mix_line=$(grep -n 'return x ^ (x >> 29);' "$(dirname "$0")/../workloads/templates.cc" | cut -d: -f1)
check "inlined mix_step is its own frame, at its own line ($mix_line)" \
	grep -Eq "cprof_work::mix_step .*templates\.cc:$mix_line " "$TMP/raw.txt"
# Every hot function's loop is mix_step inlined: its samples must read
# main > run_round > (a hot function) > mix_step, leaf last.
$PROFILES folded --pprof "$TMP/cxx.pb.gz" >"$TMP/folded.txt"
python3 - "$TMP/folded.txt" >"$TMP/inline.txt" 2>&1 <<'PY'
import re, sys
inlined = under = 0
for line in open(sys.argv[1]):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    if stack.endswith(";cprof_work::mix_step"):
        inlined += int(count)
        if re.search(r"(^|;)main;cprof_work::run_round;cprof_work::[^;]+;cprof_work::mix_step$",
                     stack):
            under += int(count)
print(f"{under} of {inlined} samples in inlined mix_step read "
      "main > run_round > hot function > mix_step")
sys.exit(0 if inlined > 0 and under >= 0.8 * inlined else 1)
PY
rc=$?
diag "$(cat "$TMP/inline.txt")"
check "inlined frame sits under the function it was inlined into, up to main" test "$rc" = 0
check "digest's inlined code: main > run_round > digest > mix_step" \
	$PROFILES chain --pprof "$TMP/cxx.pb.gz" \
	--chain main,cprof_work::run_round,cprof_work::hasher::digest,cprof_work::mix_step \
	>/dev/null
check "mangled names are kept as system names" \
	bash -c "gzip -dc '$TMP/cxx.pb.gz' | grep -aq _ZNK10cprof_work6hasher6digestEmm"
# Kernel frames: dd spends its time in read(2) and write(2), so its samples
# are mostly in the kernel (a CPU-bound workload may go without any).
dd if=/dev/zero of=/dev/null bs=1M count=100000000 2>/dev/null &
dd_pid=$!
pids_to_kill+=("$dd_pid")
"$CPROFCTL" profile "$dd_pid" --seconds 1 -o "$TMP/dd.pb.gz" >/dev/null
kill "$dd_pid" 2>/dev/null
go tool pprof -raw -symbolize=none "$TMP/dd.pb.gz" >"$TMP/dd.raw" 2>&1
python3 - "$TMP/dd.raw" >"$TMP/kernel.txt" 2>&1 <<'PY'
import re, sys
text = open(sys.argv[1]).read()
maps = dict(re.findall(r"^\s*(\d+): 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (\S+)", text, re.M))
kernel = [i for i, name in maps.items() if name == "[kernel.kallsyms]"]
locs = re.findall(r"^\s*\d+: (0x[0-9a-f]+) M=(\d+)", text, re.M)
high = [(a, m) for a, m in locs if int(a, 16) >= 0xffff800000000000]
wrong = [(a, m) for a, m in high if m not in kernel]
print(f"kernel mapping ids {kernel}; {len(high)} kernel locations, {len(wrong)} elsewhere")
sys.exit(0 if kernel and high and not wrong else 1)
PY
rc=$?
diag "$(cat "$TMP/kernel.txt")"
check "kernel frames are in the [kernel.kallsyms] mapping" test "$rc" = 0

$PROFILES topn --pprof "$TMP/cxx.pb.gz" --perf "$TMP/perf.data" --no-inlined \
	--top 8 --min-agree 6 --min-samples 200 >"$TMP/topn.txt" 2>&1
rc=$?
sed 's/^/#   /' "$TMP/topn.txt"
check "$(grep -o 'agreement: .*' "$TMP/topn.txt" || echo 'top functions') (perf, same run)" \
	test "$rc" = 0

# --- libc-heavy programs from Debian, against perf report --------------------
# Each runs on a generated input; cprofd and perf record the same seconds of
# it at 199 Hz, and the top 8 functions by self samples of `go tool pprof
# -top` and `perf report --no-children` must share at least 6. Unknown code
# (Debian's sort is stripped: cprofd names it sort+0xOFFSET, perf 0xADDRESS)
# counts as one entry per binary, "[unknown in sort]"; see
# comparable_symbol() in lib/profiles.py. xz and gzip are left out: their
# hot code is static functions of a stripped liblzma and gzip, so all their
# time is such unknown entries and nothing would be compared by name.
# libc's own names (re_search_internal, ____strtold_l_internal) come from
# libc6-dbg's debug file, found by build ID.

# profile_with_perf NAME PID SECONDS: cprofd and perf on the same run, into
# $TMP/NAME.pb.gz and $TMP/NAME.perf.data.
profile_with_perf() {
	local name=$1 pid=$2 seconds=$3 perf_pid
	perf record -q -e cpu-clock -F 199 -g -p "$pid" -o "$TMP/$name.perf.data" \
		-- sleep "$seconds" >"$TMP/$name.perf.log" 2>&1 &
	perf_pid=$!
	"$CPROFCTL" start "$pid" --hz 199 >/dev/null
	sleep "$seconds"
	"$CPROFCTL" stop "$pid" -o "$TMP/$name.pb.gz" >"$TMP/$name.stop.txt"
	wait "$perf_pid"
}

# check_top_with_perf NAME [topself options]: the comparison, printed.
check_top_with_perf() {
	local name=$1 rc; shift
	$PROFILES topself --pprof "$TMP/$name.pb.gz" --perf "$TMP/$name.perf.data" \
		--top 8 --min-agree 6 --min-samples 300 "$@" >"$TMP/$name.top.txt" 2>&1
	rc=$?
	sed 's/^/#   /' "$TMP/$name.top.txt"
	check "$name: $(grep -o 'agreement: .* in both' "$TMP/$name.top.txt" || echo 'top functions') (perf report, same run)" \
		test "$rc" = 0
}

libc_debug=/usr/lib/debug/.build-id/$(readelf -n /lib/x86_64-linux-gnu/libc.so.6 |
	sed -n 's/.*Build ID: \(..\)\(.*\)/\1\/\2/p').debug
if [ ! -e "$libc_debug" ]; then
	skip "libc-heavy programs against perf" "no libc debug file (Debian: libc6-dbg)"
else
	# sed: glibc's regex engine (re_search_internal, re_acquire_state, ...).
	python3 -c 'import random, sys
r = random.Random(1)
words = ["alpha", "beta", "gamma", "delta", "kappa", "omega", "sigma", "theta"]
for _ in range(100000):
	print(" ".join(r.choice(words) + str(r.randint(0, 999)) for _ in range(6)))' >"$TMP/words.txt"
	words=()
	for _ in $(seq 400); do words+=("$TMP/words.txt"); done
	LC_ALL=C sed -E 's/([a-z]+)([0-9]+) ([a-z]+)/\3\2\1/g' "${words[@]}" >/dev/null &
	sed_pid=$!
	pids_to_kill+=("$sed_pid")
	sleep 0.3
	profile_with_perf sed "$sed_pid" 6
	kill "$sed_pid" 2>/dev/null
	check_top_with_perf sed --expect re_search_internal

	# sort -g: strtold and the mpn arithmetic under it, and sort's own
	# (stripped) comparison. It reads everything first, then sorts.
	python3 -c 'import random
r = random.Random(2)
print("\n".join("%.17g" % (r.random() * 10 ** r.randint(-30, 30)) for _ in range(2000000)))' \
		>"$TMP/numbers.txt"
	LC_ALL=C sort -g --parallel=1 -S 1G "$TMP/numbers.txt" >/dev/null &
	sort_pid=$!
	pids_to_kill+=("$sort_pid")
	sleep 1.5
	profile_with_perf sort "$sort_pid" 6
	kill "$sort_pid" 2>/dev/null
	check_top_with_perf sort --expect ____strtold_l_internal
	rm -f "$TMP/words.txt" "$TMP/numbers.txt"
fi

# --- binaries the daemon cannot reach by their path ---------------------------
# Deleted after start: only /proc/PID/map_files still has it.
cp "$WORKLOADS/templates" "$TMP/app-deleted"
"$TMP/app-deleted" --seconds 20 >/dev/null 2>&1 &
deleted_pid=$!
pids_to_kill+=("$deleted_pid")
sleep 0.3
rm "$TMP/app-deleted"
"$CPROFCTL" profile "$deleted_pid" --hz 99 --seconds 2 -o "$TMP/deleted.pb.gz" >/dev/null
kill "$deleted_pid" 2>/dev/null
check "a deleted binary is still symbolized (through /proc/PID/map_files)" \
	grep -qF 'cprof_work::hasher::digest' <(pprof_top "$TMP/deleted.pb.gz")
# In a mount namespace of its own, on a tmpfs the daemon's namespace does not see.
mkdir "$TMP/ns"
unshare -m --propagation private bash -c \
	'mount -t tmpfs tmpfs "$1" && cp "$2" "$1/app" && exec "$1/app" --seconds 20' \
	_ "$TMP/ns" "$WORKLOADS/templates" >/dev/null 2>&1 &
ns_pid=$!
pids_to_kill+=("$ns_pid")
sleep 0.5
check "premise: the namespaced binary is not at its path here" test ! -e "$TMP/ns/app"
"$CPROFCTL" profile "$ns_pid" --hz 99 --seconds 2 -o "$TMP/ns.pb.gz" >/dev/null
kill "$ns_pid" 2>/dev/null
check "a binary in another mount namespace is symbolized" \
	grep -qF 'cprof_work::hasher::digest' <(pprof_top "$TMP/ns.pb.gz")

# --- JIT code: a Java program, with the JVM's perf map -----------------------
# The JVM writes /tmp/perf-PID.map at exit (-XX:+DumpPerfMapAtExit), so both
# cprofd and perf record until the JVM exits, and the session is stopped
# after: the profile is built, and the map read, only then. Three methods
# are kept from being inlined so each is a JIT frame of its own. After the
# first second they are all the time there is; what is left (page faults,
# a GC thread, the interpreter) is a few samples each, ranked by chance, so
# only entries of 2% or more are compared: those three, which both must have.
run_java_case() {
	mkdir "$TMP/java"
	# Eight hot methods: work8 does eight parts of the work, work1 one; kept
	# apart (dontinline) so that each is its own frame, for perf as for cprofd.
	cat >"$TMP/java/CprofHot.java" <<'JAVA'
public class CprofHot {
	static long work8(int n) {
		long x = 8;
		for (int i = 0; i < 8 * n; i++)
			x = (x * 31 + i) % 1000003;
		return x;
	}

	static long work7(int n) {
		long x = 7;
		for (int i = 0; i < 7 * n; i++)
			x = (x * 37 + i) % 1000033;
		return x;
	}

	static long work6(int n) {
		long x = 6;
		for (int i = 0; i < 6 * n; i++)
			x = (x * 41 + i) % 1000037;
		return x;
	}

	static long work5(int n) {
		long x = 5;
		for (int i = 0; i < 5 * n; i++)
			x = (x * 43 + i) % 1000039;
		return x;
	}

	static long work4(int n) {
		long x = 4;
		for (int i = 0; i < 4 * n; i++)
			x = (x * 47 + i) % 1000081;
		return x;
	}

	static long work3(int n) {
		long x = 3;
		for (int i = 0; i < 3 * n; i++)
			x = (x * 53 + i) % 1000099;
		return x;
	}

	static long work2(int n) {
		long x = 2;
		for (int i = 0; i < 2 * n; i++)
			x = (x * 59 + i) % 1000117;
		return x;
	}

	static long work1(int n) {
		long x = 1;
		for (int i = 0; i < 1 * n; i++)
			x = (x * 61 + i) % 1000121;
		return x;
	}

	public static void main(String[] args) {
		long end = System.nanoTime() + Long.parseLong(args[0]) * 1000000000L;
		long sum = 0;
		while (System.nanoTime() < end)
			sum += work8(100000) + work7(100000) + work6(100000) + work5(100000) +
			       work4(100000) + work3(100000) + work2(100000) + work1(100000);
		System.out.println(sum);
	}
}
JAVA
	if ! javac -d "$TMP/java" "$TMP/java/CprofHot.java" >"$TMP/javac.log" 2>&1; then
		not_ok "javac compiles the Java workload"; sed 's/^/#   /' "$TMP/javac.log"
		return
	fi
	java -XX:+PreserveFramePointer -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit \
		-XX:CompileCommand=quiet '-XX:CompileCommand=dontinline,CprofHot::*' \
		-cp "$TMP/java" CprofHot 8 >"$TMP/java.out" 2>&1 &
	local java_pid=$! perf_pid
	pids_to_kill+=("$java_pid")
	sleep 1.5
	perf record -q -e cpu-clock -F 199 -g -p "$java_pid" -o "$TMP/java.perf.data" \
		>"$TMP/java.perf.log" 2>&1 &
	perf_pid=$!
	"$CPROFCTL" start "$java_pid" --hz 199 >/dev/null
	wait "$java_pid"
	check "the Java workload ran to its end" test $? = 0
	wait "$perf_pid"
	"$CPROFCTL" stop "$java_pid" -o "$TMP/java.pb.gz" >"$TMP/java.stop.txt"
	diag "$(cat "$TMP/java.stop.txt")"
	check "the JVM wrote a perf map" test -s "/tmp/perf-$java_pid.map"
	check_top_with_perf java --expect 'long CprofHot.work8(int)' \
		--expect 'long CprofHot.work1(int)'
	rm -f "/tmp/perf-$java_pid.map"
}
if command -v java >/dev/null && command -v javac >/dev/null; then
	run_java_case
else
	skip "Java method names from the JVM's perf map" "no JDK (Debian: openjdk-17-jdk-headless)"
fi

# --- JIT code: node --perf-basic-prof ---------------------------------------
if ! command -v node >/dev/null; then
	skip "JavaScript names from node's perf map" "node is not installed (Debian: nodejs)"
	finish
	exit
fi
# Eight hot functions, as for Java; TurboFan's inlining off, so that each is
# its own frame for perf as for cprofd.
cat >"$TMP/hot.js" <<'JS'
// Eight hot functions: cprofWork8 does eight parts of the work, cprofWork1 one.
function cprofWork8(n) { let x = 8; for (let i = 0; i < 8 * n; i++) x = (x * 31 + i) % 1000003; return x; }
function cprofWork7(n) { let x = 7; for (let i = 0; i < 7 * n; i++) x = (x * 37 + i) % 1000033; return x; }
function cprofWork6(n) { let x = 6; for (let i = 0; i < 6 * n; i++) x = (x * 41 + i) % 1000037; return x; }
function cprofWork5(n) { let x = 5; for (let i = 0; i < 5 * n; i++) x = (x * 43 + i) % 1000039; return x; }
function cprofWork4(n) { let x = 4; for (let i = 0; i < 4 * n; i++) x = (x * 47 + i) % 1000081; return x; }
function cprofWork3(n) { let x = 3; for (let i = 0; i < 3 * n; i++) x = (x * 53 + i) % 1000099; return x; }
function cprofWork2(n) { let x = 2; for (let i = 0; i < 2 * n; i++) x = (x * 59 + i) % 1000117; return x; }
function cprofWork1(n) { let x = 1; for (let i = 0; i < n; i++) x = (x * 61 + i) % 1000121; return x; }
const end = Date.now() + Number(process.argv[2] || 20) * 1000;
let sum = 0;
while (Date.now() < end)
	sum += cprofWork8(1e5) + cprofWork7(1e5) + cprofWork6(1e5) + cprofWork5(1e5) +
		cprofWork4(1e5) + cprofWork3(1e5) + cprofWork2(1e5) + cprofWork1(1e5);
console.log(sum);
JS
# In $TMP: node --perf-basic-prof also writes an isolate-*.log where it runs.
(cd "$TMP" && exec node --perf-basic-prof --no-turbo-inlining hot.js 12 >node.out 2>&1) &
node_pid=$!
pids_to_kill+=("$node_pid")
sleep 1.5
profile_with_perf node "$node_pid" 6
diag "$(cat "$TMP/node.stop.txt")"
check "node wrote a perf map" test -s "/tmp/perf-$node_pid.map"
pprof_top "$TMP/node.pb.gz" >"$TMP/node-top.txt"
check "the hot JavaScript function is named from the perf map" \
	grep -q 'JS:\*cprofWork8 ' "$TMP/node-top.txt"
check_top_with_perf node --expect "JS:*cprofWork8 $TMP/hot.js:2:20" \
	--expect "JS:*cprofWork1 $TMP/hot.js:9:20"
PPROF_TMPDIR=$TMP go tool pprof -traces -symbolize=none "$TMP/node.pb.gz" >"$TMP/node-traces.txt" 2>&1
check "callers of the JIT code are node's C++ functions, demangled" \
	grep -Eq '^ +(node::Start|v8::Function::Call)$' "$TMP/node-traces.txt"
kill "$node_pid" 2>/dev/null
wait "$node_pid" 2>/dev/null
rm -f "/tmp/perf-$node_pid.map"

stop_daemon
check "cprofd exits 0" test $? = 0
finish
