#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# cprofd end to end on the real kernel: a workload with known CPU shares is
# profiled through cprofctl while perf records it too; the profile must be
# readable by go tool pprof, agree with perf within 5 points, show the
# callers, and the daemon must survive bad requests and stop cleanly.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "end to end"

start_daemon || { not_ok "cprofd starts"; finish; exit; }
ok "cprofd starts and listens on a temporary socket"

# --- a profile, side by side with perf --------------------------------------
start_workload hotspots --seconds 60
hot_pid=$WORKLOAD_PID
sleep 0.3
# 397 Hz for 10 s: enough samples (about 4000) that the two profiles'
# shares differ by noise well under the 5-point tolerance. Not 499 or 250:
# a period near a multiple of the scheduler tick (4 ms) samples the target
# at one phase of its time slices when the CPUs are contended.
perf record -q -e cpu-clock -F 397 -g -p "$WORKLOAD_PID" -o "$TMP/perf.data" -- sleep 10 \
	>"$TMP/perf.log" 2>&1 &
perf_pid=$!
check "cprofctl start" "$CPROFCTL" start "$WORKLOAD_PID" --hz 397
"$CPROFCTL" status --json >"$TMP/status.json"
check "status lists the session" \
	test "$(json_field "$TMP/status.json" "[s['pid'] for s in j['sessions']]")" = "[$WORKLOAD_PID]"
"$CPROFCTL" status >"$TMP/status.txt"
check "plain status names the pid" grep -q "$WORKLOAD_PID" "$TMP/status.txt"
sleep 10
"$CPROFCTL" stop "$WORKLOAD_PID" -o "$TMP/app.pb.gz" >"$TMP/stop.txt"
check "cprofctl stop writes the profile" test -s "$TMP/app.pb.gz"
diag "$(cat "$TMP/stop.txt")"
check "stop prints a summary" grep -Eq 'samples.*lost.*distinct stacks' "$TMP/stop.txt"
wait "$perf_pid"

pprof_top "$TMP/app.pb.gz" >"$TMP/top.txt"
sed 's/^/#   /' "$TMP/top.txt" | head -12
check "go tool pprof reads the profile with function names" grep -q 'hot_a' "$TMP/top.txt"
$PROFILES shares --pprof "$TMP/app.pb.gz" --perf "$TMP/perf.data" \
	--funcs hot_a,hot_b,hot_c --tolerance 5 --min-samples 1500 >"$TMP/shares.txt" 2>&1
rc=$?
sed 's/^/#   /' "$TMP/shares.txt"
check "hot functions within 5 points of perf on the same run" test "$rc" = 0
for f in hot_a hot_b hot_c; do
	check "callers of $f: main > run_workload > $f" \
		$PROFILES chain --pprof "$TMP/app.pb.gz" --chain main,run_workload,$f \
		--min-fraction 0.9
done
go tool pprof -raw -symbolize=none "$TMP/app.pb.gz" >"$TMP/raw.txt" 2>&1
check "profile carries the period 1e9/397 ns" grep -qx "Period: 2518891" "$TMP/raw.txt"
check "profile has both sample types" grep -qx "samples/count cpu/nanoseconds" "$TMP/raw.txt"
check "samples carry pid and tid labels" grep -q "pid:\[$WORKLOAD_PID\] tid:\[$WORKLOAD_PID\]" \
	"$TMP/raw.txt"
check "samples carry the thread name" grep -q "thread_name:\[hotspots\]" "$TMP/raw.txt"
check "profile has a mapping of the workload binary with a build ID" \
	grep -Eq "workloads/hotspots.*[0-9a-f]{40}" "$TMP/raw.txt"
"$CPROFCTL" status --json >"$TMP/status.json"
check "no session left after stop" \
	test "$(json_field "$TMP/status.json" "len(j['sessions'])")" = 0

# --- the BPF program's cost per sample ------------------------------------
prog_id=$(json_field "$TMP/status.json" "j['daemon']['bpf_prog_id']")
sysctl -qw kernel.bpf_stats_enabled=1
"$CPROFCTL" start "$WORKLOAD_PID" --hz 999 >/dev/null
sleep 3
line=$(bpftool prog show id "$prog_id" 2>/dev/null | head -1)
"$CPROFCTL" stop "$WORKLOAD_PID" -o "$TMP/999.pb.gz" >/dev/null
sysctl -qw kernel.bpf_stats_enabled=0
run_ns=$(sed -nE 's/.*run_time_ns ([0-9]+).*/\1/p' <<<"$line")
run_cnt=$(sed -nE 's/.*run_cnt ([0-9]+).*/\1/p' <<<"$line")
if [ -n "$run_cnt" ] && [ "$run_cnt" -gt 0 ]; then
	diag "BPF program cost at 999 Hz: $((run_ns / run_cnt)) ns per run over $run_cnt runs"
	ok "bpf_stats report the program's cost"
else
	not_ok "bpf_stats report the program's cost ($line)"
fi

# --- bad requests get clear errors and the daemon lives on ----------------
expect_error() { # NAME PATTERN COMMAND...
	local name=$1 pattern=$2; shift 2
	if "$@" >"$TMP/out" 2>"$TMP/err"; then
		not_ok "$name: succeeded"
	elif grep -Eq "$pattern" "$TMP/err"; then
		ok "$name: $(cat "$TMP/err")"
	else
		not_ok "$name: said '$(cat "$TMP/err")'"
	fi
}
expect_error "unknown pid" "no process" "$CPROFCTL" start 999999999
expect_error "rate out of range" "hz out of range" "$CPROFCTL" start "$WORKLOAD_PID" --hz 20000
"$CPROFCTL" start "$WORKLOAD_PID" --hz 99 >/dev/null
expect_error "pid already profiled" "already being profiled" "$CPROFCTL" start "$WORKLOAD_PID"
expect_error "another rate while sampling" "another rate" "$CPROFCTL" start $$ --hz 50
"$CPROFCTL" stop "$WORKLOAD_PID" -o - >"$TMP/again.pb.gz" 2>"$TMP/again.txt"
check "stop -o - writes the profile to standard output" gzip -t "$TMP/again.pb.gz"
check "and its summary to standard error" grep -q "^wrote -:" "$TMP/again.txt"
"$CPROFCTL" start "$WORKLOAD_PID" >/dev/null
"$CPROFCTL" stop "$WORKLOAD_PID" -o /dev/null >/dev/null
check "stop -o /dev/null leaves /dev/null a device" test -c /dev/null
expect_error "stop without a session" "no session" "$CPROFCTL" stop "$WORKLOAD_PID" -o "$TMP/x"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' --unix-socket "$SOCK" \
	-X POST 'http://localhost/v1/sessions?pid=12abc')
check "malformed pid: 400 with a JSON error" \
	bash -c "[ $code = 400 ] && grep -q '\"error\"' $TMP/body"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/nope)
check "unknown route: 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
	http://localhost/v1/status)
check "wrong method: 405" test "$code" = 405
printf 'GARBAGE\r\n\r\n' | timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
s.settimeout(5); s.recv(4096)' "$SOCK" >/dev/null 2>&1
check "daemon alive after bad requests" kill -0 "$DAEMON_PID"

# --- a timed profile, as net/http/pprof serves it --------------------------
"$CPROFCTL" profile "$WORKLOAD_PID" --seconds 2 -o "$TMP/timed.pb.gz" >"$TMP/timed.txt"
check "cprofctl profile --seconds 2" grep -q hot_a <(pprof_top "$TMP/timed.pb.gz")
code=$(curl -s -o "$TMP/curl.pb.gz" -w '%{http_code}' --unix-socket "$SOCK" \
	"http://localhost/debug/pprof/profile?seconds=1&pid=$WORKLOAD_PID")
check "curl /debug/pprof/profile gives a readable profile" \
	bash -c "[ $code = 200 ] && go tool pprof -top -symbolize=none $TMP/curl.pb.gz 2>&1 | grep -q hot_"

# --- a process that exits before stop ---------------------------------------
start_workload short_lived --ms 1500
short_pid=$WORKLOAD_PID
sleep 0.1
"$CPROFCTL" start "$short_pid" --hz 99 >/dev/null
wait "$short_pid"
sleep 0.3
"$CPROFCTL" status --json >"$TMP/status.json"
check "status shows the exited target" \
	test "$(json_field "$TMP/status.json" "j['sessions'][0]['state']")" = exited
"$CPROFCTL" stop "$short_pid" -o "$TMP/short.pb.gz" >/dev/null
check "exited process still gives a symbolized profile" \
	$PROFILES chain --pprof "$TMP/short.pb.gz" --chain main,run_for,short_hot --min-fraction 0.9

# --- SIGTERM ends sessions and leaves nothing attached ----------------------
"$CPROFCTL" profile "$hot_pid" --seconds 60 -o "$TMP/term.pb.gz" >"$TMP/term.txt" 2>&1 &
profile_pid=$!
sleep 1
prog_id=$(daemon_prog_id)
check "program $prog_id loaded while running" prog_loaded "$prog_id"
stop_daemon
check "cprofd exits 0 on SIGTERM" test $? = 0
wait "$profile_pid"
check "a timed profile still waiting gets what was collected" \
	grep -q hot_a <(pprof_top "$TMP/term.pb.gz")
diag "$(cat "$TMP/term.txt")"
check "program $prog_id unloaded after SIGTERM" bash -c "! bpftool prog show id $prog_id 2>/dev/null"
check "socket removed" test ! -e "$SOCK"

finish
