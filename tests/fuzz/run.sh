#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs every libFuzzer target built in BUILD_DIR/fuzz/ (or the named ones)
# for SECONDS each, one after another, each on a fresh copy of its seeds in
# corpus/NAME/ with NAME.dict and NAME.lsan.supp if there are. Prints per target
#   ok - fuzz_NAME: N execs in S s (R/s)
#   not ok - fuzz_NAME: ... (the sanitizer's report follows, as # lines)
# and "N passed, N failed" last. A crashing input is kept in
# BUILD_DIR/fuzz/crashes/NAME/; after a fix, add it to corpus/NAME/ so every
# later run replays it.
#
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS [NAME...]]
set -u

build=${1:?usage: $0 BUILD_DIR [SECONDS [NAME...]]}
seconds=${2:-60}
shift $(($# < 2 ? $# : 2))
here=$(cd "$(dirname "$0")" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

targets=()
if [ $# -gt 0 ]; then
	for name in "$@"; do targets+=("$build/fuzz/fuzz_${name#fuzz_}"); done
else
	for bin in "$build"/fuzz/fuzz_*; do
		[ -x "$bin" ] && targets+=("$bin")
	done
fi

passed=0 failed=0
if [ ${#targets[@]} = 0 ]; then
	echo "not ok - fuzz: no targets in $build/fuzz (make fuzz-build)"
	failed=1
fi

for bin in "${targets[@]}"; do
	target=$(basename "$bin")
	name=${target#fuzz_}
	work=$build/fuzz/run/$name
	crashes=$build/fuzz/crashes/$name
	if [ ! -x "$bin" ]; then
		echo "not ok - $target: not built"
		failed=$((failed + 1))
		continue
	fi
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/tmp" "$crashes"
	if [ -d "$here/corpus/$name" ]; then
		cp -r "$here/corpus/$name/." "$work/corpus/"
	fi
	dict=()
	[ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
	# Leaks inside a library a target drives, each explained in NAME.lsan.supp.
	lsan=${LSAN_OPTIONS:-}
	[ -f "$here/$name.lsan.supp" ] && lsan="suppressions=$here/$name.lsan.supp${lsan:+:$lsan}"

	# Scratch files of the targets go under work/, not the shared /tmp.
	TMPDIR=$work/tmp LSAN_OPTIONS=$lsan "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "${dict[@]}" "$work/corpus" >"$work/log" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/log" | tail -1)
	rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$work/log" | tail -1)
	if [ "$rc" = 0 ] && [ -n "$execs" ]; then
		echo "ok - $target: $execs execs in $seconds s (${rate:-?}/s)"
		passed=$((passed + 1))
	else
		input=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$work/log" | tail -1)
		echo "not ok - $target: exit status $rc${input:+, input saved in $input}"
		grep -E 'ERROR|SUMMARY|contract broken|runtime error|#[0-9]+ 0x' "$work/log" |
			head -40 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
