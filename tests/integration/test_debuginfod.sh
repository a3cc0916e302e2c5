#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Debug files from debuginfod, never on the event loop. A C program built
# with -g has its debug info split out (objcopy --only-keep-debug) and is
# stripped of it and of its symbols; a real debuginfod (-F) serves the debug
# file on a free local port, and cprofd, started with DEBUGINFOD_URLS
# pointing there, must name the program's functions and give their file:line
# in go tool pprof. Then the server is replaced by one that accepts and never
# answers: while cprofd's fetch hangs, status must answer at once, and the
# profile must come (after the fetch times out) with binary+0xOFFSET frames.
# When the real server is back and the backoff has passed, a later profile
# must have the names again, without restarting cprofd. A build ID the
# server answers it does not have is not asked for again after the backoff.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "debuginfod"
for tool in debuginfod objcopy strip curl go; do
	if ! command -v "$tool" >/dev/null; then
		skip "debuginfod" "$tool is not installed (packaging/install-deps.sh)"
		finish
		exit
	fi
done
# Under ASan, LeakSanitizer checks libdebuginfod and libcurl too: both end
# clean (debuginfod_end() at exit), so no suppression is needed.

# --- the program, its debug file apart ---
mkdir -p "$TMP/src" "$TMP/served" "$TMP/bin"
cat >"$TMP/src/dbgprog.c" <<'C'
#include <stdlib.h>
#include <time.h>

volatile unsigned long cprof_sink;

__attribute__((noinline)) unsigned long cprof_debuginfod_leaf(unsigned long x)
{
	for (int i = 0; i < 1000; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul; /* LEAF_LINE */
	return x;
}

__attribute__((noinline)) unsigned long cprof_debuginfod_hot(unsigned long x)
{
	for (int i = 0; i < 100; i++)
		x ^= cprof_debuginfod_leaf(x + i);
	return x;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 30;
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		cprof_sink = cprof_debuginfod_hot(cprof_sink);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	return 0;
}
C
leaf_line=$(grep -n LEAF_LINE "$TMP/src/dbgprog.c" | cut -d: -f1)
prog=$TMP/bin/dbgprog
gcc -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -Wl,--build-id \
	"$TMP/src/dbgprog.c" -o "$TMP/src/dbgprog.full" &&
	objcopy --only-keep-debug "$TMP/src/dbgprog.full" "$TMP/served/dbgprog.debug" &&
	strip --strip-all -o "$prog" "$TMP/src/dbgprog.full"
check "the program is built, its debug file split out" test -x "$prog"
build_id=$(readelf -n "$prog" | sed -n 's/.*Build ID: *//p')
check "the stripped program has a build ID and no symbols or DWARF of its own" \
	bash -c "[ -n '$build_id' ] && ! readelf -SW '$prog' | grep -Eq '\.symtab|\.debug_'"
check "nor a local debug file" test ! -e "/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"

# --- a real debuginfod on a free port ---
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
start_debuginfod() {
	debuginfod -p "$port" -d "$TMP/debuginfod.sqlite" -F "$TMP/served" \
		>>"$TMP/debuginfod.log" 2>&1 &
	SERVER_PID=$!
	pids_to_kill+=("$SERVER_PID")
	for _ in $(seq 300); do
		curl -sf -o /dev/null "$url/buildid/$build_id/debuginfo" && return 0
		sleep 0.1
	done
	return 1
}
check "debuginfod serves the debug file" start_debuginfod

# A server that accepts and never answers: a fetch from it hangs until it times out.
start_silent_server() {
	python3 - "$port" >"$TMP/silent.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("listening", flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
PY
	SERVER_PID=$!
	pids_to_kill+=("$SERVER_PID")
	for _ in $(seq 100); do
		grep -q listening "$TMP/silent.log" && return 0
		sleep 0.05
	done
	return 1
}

# Timeout and backoff short, for the test; the cache where systemd would give one.
cat >"$TMP/cprofd.conf" <<CONF
debuginfod_urls = $url
debuginfod_timeout = 4
debuginfod_backoff = 3
CONF
mkdir -p "$TMP/cache"
export CACHE_DIRECTORY=$TMP/cache
start_daemon --config "$TMP/cprofd.conf" || { not_ok "cprofd starts"; finish; exit; }
check "cprofd says where debug files come from" grep -q "debuginfod at $url" "$TMP/cprofd.log"

# profile_prog NAME: profiles a fresh run of the program for 2 s into $TMP/NAME.pb.gz.
profile_prog() {
	"$prog" 20 &
	local pid=$!
	pids_to_kill+=("$pid")
	sleep 0.2
	"$CPROFCTL" profile "$pid" --seconds 2 --hz 499 -o "$TMP/$1.pb.gz" >"$TMP/$1.txt" 2>&1
	local rc=$?
	kill "$pid" 2>/dev/null
	return $rc
}

status_field() {
	"$CPROFCTL" status --json >"$TMP/status.json" && json_field "$TMP/status.json" "$1"
}

# --- names and file:line from the fetched debug file ---
check "a profile of the stripped program is made" profile_prog first
pprof_top "$TMP/first.pb.gz" >"$TMP/first-top.txt"
sed 's/^/#   /' "$TMP/first-top.txt" | sed -n '6,10p'
check "pprof -top names the functions from the debug file" \
	grep -q 'cprof_debuginfod_leaf' "$TMP/first-top.txt"
PPROF_TMPDIR=$TMP go tool pprof -traces -symbolize=none "$TMP/first.pb.gz" >"$TMP/first-traces.txt" 2>&1
check "pprof -traces shows the call chain hot > leaf" \
	grep -Pzq 'cprof_debuginfod_leaf\n\s+cprof_debuginfod_hot' "$TMP/first-traces.txt"
go tool pprof -raw -symbolize=none "$TMP/first.pb.gz" >"$TMP/first-raw.txt" 2>&1
check "pprof -raw gives the leaf's file:line ($leaf_line)" \
	grep -Eq "cprof_debuginfod_leaf .*dbgprog\.c:$leaf_line( |$)" "$TMP/first-raw.txt"
check "status counts the fetch" test "$(status_field "j['daemon']['debuginfod_fetched']")" -ge 1
check "the debug file is in \$CACHE_DIRECTORY/debuginfod" \
	test -s "$TMP/cache/debuginfod/$build_id/debuginfo"

# --- a server that hangs: the loop must not ---
stop_daemon
rc=$?
check "cprofd exits cleanly after fetching (no sanitizer report)" \
	bash -c "[ $rc = 0 ] && ! grep -Eq 'LeakSanitizer|AddressSanitizer|runtime error' '$TMP/cprofd.log'"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
rm -rf "$TMP/cache"
mkdir -p "$TMP/cache"
check "a silent server listens on the same port" start_silent_server
start_daemon --config "$TMP/cprofd.conf" || { not_ok "cprofd starts again"; finish; exit; }
profile_prog hung &
profile_job=$!
# The profile ends after 2 s; from then its symbols wait on the hanging fetch.
sleep 2.6
python3 - "$SOCK" >"$TMP/poll.txt" <<'PY'
import socket, sys, time
worst = 0.0
for _ in range(20):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: cprofd\r\nConnection: close\r\n\r\n")
    body = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        body += b
    s.close()
    worst = max(worst, time.monotonic() - t0)
    time.sleep(0.05)
pending = b'"symbol_loads_pending":0' not in body.replace(b" ", b"")
print(f"{worst * 1000:.0f} {int(pending)}")
PY
read -r worst_ms pending <"$TMP/poll.txt"
diag "longest status reply while the fetch hung: $worst_ms ms (a load still pending: $pending)"
check "a load was pending on the hanging fetch meanwhile" test "$pending" = 1
check "status answered within 250 ms throughout" test "$worst_ms" -lt 250
wait "$profile_job"
check "the profile still comes, once the fetch timed out" test "$?" = 0
diag "$(cat "$TMP/hung.txt")"
# Sampling ended at 2 s, before the wait: nothing lost, no sample of the wait.
check "the wait lost no sample and added none" \
	grep -Eq ': [1-9][0-9]* samples, 0 lost, 2\.[0-9]+ s,' "$TMP/hung.txt"
pprof_top "$TMP/hung.pb.gz" >"$TMP/hung-top.txt"
sed 's/^/#   /' "$TMP/hung-top.txt" | sed -n '6,9p'
check "its frames are binary+0xOFFSET" grep -Eq 'dbgprog\+0x[0-9a-f]+' "$TMP/hung-top.txt"
check "and none is named" bash -c "! grep -q cprof_debuginfod '$TMP/hung-top.txt'"
check "status counts the failed fetch" test "$(status_field "j['daemon']['debuginfod_failed']")" -ge 1

# --- the server is back: after the backoff, the names are back ---
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
check "debuginfod serves again" start_debuginfod
sleep 3.5
check "a later profile is made" profile_prog back
pprof_top "$TMP/back.pb.gz" >"$TMP/back-top.txt"
check "it names the functions again, without a restart" \
	grep -q 'cprof_debuginfod_leaf' "$TMP/back-top.txt"
check "status counts the fetch made after the backoff" test "$(status_field "j['daemon']['debuginfod_fetched']")" -ge 1

stop_daemon
rc=$?
check "cprofd exits cleanly (no sanitizer report)" \
	bash -c "[ $rc = 0 ] && ! grep -Eq 'LeakSanitizer|AddressSanitizer|runtime error' '$TMP/cprofd.log'"

# --- what the server does not have is asked once, not again after the short backoff ---
# A fresh daemon and cache, whose negative cache libdebuginfod is told not to
# use: then every fetch cprofd tries reaches the server, which logs it.
mkdir -p "$TMP/cache3/debuginfod"
echo 0 >"$TMP/cache3/debuginfod/cache_miss_s"
export CACHE_DIRECTORY=$TMP/cache3
start_daemon --config "$TMP/cprofd.conf" || { not_ok "cprofd starts a third time"; finish; exit; }
cat >>"$TMP/src/dbgprog.c" <<'C'
int cprof_other_build = 1; /* another build ID */
C
gcc -O1 -g -fno-omit-frame-pointer -Wl,--build-id "$TMP/src/dbgprog.c" -o "$TMP/src/other.full" &&
	strip --strip-all -o "$TMP/bin/other" "$TMP/src/other.full"
other_id=$(readelf -n "$TMP/bin/other" | sed -n 's/.*Build ID: *//p')
prog=$TMP/bin/other
check "a profile of a program the server has no debug file for is made" profile_prog other1
asked_once=$(grep -c "/buildid/$other_id/debuginfo 404" "$TMP/debuginfod.log")
sleep 3.5
check "and another after the backoff" profile_prog other2
asked_after=$(grep -c "/buildid/$other_id/debuginfo 404" "$TMP/debuginfod.log")
diag "the server was asked for it $asked_once time(s) after one profile, $asked_after after two"
check "'not found' is asked once, and not again after the short backoff" \
	test "$asked_once" = 1 -a "$asked_after" = 1

stop_daemon
rc=$?
check "cprofd exits cleanly (no sanitizer report)" \
	bash -c "[ $rc = 0 ] && ! grep -Eq 'LeakSanitizer|AddressSanitizer|runtime error' '$TMP/cprofd.log'"
[ "$n_failed" = 0 ] || { diag "cprofd.log:"; sed "s/^/#   /" "$TMP/cprofd.log" | tail -40; }
finish
