// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the jitdump reader (daemon/symbols/jitdump.c): jit-PID.dump is written by
 * the profiled process itself, so it is as hostile as input gets. The
 * reader's own fuzz body reads the input from memory and from a file
 * through its smallest window, checks that both agree and that lookups
 * hold, and aborts if not.
 */
#include "fuzz.h"
#include "symbols/jitdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return jitdump__fuzz_one(data, size);
}
