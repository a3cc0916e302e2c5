#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Limits: at each bound a client gets a clear refusal and the daemon goes
# on serving everyone else: sessions, connections, slow clients, request
# size.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "limits"

start_daemon || { not_ok "cprofd starts"; finish; exit; }

# --- sessions: 64 at most --------------------------------------------------
targets=()
for i in $(seq 65); do
	sleep 60 &
	pids_to_kill+=($!)
	targets+=($!)
done
started=0
for pid in "${targets[@]:0:64}"; do
	"$CPROFCTL" start "$pid" >/dev/null 2>&1 && started=$((started + 1))
done
check "64 sessions start" test "$started" = 64
if "$CPROFCTL" start "${targets[64]}" >/dev/null 2>"$TMP/err"; then
	not_ok "the 65th session is refused: started"
else
	check "the 65th session is refused: $(cat "$TMP/err")" grep -q "too many sessions" "$TMP/err"
fi
for pid in "${targets[@]:0:64}"; do
	"$CPROFCTL" stop "$pid" -o "$TMP/s.pb.gz" >/dev/null 2>&1
done
check "after stopping them a session starts again" quiet "$CPROFCTL" start "${targets[64]}"
quiet "$CPROFCTL" stop "${targets[64]}" -o "$TMP/s.pb.gz"

# --- slow and greedy clients -----------------------------------------------
python3 - "$SOCK" >"$TMP/limits.txt" 2>&1 <<'PY'
import socket, subprocess, sys, time

path = sys.argv[1]

def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s

def status_ok(timeout=3.0):
    """Whether a well-behaved client is answered within timeout seconds."""
    start = time.monotonic()
    s = connect()
    s.settimeout(timeout)
    s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except socket.timeout:
        return False
    return data.startswith(b"HTTP/1.1 200") and time.monotonic() - start < timeout

def closed_or_error(s, timeout=5.0):
    """What the server did with a bad request: its status line, or 'closed'."""
    s.settimeout(timeout)
    try:
        data = s.recv(4096)
    except (socket.timeout, ConnectionResetError):
        return "closed"
    return data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed"

# Slow clients: half a request line each, then nothing.
slow = [connect() for _ in range(20)]
for s in slow:
    s.sendall(b"GET /v1/sta")
print("slow clients do not block others:", "ok" if status_ok() else "FAIL")
for s in slow:
    s.close()

# More idle connections than the daemon serves at once (64), held open by
# root, who may take every place: the extra ones wait in the backlog, and
# the idle ones are closed at the header deadline (2 s), so a well-behaved
# client is served soon after.
many = []
for _ in range(100):
    try:
        many.append(connect())
    except OSError:
        break
start = time.monotonic()
served = status_ok(timeout=20.0)
print(f"served within the idle timeout while {len(many)} idle connections are held:",
      "ok" if served else "FAIL", f"({time.monotonic() - start:.1f} s)")
for s in many:
    s.close()
time.sleep(0.3)
print("served at once when they are gone:", "ok" if status_ok() else "FAIL")

# A request line far over the memory a connection may use.
s = connect()
s.sendall(b"GET /v1/status?" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
answer = closed_or_error(s)
print(f"an oversized request is refused: {'ok' if answer == 'closed' or ' 4' in answer else 'FAIL'}"
      f" ({answer})")
s.close()

# A body larger than any route takes.
s = connect()
s.sendall(b"POST /v1/sessions?pid=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
          + b"x" * 100000)
answer = closed_or_error(s)
print(f"an oversized body is refused: {'ok' if answer == 'closed' or ' 4' in answer else 'FAIL'}"
      f" ({answer})")
s.close()
print("served after all that:", "ok" if status_ok() else "FAIL")
PY
while IFS= read -r line; do
	case "$line" in
	*": ok"*) ok "${line/: ok/}" ;;
	*FAIL*) not_ok "$line" ;;
	*) diag "$line" ;;
	esac
done <"$TMP/limits.txt"
check "limit checks ran" test "$(grep -c ': ok\|FAIL' "$TMP/limits.txt")" = 6
check "daemon alive" kill -0 "$DAEMON_PID"

stop_daemon
check "cprofd exits 0" test $? = 0
finish
