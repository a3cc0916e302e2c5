/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * short_lived: spins for --ms N milliseconds (default 200) and exits, for
 * tests of a target that exits while it is being profiled.
 *
 *   main -> run_for -> short_hot
 *
 * short_hot loops for a fixed number of iterations (about 0.1 ms here) and
 * run_for calls it until the time is up. short_hot calls chunk_start() on
 * entry so that it is not a leaf function and keeps its frame (see
 * hotspots.c). Prints its pid on stdout first.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define DEFAULT_MS 200
#define CHUNK_ITERATIONS 50000

static volatile uint64_t result_sink;

/* Cheap, called once per short_hot call: its only job is to give short_hot a frame. */
WORKLOAD_FUNCTION uint64_t chunk_start(uint64_t seed)
{
	return seed | 1;
}

WORKLOAD_FUNCTION uint64_t short_hot(uint64_t seed)
{
	uint64_t x = chunk_start(seed);

	SPIN(x, CHUNK_ITERATIONS, 0x5851f42d4c957f2dULL, 0x14057b7ef767814fULL, 29);
	return x;
}

static int64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

WORKLOAD_FUNCTION void run_for(int64_t milliseconds)
{
	int64_t end = monotonic_ns() + milliseconds * 1000000;
	uint64_t x = 1;

	do
		x = short_hot(x);
	while (monotonic_ns() < end);
	result_sink = x;
}

static void usage(FILE *out, const char *program)
{
	fprintf(out,
		"Usage: %s [--ms N]\n"
		"Prints its pid, spins in short_hot for N milliseconds (default %d), exits 0.\n",
		program, DEFAULT_MS);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "ms", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long long milliseconds = DEFAULT_MS;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "m:h", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			errno = 0;
			milliseconds = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || milliseconds < 0 ||
			    milliseconds > 86400000) {
				fprintf(stderr, "%s: --ms wants 0..86400000, got '%s'\n", argv[0],
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

	printf("%d\n", (int)getpid());
	fflush(stdout);
	run_for(milliseconds);
	return 0;
}
