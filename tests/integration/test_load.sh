#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Load: 64 concurrent clients start, profile and stop sessions and ask for
# status for a minute (LOAD_SECONDS) while processes come and go; no
# request may fail unexpectedly, and the daemon's open files and memory
# must be what they were before.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "load"
seconds=${LOAD_SECONDS:-60}
clients=64

start_daemon || { not_ok "cprofd starts"; finish; exit; }
# Every fd but regular files (the unwinder keeps a bounded cache of binaries
# open): sockets, perf events, epoll, eventfds, pipes, directories.
fd_targets() {
	local fd target
	for fd in "/proc/$DAEMON_PID"/fd/*; do
		target=$(readlink "$fd")
		[[ $target != /* ]] || [ -d "$fd" ] && echo "$target"
	done | sort
}
fds() { fd_targets | wc -l; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status"; }

# One target per client: a few busy, the rest idle.
targets=()
for i in $(seq $clients); do
	if [ "$i" -le 4 ]; then
		start_workload hotspots --seconds $((seconds + 30))
	else
		sleep $((seconds + 30)) &
		WORKLOAD_PID=$!
		pids_to_kill+=("$WORKLOAD_PID")
	fi
	targets+=("$WORKLOAD_PID")
done
# Churn: short processes started and ended all the time.
(end=$((SECONDS + seconds)); while [ $SECONDS -lt $end ]; do /bin/true; done) &
pids_to_kill+=($!)

# The first half of the run fills the caches (symbols and DWARF are loaded
# as frames first need them) and the allocator's arenas; growth is measured
# over the second half, where a leak would still climb.
half=$(((seconds + 1) / 2))
python3 "$LIB/load.py" "$SOCK" "$half" "${targets[@]}" >"$TMP/load1.txt" 2>&1
rc1=$?
fds_before=$(fds) rss_before=$(rss_kib)
fd_targets >"$TMP/fds_before.txt"
python3 "$LIB/load.py" "$SOCK" "$half" "${targets[@]}" >"$TMP/load2.txt" 2>&1
rc2=$?
sed 's/^/#   first half: /' "$TMP/load1.txt"
sed 's/^/#   second half: /' "$TMP/load2.txt"
check "$clients clients for $seconds s: no unexpected failure" test "$rc1$rc2" = 00
check "daemon alive" kill -0 "$DAEMON_PID"
"$CPROFCTL" status --json >"$TMP/status.json"
check "no session left" test "$(json_field "$TMP/status.json" "len(j['sessions'])")" = 0
# A client's connection may still be closing: a leak stays, that goes.
for _ in $(seq 20); do
	[ "$(fds)" -le "$fds_before" ] && break
	sleep 0.1
done
fds_after=$(fds) rss_after=$(rss_kib)
diag "open fds before $fds_before, after $fds_after; RSS before ${rss_before} KiB," \
	"after ${rss_after} KiB; symbol cache $(json_field "$TMP/status.json" \
	"j['daemon']['symbolizer_bytes']") bytes"
if [ "$fds_after" -le "$fds_before" ]; then
	ok "no fd growth (open files aside)"
else
	not_ok "no fd growth (open files aside)"
	diff "$TMP/fds_before.txt" <(fd_targets) | sed 's/^/#   /'
fi
if ldd "$CPROFD" | grep -q libasan; then
	# ASan holds freed memory in quarantine: its RSS says nothing of leaks (LeakSanitizer does, at exit).
	diag "RSS not compared: AddressSanitizer build"
else
	# The allocator keeps some of what it was given: allow 4 MiB, not a leak's steady climb.
	check "no memory growth beyond 4 MiB over the second half" \
		test $((rss_after - rss_before)) -le 4096
fi

stop_daemon
check "cprofd exits 0 after the load" test $? = 0
finish
