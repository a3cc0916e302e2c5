// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture: loads cprofd's BPF sampler (as the daemon does, through
 * daemon/sampler/bpf_sampler.h), samples the given processes for a while and writes
 * every ring-buffer record to a file (bench/record_file.h) for the replay
 * harness. Prints the program's counters so a capture with losses is seen.
 *
 *   capture --pid PID [--pid PID...] [--hz HZ] [--seconds N] --out FILE
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record_file.h"
#include "procs/proc_stat.h"
#include "sampler/bpf_sampler.h"

#define MAX_PIDS 64
#define DRAIN_INTERVAL_NS 100000000ull

struct capture {
	FILE *out;
	uint64_t records;
	uint64_t bytes;
	int error; /* first write error, as errno */
};

static void on_record(void *ctx, const void *data, size_t size)
{
	static const uint8_t zeros[8];
	struct capture *c = ctx;
	struct record_file_entry entry = { .size = size };
	size_t pad = record_file__padded(size) - size;

	if (c->error)
		return;
	if (fwrite(&entry, sizeof(entry), 1, c->out) != 1 || fwrite(data, size, 1, c->out) != 1 ||
	    (pad && fwrite(zeros, pad, 1, c->out) != 1)) {
		c->error = errno ? errno : EIO;
		return;
	}
	c->records++;
	c->bytes += size;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void usage(FILE *out, const char *program)
{
	fprintf(out,
		"Usage: %s --pid PID [--pid PID...] [--hz HZ] [--seconds N] --out FILE\n"
		"Samples the processes with cprofd's BPF program and writes every ring-buffer\n"
		"record to FILE, for bench/replay.\n",
		program);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "hz", required_argument, NULL, 'z' },
		{ "seconds", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct capture capture = { 0 };
	struct bpf_sampler_options sampler_opts = {
		.ring_buffer_bytes = 16 << 20,
		.on_record = on_record,
		.ctx = &capture,
	};
	struct bpf_sampler *sampler;
	pid_t pids[MAX_PIDS];
	int n_pids = 0, opt, err, status = 1;
	unsigned int hz = 999;
	double seconds = 5;
	const char *out_path = NULL;
	uint64_t end_ns;

	while ((opt = getopt_long(argc, argv, "p:z:s:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (n_pids == MAX_PIDS || atoi(optarg) <= 0) {
				fprintf(stderr, "capture: bad or too many --pid '%s'\n", optarg);
				return 2;
			}
			pids[n_pids++] = atoi(optarg);
			break;
		case 'z':
			hz = atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (!n_pids || !out_path || hz == 0 || hz > 10000 || seconds <= 0) {
		usage(stderr, argv[0]);
		return 2;
	}

	capture.out = fopen(out_path, "we");
	if (!capture.out) {
		fprintf(stderr, "capture: opening %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	if (fwrite(RECORD_FILE_MAGIC, RECORD_FILE_MAGIC_LEN, 1, capture.out) != 1) {
		fprintf(stderr, "capture: writing %s: %s\n", out_path, strerror(errno));
		goto out_close;
	}
	sampler = bpf_sampler__new(&sampler_opts);
	if (!sampler) {
		fprintf(stderr, "capture: loading the BPF sampler: %s\n", strerror(errno));
		goto out_close;
	}
	for (int i = 0; i < n_pids; i++) {
		uint64_t start_ticks;

		err = proc_stat__start_ticks(pids[i], &start_ticks);
		if (!err)
			err = bpf_sampler__add_target(sampler, pids[i], start_ticks, i, 0);
		if (err) {
			fprintf(stderr, "capture: adding pid %d: %s\n", pids[i], strerror(-err));
			goto out_free;
		}
	}
	err = bpf_sampler__attach(sampler, hz);
	if (err) {
		fprintf(stderr, "capture: attaching at %u Hz: %s\n", hz, strerror(-err));
		goto out_free;
	}

	end_ns = monotonic_ns() + (uint64_t)(seconds * 1e9);
	while (monotonic_ns() < end_ns) {
		struct timespec pause = { 0, DRAIN_INTERVAL_NS };

		nanosleep(&pause, NULL);
		bpf_sampler__drain(sampler);
	}
	bpf_sampler__detach(sampler);
	bpf_sampler__drain(sampler);

	for (int i = 0; i < n_pids; i++) {
		struct cprof_session_counters counters;

		if (bpf_sampler__read_counters(sampler, i, &counters) == 0)
			printf("pid %d: fired %llu, lost %llu, stack errors %llu/%llu (user/kernel)\n",
			       pids[i], (unsigned long long)counters.fired,
			       (unsigned long long)counters.lost_ring_full,
			       (unsigned long long)counters.user_stack_errors,
			       (unsigned long long)counters.kernel_stack_errors);
	}
	if (capture.error) {
		fprintf(stderr, "capture: writing %s: %s\n", out_path, strerror(capture.error));
		goto out_free;
	}
	printf("wrote %s: %llu records, %llu bytes\n", out_path,
	       (unsigned long long)capture.records, (unsigned long long)capture.bytes);
	status = 0;

out_free:
	bpf_sampler__free(sampler);
out_close:
	if (fclose(capture.out) && status == 0) {
		fprintf(stderr, "capture: closing %s: %s\n", out_path, strerror(errno));
		status = 1;
	}
	return status;
}
