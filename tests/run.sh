#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs every test and sums their results into one last line:
#   N passed, N failed[, N skipped]
# Each test (the layout check, a unit test binary or an integration script) prints
# "ok - name", "not ok - name" or "skip - name: why" lines and its own
# "N passed, N failed" line last.
#
# Usage: tests/run.sh [--unit|--integration|--fuzz] BUILD_DIR...
# With several build directories (say a normal and a sanitizer build),
# every test runs once per build. The fuzz smoke pass (tests/fuzz/run.sh,
# FUZZ_SMOKE_SECONDS per target, default 10, 0 to leave it out) runs once,
# on the first build: its targets carry their own sanitizers.
set -u

mode=all
case "${1:-}" in
--unit) mode=unit; shift ;;
--integration) mode=integration; shift ;;
--fuzz) mode=fuzz; shift ;;
esac
[ $# -gt 0 ] || set -- build
here=$(cd "$(dirname "$0")" && pwd)
# Sanitizer reports fail the test: a leak or error makes the program exit non-zero.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
[ -n "${LOAD_SECONDS:-}" ] && LOAD_SECONDS_SET=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0 failed=0 skipped=0
run_one() {
	local name=$1; shift
	local out rc line p f s
	echo "# $name"
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "not ok - $name: printed no summary (exit $rc)"
		failed=$((failed + 1))
		return
	fi
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
	s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name: exit status $rc"
		failed=$((failed + 1))
	fi
}

# The layout rules (includes one way, file sizes) hold for the sources, whatever the build.
if [ "$mode" = all ] || [ "$mode" = unit ]; then
	run_one "layout: self-test" python3 "$here/check_layout.py" --self-test
	run_one "layout" python3 "$here/check_layout.py" "$here/.."
fi

first_build=$1
for build in "$@"; do
	[ "$mode" = fuzz ] && break
	# The sanitizer pass repeats the load test for less time: it checks errors, not volume.
	if [ "$build" != "$first_build" ] && [ -z "${LOAD_SECONDS_SET:-}" ]; then
		export LOAD_SECONDS=15
	fi
	if [ "$mode" != integration ]; then
		for t in "$build"/tests/test_*; do
			[ -x "$t" ] || continue
			run_one "$build: $(basename "$t")" "$t"
		done
	fi
	if [ "$mode" != unit ]; then
		for t in "$here"/integration/test_*.sh; do
			[ -x "$t" ] || continue
			run_one "$build: $(basename "$t")" "$t" "$build"
		done
	fi
done

fuzz_seconds=${FUZZ_SMOKE_SECONDS:-10}
if { [ "$mode" = all ] || [ "$mode" = fuzz ]; } && [ "$fuzz_seconds" != 0 ]; then
	run_one "$1: fuzz smoke (${fuzz_seconds} s each)" "$here/fuzz/run.sh" "$1" "$fuzz_seconds"
fi

if [ "$skipped" != 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
