#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Faults: a full disk when a profile is written keeps the session's data;
# SIGKILL leaves no BPF program behind and cprofd restarts on the same
# socket; a target that execs or exits mid-session does not hurt the daemon.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "faults"

start_daemon || { not_ok "cprofd starts"; finish; exit; }
start_workload hotspots --seconds 60
hot_pid=$WORKLOAD_PID
sleep 0.2

# --- the disk is full when the profile is written --------------------------
mkdir "$TMP/full"
mount -t tmpfs -o size=8k tmpfs "$TMP/full"
head -c 8192 /dev/zero >"$TMP/full/filler" 2>/dev/null
"$CPROFCTL" start "$hot_pid" >/dev/null
sleep 2
if "$CPROFCTL" stop "$hot_pid" -o "$TMP/full/p.pb.gz" >"$TMP/out" 2>"$TMP/err"; then
	not_ok "stop onto a full disk fails"
else
	ok "stop onto a full disk fails: $(cat "$TMP/err")"
fi
check "the error says the session is kept" grep -q "keeps the stopped session" "$TMP/err"
check "no temporary file is left" test ! -e "$TMP/full/p.pb.gz.tmp"
"$CPROFCTL" status --json >"$TMP/status.json"
check "the session is kept, stopped" \
	test "$(json_field "$TMP/status.json" "[(s['pid'], s['state']) for s in j['sessions']]")" \
	= "[($hot_pid, 'stopped')]"
samples=$(json_field "$TMP/status.json" "j['sessions'][0]['samples']")
"$CPROFCTL" stop "$hot_pid" -o "$TMP/p.pb.gz" >"$TMP/out" 2>&1
check "stopping again saves the whole profile ($samples samples)" \
	grep -q "wrote $TMP/p.pb.gz: $samples samples" "$TMP/out"
umount "$TMP/full"

# --- a target that execs mid-session ---------------------------------------
# bash runs a loop, then execs the workload in the same process.
bash -c 'end=$((SECONDS + 1)); while [ $SECONDS -lt $end ]; do :; done;
	exec "$0" --seconds 2' "$WORKLOADS/hotspots" >/dev/null &
exec_pid=$!
pids_to_kill+=("$exec_pid")
"$CPROFCTL" start "$exec_pid" >/dev/null
wait "$exec_pid"
"$CPROFCTL" stop "$exec_pid" -o "$TMP/exec.pb.gz" >"$TMP/exec.txt"
diag "$(cat "$TMP/exec.txt")"
go tool pprof -raw -symbolize=none "$TMP/exec.pb.gz" >"$TMP/exec.raw" 2>&1
check "a target that execs: bash's frames are in the profile" grep -q "/usr/bin/bash" "$TMP/exec.raw"
check "a target that execs: so are the new image's" $PROFILES chain --pprof "$TMP/exec.pb.gz" \
	--chain main,run_workload,hot_a --min-fraction 0.9
check "daemon alive after the target exec'd and exited" kill -0 "$DAEMON_PID"

# --- a target that forks mid-session ----------------------------------------
# The parent spins and forks busy children; only the parent is its session's.
bash -c 'for i in 1 2 3; do "$0" --ms 500 >/dev/null & done
	end=$((SECONDS + 2)); while [ $SECONDS -lt $end ]; do :; done; wait' \
	"$WORKLOADS/short_lived" &
fork_pid=$!
pids_to_kill+=("$fork_pid")
"$CPROFCTL" start "$fork_pid" >/dev/null
wait "$fork_pid"
"$CPROFCTL" stop "$fork_pid" -o "$TMP/fork.pb.gz" >"$TMP/fork.txt"
diag "$(cat "$TMP/fork.txt")"
go tool pprof -raw -symbolize=none "$TMP/fork.pb.gz" >"$TMP/fork.raw" 2>&1
check "a target that forks: the parent is profiled" grep -q "/usr/bin/bash" "$TMP/fork.raw"
check "its children are not in its session" bash -c "! grep -q short_hot $TMP/fork.raw"
check "daemon alive after the target forked" kill -0 "$DAEMON_PID"

# --- a pid reused by another process mid-session ----------------------------
start_workload short_lived --ms 60000
old_pid=$WORKLOAD_PID
"$CPROFCTL" start "$old_pid" >/dev/null
sleep 1
kill "$old_pid"
wait "$old_pid" 2>/dev/null
new_pid=
for _ in 1 2 3 4 5; do
	# The next process forked gets ns_last_pid + 1, unless another one races it.
	echo $((old_pid - 1)) >/proc/sys/kernel/ns_last_pid
	start_workload hotspots --seconds 10
	[ "$WORKLOAD_PID" = "$old_pid" ] && { new_pid=$WORKLOAD_PID; break; }
	kill "$WORKLOAD_PID"
done
if [ -z "$new_pid" ]; then
	not_ok "pid $old_pid could not be reused for the test"
else
	sleep 1.5
	"$CPROFCTL" stop "$old_pid" -o "$TMP/reused.pb.gz" >"$TMP/reused.txt"
	diag "$(cat "$TMP/reused.txt")"
	pprof_top "$TMP/reused.pb.gz" >"$TMP/reused.top"
	check "the session has the old process's samples" grep -q short_hot "$TMP/reused.top"
	check "and none of the new process on the reused pid $new_pid" \
		bash -c "! grep -q hot_a $TMP/reused.top"
fi

# --- SIGKILL, then a restart on the same socket ----------------------------
"$CPROFCTL" start "$hot_pid" >/dev/null
prog_id=$(daemon_prog_id)
check "program $prog_id loaded" prog_loaded "$prog_id"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
true # "Killed" is what we asked for
sleep 0.2
check "after SIGKILL the kernel unloaded program $prog_id" \
	bash -c "! bpftool prog show id $prog_id 2>/dev/null"
check "the dead daemon's socket file is still there" test -S "$SOCK"
start_daemon
check "cprofd restarts on the stale socket" quiet "$CPROFCTL" status --json
check "and profiles again" quiet "$CPROFCTL" profile "$hot_pid" --seconds 1 -o "$TMP/again.pb.gz"
check "its profile is readable" grep -q hot_a <(pprof_top "$TMP/again.pb.gz")
# A second daemon must not steal a live one's socket (nor hang the test if it does).
timeout 10 "$CPROFD" --socket "$SOCK" 2>"$TMP/second.err"
case $? in
0 | 124) not_ok "a second cprofd on a live socket is refused: it started" ;;
*) ok "a second cprofd on a live socket is refused: $(cat "$TMP/second.err")" ;;
esac
check "the first daemon still answers" quiet "$CPROFCTL" status

stop_daemon
finish
