#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Continuous mode's history when things go wrong. cprofd is killed with
# SIGKILL while it writes (windows of one second, a busy machine), again and
# again: after each restart every window written before the kill is there
# and readable, and nothing is corrupt. Then the history gets a disk too
# small for it (a tmpfs of 1 MiB): the oldest windows go first, status says
# so, and the daemon keeps sampling and writing.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "continuous mode's history"

HISTORY=$TMP/history
KILLS=5
c="j['daemon']['continuous']"

# Busy enough that each window has stacks of many processes to write.
start_workload hotspots --seconds 120 --threads 2
for _ in $(seq 4); do
	bash -c 'while :; do /bin/true; done' &
	pids_to_kill+=($!)
done

# window_names: the finished windows in the history, by file name.
window_names() { find "$HISTORY" -maxdepth 1 -name '*.cpw' -printf '%f\n' | sort; }

lost_windows=0 corrupt=0 unreadable=0
for round in $(seq "$KILLS"); do
	start_daemon --continuous --continuous-hz 499 --window 1 --history-dir "$HISTORY" ||
		{ not_ok "round $round: cprofd starts"; break; }
	"$CPROFCTL" status --json >"$TMP/status.json"
	corrupt=$((corrupt + $(json_field "$TMP/status.json" "$c['history']['corrupt_files']")))
	# Kill at a different point of a window each time.
	sleep "2.$((round * 17 % 10))"
	window_names >"$TMP/before.$round"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	start_daemon --continuous --continuous-hz 499 --window 1 --history-dir "$HISTORY" ||
		{ not_ok "round $round: cprofd restarts after SIGKILL"; break; }
	window_names >"$TMP/after.$round"
	missing=$(comm -23 "$TMP/before.$round" "$TMP/after.$round" | wc -l)
	lost_windows=$((lost_windows + missing))
	"$CPROFCTL" status --json >"$TMP/status.json"
	corrupt=$((corrupt + $(json_field "$TMP/status.json" "$c['history']['corrupt_files']")))
	"$CPROFCTL" query -o "$TMP/all.$round.pb.gz" >/dev/null 2>&1 &&
		pprof_top "$TMP/all.$round.pb.gz" | grep -q hot_a || unreadable=$((unreadable + 1))
	stop_daemon
done
diag "$(wc -l <"$TMP/after.$KILLS") windows after $KILLS kills"
check "every window finished before a SIGKILL is there after it ($lost_windows missing)" \
	test "$lost_windows" = 0
check "no window is corrupt after $KILLS kills" test "$corrupt" = 0
check "the history reads after each restart ($unreadable not)" test "$unreadable" = 0
check "no temporary file is left" test -z "$(find "$HISTORY" -name '*.tmp*' -print -quit)"

# --- a full disk --------------------------------------------------------------
SMALL=$TMP/small
mkdir "$SMALL"
if ! mount -t tmpfs -o size=1m tmpfs "$SMALL"; then
	skip "a full disk" "cannot mount a tmpfs"
	finish
	exit
fi
umount_small() { umount "$SMALL" 2>/dev/null; }
# Its own bound (history_max_size, 256M by default) is far above the disk's.
start_daemon --continuous --continuous-hz 997 --window 1 --history-dir "$SMALL" || { not_ok "cprofd starts on a small disk"; umount_small; finish; exit; }
full=
for _ in $(seq 60); do
	"$CPROFCTL" status --json >"$TMP/status.json"
	[ "$(json_field "$TMP/status.json" "$c['history']['dropped_for_space']")" -ge 3 ] &&
		{ full=1; break; }
	sleep 1
done
check "a full disk drops the oldest windows, and status counts them" test -n "$full"
diag "history: $(json_field "$TMP/status.json" "$c['history']")"
written=$(json_field "$TMP/status.json" "$c['windows_written']")
sleep 3
"$CPROFCTL" status --json >"$TMP/status2.json"
check "windows are still written once the disk is full" \
	test "$(json_field "$TMP/status2.json" "$c['windows_written']")" -gt "$written"
check "what is kept is the newest" \
	test "$(json_field "$TMP/status2.json" "$c['history']['newest_age_s']")" -le 3
check "and it is readable" quiet "$CPROFCTL" query --since 5s -o "$TMP/small.pb.gz"
check "cprofd exits 0" stop_daemon
umount_small
finish
