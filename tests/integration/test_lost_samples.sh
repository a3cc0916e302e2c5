#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Nothing is dropped silently: with a one-page ring buffer, 999 Hz on two
# busy threads and the daemon paused, samples are lost; the loss shows in
# status and in the profile, and captured + lost equals the number of
# times the BPF program fired for the target.
set -u
BUILD=${1:-build}
. "$(dirname "$0")/lib/common.sh"
require_root "lost samples"

start_daemon --ring-buffer-size 4096 || { not_ok "cprofd starts"; finish; exit; }
start_workload hotspots --threads 2 --seconds 60
sleep 0.3
"$CPROFCTL" start "$WORKLOAD_PID" --hz 999 >/dev/null
sleep 0.5
kill -STOP "$DAEMON_PID"   # a paused consumer
sleep 1.5
kill -CONT "$DAEMON_PID"
sleep 0.5
kill -STOP "$WORKLOAD_PID" # no more samples: the counts must now settle
sleep 0.5
"$CPROFCTL" status --json >"$TMP/status.json"
session() { json_field "$TMP/status.json" "j['sessions'][0]['$1']"; }
samples=$(session samples) lost=$(session lost) fired=$(session fired)
diag "samples $samples, lost $lost (ring full $(session lost_ring_full)," \
	"stack table full $(session lost_stack_table_full)), fired $fired"
check "status shows lost samples" test "$lost" -gt 0
check "captured + lost = fired ($samples + $lost = $fired)" test $((samples + lost)) = "$fired"
check "samples are still captured" test "$samples" -gt 0

# The consumer caught up: sampling goes on without loss.
kill -CONT "$WORKLOAD_PID"
sleep 1
kill -STOP "$WORKLOAD_PID"
sleep 0.5
"$CPROFCTL" status --json >"$TMP/status.json"
diag "after recovery: samples $(session samples), lost $(session lost), fired $(session fired)"
check "the daemon recovers: new samples are captured" test "$(session samples)" -gt "$samples"
# A one-page ring at 999 Hz on both CPUs may still drop a few while the
# workload keeps the daemon off the CPU; a stall drops everything.
new_samples=$(($(session samples) - samples)) new_lost=$(($(session lost) - lost))
check "and loses little ($new_lost lost, $new_samples captured)" \
	test $((new_lost * 10)) -le "$new_samples"
check "captured + lost = fired still" test $(($(session samples) + $(session lost))) = "$(session fired)"
lost=$(session lost)

"$CPROFCTL" stop "$WORKLOAD_PID" -o "$TMP/lost.pb.gz" >"$TMP/stop.txt"
diag "$(cat "$TMP/stop.txt")"
check "stop summary counts the lost samples" grep -Eq ", $lost lost" "$TMP/stop.txt"
pprof_top "$TMP/lost.pb.gz" >"$TMP/top.txt"
grep -F '[lost: ring buffer full]' "$TMP/top.txt" | sed 's/^/#   /'
check "profile shows the loss on a marker frame" grep -qF '[lost: ring buffer full]' "$TMP/top.txt"
kill -CONT "$WORKLOAD_PID"

finish
