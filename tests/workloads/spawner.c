// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spawner: starts many short-lived processes, for tests of profiling a
 * process and its children (a build, a shell script, a test runner).
 *
 *   spawner [--count N] [--parallel P] [--variants K] [--wait-signal] -- PROGRAM [ARGS...]
 *
 * Prints its pid on stdout first. With --wait-signal it then waits for
 * SIGUSR1 (so a profiler can attach before the first child). Runs PROGRAM
 * N times (default 1000), at most P at once (default 2), each a fork and
 * an exec; with --variants K, a "%d" in PROGRAM is replaced by i % K, so
 * the children run K different binaries. Children's stdout goes to
 * /dev/null. Prints "spawned N, failed F" and exits 0 if every child
 * exited 0, else 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workload.h"

static void usage(FILE *out, const char *program)
{
	fprintf(out,
		"Usage: %s [--count N] [--parallel P] [--variants K] [--wait-signal] -- "
		"PROGRAM [ARGS...]\n"
		"Prints its pid, then runs PROGRAM N times (default 1000), P at once (default 2).\n",
		program);
}

/* Forks and execs argv with "%d" in argv[0] made variant; returns the pid or -1. */
static pid_t spawn(char **argv, long long variant, int devnull)
{
	char path[4096];
	pid_t pid;

	if (variant >= 0) {
		/* The format comes from our own command line, as a test wrote it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(path, sizeof(path), argv[0], (int)variant);
#pragma GCC diagnostic pop
	} else {
		snprintf(path, sizeof(path), "%s", argv[0]);
	}
	pid = fork();
	if (pid == 0) {
		dup2(devnull, STDOUT_FILENO);
		execv(path, argv);
		fprintf(stderr, "spawner: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "variants", required_argument, NULL, 'k' },
		{ "wait-signal", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long long count = 1000, parallel = 2, variants = 0, started = 0, running = 0, failed = 0;
	bool wait_signal = false;
	sigset_t usr1;
	int opt, devnull;

	while ((opt = getopt_long(argc, argv, "+n:j:k:wh", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
		case 'j':
		case 'k': {
			long long *value = opt == 'n' ? &count : opt == 'j' ? &parallel : &variants;

			if (parse_number(optarg, opt == 'k' ? 0 : 1, 1000000, value)) {
				fprintf(stderr, "%s: bad number '%s'\n", argv[0], optarg);
				return 2;
			}
			break;
		}
		case 'w':
			wait_signal = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0) {
		perror("spawner: /dev/null");
		return 1;
	}

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (wait_signal) {
		int sig;

		sigwait(&usr1, &sig);
	}

	while (started < count || running > 0) {
		int status;
		pid_t pid;

		if (started < count && running < parallel) {
			if (spawn(argv + optind, variants ? started % variants : -1, devnull) < 0) {
				perror("spawner: fork");
				failed++;
			} else {
				running++;
			}
			started++;
			continue;
		}
		pid = wait(&status);
		if (pid < 0)
			break;
		running--;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	printf("spawned %lld, failed %lld\n", count, failed);
	return failed ? 1 : 0;
}
