#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make demo: runs cprofd on a temporary socket, profiles the bundled
# hotspots workload for 5 seconds through cprofctl and shows the profile.
set -eu
build=$(cd "${1:-build}" && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "demo: cprofd loads BPF programs: run as root" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/cprof-demo.XXXXXX)
sock=$tmp/cprofd.sock
out=${DEMO_OUTPUT:-$build/demo.pb.gz}
cleanup() {
	kill "${workload:-}" "${daemon:-}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

run() { echo "\$ $*"; "$@"; }

"$build/cprofd" --socket "$sock" --foreground 2>"$tmp/cprofd.log" &
daemon=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$tmp/cprofd.log" >&2; exit 1; }

"$build/workloads/hotspots" --seconds 30 >/dev/null &
workload=$!
echo "# hotspots (pid $workload) spends about 50/30/20% of its time in hot_a/hot_b/hot_c"
run "$build/cprofctl" --socket "$sock" start "$workload" --hz 99
sleep 2
run "$build/cprofctl" --socket "$sock" status
sleep 3
run "$build/cprofctl" --socket "$sock" stop "$workload" -o "$out"
echo
echo "\$ go tool pprof -top $out"
HOME=${HOME:-$tmp} PPROF_TMPDIR=$tmp go tool pprof -top -symbolize=none "$out" 2>&1 | head -16
echo
echo "# the profile is at $out; for a flame graph: go tool pprof -http 127.0.0.1:8080 $out"
