#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Who may do what, with a real unprivileged user: outside the socket's
# group nobody gets in; a member may profile its own processes only, and
# sees and stops only its own sessions; root may do all.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "access control"

user=cprof-test-user
group=cprof-test
groupadd -f "$group"
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
as_user() { runuser -u "$user" -- "$@"; }
cleanup_user() {
	pkill -u "$user" 2>/dev/null
	userdel "$user" 2>/dev/null
	groupdel "$group" 2>/dev/null
}
chmod 0755 "$TMP"
mkdir "$TMP/user" && chown "$user" "$TMP/user"

start_daemon || { not_ok "cprofd starts"; cleanup_user; finish; exit; }

# Outside the group: the socket's mode (0660 root:root) keeps the user out.
check "socket is mode 0660" test "$(stat -c %a "$SOCK")" = 660
if as_user "$CPROFCTL" status >"$TMP/out" 2>"$TMP/err"; then
	not_ok "a user outside the group is refused: got in"
else
	ok "a user outside the group is refused: $(cat "$TMP/err")"
fi

chgrp "$group" "$SOCK"
usermod -a -G "$group" "$user"

start_workload hotspots --seconds 60
root_pid=$WORKLOAD_PID
as_user "$WORKLOADS/hotspots" --seconds 60 >"$TMP/user.out" 2>&1 &
pids_to_kill+=($!)
sleep 0.3
user_pid=$(pgrep -u "$user" -f 'workloads/hotspots' | head -1)
diag "root's workload $root_pid, $user's workload $user_pid"

# The group member's own process: yes. Root's: 403.
check "a member profiles its own process" quiet as_user "$CPROFCTL" start "$user_pid"
if as_user "$CPROFCTL" start "$root_pid" >"$TMP/out" 2>"$TMP/err"; then
	not_ok "a member may not profile root's process: allowed"
else
	check "a member may not profile root's process: $(cat "$TMP/err")" \
		grep -q "not yours to profile" "$TMP/err"
fi
# A setuid-like (non-dumpable) process of the user: 403 too.
# prctl(PR_SET_DUMPABLE, 0), as a setuid program or a careful daemon does.
as_user python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0); time.sleep(60)' &
pids_to_kill+=($!)
sleep 0.5
hidden_pid=$(pgrep -u "$user" -f 'ctypes.CDLL' | head -1)
if as_user "$CPROFCTL" start "$hidden_pid" >"$TMP/out" 2>"$TMP/err"; then
	not_ok "a member may not profile its own non-dumpable process: allowed"
else
	check "a member may not profile its own non-dumpable process: $(cat "$TMP/err")" \
		grep -q "not yours to profile" "$TMP/err"
fi

# Root profiles root's process; each sees what it may.
check "root profiles any process" quiet "$CPROFCTL" start "$root_pid"
"$CPROFCTL" status --json >"$TMP/root.json"
as_user "$CPROFCTL" status --json >"$TMP/user.json"
check "root sees both sessions" \
	test "$(json_field "$TMP/root.json" "sorted(s['pid'] for s in j['sessions'])")" = \
	"$(python3 -c "print(sorted([$root_pid, $user_pid]))")"
check "the member sees only its own session" \
	test "$(json_field "$TMP/user.json" "[s['pid'] for s in j['sessions']]")" = "[$user_pid]"
if as_user "$CPROFCTL" stop "$root_pid" -o "$TMP/user/root.pb.gz" >"$TMP/out" 2>"$TMP/err"; then
	not_ok "a member may not stop root's session: allowed"
else
	check "a member may not stop root's session: $(cat "$TMP/err")" \
		grep -q "no session" "$TMP/err"
fi
as_user "$CPROFCTL" stop "$user_pid" -o "$TMP/user/own.pb.gz" >/dev/null 2>"$TMP/err"
check "the member stops its own session and gets its profile" \
	grep -q hot_a <(pprof_top "$TMP/user/own.pb.gz")
"$CPROFCTL" stop "$root_pid" -o "$TMP/root.pb.gz" >/dev/null
check "root's session was untouched by the member" grep -q hot_a <(pprof_top "$TMP/root.pb.gz")

stop_daemon
cleanup_user
finish
