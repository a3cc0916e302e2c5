/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the bundled workloads share: functions that keep their names and
 * frames in every profile, the arithmetic they spin on, and strict option
 * parsing. Header-only: each workload is one self-contained program.
 */
#ifndef CPROF_WORKLOAD_H
#define CPROF_WORKLOAD_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* No inlining and no .constprop/.isra clones: profiles must show these names. */
#ifdef __clang__
#define WORKLOAD_FUNCTION __attribute__((noinline))
#else
#define WORKLOAD_FUNCTION __attribute__((noinline, noclone))
#endif

/*
 * Spins x through iterations steps of a multiply-xorshift: CPU work the
 * compiler cannot fold away. A macro, not an inline function, so the
 * cycles belong to the calling function even for profilers that show
 * inlined frames (DWARF would otherwise name this the leaf).
 */
#define SPIN(x, iterations, mul, add, shift)                                                   \
	do {                                                                                   \
		for (uint64_t spin_i_ = 0; spin_i_ < (iterations); spin_i_++) {                \
			(x) = (x) * (mul) + (add);                                             \
			(x) ^= (x) >> (shift);                                                 \
		}                                                                              \
	} while (0)

/* Parses a decimal integer in [min, max]; returns 0 or -EINVAL. */
static inline int parse_number(const char *text, long long min, long long max,
			       long long *ret_value)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || end == text || *end || value < min || value > max)
		return -EINVAL;
	*ret_value = value;
	return 0;
}

#endif /* CPROF_WORKLOAD_H */
