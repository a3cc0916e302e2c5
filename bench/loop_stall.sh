#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Does building a profile stall cprofd's event loop? A generated program with
# much DWARF (bench/big_program.py: 300 compile units, 24,000 functions,
# ~22 MB of debug sections) is sampled at 999 Hz for 3 s; then, while
# "cprofctl stop" makes cprofd load the binary's symbols and DWARF and
# symbolize the profile (a fresh cprofd each round, so the tables are not
# cached), a poller sends GET /v1/status over the socket back to back and
# records how long each answer takes. The longest answer is how long the
# loop was held. Prints it for each build and, given two, their ratio.
#
#   bench/loop_stall.sh [--rounds N] AFTER_BUILD [BEFORE_BUILD]
#
# BEFORE_BUILD is a build of another version (say, of the commit before
# background symbols) to compare with. Root (BPF). The program is built
# once into AFTER_BUILD/bench/big_program (a few minutes on 2 cores).
set -eu
rounds=3
if [ "${1:-}" = --rounds ]; then rounds=$2; shift 2; fi
after=$(cd "${1:?usage: loop_stall.sh [--rounds N] AFTER_BUILD [BEFORE_BUILD]}" && pwd)
before=${2:+$(cd "$2" && pwd)}
here=$(cd "$(dirname "$0")" && pwd)
big=$after/bench/big_program/big

if [ ! -x "$big" ]; then
	echo "# building $big (once)" >&2
	mkdir -p "$after/bench/big_program"
	python3 "$here/big_program.py" "$after/bench/big_program"
	(cd "$after/bench/big_program" && ls unit_*.c main.c |
		xargs -P2 -n 20 gcc -O2 -g -fno-omit-frame-pointer -c && gcc -o big ./*.o &&
		rm -f ./*.o)
fi

tmp=$(mktemp -d /tmp/cprof-stall.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

# poll SOCKET STOPFILE: GET /v1/status until STOPFILE exists; prints max and count.
cat >"$tmp/poll.py" <<'PY'
import os, socket, sys, time
sock_path, stop_file = sys.argv[1], sys.argv[2]
worst, n = 0.0, 0
while not os.path.exists(stop_file):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: cprofd\r\nConnection: close\r\n\r\n")
    while s.recv(65536):
        pass
    s.close()
    worst = max(worst, time.monotonic() - t0)
    n += 1
print(f"{worst * 1000:.1f} {n}")
PY

# round BUILD: one fresh daemon, one profile; prints "max_ms replies stop_ms named".
round() {
	local build=$1 sock=$tmp/s.sock pid daemon poller t0 t1 named
	rm -f "$sock" "$tmp/stop" "$tmp/p.pb.gz"
	"$build/cprofd" --socket "$sock" --foreground 2>"$tmp/cprofd.log" &
	daemon=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	"$big" 30 >/dev/null &
	pid=$!
	CPROF_SOCKET=$sock "$build/cprofctl" start "$pid" --hz 999 >/dev/null
	sleep 3
	python3 "$tmp/poll.py" "$sock" "$tmp/stop" >"$tmp/poll.out" &
	poller=$!
	sleep 0.5
	t0=$(date +%s%N)
	CPROF_SOCKET=$sock "$build/cprofctl" stop "$pid" -o "$tmp/p.pb.gz" >/dev/null
	t1=$(date +%s%N)
	sleep 0.5
	touch "$tmp/stop"
	wait "$poller"
	kill "$pid" "$daemon"
	wait "$pid" "$daemon" 2>/dev/null || true
	# The profile must name the program's functions, or the comparison means nothing.
	named=$(PPROF_TMPDIR=$tmp go tool pprof -top -nodecount=1000000 -nodefraction=0 -symbolize=none \
		"$tmp/p.pb.gz" 2>/dev/null | grep -c ' work_[0-9]*_[0-9]*$' || true)
	echo "$(cat "$tmp/poll.out") $(((t1 - t0) / 1000000)) $named"
}

# measure NAME BUILD: the worst of all rounds.
measure() {
	local name=$1 build=$2 worst=0 line
	for r in $(seq "$rounds"); do
		line=$(round "$build")
		set -- $line
		echo "$name round $r: longest status reply $1 ms ($2 replies), stop took $3 ms," \
			"$4 work_ functions named" >&2
		worst=$(python3 -c "print(max($worst, $1))")
	done
	echo "$worst"
}

a=$(measure after "$after")
echo "after ($after): longest status reply while a profile was built: $a ms"
if [ -n "$before" ]; then
	b=$(measure before "$before")
	echo "before ($before): longest status reply while a profile was built: $b ms"
	python3 -c "print(f'ratio before/after: {$b / max($a, 0.1):.1f}')"
fi
