// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the JIT perf-map parser (daemon/symbols/perf_map.c): /tmp/perf-PID.map is
 * written by the profiled process itself, so it is as hostile as input gets.
 * The parser's own fuzz body checks its invariants and aborts on a broken one.
 */
#include "fuzz.h"
#include "symbols/perf_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return perf_map__fuzz_one(data, size);
}
