/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leaf_calls: CPU time spent in real leaf functions, each called from a
 * known middle function, to check that profiles keep the leaf's caller.
 *
 *   main -> run_workload -> middle_a -> leaf_a        3/8 of the CPU
 *                                    -> shared_leaf   2/8
 *                        -> middle_b -> leaf_b        2/8
 *                                    -> shared_leaf   1/8
 *
 * gcc and clang at -O2 give a leaf no frame even with
 * -mno-omit-leaf-frame-pointer: %rbp still points at the middle function's
 * frame while the leaf runs, so a frame-pointer walk goes from the leaf to
 * run_workload and the middle function is lost. leaf_a and shared_leaf save
 * nothing (CFA = sp + 8); leaf_b saves three callee-saved registers
 * without a frame (CFA = sp + 32), so its return address is not at sp.
 *
 * Prints its pid on stdout, then runs until killed or for --seconds N.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define DEFAULT_UNIT_ITERATIONS 40000

static uint64_t unit_iterations = DEFAULT_UNIT_ITERATIONS;
static bool has_deadline;
static struct timespec deadline;
static volatile uint64_t result_sink;

WORKLOAD_FUNCTION uint64_t leaf_a(uint64_t x, uint64_t iterations)
{
	SPIN(x, iterations, 0x5851f42d4c957f2dULL, 0x14057b7ef767814fULL, 29);
	return x;
}

/*
 * As code built without frame pointers (libc) looks: the clobbers make the
 * compiler push and pop rbx, r12 and r13, and with frame pointers off it
 * does so without setting up %rbp: CFA = sp + 32 in the loop.
 */
#ifdef __clang__
#define NO_FRAME_POINTER
#else
#define NO_FRAME_POINTER __attribute__((optimize("omit-frame-pointer")))
#endif

WORKLOAD_FUNCTION NO_FRAME_POINTER uint64_t leaf_b(uint64_t x, uint64_t iterations)
{
	__asm__ volatile("" ::: "rbx", "r12", "r13");
	SPIN(x, iterations, 0x2545f4914f6cdd1dULL, 0x9e3779b97f4a7c15ULL, 31);
	__asm__ volatile("" ::: "rbx", "r12", "r13");
	return x;
}

WORKLOAD_FUNCTION uint64_t shared_leaf(uint64_t x, uint64_t iterations)
{
	SPIN(x, iterations, 0xd1342543de82ef95ULL, 0xda942042e4dd58b5ULL, 27);
	return x;
}

/* Middle functions call, so they set up a frame; using the results keeps the calls non-tail. */
WORKLOAD_FUNCTION uint64_t middle_a(uint64_t x)
{
	x = leaf_a(x, 3 * unit_iterations);
	x = shared_leaf(x, 2 * unit_iterations);
	return x + 1;
}

WORKLOAD_FUNCTION uint64_t middle_b(uint64_t x)
{
	x = leaf_b(x, 2 * unit_iterations);
	x = shared_leaf(x, 1 * unit_iterations);
	return x + 3;
}

static bool deadline_passed(void)
{
	struct timespec now;

	if (!has_deadline)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != deadline.tv_sec)
		return now.tv_sec > deadline.tv_sec;
	return now.tv_nsec >= deadline.tv_nsec;
}

WORKLOAD_FUNCTION void run_workload(void)
{
	uint64_t x = 1;

	do {
		x ^= middle_a(x);
		x ^= middle_b(x);
	} while (!deadline_passed());
	result_sink = x;
}

static void usage(FILE *out, const char *program)
{
	fprintf(out,
		"Usage: %s [--seconds N] [--unit-iterations N]\n"
		"Prints its pid, then runs leaf_a, leaf_b and shared_leaf under middle_a and\n"
		"middle_b until killed or for N seconds.\n",
		program);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "unit-iterations", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long long seconds = 0, value;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:u:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_number(optarg, 1, 86400, &seconds)) {
				fprintf(stderr, "%s: --seconds wants 1..86400, got '%s'\n", argv[0],
					optarg);
				return 2;
			}
			break;
		case 'u':
			if (parse_number(optarg, 1, 1000000000, &value)) {
				fprintf(stderr, "%s: --unit-iterations wants 1..1e9, got '%s'\n",
					argv[0], optarg);
				return 2;
			}
			unit_iterations = (uint64_t)value;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		return 2;
	}
	if (seconds > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += seconds;
		has_deadline = true;
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	run_workload();
	return 0;
}
