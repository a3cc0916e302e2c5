/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fixed_work: a fixed amount of CPU-bound work, for slowdown benchmarks.
 *
 *   main -> worker_main -> run_units -> work_unit   (per thread)
 *
 * Prints its pid, then waits until a line arrives on standard input, so a
 * profiler can attach first; then every thread runs --units units of the
 * same dependent multiply-xor chain and the program prints the wall time of
 * that work alone, in ns, and exits. Profiler start-up and tear-down are
 * outside the measured span.
 *
 * Built with frame pointers, like tests/workloads, so every profiler gets
 * the same full stacks; work_unit calls unit_start() to be a non-leaf.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __clang__
#define WORKLOAD_FUNCTION __attribute__((noinline))
#else
#define WORKLOAD_FUNCTION __attribute__((noinline, noclone))
#endif

#define MAX_THREADS 256
#define UNIT_ITERATIONS 1000000 /* about a millisecond here */

static volatile uint64_t result_sink;
static long long units = 1000;

WORKLOAD_FUNCTION uint64_t unit_start(uint64_t seed)
{
	return seed | 1;
}

WORKLOAD_FUNCTION uint64_t work_unit(uint64_t seed)
{
	uint64_t x = unit_start(seed);

	for (uint64_t i = 0; i < UNIT_ITERATIONS; i++) {
		x = x * 0x5851f42d4c957f2dULL + 0x14057b7ef767814fULL;
		x ^= x >> 29;
	}
	return x;
}

WORKLOAD_FUNCTION uint64_t run_units(uint64_t seed)
{
	for (long long i = 0; i < units; i++)
		seed = work_unit(seed);
	return seed;
}

WORKLOAD_FUNCTION void *worker_main(void *arg)
{
	result_sink = run_units((uintptr_t)arg + 1);
	return NULL;
}

static int64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "units", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	pthread_t threads[MAX_THREADS];
	long long n_threads = 1;
	char line[64];
	int64_t start;
	int opt;

	while ((opt = getopt_long(argc, argv, "u:t:h", options, NULL)) != -1) {
		switch (opt) {
		case 'u':
			units = atoll(optarg);
			break;
		case 't':
			n_threads = atoll(optarg);
			break;
		case 'h':
			printf("Usage: %s [--units N] [--threads T]\n"
			       "Prints its pid, waits for a line on stdin, runs N units of work on\n"
			       "each of T threads, prints the elapsed ns.\n",
			       argv[0]);
			return 0;
		default:
			return 2;
		}
	}
	if (units < 1 || n_threads < 1 || n_threads > MAX_THREADS) {
		fprintf(stderr, "%s: --units wants >= 1, --threads 1..%d\n", argv[0], MAX_THREADS);
		return 2;
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	start = monotonic_ns();
	for (long long i = 0; i < n_threads; i++) {
		int err = pthread_create(&threads[i], NULL, worker_main, (void *)(uintptr_t)i);

		if (err) {
			fprintf(stderr, "%s: creating thread %lld: %s\n", argv[0], i, strerror(err));
			return 1;
		}
	}
	for (long long i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	printf("%lld\n", (long long)(monotonic_ns() - start));
	return 0;
}
