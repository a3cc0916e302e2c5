#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Every file descriptor the daemon opens is closed once, and only once:
# a second close() of a number closes whatever took it since (a client's
# connection, say). Under strace, sessions start and stop, a timed profile
# follows children, a client asks over HTTP; no close() may fail with
# EBADF, when idle again the daemon holds as many fds as before (open
# binaries aside), and its standard input is still its own.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "file descriptors of the daemon"
if ! command -v strace >/dev/null; then
	skip "file descriptors of the daemon" "strace is not installed (Debian: strace)"
	finish
	exit
fi

strace -f -qq -e trace=close,epoll_ctl -e status=failed -o "$TMP/strace.txt" \
	"$CPROFD" --socket "$SOCK" --foreground 2>"$TMP/cprofd.log" &
pids_to_kill+=($!)
for _ in $(seq 200); do
	grep -q "listening on" "$TMP/cprofd.log" 2>/dev/null && break
	sleep 0.05
done
DAEMON_PID=$(pgrep -n -f "^$CPROFD --socket $SOCK")
if [ -z "$DAEMON_PID" ]; then
	not_ok "cprofd starts under strace"
	finish
	exit
fi
# Every fd but regular files (the unwinder keeps a bounded cache of binaries
# open): sockets, perf events, epoll, eventfds, pipes, directories.
fds() {
	local fd n=0
	for fd in "/proc/$DAEMON_PID"/fd/*; do
		[[ $(readlink "$fd") != /* ]] || [ -d "$fd" ] && n=$((n + 1))
	done
	echo "$n"
}
idle_fds=$(fds)
stdin=$(readlink "/proc/$DAEMON_PID/fd/0")

start_workload hotspots --seconds 60
sleep 0.3
for round in 1 2 3; do
	"$CPROFCTL" start "$WORKLOAD_PID" --hz 199 >/dev/null
	sleep 0.3
	"$CPROFCTL" status >/dev/null
	"$CPROFCTL" stop "$WORKLOAD_PID" -o "$TMP/round$round.pb.gz" >/dev/null
done
"$CPROFCTL" profile "$WORKLOAD_PID" --children --seconds 1 -o "$TMP/children.pb.gz" >/dev/null
# Frameless leaves: the unwinder opens files of its own (the workload's and libc).
hotspots_pid=$WORKLOAD_PID
start_workload leaf_calls --seconds 30
sleep 0.3
"$CPROFCTL" profile "$WORKLOAD_PID" --seconds 1 -o "$TMP/leaf.pb.gz" >/dev/null
WORKLOAD_PID=$hotspots_pid
curl -s -o /dev/null --unix-socket "$SOCK" http://localhost/v1/status
# A client's connection may still be closing: a leak stays, that goes.
for _ in $(seq 20); do
	[ "$(fds)" -le "$idle_fds" ] && break
	sleep 0.1
done
check "profiles came out of every round" \
	grep -q hot_a <(pprof_top "$TMP/round3.pb.gz")
check "idle again, the daemon holds the fds it held before ($(fds) of $idle_fds, files aside)" \
	test "$(fds)" = "$idle_fds"
check "its standard input is still what it was ($stdin)" \
	test "$(readlink "/proc/$DAEMON_PID/fd/0")" = "$stdin"

kill -TERM "$DAEMON_PID"
for _ in $(seq 100); do
	kill -0 "$DAEMON_PID" 2>/dev/null || break
	sleep 0.05
done
sleep 0.2 # strace writes its last lines
check "cprofd stopped on SIGTERM" bash -c "! kill -0 $DAEMON_PID 2>/dev/null"
if grep -q EBADF "$TMP/strace.txt"; then
	not_ok "no fd is closed twice (or unwatched after its close)"
	grep EBADF "$TMP/strace.txt" | head -5 | sed 's/^/#   /'
else
	ok "no fd is closed twice (or unwatched after its close)"
fi
finish
