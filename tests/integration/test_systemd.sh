#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# cprofd as a systemd service, the way users run it: systemd 252 boots as
# PID 1 of a PID+mount namespace (lib/systemd-sandbox/boot.sh; /etc, /usr
# and /var are copy-on-write there, so the host is not changed), the Debian
# package is installed inside it, and the service is started, used,
# reloaded, socket-activated, restarted and stopped. Static checks of the
# units (systemd-analyze verify and security) come first.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
ROOT=$(cd "$LIB/../../.." && pwd)
SANDBOX=$LIB/systemd-sandbox
MAX_EXPOSURE=3.0

# --- the units, without a manager --------------------------------------------
# verify wants ExecStart= to exist: check a copy that names the built daemon.
mkdir -p "$TMP/units"
sed "s|/usr/sbin/cprofd|$CPROFD|" "$ROOT/packaging/cprofd.service" >"$TMP/units/cprofd.service"
cp "$ROOT/packaging/cprofd.socket" "$TMP/units/"
if systemd-analyze verify --man=no "$TMP/units/cprofd.socket" "$TMP/units/cprofd.service" \
	>"$TMP/verify.txt" 2>&1 && ! [ -s "$TMP/verify.txt" ]; then
	ok "systemd-analyze verify: cprofd.service and cprofd.socket are clean"
else
	not_ok "systemd-analyze verify: $(tr '\n' ' ' <"$TMP/verify.txt")"
fi
systemd-analyze security --offline=yes "$ROOT/packaging/cprofd.service" >"$TMP/security.txt" 2>&1
exposure=$(sed -nE 's/.*Overall exposure level for cprofd.service: ([0-9.]+).*/\1/p' \
	"$TMP/security.txt")
diag "$(grep -c '^✗' "$TMP/security.txt") settings not taken, exposure ${exposure:-unknown}"
if grep -Eiq 'unknown (key|lvalue)|ignoring' "$TMP/security.txt"; then
	not_ok "systemd-analyze security: $(grep -Ei 'unknown|ignoring' "$TMP/security.txt" | head -1)"
elif [ -n "$exposure" ] && awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then
	ok "systemd-analyze security --offline=yes: exposure $exposure <= $MAX_EXPOSURE"
else
	not_ok "systemd-analyze security --offline=yes: exposure '${exposure}' > $MAX_EXPOSURE"
fi

require_root "cprofd under systemd"
for tool in unshare nsenter dpkg-buildpackage bpftool; do
	if ! command -v "$tool" >/dev/null; then
		skip "cprofd under systemd" "$tool is not installed"
		finish
		exit
	fi
done
if [ ! -x /lib/systemd/systemd ] || [ ! -d /sys/fs/cgroup/unified ] && [ ! -f /sys/fs/cgroup/cgroup.procs ]; then
	skip "cprofd under systemd" "needs /lib/systemd/systemd and a cgroup2 mount"
	finish
	exit
fi

# --- the package --------------------------------------------------------------
# Built again only when a source changed.
env -u MAKEFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory BUILD="$BUILD" deb \
	>"$TMP/deb.log" 2>&1
deb=$(ls -t "$BUILD"/deb/cprofd_*.deb 2>/dev/null | grep -v dbgsym | head -1)
if [ -z "$deb" ]; then
	not_ok "make deb builds the package"
	sed 's/^/#   /' "$TMP/deb.log" | tail -20
	finish
	exit
fi
ok "package: $(basename "$deb")"
lintian_txt=$BUILD/deb/lintian.txt
if [ -f "$lintian_txt" ] && ! grep -q '^E:' "$lintian_txt"; then
	ok "lintian: no errors ($(grep -c '^W:' "$lintian_txt") warnings)"
else
	not_ok "lintian: $(grep '^E:' "$lintian_txt" 2>/dev/null | head -3 | tr '\n' ' ')"
fi

# --- the sandbox ----------------------------------------------------------------
# Its own subtree of each cgroup hierarchy systemd uses, removed at the end.
CGROUP_NAME=cprof-systemd-test-$$
cgroup_dirs=()
for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
	[ -d "$h" ] && cgroup_dirs+=("$h/$CGROUP_NAME")
done
[ ${#cgroup_dirs[@]} = 0 ] && cgroup_dirs=("/sys/fs/cgroup/$CGROUP_NAME")
SD_PID=
UNSHARE_PID=

# Removes a cgroup subtree, children first.
remove_cgroup() {
	local dir=$1
	[ -d "$dir" ] || return 0
	find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
}

stop_sandbox() {
	local i
	[ -n "$UNSHARE_PID" ] || return 0
	# SIGRTMIN+4: poweroff; PID 1's exit kills whatever is left in the namespace.
	[ -n "$SD_PID" ] && kill -s SIGRTMIN+4 "$SD_PID" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$UNSHARE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$UNSHARE_PID" 2>/dev/null; then
		diag "the sandbox's systemd did not power off in 10 s: killing it"
		[ -n "$SD_PID" ] && kill -KILL "$SD_PID" 2>/dev/null
		kill -KILL "$UNSHARE_PID" 2>/dev/null
	fi
	wait "$UNSHARE_PID" 2>/dev/null
	for i in $(seq 50); do
		local busy=0 dir
		for dir in "${cgroup_dirs[@]}"; do
			remove_cgroup "$dir"
			[ -d "$dir" ] && busy=1
		done
		[ $busy = 0 ] && break
		sleep 0.1
	done
	UNSHARE_PID=
}
cleanup() {
	stop_sandbox
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for dir in "${cgroup_dirs[@]}"; do
	mkdir -p "$dir"
done
(
	for dir in "${cgroup_dirs[@]}"; do
		echo "$BASHPID" >"$dir/cgroup.procs"
	done
	exec unshare --pid --fork --mount --mount-proc --uts "$SANDBOX/boot.sh"
) </dev/null >"$TMP/systemd.log" 2>&1 &
UNSHARE_PID=$!
for _ in $(seq 100); do
	SD_PID=$(cat "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null | awk '{print $1}')
	[ -n "$SD_PID" ] && break
	sleep 0.05
done

# Runs a command inside the sandbox.
in_sandbox() {
	nsenter -t "$SD_PID" -m -p -u -- "$@"
}
sctl() {
	in_sandbox systemctl --no-pager "$@"
}
# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
	local tries=$(($1 * 10)); shift
	for _ in $(seq "$tries"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
booted() {
	local state
	state=$(sctl is-system-running 2>/dev/null)
	[ "$state" = running ] || [ "$state" = degraded ]
}
# show PROPERTY: one property of cprofd.service.
show() {
	sctl show -p "$1" --value cprofd.service
}
journal() { # ARGS...: cprofd.service's journal, messages only
	in_sandbox journalctl --no-pager -q -u cprofd.service -o cat "$@"
}
cprofctl_in() {
	in_sandbox "$CPROFCTL" --socket /run/cprofd/cprofd.sock "$@"
}
# Starts a program inside the sandbox; prints its pid there.
start_in_sandbox() {
	in_sandbox sh -c 'exec "$@" >/dev/null 2>&1 </dev/null & echo $!' sh "$@"
}
quiet() { # COMMAND...: without its standard output
	"$@" >/dev/null
}
prog_gone() { # ID: a program id was known and is no longer loaded
	[ -n "$1" ] && ! prog_loaded "$1"
}
main_pid_prog() { # the BPF program id of the running daemon
	cprofctl_in status --json >"$TMP/s.json" && json_field "$TMP/s.json" "j['daemon']['bpf_prog_id']"
}

if [ -n "$SD_PID" ] && wait_until 60 booted; then
	ok "systemd $(in_sandbox systemctl --version | awk 'NR==1 {print $2}') runs as PID 1 of a namespace"
else
	not_ok "systemd boots in the namespace ($(sctl is-system-running 2>&1))"
	sed 's/^/#   /' "$TMP/systemd.log" | tail -20
	finish
	exit
fi

# --- install -----------------------------------------------------------------------
if in_sandbox dpkg -i "$deb" >"$TMP/dpkg.log" 2>&1; then
	ok "dpkg -i $(basename "$deb")"
else
	not_ok "dpkg -i: $(tail -3 "$TMP/dpkg.log" | tr '\n' ' ')"
fi
check "the package creates group cprof and user cprofd" \
	quiet in_sandbox sh -c 'getent group cprof && getent passwd cprofd'
check "the package enables nothing" \
	test "$(sctl is-enabled cprofd.socket cprofd.service 2>/dev/null | sort -u)" = disabled
check "the package starts nothing" \
	test "$(sctl is-active cprofd.socket cprofd.service 2>/dev/null | sort -u)" = inactive
if in_sandbox systemd-analyze verify cprofd.socket cprofd.service >"$TMP/verify2.txt" 2>&1 &&
	! [ -s "$TMP/verify2.txt" ]; then
	ok "systemd-analyze verify of the installed units is clean"
else
	not_ok "systemd-analyze verify of the installed units: $(head -3 "$TMP/verify2.txt" | tr '\n' ' ')"
fi
check "man cprofd and man cprofctl" \
	in_sandbox sh -c 'test -s /usr/share/man/man8/cprofd.8.gz && test -s /usr/share/man/man1/cprofctl.1.gz'
check "bash completion of cprofctl" \
	in_sandbox bash -c '. /usr/share/bash-completion/completions/cprofctl && complete -p cprofctl >/dev/null'

# --- systemctl start cprofd --------------------------------------------------------
sctl start cprofd.service 2>"$TMP/start.txt"
if [ "$(sctl is-active cprofd.service)" = active ]; then
	ok "systemctl start cprofd (Type=notify: READY=1 after the BPF program is loaded)"
else
	not_ok "systemctl start cprofd: $(cat "$TMP/start.txt")"
	journal | tail -20 | sed 's/^/#   /'
	sctl status cprofd.service | tail -5 | sed 's/^/#   /'
	stop_sandbox
	finish
	exit
fi
check "cprofd.socket came up with it" test "$(sctl is-active cprofd.socket)" = active
in_sandbox stat -c '%U:%G %a' /run/cprofd/cprofd.sock >"$TMP/sockmode.txt" 2>&1
check "socket /run/cprofd/cprofd.sock is root:cprof 660 ($(cat "$TMP/sockmode.txt"))" \
	grep -qx 'root:cprof 660' "$TMP/sockmode.txt"
check "runs as user cprofd" test "$(show User)" = cprofd
main_pid=$(show MainPID)
check "only CAP_BPF CAP_PERFMON CAP_SYSLOG CAP_DAC_READ_SEARCH CAP_SYS_PTRACE are effective" \
	test "$(in_sandbox grep CapEff "/proc/$main_pid/status" | awk '{print $2}')" = 000000c400080004
prog_id=$(main_pid_prog)
check "BPF program ${prog_id:-(none)} is loaded" prog_loaded "${prog_id:-0}"
check "STATUS= says no session runs yet" \
	bash -c "[[ '$(show StatusText)' == '0 sessions running'* ]]"
check "watchdog armed (WatchdogSec=30s)" test "$(show WatchdogUSec)" = 30s
in_sandbox systemd-analyze security cprofd.service >"$TMP/security2.txt" 2>&1
exposure=$(sed -nE 's/.*Overall exposure level for cprofd.service: ([0-9.]+).*/\1/p' \
	"$TMP/security2.txt")
if [ -n "$exposure" ] && awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then
	ok "systemd-analyze security of the running service: exposure $exposure"
else
	not_ok "systemd-analyze security of the running service: exposure '$exposure'"
fi

# --- profile a workload -------------------------------------------------------------
hot_pid=$(start_in_sandbox "$WORKLOADS/hotspots" --seconds 60)
sleep 0.3
check "cprofctl start $hot_pid" quiet cprofctl_in start "$hot_pid" --hz 99
sleep 1.5
sctl status cprofd.service >"$TMP/status.txt" 2>&1
diag "$(grep -E 'Active:|Status:' "$TMP/status.txt" | sed 's/^ *//' | tr '\n' ' ')"
check "systemctl status shows the session and its samples" \
	grep -Eq 'Status: "1 session running, [1-9][0-9]* samples' "$TMP/status.txt"
cprofctl_in status --json >"$TMP/task.json"
check "task events open under the hardening (CAP_PERFMON, locked-memory limits)" \
	test "$(json_field "$TMP/task.json" "j['daemon']['task_events']")" = open
sleep 1.5
cprofctl_in stop "$hot_pid" -o "$TMP/hot.pb.gz" >"$TMP/stop.txt"
diag "$(cat "$TMP/stop.txt")"
check "cprofctl stop: a profile with function names" grep -q hot_a <(pprof_top "$TMP/hot.pb.gz")
kernel_pid=$(start_in_sandbox dd if=/dev/zero of=/dev/null bs=1M count=100000000)
cprofctl_in profile "$kernel_pid" --seconds 2 -o "$TMP/kernel.pb.gz" >/dev/null
in_sandbox kill "$kernel_pid"
pprof_top "$TMP/kernel.pb.gz" >"$TMP/kernel.txt"
check "kernel frames are named under the hardening (CAP_SYSLOG, /proc/kallsyms)" \
	grep -Eq 'read_zero|clear_user|do_syscall_64|entry_SYSCALL' "$TMP/kernel.txt"
# PrivateTmp=yes: the service's /tmp is not the one a JIT writes its perf map to.
if command -v node >/dev/null; then
	js='function cprofHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i); return s; }
	const end = Date.now() + 30000; while (Date.now() < end) cprofHotLoop(1e6);'
	node_pid=$(in_sandbox sh -c 'cd /tmp && exec node --perf-basic-prof -e "$1" >/dev/null 2>&1 </dev/null & echo $!' sh "$js")
	sleep 1
	cprofctl_in profile "$node_pid" --seconds 2 -o "$TMP/node.pb.gz" >/dev/null
	in_sandbox kill "$node_pid"
	check "JIT names from the perf map in the target's /tmp, not the service's own" \
		grep -q cprofHotLoop <(pprof_top "$TMP/node.pb.gz")
	in_sandbox rm -f "/tmp/perf-$node_pid.map"
	# Profiled to its end: the map is read after the process is gone (as a JVM
	# with -XX:+DumpPerfMapAtExit writes it), through the root the session kept.
	node_pid=$(in_sandbox sh -c 'cd /tmp && exec node --perf-basic-prof -e "$1" 3 >/dev/null 2>&1 </dev/null & echo $!' sh \
		"${js/30000/Number(process.argv[1]) * 1000}")
	sleep 0.5
	cprofctl_in start "$node_pid" >/dev/null
	for _ in $(seq 100); do
		in_sandbox kill -0 "$node_pid" 2>/dev/null || break
		sleep 0.1
	done
	cprofctl_in stop "$node_pid" -o "$TMP/node-end.pb.gz" >/dev/null
	check "... and after the JIT process exited" \
		grep -q cprofHotLoop <(pprof_top "$TMP/node-end.pb.gz")
	in_sandbox rm -f "/tmp/perf-$node_pid.map"
else
	skip "JIT names under PrivateTmp=" "node is not installed (Debian: nodejs)"
fi

# --- the cprof group ----------------------------------------------------------------
in_sandbox useradd -M -G cprof alice 2>/dev/null
in_sandbox useradd -M bob 2>/dev/null
check "a member of cprof may use the socket" \
	quiet in_sandbox setpriv --reuid=alice --regid=alice --init-groups "$CPROFCTL" \
	--socket /run/cprofd/cprofd.sock status
if in_sandbox setpriv --reuid=bob --regid=bob --init-groups "$CPROFCTL" \
	--socket /run/cprofd/cprofd.sock status >/dev/null 2>"$TMP/bob.txt"; then
	not_ok "a user outside cprof is refused: succeeded"
else
	ok "a user outside cprof is refused: $(cat "$TMP/bob.txt")"
fi

# --- the journal ---------------------------------------------------------------------
check "journal: the start message, at priority info" \
	grep -q 'BPF sampler loaded' <(journal -p info)
check "journal: info messages are not above info" \
	bash -c "! grep -q 'BPF sampler loaded' <(nsenter -t $SD_PID -m -p journalctl -q -u cprofd.service -o cat -p notice)"

# --- reload ------------------------------------------------------------------------------
in_sandbox sh -c 'printf "hz = 49\nring_buffer_size = 8M\nsocket_group = cprof\n" >/etc/cprofd/cprofd.conf'
sctl reload cprofd.service
wait_until 5 grep -q 'default 49 Hz' <(show StatusText)
check "systemctl reload applies a new default rate" \
	grep -q 'reloaded /etc/cprofd/cprofd.conf: default 49 Hz' <(journal)
check "STATUS= shows the new rate ($(show StatusText))" grep -q 'default 49 Hz' <(show StatusText)
check "a ring buffer change waits for the next restart, and says so at notice" \
	grep -q 'ring_buffer_size changed from 4194304 to 8388608: applies at the next restart' \
	<(journal -p notice)
in_sandbox sh -c 'printf "hz = 0\n" >/etc/cprofd/cprofd.conf'
sctl reload cprofd.service
wait_until 5 grep -q 'keeping the running configuration' <(journal -p err)
check "a bad config is an error in the journal, at priority err" \
	grep -q "reloading /etc/cprofd/cprofd.conf: line 1: hz: '0' is not an integer" <(journal -p err)
check "... and the old configuration stays" \
	bash -c "[ '$(show ActiveState)' = active ] && [[ '$(show StatusText)' == *'default 49 Hz'* ]]"
in_sandbox sh -c 'printf "hz = 99\n" >/etc/cprofd/cprofd.conf'
sctl reload cprofd.service

# --- the watchdog and Restart=on-failure ----------------------------------------------
in_sandbox mkdir -p /run/systemd/system/cprofd.service.d
in_sandbox sh -c 'printf "[Service]\nWatchdogSec=2s\n" >/run/systemd/system/cprofd.service.d/watchdog.conf'
sctl daemon-reload
sctl restart cprofd.service
old_pid=$(show MainPID)
sleep 5
check "WatchdogSec=2s: still the same process after 5 s (the loop pings)" \
	bash -c "[ '$(show MainPID)' = '$old_pid' ] && [ '$(show ActiveState)' = active ]"
old_prog=$(main_pid_prog)
restarts=$(show NRestarts)
sctl kill -s SIGKILL cprofd.service
wait_until 10 bash -c "[ \"\$(nsenter -t $SD_PID -m -p systemctl show -p NRestarts --value cprofd.service)\" -gt $restarts ] && nsenter -t $SD_PID -m -p systemctl is-active -q cprofd.service"
check "Restart=on-failure: killed, it comes back" \
	bash -c "[ '$(show NRestarts)' -gt '$restarts' ] && [ '$(show ActiveState)' = active ]"
check "the killed daemon's program ${old_prog:-(none)} went with it" prog_gone "$old_prog"
in_sandbox rm -rf /run/systemd/system/cprofd.service.d
sctl daemon-reload

# --- each capability is needed ---------------------------------------------------------
# The service again, each time without one of its capabilities.
ALL_CAPS="CAP_BPF CAP_PERFMON CAP_SYSLOG CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"
without() { # CAP: restarts cprofd with every capability of the unit but CAP
	local rest
	rest=$(tr ' ' '\n' <<<"$ALL_CAPS" | grep -vx "$1" | tr '\n' ' ')
	in_sandbox mkdir -p /run/systemd/system/cprofd.service.d
	printf '[Service]\nCapabilityBoundingSet=\nCapabilityBoundingSet=%s\nAmbientCapabilities=\nAmbientCapabilities=%s\n' \
		"$rest" "$rest" | in_sandbox sh -c 'cat >/run/systemd/system/cprofd.service.d/caps.conf'
	sctl daemon-reload
	sctl reset-failed cprofd.service 2>/dev/null
	sctl restart cprofd.service 2>/dev/null
}
# pprof_of PROGRAM ARGS...: 2 s profile of a program started in the sandbox, as pprof -top.
pprof_of() {
	local pid
	pid=$(start_in_sandbox "$@")
	sleep 0.2
	cprofctl_in profile "$pid" --seconds 2 -o "$TMP/caps.pb.gz" >/dev/null
	in_sandbox kill "$pid"
	pprof_top "$TMP/caps.pb.gz"
}
load_errors() {
	journal | grep -c 'loading the BPF sampler: Operation not permitted'
}
for cap in CAP_BPF CAP_PERFMON; do
	before=$(load_errors)
	without $cap
	sleep 0.5
	check "without $cap the BPF program does not load" \
		bash -c "[ '$(show ActiveState)' != active ] && [ $(load_errors) -gt $before ]"
done
without CAP_SYSLOG
pprof_of dd if=/dev/zero of=/dev/null bs=1M count=100000000 >"$TMP/nosyslog.txt"
check "without CAP_SYSLOG kernel frames have no names" \
	bash -c "grep -q 'kernel\]+0x' $TMP/nosyslog.txt && ! grep -Eq 'read_zero|do_syscall_64' $TMP/nosyslog.txt"
in_sandbox sh -c 'mkdir -m 0700 /usr/local/cprof-private && cp "$1" /usr/local/cprof-private/' sh \
	"$WORKLOADS/hotspots"
without CAP_DAC_READ_SEARCH
pprof_of /usr/local/cprof-private/hotspots --seconds 60 >"$TMP/nodac.txt"
check "without CAP_DAC_READ_SEARCH a binary in a private directory has no names" \
	bash -c "grep -q 'hotspots+0x' $TMP/nodac.txt && ! grep -q hot_a $TMP/nodac.txt"
# The service's /tmp is private: a binary under the real /tmp is reached only
# through /proc/PID/root, which takes CAP_SYS_PTRACE.
in_sandbox sh -c 'mkdir -p /tmp/cprof-ptrace-test && cp "$1" /tmp/cprof-ptrace-test/' sh \
	"$WORKLOADS/hotspots"
without CAP_SYS_PTRACE
pprof_of /tmp/cprof-ptrace-test/hotspots --seconds 60 >"$TMP/noptrace.txt"
check "without CAP_SYS_PTRACE a binary under /tmp has no names" \
	bash -c "grep -q 'hotspots+0x' $TMP/noptrace.txt && ! grep -q hot_a $TMP/noptrace.txt"
in_sandbox rm /run/systemd/system/cprofd.service.d/caps.conf
sctl daemon-reload
sctl restart cprofd.service
check "with all five, the private directory's binary has names" \
	grep -q hot_a <(pprof_of /usr/local/cprof-private/hotspots --seconds 60)
check "and so has the one under /tmp" \
	grep -q hot_a <(pprof_of /tmp/cprof-ptrace-test/hotspots --seconds 60)
in_sandbox rm -rf /tmp/cprof-ptrace-test

# --- socket activation -----------------------------------------------------------------
prog_id=$(main_pid_prog)
sctl stop cprofd.service 2>/dev/null
check "systemctl stop cprofd: inactive, the socket stays" \
	bash -c "[ '$(show ActiveState)' = inactive ] && [ '$(sctl is-active cprofd.socket)' = active ]"
check "no BPF program left behind after stop (program ${prog_id:-(none)})" prog_gone "$prog_id"
check "a client on the socket starts the service" quiet cprofctl_in status
check "socket-activated cprofd is active" test "$(show ActiveState)" = active
journal >"$TMP/journal.txt"
check "socket-activated cprofd uses the socket from systemd" \
	grep -q 'listening on the socket from systemd' "$TMP/journal.txt"

# --- stop with a session running -------------------------------------------------------
prog_id=$(main_pid_prog)
cprofctl_in start "$hot_pid" >/dev/null
sleep 1
sctl stop cprofd.service cprofd.socket 2>/dev/null
check "systemctl stop cprofd: stopped cleanly" \
	bash -c "[ '$(show ActiveState)' = inactive ] && [ '$(show Result)' = success ]"
check "no BPF program left behind (program ${prog_id:-(none)})" prog_gone "$prog_id"
saved=$(in_sandbox sh -c "ls /var/lib/cprofd/pid-$hot_pid-*.pb.gz 2>/dev/null | head -1")
check "the running session was saved to ${saved:-/var/lib/cprofd (nothing)}" \
	grep -q "saved the profile of pid $hot_pid to $saved" <(journal)
if [ -n "$saved" ]; then
	in_sandbox cat "$saved" >"$TMP/saved.pb.gz"
	check "the saved profile reads in go tool pprof" grep -q hot_a <(pprof_top "$TMP/saved.pb.gz")
fi
journal | tail -4 | sed 's/^/#   /'

in_sandbox kill "$hot_pid" 2>/dev/null
stop_sandbox
check "the sandbox's cgroups are gone" bash -c "! ls -d ${cgroup_dirs[*]} 2>/dev/null"
finish
