#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# JIT code named from a jitdump: node --perf-prof writes jit-PID.dump in its
# working directory and maps it. cprofd and perf profile the same run of a
# JavaScript program with two hot functions; perf's samples are named by
# `perf inject --jit`, cprofd's by reading the dump the process maps. Both
# must name (nearly) every sample in JIT code, cprofd no fewer than perf,
# and go tool pprof -top must show the hot functions by their JavaScript
# names. Then a perf map that names all of memory otherwise: where both
# exist, the jitdump's names must win.
#
# node buffers the dump and writes it out in pieces (and at exit), so these
# profiles are of runs that end before the profile is built. Last, a
# running node with --perf-basic-prof as well: the perf map names what the
# dump does not hold yet.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "jitdump"

if ! command -v node >/dev/null; then
	skip "JavaScript names from node's jitdump" "node is not installed (Debian: nodejs)"
	finish
	exit
fi
if ! command -v perf >/dev/null; then
	skip "jitdump names against perf inject --jit" "perf is not installed (Debian: linux-perf)"
	finish
	exit
fi
diag "node $(node --version), $(perf --version)"

# perf inject and report keep what they make (the ELF files of the JIT
# code, a build-id cache) under $HOME/.debug: in $TMP, removed at the end.
perf_home() { HOME=$TMP "$@"; }

start_daemon || { not_ok "cprofd starts"; finish; exit; }

cat >"$TMP/hot.js" <<'JS'
// Two hot functions, the first given about twice the work of the second.
function cprofHotMix(n) {
	let x = 0;
	for (let i = 0; i < n; i++)
		x = (x * 31 + i) % 1000003;
	return x;
}
function cprofHotRoot(n) {
	let x = 1.5;
	for (let i = 0; i < n; i++)
		x = Math.sqrt(x + i) * 1.0001;
	return x;
}
const end = Date.now() + Number(process.argv[2]) * 1000;
let sum = 0;
while (Date.now() < end) {
	sum += cprofHotMix(2e6);
	sum += cprofHotRoot(1e6);
}
console.log(sum > 0);
JS

# start_node SECONDS [NODE_OPTIONS...]: runs hot.js in $TMP (where the dump
# goes), sets NODE_PID once node has mapped its jit-PID.dump.
start_node() {
	local seconds=$1; shift
	(cd "$TMP" && exec node --perf-prof --interpreted-frames-native-stack "$@" hot.js \
		"$seconds" >"$TMP/node.out" 2>&1) &
	NODE_PID=$!
	pids_to_kill+=("$NODE_PID")
	for _ in $(seq 100); do
		grep -q "/jit-$NODE_PID\.dump$" "/proc/$NODE_PID/maps" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# --- the same run, profiled by cprofd and by perf ---------------------------
if ! start_node 8; then
	not_ok "node maps its jit-PID.dump"
	finish
	exit
fi
ok "node maps its jit-PID.dump"
node_pid=$NODE_PID
perf_home perf record -q -k 1 -e cpu-clock -F 99 -g -p "$node_pid" -o "$TMP/perf.data" \
	>"$TMP/perf.log" 2>&1 &
perf_pid=$!
"$CPROFCTL" start "$node_pid" --hz 99 >/dev/null
wait "$node_pid"
check "node ran to its end" grep -qx true "$TMP/node.out"
wait "$perf_pid"
"$CPROFCTL" stop "$node_pid" -o "$TMP/node.pb.gz" >"$TMP/stop.txt"
diag "$(cat "$TMP/stop.txt")"
diag "jit-$node_pid.dump: $(stat -c %s "$TMP/jit-$node_pid.dump") bytes"

pprof_top "$TMP/node.pb.gz" >"$TMP/top.txt"
sed 's/^/#   /' "$TMP/top.txt" | sed -n '1,14p'
# V8 names optimized code "JS:*name FILE:LINE:COLUMN".
check "pprof -top shows cprofHotMix by its JavaScript name" \
	grep -Eq ' JS:\*cprofHotMix /.*/hot\.js:2:' "$TMP/top.txt"
check "pprof -top shows cprofHotRoot by its JavaScript name" \
	grep -Eq ' JS:\*cprofHotRoot /.*/hot\.js:8:' "$TMP/top.txt"

if perf_home perf inject --jit -i "$TMP/perf.data" -o "$TMP/perf.jit.data" \
	>"$TMP/inject.log" 2>&1; then
	perf_home $PROFILES jit --pprof "$TMP/node.pb.gz" --perf "$TMP/perf.jit.data" \
		--min-samples 200 --min-named 95 --tolerance 2 >"$TMP/jit.txt" 2>&1
	rc=$?
	sed 's/^/#   /' "$TMP/jit.txt"
	check "cprofd names the JIT samples perf inject --jit names" test "$rc" = 0
	# The same functions on top: self time per JavaScript function.
	perf_home $PROFILES topself --pprof "$TMP/node.pb.gz" --perf "$TMP/perf.jit.data" \
		--top 2 --min-agree 2 --min-share 5 --expect "$(grep -Eo 'JS:\*cprofHotMix [^ ]+' \
		"$TMP/top.txt" | head -1)" >"$TMP/topself.txt" 2>&1
	rc=$?
	sed 's/^/#   /' "$TMP/topself.txt"
	check "cprofd's top JavaScript functions are perf's" test "$rc" = 0
else
	sed 's/^/#   /' "$TMP/inject.log" | tail -5
	not_ok "perf inject --jit reads the run"
fi

# --- a perf map too: the jitdump's names win --------------------------------
if start_node 4; then
	node_pid=$NODE_PID
	# One range over every address: whatever the jitdump names must keep its name.
	perf_map=/tmp/perf-$node_pid.map
	echo "0 7fffffffffff cprofPerfMapOnly" >"$perf_map"
	"$CPROFCTL" start "$node_pid" --hz 99 >/dev/null
	wait "$node_pid"
	"$CPROFCTL" stop "$node_pid" -o "$TMP/both.pb.gz" >"$TMP/stop.txt"
	rm -f "$perf_map"
	pprof_top "$TMP/both.pb.gz" >"$TMP/both.txt"
	sed 's/^/#   /' "$TMP/both.txt" | sed -n '6,12p'
	check "with a perf map too, the hot function keeps its jitdump name" \
		grep -Eq ' JS:\*cprofHotMix /' "$TMP/both.txt"
	# Builtins in node's own text are no JIT code: the perf map must not rename them.
	check "code in node's binary is not named from the perf map" \
		grep -q ' Builtins_JSEntry$' "$TMP/both.txt"
else
	not_ok "node maps its jit-PID.dump (second run)"
fi

# --- a running process: the perf map names what the dump has yet to say -----
# node writes the dump out in pieces: while it runs, the hot code compiled
# last may not be in the file yet. With --perf-basic-prof as well, the perf
# map (written at once) names it.
if start_node 6 --perf-basic-prof; then
	node_pid=$NODE_PID
	sleep 1
	"$CPROFCTL" profile "$node_pid" --hz 99 --seconds 2 -o "$TMP/live.pb.gz" >"$TMP/live.txt"
	diag "while node runs: $(cat "$TMP/live.txt"), dump $(stat -c %s "$TMP/jit-$node_pid.dump") bytes"
	pprof_top "$TMP/live.pb.gz" >"$TMP/live-top.txt"
	check "while node runs, with its perf map too, the hot functions are named" \
		grep -Eq ' JS:\*cprofHot(Mix|Root) /' "$TMP/live-top.txt"
	kill "$node_pid" 2>/dev/null
	wait "$node_pid" 2>/dev/null
	rm -f "/tmp/perf-$node_pid.map"
else
	not_ok "node maps its jit-PID.dump (third run)"
fi

stop_daemon
check "cprofd exits 0" test $? = 0
finish
