#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A process and its children (cprofctl start --children), as for a build or
# a test runner: a spawner forks and execs 1000 short-lived processes, two
# at a time, each running one of 100 copies of the short_lived workload for
# 5 ms, so most live and die between two drains of the ring buffer and
# /proc never shows their maps. Their samples must all be in the profile,
# labelled with their own pids, and >= 95% of them symbolized (every frame
# named); the session must count the processes; the symbol cache, bounded
# small enough that the 100 binaries do not fit at once, must stay within its
# bound. Then a child that runs a setuid program stops being sampled.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "children"

CHILDREN=1000
VARIANTS=100
CACHE_BOUND=$((1024 * 1024))

start_daemon --symbol-cache-size "$CACHE_BOUND" || { not_ok "cprofd starts"; finish; exit; }

mkdir -p "$TMP/bin"
for i in $(seq 0 $((VARIANTS - 1))); do
	cp "$WORKLOADS/short_lived" "$TMP/bin/short_lived_$i"
done
start_workload spawner --count "$CHILDREN" --parallel 2 --variants "$VARIANTS" --wait-signal \
	-- "$TMP/bin/short_lived_%d" --ms 5
spawner_pid=$WORKLOAD_PID
for _ in $(seq 100); do [ -s "$TMP/spawner.out" ] && break; sleep 0.05; done

check "start --children" quiet "$CPROFCTL" start "$spawner_pid" --children --hz 499
kill -USR1 "$spawner_pid"
wait "$spawner_pid"
check "the spawner ran $CHILDREN children, all exited 0" test $? = 0
diag "$(tail -1 "$TMP/spawner.out")"

"$CPROFCTL" status --json >"$TMP/status.json"
check "the session follows children" \
	test "$(json_field "$TMP/status.json" "j['sessions'][0]['children']")" = True
check "no child was left out of the target map" \
	test "$(json_field "$TMP/status.json" "j['sessions'][0]['children_untracked']")" = 0
check "task events are open while sampling" \
	test "$(json_field "$TMP/status.json" "j['daemon']['task_events']")" = open
processes=$(json_field "$TMP/status.json" "j['sessions'][0]['processes']")
diag "processes sampled: $processes"

check "stop writes the profile" quiet "$CPROFCTL" stop "$spawner_pid" -o "$TMP/children.pb.gz"
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

# Symbolized: the leaf has a name, and every frame is placed in a binary
# ("[unknown]+0x..." is an address in no known mapping); "binary+0x..." is
# a frame of a binary without a symbol there (the bottom of ld.so, or a
# return address found through code without frame pointers): reported too.
python3 - "$LIB" "$TMP/children.pb.gz" "$spawner_pid" >"$TMP/children.txt" 2>&1 <<'PY'
import re, sys
sys.path.insert(0, sys.argv[1])
import profiles

unnamed = re.compile(r"(^\[unknown\]|\+0x[0-9a-f]+$|^0x[0-9a-f]+$)")
unmapped = re.compile(r"^(\[unknown\]|0x[0-9a-f]+$)")
samples = profiles.load_pprof(sys.argv[2])
spawner = sys.argv[3]
children = [s for s in samples if s.labels.get("pid") not in (None, spawner)]
total = sum(s.count for s in children)
named = sum(s.count for s in children if not any(unnamed.search(f) for f in s.stack))
symbolized = sum(s.count for s in children if s.stack and not unnamed.search(s.stack[0])
                 and not any(unmapped.search(f) for f in s.stack))
hot = sum(s.count for s in children if "short_hot" in s.stack)
pids = {s.labels.get("pid") for s in children}
print(f"child samples {total}, pids {len(pids)}, symbolized {symbolized}, "
      f"every frame named {named}, in short_hot {hot}")
for s in sorted(children, key=lambda s: -s.count):
    if any(unmapped.search(f) for f in s.stack) or unnamed.search(s.stack[0]):
        print("not symbolized:", s.count, " <- ".join(s.stack))
PY
sed 's/^/#   /' "$TMP/children.txt" | head -12
read -r total pids symbolized named hot < <(sed -nE \
	's/^child samples ([0-9]+), pids ([0-9]+), symbolized ([0-9]+), every frame named ([0-9]+), in short_hot ([0-9]+)$/\1 \2 \3 \4 \5/p' \
	"$TMP/children.txt")
if [ -z "${total:-}" ]; then
	not_ok "the profile reads"
else
	check "children's samples are in the profile (>= 1000)" test "$total" -ge 1000
	check "most children were sampled under their own pid (>= 500 pids)" test "$pids" -ge 500
	check ">= 95% of the children's samples symbolized ($symbolized of $total)" \
		test $((symbolized * 100)) -ge $((total * 95))
	check "most of their time is in short_hot ($hot of $total)" \
		test $((hot * 100)) -ge $((total * 50))
fi

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
