#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# No local client can lock the others out. A real unprivileged user in the
# socket's group floods it (lib/hostile.py: connections that send half a
# header and stop, send nothing, send a byte at a time, or send junk and
# half-close, reopened as fast as they are ended) while a session samples a
# workload. During the flood root's status is served within 250 ms every
# time, another user's too, and every half-closed junk connection is
# answered or closed within 1 s; the session's count stays exact
# (captured + lost = fired); status counts what was refused and ended, by
# rule. Afterwards the daemon's fds and memory are back to their idle
# level. Then the same at ten times the default limits.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "lockout"

group=cprof-test
flooder=cprof-test-flood
other=cprof-test-other
groupadd -f "$group"
for u in "$flooder" "$other"; do
	id "$u" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin -G "$group" "$u"
	usermod -a -G "$group" "$u"
done
cleanup_users() {
	pkill -u "$flooder" 2>/dev/null
	pkill -u "$other" 2>/dev/null
	userdel "$flooder" 2>/dev/null
	userdel "$other" 2>/dev/null
	groupdel "$group" 2>/dev/null
}
# The users run Debian's python on a copy of the client they can read.
PY=/usr/bin/python3
chmod 0755 "$TMP"
cp "$LIB/hostile.py" "$TMP/hostile.py"
chmod 0644 "$TMP/hostile.py"
as() { local u=$1; shift; runuser -u "$u" -- "$@"; }
hostile() { "$PY" "$TMP/hostile.py" "$@"; }

# The defaults first; ten times them later, by a reload.
: >"$TMP/cprofd.conf"
start_daemon --config "$TMP/cprofd.conf" || { not_ok "cprofd starts"; cleanup_users; finish; exit; }
chgrp "$group" "$SOCK"

fd_targets() {
	local fd target
	for fd in "/proc/$DAEMON_PID"/fd/*; do
		target=$(readlink "$fd")
		[[ $target != /* ]] || [ -d "$fd" ] && echo "$target"
	done | sort
}
fds() { fd_targets | wc -l; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status"; }
status_field() { "$CPROFCTL" status --json >"$TMP/st.json" && json_field "$TMP/st.json" "$1"; }

start_workload hotspots --seconds 120
workload=$WORKLOAD_PID
check "a session samples a workload" quiet "$CPROFCTL" start "$workload" --hz 199

# A short flood first, so that the idle level is one after connections were served.
as "$flooder" "$PY" "$TMP/hostile.py" flood "$SOCK" --seconds 1 --slow 10 --junk-per-second 20 \
	>/dev/null 2>&1
sleep 2.5
fds_idle=$(fds) rss_idle=$(rss_kib)
fd_targets >"$TMP/fds_idle.txt"

# json_true FILE EXPR: whether a Python expression over the parsed JSON "j" holds.
json_true() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not eval(sys.argv[2]))' \
		"$1" "$2" 2>/dev/null
}

# flood_round NAME FLOOD_ARGS...: floods for 6 s while root and the other user
# ask for status; results in $TMP/NAME.{flood,root,other}.json.
flood_round() {
	local name=$1 flood_pid root_pid
	shift
	as "$flooder" "$PY" "$TMP/hostile.py" flood "$SOCK" --seconds 6 "$@" \
		>"$TMP/$name.flood.json" 2>"$TMP/$name.flood.err" &
	flood_pid=$!
	pids_to_kill+=("$flood_pid")
	sleep 1
	hostile probe "$SOCK" --seconds 4 --interval-ms 100 >"$TMP/$name.root.json" &
	root_pid=$!
	as "$other" "$PY" "$TMP/hostile.py" probe "$SOCK" --seconds 4 --interval-ms 200 \
		>"$TMP/$name.other.json"
	wait "$root_pid"
	wait "$flood_pid"
}

# round_checks NAME: what must hold of a flood round.
round_checks() {
	local name=$1 f=$TMP/$1
	diag "$name: flood $(cat "$f.flood.json")"
	diag "$name: root $(cat "$f.root.json")"
	diag "$name: other user $(cat "$f.other.json")"
	check "$name: the flood ran" json_true "$f.flood.json" "j['opened'] > 100"
	check "$name: root's status served every time, within 250 ms" \
		json_true "$f.root.json" "j['failed'] == 0 and j['ok'] > 10 and j['max_ms'] < 250"
	check "$name: another user's status served every time" \
		json_true "$f.other.json" "j['failed'] == 0 and j['ok'] > 5"
	check "$name: every half-closed junk connection answered or closed within 1 s" \
		json_true "$f.flood.json" "j['junk'] > 0 and j['junk_slow'] == 0 and j['junk_unanswered'] == 0"
}

# A flood held well over one uid's share, as one user might.
flood_round held --slow 100 --silent 20 --slowloris 10 --junk-per-second 50
round_checks held
# Junk alone, so it gets in rather than a 503 at the door, and is ended on its half-close.
flood_round junk --junk-per-second 200
round_checks junk

"$CPROFCTL" status --json >"$TMP/after.json"
conn() { json_field "$TMP/after.json" "j['connections']['$1']"; }
diag "connections: refused per uid $(conn refused_per_uid), refused full $(conn refused_full)," \
	"ended at the header deadline $(conn closed_header_deadline), ended incomplete" \
	"$(conn closed_incomplete), idle $(conn closed_idle); limits $(conn max_connections)" \
	"per uid $(conn max_connections_per_uid), root's $(conn root_reserved_connections)"
check "status counts connections refused for their uid" test "$(conn refused_per_uid)" -gt 0
check "status counts connections ended at the header deadline" \
	test "$(conn closed_header_deadline)" -gt 0
check "status counts connections ended by end of input" test "$(conn closed_incomplete)" -gt 0

# Ten times the flood: 640 held connections and junk at 500 a second.
flood_round ten_times --slow 640 --silent 100 --slowloris 100 --junk-per-second 500 \
	--max-open 1000
round_checks ten_times
check "cprofd lives through ten times the flood" kill -0 "$DAEMON_PID"

# Ten times the default limits, by a reload: now most of that flood gets in.
printf '%s\n' "max_connections = 640" "max_connections_per_uid = 80" \
	"root_reserved_connections = 80" >"$TMP/cprofd.conf"
kill -HUP "$DAEMON_PID"
for _ in $(seq 40); do
	[ "$(status_field "j['connections']['max_connections']")" = 640 ] && break
	sleep 0.1
done
check "a reload sets the limits" \
	test "$(status_field "j['connections']['max_connections_per_uid']")" = 80
deadline_before=$(status_field "j['connections']['closed_header_deadline']")
flood_round ten_limits --slow 640 --silent 100 --slowloris 100 --junk-per-second 500 \
	--max-open 1000
round_checks ten_limits
"$CPROFCTL" status --json >"$TMP/ten.json"
diag "at ten times the limits: $(json_field "$TMP/ten.json" "j['connections']")"
check "cprofd lives through the flood at ten times its limits" kill -0 "$DAEMON_PID"
# The flooder's 80 held connections, ended at their deadline at least once each.
check "it let in ten times as many, and ended them at the deadline" \
	json_true "$TMP/ten.json" "j['connections']['closed_header_deadline'] - $deadline_before >= 80"

# Back to idle (the session still running, as when the idle level was
# taken): the deadlines (2 s) and the idle timeout (10 s) have ended all.
for _ in $(seq 60); do
	[ "$(fds)" -le "$fds_idle" ] && break
	sleep 0.25
done
fds_after=$(fds) rss_after=$(rss_kib)
diag "fds idle $fds_idle, after $fds_after; RSS idle $rss_idle KiB, after $rss_after KiB"
if [ "$fds_after" -le "$fds_idle" ]; then
	ok "the daemon's fds are back to idle"
else
	not_ok "the daemon's fds are back to idle"
	diff "$TMP/fds_idle.txt" <(fd_targets) | sed 's/^/#   /'
fi
# 4 MiB, or a quarter for a sanitizer build, whose allocator keeps what was freed a while.
rss_slack=$((rss_idle / 4 > 4096 ? rss_idle / 4 : 4096))
check "the daemon's memory is back near idle (within $rss_slack KiB)" \
	test $((rss_after - rss_idle)) -le "$rss_slack"
check "no connection is held after the floods" \
	test "$(status_field "j['connections']['open']")" = 1

# The session counted every firing through all of it.
kill -STOP "$workload"
sleep 0.5
"$CPROFCTL" status --json >"$TMP/session.json"
session() { json_field "$TMP/session.json" "j['sessions'][0]['$1']"; }
samples=$(session samples) lost=$(session lost) fired=$(session fired)
check "the session kept sampling ($samples samples)" test "$samples" -gt 100
check "captured + lost = fired ($samples + $lost = $fired)" test $((samples + lost)) = "$fired"
kill -CONT "$workload"
quiet "$CPROFCTL" stop "$workload" -o "$TMP/w.pb.gz"

stop_daemon
check "cprofd exits 0" test $? = 0
cleanup_users
finish
