#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Continuous mode: every process sampled into windows kept on disk, and
# queried back. A workload with known shares (6:3:1) runs beside 50
# short-lived processes and a process of another user; perf records the
# workload on the same run. The query of the workload by name must give
# perf's shares within 3 points, the listing must show the short-lived
# processes, labels must name the process's unit and container (from a
# cgroup the test makes), a user must see only their own processes, a
# session must keep its own rate beside continuous mode, and the history
# must survive a restart.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "continuous mode"

# 997 Hz (a prime) for the test: 10 s give ~10,000 samples, so two
# samplers' shares differ by chance by well under a point.
HZ=997
HISTORY=$TMP/history
CONTAINER_ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n")

user=cprof-test-user
group=cprof-test
groupadd -f "$group"
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
as_user() { runuser -u "$user" -- "$@"; }
chmod 0755 "$TMP"

# make_cgroup: a cgroup named as systemd names a container's scope, in
# the hierarchy systemd uses here (cgroup v2, or v1's name=systemd).
CGROUP=
make_cgroup() {
	local root
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		root=/sys/fs/cgroup
	elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		root=/sys/fs/cgroup/unified # hybrid: v2 beside v1's controllers
	elif [ -d /sys/fs/cgroup/systemd ]; then
		root=/sys/fs/cgroup/systemd
	else
		return 1
	fi
	CGROUP=$root/cprof-test-$$.slice/docker-$CONTAINER_ID.scope
	mkdir -p "$CGROUP"
}
remove_cgroup() {
	[ -n "$CGROUP" ] || return 0
	rmdir "$CGROUP" "$(dirname "$CGROUP")" 2>/dev/null
}
cleanup() {
	pkill -u "$user" 2>/dev/null
	remove_cgroup
	userdel "$user" 2>/dev/null
	groupdel "$group" 2>/dev/null
}

start_daemon --continuous --continuous-hz "$HZ" --window 2 --history-dir "$HISTORY" ||
	{ not_ok "cprofd starts in continuous mode"; cleanup; finish; exit; }
ok "cprofd starts in continuous mode"
chgrp "$group" "$SOCK"
usermod -a -G "$group" "$user"

"$CPROFCTL" status --json >"$TMP/status0.json"
check "status shows continuous mode at $HZ Hz" \
	test "$(json_field "$TMP/status0.json" "j['daemon']['continuous']['hz']")" = "$HZ"
check "its history is where it was told" \
	test "$(json_field "$TMP/status0.json" "j['daemon']['continuous']['history']['dir']")" = \
	"$HISTORY"

# --- the workload, perf beside it, short-lived processes and another user ---
start_workload hotspots --mix 6,3,1 --seconds 14
hot_pid=$WORKLOAD_PID
if make_cgroup; then
	echo "$hot_pid" >"$CGROUP/cgroup.procs"
else
	skip "a cgroup for the workload" "no cgroup v2 and no name=systemd hierarchy"
fi
sleep 0.5
perf record -q -e cpu-clock -F "$HZ" -g -p "$hot_pid" -o "$TMP/perf.data" -- sleep 10 \
	>"$TMP/perf.log" 2>&1 &
perf_pid=$!
# Another name, so that --comm hotspots picks root's workload alone.
cp "$WORKLOADS/hotspots" "$TMP/user_spin"
as_user "$TMP/user_spin" --seconds 6 >"$TMP/user.out" 2>&1 &
pids_to_kill+=($!)
: >"$TMP/short.pids"
for _ in $(seq 50); do
	"$WORKLOADS/short_lived" --ms 40 >>"$TMP/short.pids"
done
# A session at its own rate, beside continuous mode.
check "a session starts at another rate than continuous mode's" \
	quiet "$CPROFCTL" start "$hot_pid" --hz 99
sleep 2
check "and stops with a profile" quiet "$CPROFCTL" stop "$hot_pid" -o "$TMP/session.pb.gz"
"$CPROFCTL" status --json >"$TMP/status1.json"
wait "$perf_pid"
# The workload ends at 14 s; its last window ends within 2 s, and is written soon after.
while kill -0 "$hot_pid" 2>/dev/null; do sleep 0.2; done
sleep 3

# --- the query by name, against perf ----------------------------------------
check "cprofctl query --since 30s --comm hotspots writes a profile" \
	quiet "$CPROFCTL" query --since 30s --comm hotspots -o "$TMP/query.pb.gz"
pprof_top "$TMP/query.pb.gz" >"$TMP/top.txt"
sed 's/^/#   /' "$TMP/top.txt" | head -8
check "go tool pprof reads the merged profile" grep -q hot_a "$TMP/top.txt"
$PROFILES shares --pprof "$TMP/query.pb.gz" --perf "$TMP/perf.data" \
	--funcs hot_a,hot_b,hot_c --tolerance 3 --min-samples 5000 >"$TMP/shares.txt" 2>&1
rc=$?
sed 's/^/#   /' "$TMP/shares.txt"
check "the workload's shares within 3 points of perf on the same run" test "$rc" = 0
go tool pprof -raw -symbolize=none "$TMP/query.pb.gz" >"$TMP/raw.txt" 2>&1
check "the query holds the workload alone" \
	test "$(grep -Eo 'pid:\[[0-9]+\]' "$TMP/raw.txt" | sort -u)" = "pid:[$hot_pid]"
check "samples carry comm, exe and host labels" \
	grep -q "comm:\[hotspots\].*exe:\[$WORKLOADS/hotspots\].*host:\[$(hostname)\]" "$TMP/raw.txt"
check "and the executable's build ID" grep -Eq "build_id:\[[0-9a-f]{40}\]" "$TMP/raw.txt"
if [ -n "$CGROUP" ]; then
	check "the unit label is the container's scope" \
		grep -q "unit:\[docker-$CONTAINER_ID.scope\]" "$TMP/raw.txt"
	check "the container label is its id" grep -q "container_id:\[$CONTAINER_ID\]" "$TMP/raw.txt"
	check "query --container picks it by a prefix" \
		quiet "$CPROFCTL" query --container "${CONTAINER_ID:0:12}" -o "$TMP/container.pb.gz"
	go tool pprof -raw -symbolize=none "$TMP/container.pb.gz" 2>&1 |
		grep -Eo 'pid:\[[0-9]+\]' | sort -u >"$TMP/container.pids"
	check "and only it" test "$(cat "$TMP/container.pids")" = "pid:[$hot_pid]"
	check "query --unit picks it too" \
		quiet "$CPROFCTL" query --unit "docker-$CONTAINER_ID.scope" -o "$TMP/unit.pb.gz"
fi
check "the session kept its own rate" \
	grep -qx "Period: 10101010" <(go tool pprof -raw -symbolize=none "$TMP/session.pb.gz" 2>&1)
check "continuous mode kept its own" grep -qx "Period: 1003009" "$TMP/raw.txt"

# --- what the history keeps ---------------------------------------------------
"$CPROFCTL" query --list --since 60s --json >"$TMP/list.json"
python3 - "$TMP/list.json" "$TMP/short.pids" "$hot_pid" >"$TMP/list.txt" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
short = {int(l) for l in open(sys.argv[2]) if l.strip()}
listed = {p["pid"]: p for p in j["processes"]}
found = [p for p in short if p in listed and listed[p]["comm"] == "short_lived"]
print("short", len(found), len(short))
print("hot", int(sys.argv[3]) in listed)
print("windows", j["windows"], "bytes", j["bytes"])
EOF
diag "$(tr '\n' ' ' <"$TMP/list.txt")"
read -r _ short_found short_total < <(grep ^short "$TMP/list.txt")
check "query --list shows the short-lived processes ($short_found of $short_total)" \
	test "${short_found:-0}" -ge 45
check "and the workload" grep -qx "hot True" "$TMP/list.txt"
"$CPROFCTL" query --list --since 60s >"$TMP/list.plain"
check "the plain listing names them" grep -q short_lived "$TMP/list.plain"

# --- another user sees only their own ----------------------------------------
user_pid=$(head -1 "$TMP/user.out")
as_user "$CPROFCTL" query --list --since 60s --json >"$TMP/user_list.json" 2>"$TMP/user.err"
check "a user's listing has their process" \
	test "$(json_field "$TMP/user_list.json" "$user_pid in [p['pid'] for p in j['processes']]")" = True
check "and no one else's" \
	test "$(json_field "$TMP/user_list.json" "sorted({p['uid'] for p in j['processes']})")" = \
	"[$(id -u "$user")]"
if as_user "$CPROFCTL" query --pid "$hot_pid" -o - >/dev/null 2>"$TMP/user.err"; then
	not_ok "a user's query of root's process is refused: got a profile"
else
	ok "a user's query of root's process finds nothing: $(cat "$TMP/user.err")"
fi

# --- counts, and a restart ---------------------------------------------------
"$CPROFCTL" status --json >"$TMP/status2.json"
c="j['daemon']['continuous']"
check "windows were written" test "$(json_field "$TMP/status2.json" "$c['windows_written']")" -ge 5
check "none failed" test "$(json_field "$TMP/status2.json" \
	"$c['write_errors'] + $c['build_errors'] + $c['windows_dropped']")" = 0
check "status counts the history's windows and bytes" \
	test "$(json_field "$TMP/status2.json" "$c['history']['bytes'] > 0 and $c['history']['windows'] > 0")" = True
diag "continuous: $(json_field "$TMP/status2.json" "$c")"
windows_before=$(json_field "$TMP/status2.json" "$c['history']['windows']")
check "cprofd stops cleanly" stop_daemon
start_daemon --continuous --continuous-hz 19 --history-dir "$HISTORY" ||
	not_ok "cprofd restarts on the same history"
"$CPROFCTL" status --json >"$TMP/status3.json"
check "after a restart the history has every window (and the last, partial one)" \
	test "$(json_field "$TMP/status3.json" "$c['history']['windows']")" -gt "$windows_before"
check "and none is corrupt" test "$(json_field "$TMP/status3.json" "$c['history']['corrupt_files']")" = 0
check "the workload is still there" \
	quiet "$CPROFCTL" query --comm hotspots -o "$TMP/after.pb.gz"
check "cprofd exits 0" stop_daemon
check "cprofd logged no error" bash -c "! grep -q 'error' '$TMP/cprofd.log'"
cleanup
finish
