# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared by the integration tests: TAP-like reporting, a cprofd on a
# temporary socket, and clean-up of everything a test started.
#
# Source it with BUILD set to the build directory.

BUILD=$(cd "${BUILD:?}" && pwd)
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CPROFD=$BUILD/cprofd
CPROFCTL=$BUILD/cprofctl
WORKLOADS=$BUILD/workloads
PROFILES="python3 $LIB/profiles.py"
TMP=$(mktemp -d /tmp/cprof-test.XXXXXX)
SOCK=$TMP/cprofd.sock
export HOME=${HOME:-$TMP} CPROF_SOCKET=$SOCK

n_passed=0 n_failed=0 n_skipped=0
pids_to_kill=()

ok() { echo "ok - $*"; n_passed=$((n_passed + 1)); }
not_ok() { echo "not ok - $*"; n_failed=$((n_failed + 1)); }
# check NAME COMMAND...: ok if the command succeeds.
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# skip NAME WHY: a privileged test that cannot run; a failure under CI.
skip() {
	if [ "${CI:-}" = true ]; then
		not_ok "$1: skipped under CI: $2"
	else
		echo "skip - $1: $2"
		n_skipped=$((n_skipped + 1))
	fi
}
diag() { echo "# $*"; }
# quiet COMMAND...: runs it with its standard output dropped.
quiet() { "$@" >/dev/null; }

finish() {
	local pid
	for pid in "${pids_to_kill[@]}"; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	# A failure is diagnosed from the daemon's log: show its end before it goes.
	if [ "$n_failed" != 0 ] && [ -s "$TMP/cprofd.log" ]; then
		diag "the end of cprofd's log:"
		tail -n 30 "$TMP/cprofd.log" | sed 's/^/#   /'
	fi
	rm -rf "$TMP"
	if [ "$n_skipped" != 0 ]; then
		echo "$n_passed passed, $n_failed failed, $n_skipped skipped"
	else
		echo "$n_passed passed, $n_failed failed"
	fi
	[ "$n_failed" = 0 ]
}

# Privileged tests need root and BPF; say why when they cannot run.
require_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "$1" "needs root for BPF and perf events"
		finish
		exit
	fi
}

# start_daemon [ARGS...]: runs cprofd on $SOCK, sets DAEMON_PID.
start_daemon() {
	"$CPROFD" --socket "$SOCK" --foreground "$@" 2>"$TMP/cprofd.log" &
	DAEMON_PID=$!
	pids_to_kill+=("$DAEMON_PID")
	# A stale socket file may be there already: wait for the daemon to say it listens.
	for _ in $(seq 200); do
		grep -q "listening on" "$TMP/cprofd.log" 2>/dev/null && [ -S "$SOCK" ] && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag "cprofd did not start:"; sed 's/^/#   /' "$TMP/cprofd.log"
	return 1
}

# stop_daemon: SIGTERM and wait; returns its exit status.
stop_daemon() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID"
}

# start_workload NAME ARGS...: runs a bundled workload, sets WORKLOAD_PID.
start_workload() {
	local name=$1; shift
	"$WORKLOADS/$name" "$@" >"$TMP/$name.out" 2>&1 &
	WORKLOAD_PID=$!
	pids_to_kill+=("$WORKLOAD_PID")
}

# json_field JSON_FILE PYTHON_EXPR: evaluates an expression over the parsed JSON "j".
json_field() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# pprof_top FILE: go tool pprof -top without symbolization.
pprof_top() {
	PPROF_TMPDIR=$TMP go tool pprof -top -symbolize=none "$1" 2>&1
}

# daemon_prog_id: the id of the running daemon's BPF program.
daemon_prog_id() {
	"$CPROFCTL" status --json >"$TMP/prog.json" &&
		json_field "$TMP/prog.json" "j['daemon']['bpf_prog_id']"
}

# prog_loaded ID: whether a BPF program with that id is loaded.
prog_loaded() {
	bpftool prog show id "$1" >/dev/null 2>&1
}
