// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deep_nofp: deep call chains in code built without frame pointers
 * (-O2 -fomit-frame-pointer, as most of a distribution is), for tests of
 * unwinding by CFI tables.
 *
 *   deep_nofp [--seconds S] [--depth N] [--threads T] [--signals]
 *
 * Each thread (the main one, and T - 1 more) runs
 *   descend(N) -> descend(N - 1) -> ... -> descend(0) -> spin_nofp()
 * where descend keeps values live across the call (so it saves registers
 * and moves rsp, but never sets up rbp), and spin_nofp is a frameless leaf.
 * With --signals, a 1 kHz SIGPROF timer runs a handler that spins too, so
 * some samples land in a signal frame (through __restore_rt). Prints its
 * pid first, then runs for S seconds (default 10).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;
static volatile int stop;
static unsigned int depth = 40;

extern "C" __attribute__((noinline)) uint64_t spin_nofp(uint64_t x)
{
	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

extern "C" __attribute__((noinline)) uint64_t descend(unsigned int n, uint64_t x)
{
	uint64_t a = x ^ n, b = x + n;

	if (n == 0)
		return spin_nofp(x);
	/*
	 * Live across the call: saved in callee-saved registers, on the stack.
	 * Not linear in the result, so -O2 cannot turn the recursion into a loop.
	 */
	a = descend(n - 1, a * 3 + b);
	return a * a + b;
}

extern "C" __attribute__((noinline)) uint64_t in_signal_handler(uint64_t x)
{
	return spin_nofp(x);
}

static void on_sigprof(int sig)
{
	sink += in_signal_handler(sink);
}

static uint64_t now_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

extern "C" __attribute__((noinline)) void *run_thread(void *arg)
{
	uint64_t x = (uintptr_t)arg;

	while (!stop)
		x = descend(depth, x);
	sink += x;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seconds", required_argument, NULL, 's' }, { "depth", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' }, { "signals", no_argument, NULL, 'S' },
		{ 0, 0, 0, 0 },
	};
	double seconds = 10;
	int threads = 1, opt;
	bool signals = false;
	pthread_t tids[64];
	uint64_t end;

	while ((opt = getopt_long(argc, argv, "s:d:t:S", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'd':
			depth = (unsigned int)atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'S':
			signals = true;
			break;
		default:
			fprintf(stderr, "usage: %s [--seconds S] [--depth N] [--threads T] [--signals]\n",
				argv[0]);
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || depth > 10000) {
		fprintf(stderr, "%s: bad --threads or --depth\n", argv[0]);
		return 2;
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (signals) {
		struct itimerval tv = { { 0, 1000 }, { 0, 1000 } };

		signal(SIGPROF, on_sigprof);
		setitimer(ITIMER_PROF, &tv, NULL);
	}
	for (int i = 1; i < threads; i++)
		pthread_create(&tids[i], NULL, run_thread, (void *)(uintptr_t)i);
	end = now_ns() + (uint64_t)(seconds * 1e9);
	for (uint64_t x = 1; now_ns() < end;)
		x = descend(depth, x), sink += x;
	stop = 1;
	for (int i = 1; i < threads; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
