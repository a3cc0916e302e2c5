/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hotspots: a CPU-bound program with known functions and fixed CPU shares,
 * the reference workload of the integration tests.
 *
 *   main -> run_workload -> hot_a   50% of the CPU
 *                        -> hot_b   30%
 *                        -> hot_c   20%
 *
 * With --threads T, T threads named "hot-worker-0" .. "hot-worker-T-1" each
 * run the same mix (worker_main -> run_workload -> hot_X) while the main
 * thread waits in pthread_join and takes no samples.
 *
 * The shares are a property of the code, not of the clock: the three hot
 * functions run the same instruction sequence (a dependent multiply, add,
 * shift and xor chain) for 5, 3 and 2 units of iterations per round, so they
 * hold on any machine. A round lasts about a millisecond here, well under a
 * 99 Hz sampling period, so samples do not alias with it.
 *
 * Frame pointers: gcc 12 at -O2 drops the frame setup of leaf functions even
 * with -mno-omit-leaf-frame-pointer, and frame-pointer unwinding then loses
 * the leaf's caller. Each hot function therefore calls start_value() once on
 * entry, before its loop: that makes it a non-leaf, so its prologue pushes
 * %rbp and a sample taken in the loop unwinds to run_workload and main.
 * (cprofd recovers a frameless leaf's caller itself, daemon/sampler/leaf_unwind.c,
 * but perf -g, which the tests compare against, does not: the workaround
 * stays so both see the same stacks. tests/workloads/leaf_calls.c has the
 * real leaves.)
 * noclone keeps gcc from renaming a function into a ".constprop" clone.
 *
 * Prints its pid on stdout, then runs until killed or for --seconds N.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define MAX_THREADS 256

/* Iterations of one share unit: hot_a runs 5 units a round, hot_b 3, hot_c 2 (--mix). */
#define DEFAULT_UNIT_ITERATIONS 40000

/* Options, set once by main before any thread starts. */
static uint64_t unit_iterations = DEFAULT_UNIT_ITERATIONS;
static uint64_t mix[3] = { 5, 3, 2 };
static bool has_deadline;
static struct timespec deadline;

/* Results land here so the compiler cannot drop the arithmetic. */
static volatile uint64_t result_sink;

/* Cheap, called once per hot-function call: its only job is to give the caller a frame. */
WORKLOAD_FUNCTION uint64_t start_value(uint64_t seed, uint64_t salt)
{
	return (seed | 1) ^ salt;
}

WORKLOAD_FUNCTION uint64_t hot_a(uint64_t seed, uint64_t iterations)
{
	uint64_t x = start_value(seed, 0xa);

	SPIN(x, iterations, 0x5851f42d4c957f2dULL, 0x14057b7ef767814fULL, 29);
	return x;
}

WORKLOAD_FUNCTION uint64_t hot_b(uint64_t seed, uint64_t iterations)
{
	uint64_t x = start_value(seed, 0xb);

	SPIN(x, iterations, 0x2545f4914f6cdd1dULL, 0x9e3779b97f4a7c15ULL, 31);
	return x;
}

WORKLOAD_FUNCTION uint64_t hot_c(uint64_t seed, uint64_t iterations)
{
	uint64_t x = start_value(seed, 0xc);

	SPIN(x, iterations, 0xd1342543de82ef95ULL, 0xda942042e4dd58b5ULL, 27);
	return x;
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

/*
 * One round is 10 units of iterations (by default); the deadline is checked
 * between rounds. Each round starts with another of the three functions, in
 * a pseudo-random order: a sampler whose period happens to be a multiple of
 * a round's length (which depends on the machine) would otherwise hit the
 * same function at the same phase every time, and two samplers at different
 * phases would disagree (seen: hot_a 47.5% against perf's 53.1% at 397 Hz).
 */
WORKLOAD_FUNCTION void run_workload(void)
{
	uint64_t x = 1, order = 0x853c49e6748fea9bull;

	do {
		order = order * 6364136223846793005ull + 1442695040888963407ull;
		switch ((order >> 33) % 3) {
		case 0:
			x ^= hot_a(x, mix[0] * unit_iterations);
			x ^= hot_b(x, mix[1] * unit_iterations);
			x ^= hot_c(x, mix[2] * unit_iterations);
			break;
		case 1:
			x ^= hot_b(x, mix[1] * unit_iterations);
			x ^= hot_c(x, mix[2] * unit_iterations);
			x ^= hot_a(x, mix[0] * unit_iterations);
			break;
		default:
			x ^= hot_c(x, mix[2] * unit_iterations);
			x ^= hot_a(x, mix[0] * unit_iterations);
			x ^= hot_b(x, mix[1] * unit_iterations);
			break;
		}
	} while (!deadline_passed());
	result_sink = x;
}

WORKLOAD_FUNCTION void *worker_main(void *arg)
{
	char name[16];

	/* Thread names are at most 15 characters: "hot-worker-255" fits. */
	snprintf(name, sizeof(name), "hot-worker-%u", (unsigned int)(uintptr_t)arg);
	pthread_setname_np(pthread_self(), name);
	run_workload();
	return NULL;
}

static void usage(FILE *out, const char *program)
{
	fprintf(out,
		"Usage: %s [--seconds N] [--threads T] [--unit-iterations N] [--mix A,B,C]\n"
		"Prints its pid, then runs hot_a/hot_b/hot_c at 50/30/20%% of the CPU\n"
		"(A:B:C units a round with --mix, each 1..100)\n"
		"until killed or for N seconds. With --threads, T threads named\n"
		"hot-worker-0..T-1 run the mix and the main thread only waits.\n",
		program);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "unit-iterations", required_argument, NULL, 'u' },
		{ "mix", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	pthread_t threads[MAX_THREADS];
	long long seconds = 0, thread_count = 0, value;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:t:u:m:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_number(optarg, 1, 86400, &seconds)) {
				fprintf(stderr, "%s: --seconds wants 1..86400, got '%s'\n", argv[0],
					optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_number(optarg, 1, MAX_THREADS, &thread_count)) {
				fprintf(stderr, "%s: --threads wants 1..%d, got '%s'\n", argv[0],
					MAX_THREADS, optarg);
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
		case 'm': {
			unsigned int a, b, c;
			char end;

			if (sscanf(optarg, "%u,%u,%u%c", &a, &b, &c, &end) != 3 || !a || !b || !c ||
			    a > 100 || b > 100 || c > 100) {
				fprintf(stderr, "%s: --mix wants A,B,C of 1..100, got '%s'\n",
					argv[0], optarg);
				return 2;
			}
			mix[0] = a;
			mix[1] = b;
			mix[2] = c;
			break;
		}
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

	if (thread_count == 0) {
		run_workload();
		return 0;
	}
	for (long long i = 0; i < thread_count; i++) {
		int err = pthread_create(&threads[i], NULL, worker_main, (void *)(uintptr_t)i);

		if (err) {
			fprintf(stderr, "%s: creating thread %lld: %s\n", argv[0], i,
				strerror(err));
			return 1;
		}
	}
	for (long long i = 0; i < thread_count; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
