#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A process and its children (cprofctl start --children), as for a build or
# a test runner: a spawner forks and execs 1000 short-lived processes, two
# at a time, each running one of 100 copies of the short_lived workload for
# 5 ms, so most live and die between two drains of the ring buffer and
# /proc never shows their maps. Their samples must all be in the profile,
# labelled with their own pids; the session must count the processes; the
# symbol cache, bounded small enough that the 100 binaries do not fit at
# once, must stay within its bound. Then a child that runs a setuid program
# stops being sampled.
#
# Names are judged against perf on the same run, recording the whole
# machine on the same clock (perf record -e cpu-clock -a: a timer per CPU,
# as cprofd's; perf's per-task timer of --inherit first fires 1/hz into
# each process's life, so it never samples a 5 ms child's exec and loader).
# How much of a child's life is exec and ld.so depends on the machine, and
# ld.so has no frame pointers, so the callers a frame-pointer walk finds
# there are junk for both tools. What cprofd must show: a name for the
# leaf of >= 99% of samples (the leaf's address is real: unnamed, its
# mapping was lost), ld.so's functions named, the parent's frames of a child
# still in fork or exec mapped, as many whole stacks as perf and the same
# share in short_hot, within what chance gives two samplers. Once on a quiet machine, once with a CPU hog on every
# CPU, as on a busy fleet machine.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "children"

CHILDREN=1000
VARIANTS=100
CACHE_BOUND=$((1024 * 1024))
# Twice the samples of 499 Hz, for a tighter bound on the shares below.
HZ=999

start_daemon --symbol-cache-size "$CACHE_BOUND" || { not_ok "cprofd starts"; finish; exit; }

mkdir -p "$TMP/bin"
for i in $(seq 0 $((VARIANTS - 1))); do
	cp "$WORKLOADS/short_lived" "$TMP/bin/short_lived_$i"
done

# hogs_start / hogs_stop: a busy loop on every CPU.
hog_pids=()
hogs_start() {
	local _
	for _ in $(seq "$(nproc)"); do
		bash -c 'while :; do :; done' &
		hog_pids+=("$!")
		pids_to_kill+=("$!")
	done
}
hogs_stop() {
	kill "${hog_pids[@]}" 2>/dev/null
	wait "${hog_pids[@]}" 2>/dev/null
	hog_pids=()
}

# children_round NAME: the spawner's run under cprofd and perf; the
# profile is $TMP/NAME.pb.gz, the status while sampling $TMP/NAME.json.
children_round() {
	local name=$1 spawner_pid perf_pid
	start_workload spawner --count "$CHILDREN" --parallel 2 --variants "$VARIANTS" \
		--wait-signal -- "$TMP/bin/short_lived_%d" --ms 5
	spawner_pid=$WORKLOAD_PID
	for _ in $(seq 100); do [ -s "$TMP/spawner.out" ] && break; sleep 0.05; done

	check "$name: start --children" quiet "$CPROFCTL" start "$spawner_pid" --children \
		--hz "$HZ"
	perf record -q -e cpu-clock -F "$HZ" -g -a -o "$TMP/$name.perf.data" \
		>"$TMP/$name.perf.log" 2>&1 &
	perf_pid=$!
	pids_to_kill+=("$perf_pid")
	# perf says nothing when it is ready: give it the time to open its events.
	sleep 1
	kill -USR1 "$spawner_pid"
	wait "$spawner_pid"
	check "$name: the spawner ran $CHILDREN children, all exited 0" test $? = 0
	diag "$(tail -1 "$TMP/spawner.out")"
	kill -INT "$perf_pid"
	wait "$perf_pid"
	"$CPROFCTL" status --json >"$TMP/$name.json"
	check "$name: stop writes the profile" quiet "$CPROFCTL" stop "$spawner_pid" \
		-o "$TMP/$name.pb.gz"

	python3 "$LIB/children.py" "$TMP/$name.pb.gz" "$TMP/$name.perf.data" "$spawner_pid" \
		short_lived >"$TMP/$name.txt" 2>&1
	children_checks "$name"
}

# share PART WHOLE: PART of WHOLE in percent, one decimal.
share() { awk -v p="$1" -v w="$2" 'BEGIN { printf "%.1f", w ? 100 * p / w : 0 }'; }

# children_checks NAME: what the tallies of $TMP/NAME.txt must show.
children_checks() {
	local name=$1 total leaf_named mapped hot ld ld_named exec exec_mapped
	local p_total p_leaf_named p_mapped p_hot pids
	read -r total leaf_named mapped hot ld ld_named exec exec_mapped < <(sed -nE \
		's/^cprofd total ([0-9]+) leaf_named ([0-9]+) mapped ([0-9]+) hot ([0-9]+) ld ([0-9]+) ld_named ([0-9]+) exec ([0-9]+) exec_mapped ([0-9]+)$/\1 \2 \3 \4 \5 \6 \7 \8/p' \
		"$TMP/$name.txt")
	read -r p_total p_leaf_named p_mapped p_hot < <(sed -nE \
		's/^perf total ([0-9]+) leaf_named ([0-9]+) mapped ([0-9]+) hot ([0-9]+) .*/\1 \2 \3 \4/p' \
		"$TMP/$name.txt")
	if [ -z "${total:-}" ] || [ -z "${p_total:-}" ] || [ "$p_total" = 0 ]; then
		not_ok "$name: the profile and perf's recording read"
		sed 's/^/#   /' "$TMP/$name.txt" | tail -5
		return
	fi
	diag "$name: cprofd: $total child samples; leaf named $(share "$leaf_named" "$total")%," \
		"whole stack mapped $(share "$mapped" "$total")%, short_hot $(share "$hot" "$total")%;" \
		"ld.so leaves $ld ($ld_named named), fork/exec $exec ($exec_mapped mapped)"
	diag "$name: perf:   $p_total child samples; leaf named $(share "$p_leaf_named" "$p_total")%," \
		"whole stack mapped $(share "$p_mapped" "$p_total")%, short_hot $(share "$p_hot" "$p_total")%"
	pids=$(json_field "$TMP/$name.json" "j['sessions'][0]['processes']")
	check "$name: children's samples are in the profile (>= 1000)" test "$total" -ge 1000
	check "$name: most children were sampled under their own pid ($pids >= 500)" \
		test "$pids" -ge 500
	check "$name: >= 99% of the leaves named ($leaf_named of $total)" \
		test $((leaf_named * 100)) -ge $((total * 99))
	check "$name: ld.so's functions named (>= 95% of $ld, at least 20)" \
		test "$ld" -ge 20 -a $((ld_named * 100)) -ge $((ld * 95))
	check "$name: the parent's frames of children in fork or exec mapped ($exec_mapped of $exec)" \
		test "$exec" -ge 10 -a $((exec_mapped * 100)) -ge $((exec * 97))
	check "$name: whole stacks mapped as often as perf maps them, within 2 points" \
		test $((mapped * 1000 / total)) -ge $((p_mapped * 1000 / p_total - 20))
	# Two tools sampling the same children differ by chance alone, by about
	# sqrt(p(1-p)/n) each: at 499 Hz (n ~ 2000) 1.5 points for the
	# difference, as 38 rounds on this machine measured. A fixed 5 points
	# failed CI once (69.3% against 74.6%). At 4.5 standard errors a round
	# fails by chance about once in 150,000.
	local bound
	bound=$(awk -v a="$hot" -v n="$total" -v b="$p_hot" -v m="$p_total" 'BEGIN {
		p = a / n; q = b / m
		printf "%.1f", 4.5 * 100 * sqrt(p * (1 - p) / n + q * (1 - q) / m) }')
	check "$name: short_hot's share within $bound points of perf's (4.5 standard errors)" \
		awk -v a="$hot" -v n="$total" -v b="$p_hot" -v m="$p_total" -v k="$bound" \
		'BEGIN { d = 100 * (a / n - b / m); exit !(d <= k && -d <= k) }'
}

children_round quiet
json=$TMP/quiet.json
check "the session follows children" test "$(json_field "$json" "j['sessions'][0]['children']")" = True
check "no child was left out of the target map" \
	test "$(json_field "$json" "j['sessions'][0]['children_untracked']")" = 0
check "task events are open while sampling" \
	test "$(json_field "$json" "j['daemon']['task_events']")" = open
check "no task event was lost" test "$(json_field "$json" "j['daemon']['task_events_lost']")" = 0

"$CPROFCTL" status --json >"$TMP/after.json"
cache=$(json_field "$TMP/after.json" "j['daemon']['symbol_cache_bytes']")
evictions=$(json_field "$TMP/after.json" "j['daemon']['symbol_cache_evictions']")
diag "symbol cache: $cache bytes, bound $CACHE_BOUND, $evictions evictions"
check "the symbol cache stayed within its bound" test "$cache" -le "$CACHE_BOUND"
check "the symbol cache was used, and evicted to stay in bounds" \
	test "$cache" -gt 0 -a "$evictions" -gt 0
check "task events close with the last session" \
	test "$(json_field "$TMP/after.json" "j['daemon']['task_events']")" = closed
check "no process is left in the table" \
	test "$(json_field "$TMP/after.json" "j['daemon']['processes']")" = 0

hogs_start
children_round loaded
hogs_stop
check "loaded: no task event was lost" \
	test "$(json_field "$TMP/loaded.json" "j['daemon']['task_events_lost']")" = 0

# A child that runs a setuid program is not its parent's to see any more:
# a user's spawner runs a setuid-root copy of short_lived (secureexec).
SETUID_COPY=$TMP/bin/setuid_short_lived
cp "$WORKLOADS/short_lived" "$SETUID_COPY"
chmod 4755 "$SETUID_COPY"
chmod 755 "$TMP" "$TMP/bin"
if setpriv --reuid=nobody --regid=nogroup --clear-groups "$SETUID_COPY" --ms 0 >"$TMP/suid-id.out" 2>&1 &&
	! findmnt -n -o OPTIONS --target "$SETUID_COPY" | grep -qw nosuid; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$WORKLOADS/spawner" --count 1 --parallel 1 --wait-signal -- "$SETUID_COPY" --ms 500 \
		>"$TMP/setuid.out" 2>&1 &
	spawner_pid=$!
	pids_to_kill+=("$spawner_pid")
	for _ in $(seq 100); do [ -s "$TMP/setuid.out" ] && break; sleep 0.05; done
	quiet "$CPROFCTL" start "$spawner_pid" --children --hz 499
	kill -USR1 "$spawner_pid"
	wait "$spawner_pid"
	check "the setuid child ran" test $? = 0
	"$CPROFCTL" stop "$spawner_pid" -o "$TMP/setuid.pb.gz" >"$TMP/setuid-stop.txt"
	diag "$(cat "$TMP/setuid-stop.txt")"
	check "a child running a setuid program is not sampled" \
		bash -c "! PPROF_TMPDIR=$TMP go tool pprof -top -symbolize=none '$TMP/setuid.pb.gz' 2>&1 | grep -q short_hot"
else
	skip "a child running a setuid program is not sampled" \
		"user nobody cannot run a setuid copy under $TMP (nosuid mount?)"
fi

stop_daemon
check "cprofd exits 0" test $? = 0
check "cprofd logged no error" bash -c "! grep -Ei 'error|assert' '$TMP/cprofd.log'"
finish
