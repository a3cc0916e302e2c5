/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * templates: a CPU-bound C++ program whose hot functions are template
 * instances, class members in namespaces and functions with inlined code,
 * so that a profile shows demangled names, file:line and inlined frames.
 *
 *   main -> cprof_work::run_round -> nine hot functions, for 9, 8, ... 1
 *   units of iterations per round: distinct shares, so the top functions
 *   of two profilers of the same run can be compared.
 *
 * mix_step() is always_inline (the workloads build with -fno-inline): every
 * hot function's loop is inlined code of it, so its samples carry an
 * inlined frame "cprof_work::mix_step" above the function.
 *
 * As in hotspots.c, each hot function calls start_value() first, so it is
 * not a leaf and keeps a frame; frame-pointer stacks then reach main.
 *
 * Prints its pid on stdout, then runs until killed or for --seconds N.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unistd.h>

#define WORKLOAD_FUNCTION __attribute__((noinline, noclone))

namespace cprof_work {

static volatile uint64_t result_sink;

/*
 * Iterations of one share unit. A round of 45 units lasts a fraction of a
 * millisecond, far under the 10 ms between samples at 99 Hz, so the phase of
 * a sample within a round is random and samples do not alias with rounds.
 */
static const uint64_t unit_iterations = 2000;

WORKLOAD_FUNCTION uint64_t start_value(uint64_t seed, uint64_t salt)
{
	return (seed | 1) ^ salt;
}

static inline __attribute__((always_inline)) uint64_t mix_step(uint64_t x, uint64_t k)
{
	x = x * 0x5851f42d4c957f2dULL + k;
	return x ^ (x >> 29);
}

template <typename T, int Salt> struct mixer {
	WORKLOAD_FUNCTION static T run(T seed, uint64_t iterations)
	{
		uint64_t x = start_value((uint64_t)seed, Salt);

		for (uint64_t i = 0; i < iterations; i++)
			x = mix_step(x, Salt);
		return (T)x;
	}
};

class hasher {
public:
	WORKLOAD_FUNCTION uint64_t digest(uint64_t seed, uint64_t iterations) const
	{
		uint64_t x = start_value(seed, key_);

		for (uint64_t i = 0; i < iterations; i++)
			x = mix_step(x, key_ + i);
		return x;
	}

	WORKLOAD_FUNCTION uint64_t rehash(uint64_t seed, uint64_t iterations) const
	{
		uint64_t x = start_value(seed, key_ * 3);

		for (uint64_t i = 0; i < iterations; i++)
			x = mix_step(x ^ i, key_);
		return x;
	}

private:
	uint64_t key_ = 0x9e3779b97f4a7c15ULL;
};

template <typename T> WORKLOAD_FUNCTION T accumulate(T seed, uint64_t iterations)
{
	uint64_t x = start_value((uint64_t)seed, 7);

	for (uint64_t i = 0; i < iterations; i++)
		x = mix_step(x, 7) + (uint64_t)i;
	return (T)x;
}

namespace detail {
WORKLOAD_FUNCTION uint64_t churn(uint64_t seed, uint64_t iterations)
{
	uint64_t x = start_value(seed, 11);

	for (uint64_t i = 0; i < iterations; i++)
		x = mix_step(x, 11) ^ (x << 7);
	return x;
}
} // namespace detail

/* One round: nine hot functions, for 9 down to 1 units. */
WORKLOAD_FUNCTION uint64_t run_round(uint64_t seed)
{
	const hasher h;
	uint64_t x = seed;

	x += mixer<uint64_t, 1>::run(x, 9 * unit_iterations);
	x += h.digest(x, 8 * unit_iterations);
	x += accumulate<uint64_t>(x, 7 * unit_iterations);
	x += mixer<uint32_t, 2>::run((uint32_t)x, 6 * unit_iterations);
	x += h.rehash(x, 5 * unit_iterations);
	x += detail::churn(x, 4 * unit_iterations);
	x += accumulate<int64_t>((int64_t)x, 3 * unit_iterations);
	x += mixer<uint64_t, 3>::run(x, 2 * unit_iterations);
	x += mixer<uint16_t, 4>::run((uint16_t)x, 1 * unit_iterations);
	return x;
}

} // namespace cprof_work

int main(int argc, char **argv)
{
	double seconds = 0;
	struct timespec start, now;
	uint64_t x = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--seconds N]\n", argv[0]);
			return 2;
		}
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		for (int i = 0; i < 8; i++)
			x = cprof_work::run_round(x);
		cprof_work::result_sink = x;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 &&
		    (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= seconds)
			break;
	}
	return 0;
}
