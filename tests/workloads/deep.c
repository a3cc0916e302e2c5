/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * deep: a hot leaf at the bottom of a recursion of known depth, for
 * stack-depth tests and benchmarks.
 *
 *   main -> run_deep -> descend x DEPTH -> deep_leaf
 *
 * so a sample in deep_leaf has DEPTH + 3 frames from deep_leaf up to main;
 * perf also shows __libc_start_call_main above main (DEPTH + 4 in all), and
 * cuts stacks at kernel.perf_event_max_stack (127) frames. Nearly all the time is
 * spent in deep_leaf: each call of it loops for about a millisecond, while a
 * whole descent costs well under a microsecond.
 *
 * descend's recursive call is not a tail call (it adds to the result), and
 * -fno-optimize-sibling-calls also keeps gcc from turning the recursion into
 * a loop. deep_leaf calls leaf_start() on entry so that it is not a leaf
 * function: gcc drops the frame setup of leaf functions, and frame-pointer
 * unwinding would then lose the last descend frame (cprofd puts it back,
 * daemon/sampler/leaf_unwind.c, but perf, which depth tests compare with, does not).
 *
 * Prints its pid on stdout, then runs until killed or for --seconds N.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define DEFAULT_DEPTH 30
/* A frame of descend takes 16-32 bytes: 100000 of them fit the default 8 MiB stack. */
#define MAX_DEPTH 100000
#define LEAF_ITERATIONS 500000

static volatile uint64_t result_sink;

/* Cheap, called once per deep_leaf call: its only job is to give deep_leaf a frame. */
WORKLOAD_FUNCTION uint64_t leaf_start(uint64_t seed)
{
	return seed | 1;
}

WORKLOAD_FUNCTION uint64_t deep_leaf(uint64_t seed)
{
	uint64_t x = leaf_start(seed);

	SPIN(x, LEAF_ITERATIONS, 0x5851f42d4c957f2dULL, 0x14057b7ef767814fULL, 29);
	return x;
}

/* Called with remaining >= 1: that many descend frames sit above deep_leaf. */
WORKLOAD_FUNCTION uint64_t descend(uint64_t remaining, uint64_t seed)
{
	if (remaining <= 1)
		return deep_leaf(seed);
	return descend(remaining - 1, seed) + 1;
}

static bool deadline_passed(bool has_deadline, const struct timespec *deadline)
{
	struct timespec now;

	if (!has_deadline)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != deadline->tv_sec)
		return now.tv_sec > deadline->tv_sec;
	return now.tv_nsec >= deadline->tv_nsec;
}

WORKLOAD_FUNCTION void run_deep(uint64_t depth, bool has_deadline, const struct timespec *deadline)
{
	uint64_t x = 1;

	do
		x = depth ? descend(depth, x) : deep_leaf(x);
	while (!deadline_passed(has_deadline, deadline));
	result_sink = x;
}

static void usage(FILE *out, const char *program)
{
	fprintf(out,
		"Usage: %s [--depth N] [--seconds N]\n"
		"Prints its pid, then spins in deep_leaf below N (default %d) frames of\n"
		"descend, until killed or for N seconds.\n",
		program, DEFAULT_DEPTH);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "depth", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long long depth = DEFAULT_DEPTH, seconds = 0;
	struct timespec deadline = { 0 };
	int opt;

	while ((opt = getopt_long(argc, argv, "d:s:h", options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (parse_number(optarg, 0, MAX_DEPTH, &depth)) {
				fprintf(stderr, "%s: --depth wants 0..%d, got '%s'\n", argv[0],
					MAX_DEPTH, optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_number(optarg, 1, 86400, &seconds)) {
				fprintf(stderr, "%s: --seconds wants 1..86400, got '%s'\n", argv[0],
					optarg);
				return 2;
			}
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
	}

	printf("%d\n", (int)getpid());
	fflush(stdout);
	run_deep((uint64_t)depth, seconds > 0, &deadline);
	return 0;
}
