// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * replay: the daemon's aggregation path without the kernel, for throughput.
 *
 *   replay FILE [--seconds N]
 *     Reads records captured by bench/capture and feeds them, in a loop,
 *     through what the daemon does per record: record__decode_sample(), the
 *     session by slot, leaf_unwind__apply() (the leaf's caller: needs the
 *     captured processes still running, as their maps and files are read),
 *     session__add_sample() (stack table intern + count).
 *     The first pass starts from empty tables (every stack new); the later
 *     passes find every stack already there, as a long session does.
 *     Prints samples per second of CPU time on one core for both.
 *
 *   replay --encode N [--depth D]
 *     Builds a session with N distinct stacks of D user frames (addresses
 *     in this binary's own text, so they map and symbolize for real) and
 *     times profile__build(): symbolize, encode pprof, gzip.
 *
 * Output lines are "key value" pairs, one result per line, for bench/run.py.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record_file.h"
#include "procs/process_table.h"
#include "profiles/profile.h"
#include "profiles/session.h"
#include "profiles/stack_table.h"
#include "sampler/leaf_unwind.h"
#include "sampler/record.h"
#include "symbols/symbolizer.h"

#define STACK_TABLE_BYTES (1ull << 30)
#define MAX_PROCESSES 4096

/* The bounds of this binary's text, from the linker. */
extern const char __executable_start[];
extern const char etext[];

struct records {
	uint8_t *data; /* 8-byte aligned */
	size_t size;
	uint64_t count;
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int read_records(const char *path, struct records *ret)
{
	FILE *f = fopen(path, "re");
	char magic[RECORD_FILE_MAGIC_LEN];
	long size;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < RECORD_FILE_MAGIC_LEN ||
	    fseek(f, 0, SEEK_SET)) {
		err = -EINVAL;
		goto out;
	}
	if (fread(magic, sizeof(magic), 1, f) != 1 ||
	    memcmp(magic, RECORD_FILE_MAGIC, RECORD_FILE_MAGIC_LEN)) {
		err = -EINVAL;
		goto out;
	}
	ret->size = size - RECORD_FILE_MAGIC_LEN;
	ret->data = aligned_alloc(8, record_file__padded(ret->size) ? record_file__padded(ret->size) : 8);
	if (!ret->data) {
		err = -ENOMEM;
		goto out;
	}
	if (ret->size && fread(ret->data, ret->size, 1, f) != 1) {
		err = -EIO;
		goto out;
	}
	ret->count = 0;
	for (size_t at = 0; at + sizeof(struct record_file_entry) <= ret->size;) {
		const struct record_file_entry *e = (const void *)(ret->data + at);

		at += sizeof(*e) + record_file__padded(e->size);
		if (at > ret->size) {
			err = -EINVAL;
			goto out;
		}
		ret->count++;
	}
out:
	fclose(f);
	return err;
}

struct replay_state {
	struct stack_table *stacks;
	struct process_table *processes;
	struct leaf_unwind *leaf;
	struct session *sessions[CPROF_MAX_SESSIONS];
	uint64_t samples, bad, stray;
};

/* One pass over every record, as the daemon's on_record() handles them. */
static void replay_pass(struct replay_state *st, const struct records *recs)
{
	for (size_t at = 0; at < recs->size;) {
		const struct record_file_entry *e = (const void *)(recs->data + at);
		const void *data = recs->data + at + sizeof(*e);
		const struct cprof_sample_record *r = record__decode_sample(data, e->size);
		struct session *s;

		at += sizeof(*e) + record_file__padded(e->size);
		if (!r) {
			st->bad++;
			continue;
		}
		s = st->sessions[r->session_slot];
		if (!s || s->stop_mono_ns || (pid_t)r->tgid != s->pid) {
			st->stray++;
			continue;
		}
		r = leaf_unwind__apply(st->leaf, st->processes, r);
		session__add_sample(s, st->stacks, st->processes, r);
		st->samples++;
	}
}

/* A session for every slot the records use, named by the first tgid seen in it. */
static int make_sessions(struct replay_state *st, const struct records *recs)
{
	for (size_t at = 0; at < recs->size;) {
		const struct record_file_entry *e = (const void *)(recs->data + at);
		const struct cprof_sample_record *r = record__decode_sample(
			recs->data + at + sizeof(*e), e->size);

		at += sizeof(*e) + record_file__padded(e->size);
		if (!r || st->sessions[r->session_slot])
			continue;
		st->sessions[r->session_slot] = session__new(r->tgid, r->session_slot, 999);
		if (!st->sessions[r->session_slot])
			return -ENOMEM;
	}
	return 0;
}

static void free_state(struct replay_state *st)
{
	for (int i = 0; i < CPROF_MAX_SESSIONS; i++)
		session__free(st->sessions[i], st->stacks, st->processes);
	leaf_unwind__free(st->leaf);
	process_table__free(st->processes);
	stack_table__free(st->stacks);
	memset(st, 0, sizeof(*st));
}

static int new_state(struct replay_state *st)
{
	memset(st, 0, sizeof(*st));
	st->stacks = stack_table__new(STACK_TABLE_BYTES);
	st->processes = process_table__new(MAX_PROCESSES);
	st->leaf = leaf_unwind__new(64);
	if (!st->stacks || !st->processes || !st->leaf) {
		free_state(st);
		return -ENOMEM;
	}
	return 0;
}

static int run_replay(const char *path, double seconds)
{
	struct replay_state st;
	struct records recs = { 0 };
	uint64_t cpu0, cpu1, wall0, wall1, passes = 0, samples0;
	uint64_t frames = 0, max_depth = 0;
	struct leaf_unwind_stats leaf_stats;
	size_t n_stacks;
	int err;

	err = read_records(path, &recs);
	if (err) {
		fprintf(stderr, "replay: reading %s: %s\n", path, strerror(-err));
		return 1;
	}
	for (size_t at = 0; at < recs.size;) {
		const struct record_file_entry *e = (const void *)(recs.data + at);
		const struct cprof_sample_record *r =
			record__decode_sample(recs.data + at + sizeof(*e), e->size);

		at += sizeof(*e) + record_file__padded(e->size);
		if (!r)
			continue;
		frames += r->kernel_depth + r->user_depth;
		if ((uint64_t)r->kernel_depth + r->user_depth > max_depth)
			max_depth = r->kernel_depth + r->user_depth;
	}
	if (new_state(&st) || make_sessions(&st, &recs)) {
		fprintf(stderr, "replay: out of memory\n");
		return 1;
	}

	/* Cold: every stack is new to the table. */
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	replay_pass(&st, &recs);
	cpu1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	n_stacks = stack_table__count(st.stacks);
	printf("records %llu\n", (unsigned long long)recs.count);
	printf("mean_depth %.1f\n", recs.count ? (double)frames / recs.count : 0.0);
	printf("max_depth %llu\n", (unsigned long long)max_depth);
	printf("distinct_stacks %zu\n", n_stacks);
	printf("bad_records %llu\n", (unsigned long long)st.bad);
	printf("stray_records %llu\n", (unsigned long long)st.stray);
	leaf_unwind__stats(st.leaf, &leaf_stats);
	printf("leaf_callers_recovered %llu\n", (unsigned long long)leaf_stats.recovered);
	printf("leaf_callers_not_captured %llu\n", (unsigned long long)leaf_stats.not_captured);
	printf("cold_samples_per_cpu_second %.0f\n",
	       st.samples * 1e9 / (double)(cpu1 - cpu0 ? cpu1 - cpu0 : 1));

	/* Steady: the same records again and again, every stack known. */
	samples0 = st.samples;
	wall0 = clock_ns(CLOCK_MONOTONIC);
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	do {
		replay_pass(&st, &recs);
		passes++;
		wall1 = clock_ns(CLOCK_MONOTONIC);
	} while (wall1 - wall0 < seconds * 1e9);
	cpu1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	printf("steady_passes %llu\n", (unsigned long long)passes);
	printf("steady_samples_per_cpu_second %.0f\n",
	       (st.samples - samples0) * 1e9 / (double)(cpu1 - cpu0 ? cpu1 - cpu0 : 1));
	printf("steady_ns_per_sample %.1f\n",
	       (double)(cpu1 - cpu0) / (double)(st.samples - samples0 ? st.samples - samples0 : 1));
	free_state(&st);
	free(recs.data);
	return 0;
}

/* A well-mixed 64-bit hash, to spread synthetic frames over the text. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static int run_encode(unsigned int n_stacks, unsigned int depth, unsigned int n_threads)
{
	struct replay_state st;
	size_t size = sizeof(struct cprof_sample_record) + depth * sizeof(uint64_t);
	struct cprof_sample_record *r = aligned_alloc(8, (size + 7) & ~(size_t)7);
	struct symbolizer *symbols = symbolizer__new(NULL);
	uint64_t text = (uint64_t)(uintptr_t)__executable_start;
	uint64_t text_size = (uint64_t)(uintptr_t)etext - text;
	void *data = NULL;
	size_t data_size = 0;
	uint64_t unmapped;
	uint64_t t0, t1;
	int err;

	if (!r || !symbols || new_state(&st)) {
		fprintf(stderr, "replay: out of memory\n");
		return 1;
	}
	st.sessions[0] = session__new(getpid(), 0, 99);
	if (!st.sessions[0]) {
		fprintf(stderr, "replay: out of memory\n");
		return 1;
	}
	memset(r, 0, size);
	r->header.type = CPROF_RECORD_SAMPLE;
	r->header.version = CPROF_RECORD_VERSION;
	r->header.size = size;
	r->tgid = getpid();
	r->user_depth = depth;
	strcpy(r->comm, "replay");
	/*
	 * Stack i: frames drawn from 4096 addresses spread over the text, so
	 * locations repeat across stacks as they do in real profiles, with
	 * the leaf chosen by i so every stack is distinct.
	 */
	for (unsigned int i = 0; i < n_stacks; i++) {
		r->tid = getpid() + i % n_threads;
		for (unsigned int f = 0; f < depth; f++) {
			uint64_t pick = f == 0 ? i : mix((uint64_t)i * 131 + f) % 4096;

			r->ips[f] = text + mix(pick + 1) % text_size;
		}
		r->ips[0] = text + ((uint64_t)i * 7919) % text_size;
		session__add_sample(st.sessions[0], st.stacks, st.processes, r);
	}
	printf("stacks %zu\n", stack_table__count(st.stacks));
	printf("counts %zu\n", st.sessions[0]->n_counts);

	t0 = clock_ns(CLOCK_MONOTONIC);
	err = profile__build(st.sessions[0], st.stacks, st.processes, symbols, &data, &data_size,
			     &unmapped);
	t1 = clock_ns(CLOCK_MONOTONIC);
	if (err) {
		fprintf(stderr, "replay: building the profile: %s\n", strerror(-err));
		return 1;
	}
	printf("encode_ms %.1f\n", (t1 - t0) / 1e6);
	printf("profile_bytes %zu\n", data_size);
	/* A second build finds every binary's symbols cached, as a daemon that ran a while does. */
	free(data);
	t0 = clock_ns(CLOCK_MONOTONIC);
	err = profile__build(st.sessions[0], st.stacks, st.processes, symbols, &data, &data_size,
			     &unmapped);
	t1 = clock_ns(CLOCK_MONOTONIC);
	if (err) {
		fprintf(stderr, "replay: building the profile: %s\n", strerror(-err));
		return 1;
	}
	printf("encode_warm_ms %.1f\n", (t1 - t0) / 1e6);
	free(data);
	free(r);
	symbolizer__free(symbols);
	free_state(&st);
	return 0;
}

static void usage(FILE *out, const char *program)
{
	fprintf(out,
		"Usage: %s FILE [--seconds N]    replay captured records (bench/capture)\n"
		"       %s --encode N [--depth D] [--threads T]\n"
		"                                time pprof building for N distinct stacks\n",
		program, program);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "encode", required_argument, NULL, 'e' },
		{ "depth", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	double seconds = 3;
	long n_stacks = 0, depth = 16, n_threads = 1;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:e:d:t:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'e':
			n_stacks = atol(optarg);
			break;
		case 'd':
			depth = atol(optarg);
			break;
		case 't':
			n_threads = atol(optarg);
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (n_stacks > 0) {
		if (depth < 1 || depth > CPROF_MAX_USER_FRAMES || n_threads < 1) {
			usage(stderr, argv[0]);
			return 2;
		}
		return run_encode(n_stacks, depth, n_threads);
	}
	if (optind != argc - 1 || seconds <= 0) {
		usage(stderr, argv[0]);
		return 2;
	}
	return run_replay(argv[optind], seconds);
}
