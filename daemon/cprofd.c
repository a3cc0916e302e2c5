// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cprofd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf_sampler.h"
#include "cprof_protocol.h"
#include "cprof_record.h"
#include "json_writer.h"
#include "process_table.h"
#include "profile.h"
#include "session.h"
#include "stack_table.h"
#include "symbolizer.h"

/* How long stop waits for programs still running on other CPUs to log. */
#define STOP_SETTLE_TRIES 20
#define STOP_SETTLE_US 1000

struct cprofd {
	struct cprofd_options opts;
	struct bpf_sampler *sampler;
	struct stack_table *stacks;
	struct process_table *processes;
	struct symbolizer *symbols;
	struct session *sessions[CPROF_MAX_SESSIONS]; /* by slot */
	size_t n_sessions;
	uint64_t records; /* records drained */
	uint64_t bad_records; /* malformed: wrong version, size or depths */
	uint64_t stray_records; /* for no session (a slot ended before the record came) */
	uint64_t total_samples;
};

static void on_record(void *ctx, const void *data, size_t size);

struct cprofd *cprofd__new(const struct cprofd_options *opts)
{
	struct symbolizer_options sym_opts = {
		.debug_root = opts->debug_root,
		.max_memory = opts->symbol_cache_bytes,
	};
	struct cprofd *d = calloc(1, sizeof(*d));
	int err = -ENOMEM;

	if (!d)
		return NULL;
	d->opts = *opts;
	d->stacks = stack_table__new(opts->stack_table_bytes);
	d->processes = process_table__new(opts->max_processes);
	d->symbols = symbolizer__new(&sym_opts);
	if (!d->stacks || !d->processes || !d->symbols)
		goto err;
	if (!opts->no_sampler) {
		struct bpf_sampler_options sampler_opts = {
			.ring_buffer_bytes = opts->ring_buffer_bytes,
			.wakeup_bytes = opts->wakeup_bytes,
			.on_record = on_record,
			.ctx = d,
		};

		d->sampler = bpf_sampler__new(&sampler_opts);
		if (!d->sampler) {
			err = -errno;
			goto err;
		}
	}
	return d;
err:
	cprofd__free(d);
	errno = -err;
	return NULL;
}

void cprofd__free(struct cprofd *d)
{
	if (!d)
		return;
	/* Unload first: no record may arrive for a freed session. */
	bpf_sampler__free(d->sampler);
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++)
		session__free(d->sessions[slot], d->stacks, d->processes);
	symbolizer__free(d->symbols);
	process_table__free(d->processes);
	stack_table__free(d->stacks);
	free(d);
}

unsigned int cprofd__default_hz(const struct cprofd *d)
{
	return d->opts.default_hz;
}

static struct session *find_session(const struct cprofd *d, pid_t pid)
{
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++)
		if (d->sessions[slot] && d->sessions[slot]->pid == pid)
			return d->sessions[slot];
	return NULL;
}

bool cprofd__has_session(const struct cprofd *d, pid_t pid)
{
	return find_session(d, pid) != NULL;
}

/* A record must be exactly what its header and depths say. */
static const struct cprof_sample_record *check_sample(const void *data, size_t size)
{
	const struct cprof_sample_record *r = data;

	if (size < sizeof(*r) || r->header.type != CPROF_RECORD_SAMPLE ||
	    r->header.version != CPROF_RECORD_VERSION || r->header.size != size)
		return NULL;
	if (r->kernel_depth > CPROF_MAX_KERNEL_FRAMES || r->user_depth > CPROF_MAX_USER_FRAMES ||
	    size != sizeof(*r) + ((size_t)r->kernel_depth + r->user_depth) * sizeof(__u64))
		return NULL;
	if (r->session_slot >= CPROF_MAX_SESSIONS)
		return NULL;
	return r;
}

static void on_record(void *ctx, const void *data, size_t size)
{
	const struct cprof_sample_record *r = check_sample(data, size);
	struct cprofd *d = ctx;
	struct session *s;

	d->records++;
	if (!r) {
		d->bad_records++;
		return;
	}
	s = d->sessions[r->session_slot];
	/* A slot can be reused while a record of its last owner is in flight. */
	if (!s || s->stop_mono_ns || (pid_t)r->tgid != s->pid) {
		d->stray_records++;
		return;
	}
	session__add_sample(s, d->stacks, d->processes, r);
	d->total_samples++;
}

int cprofd__start_session(struct cprofd *d, pid_t pid, unsigned int hz)
{
	struct session *s;
	int slot, err;

	if (hz < CPROF_MIN_HZ || hz > CPROF_MAX_HZ)
		return -ERANGE;
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return -ESRCH;
	if (find_session(d, pid))
		return -EEXIST;
	if (!d->sampler)
		return -ENODEV;
	for (slot = 0; slot < CPROF_MAX_SESSIONS && d->sessions[slot]; slot++)
		;
	if (slot == CPROF_MAX_SESSIONS)
		return -ENOSPC;
	/* One perf event per CPU serves every session, so they share one rate. */
	if (bpf_sampler__hz(d->sampler) && bpf_sampler__hz(d->sampler) != hz)
		return -EBUSY;

	s = session__new(pid, slot, hz);
	if (!s)
		return -ENOMEM;
	err = bpf_sampler__reset_counters(d->sampler, slot);
	if (err)
		goto err_free;
	err = bpf_sampler__attach(d->sampler, hz);
	if (err)
		goto err_free;
	err = bpf_sampler__add_target(d->sampler, pid, slot);
	if (err)
		goto err_detach;
	d->sessions[slot] = s;
	d->n_sessions++;
	/* Read the maps now: a process may exit before its first sample is drained. */
	if (process_table__acquire(d->processes, pid) == 0)
		s->process_acquired = true;
	return 0;

err_detach:
	if (!d->n_sessions)
		bpf_sampler__detach(d->sampler);
err_free:
	session__free(s, d->stacks, d->processes);
	return err;
}

static void refresh_counters(struct cprofd *d, struct session *s)
{
	struct cprof_session_counters counters;

	if (d->sampler && !s->stop_mono_ns &&
	    bpf_sampler__read_counters(d->sampler, s->slot, &counters) == 0)
		s->kernel = counters;
}

/*
 * Takes the session out of the kernel's view and collects everything it
 * logged: the program may still be running on another CPU for a sample it
 * took just before the target was removed, so wait (briefly, boundedly)
 * until every firing counted is either drained or counted lost.
 */
static void settle_session(struct cprofd *d, struct session *s)
{
	struct timespec now;

	bpf_sampler__remove_target(d->sampler, s->pid);
	for (int i = 0; i < STOP_SETTLE_TRIES; i++) {
		uint64_t logged;

		bpf_sampler__drain(d->sampler);
		refresh_counters(d, s);
		logged = s->samples + s->lost_stack_table_full;
		if (logged + s->kernel.lost_ring_full >= s->kernel.fired)
			break;
		usleep(STOP_SETTLE_US);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	s->stop_mono_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
}

int cprofd__stop_session(struct cprofd *d, pid_t pid, void **ret_data, size_t *ret_size,
			 struct cprofd_summary *ret_summary)
{
	struct session *s = find_session(d, pid);
	int err;

	if (!s)
		return -ENOENT;
	if (!s->stop_mono_ns && d->sampler)
		settle_session(d, s);

	err = profile__build(s, d->stacks, d->processes, d->symbols, ret_data, ret_size);
	if (err)
		return err;
	ret_summary->samples = s->samples;
	ret_summary->lost = session__lost(s);
	ret_summary->duration_ns = session__duration_ns(s);
	ret_summary->stacks = s->n_counts;

	d->sessions[s->slot] = NULL;
	d->n_sessions--;
	session__free(s, d->stacks, d->processes);
	/* Idle costs nothing: no events while no session runs. */
	if (!d->n_sessions && d->sampler)
		bpf_sampler__detach(d->sampler);
	return 0;
}

static void write_session(struct cprofd *d, struct session *s, struct json_writer *w)
{
	json_writer__object_begin(w);
	json_writer__key(w, CPROF_JSON_PID);
	json_writer__int(w, s->pid);
	json_writer__key(w, CPROF_JSON_HZ);
	json_writer__uint(w, s->hz);
	json_writer__key(w, CPROF_JSON_SLOT);
	json_writer__uint(w, s->slot);
	json_writer__key(w, CPROF_JSON_STATE);
	json_writer__string(w, s->stop_mono_ns	  ? "stopped"
			       : s->target_exited ? "exited"
						  : "running");
	json_writer__key(w, CPROF_JSON_DURATION_NS);
	json_writer__uint(w, session__duration_ns(s));
	json_writer__key(w, CPROF_JSON_SAMPLES);
	json_writer__uint(w, s->samples);
	json_writer__key(w, CPROF_JSON_LOST);
	json_writer__uint(w, session__lost(s));
	json_writer__key(w, CPROF_JSON_LOST_RING_FULL);
	json_writer__uint(w, s->kernel.lost_ring_full);
	json_writer__key(w, CPROF_JSON_LOST_STACK_TABLE_FULL);
	json_writer__uint(w, s->lost_stack_table_full);
	json_writer__key(w, CPROF_JSON_STACK_ERRORS);
	json_writer__uint(w, s->stack_errors);
	json_writer__key(w, CPROF_JSON_FIRED);
	json_writer__uint(w, s->kernel.fired);
	json_writer__key(w, CPROF_JSON_STACKS);
	json_writer__uint(w, s->n_counts);
	json_writer__object_end(w);
}

int cprofd__write_session(struct cprofd *d, pid_t pid, struct json_writer *w)
{
	struct session *s = find_session(d, pid);

	if (!s)
		return -ENOENT;
	refresh_counters(d, s);
	write_session(d, s, w);
	return 0;
}

/* Resident memory of this process, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	unsigned long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * sysconf(_SC_PAGESIZE);
}

void cprofd__write_status(struct cprofd *d, struct json_writer *w, bool daemon)
{
	json_writer__object_begin(w);
	if (daemon) {
		json_writer__key(w, "daemon");
		json_writer__object_begin(w);
		json_writer__key(w, "version");
		json_writer__string(w, CPROF_VERSION);
		json_writer__key(w, "pid");
		json_writer__int(w, getpid());
		json_writer__key(w, "hz");
		json_writer__uint(w, d->sampler ? bpf_sampler__hz(d->sampler) : 0);
		json_writer__key(w, "sessions");
		json_writer__uint(w, d->n_sessions);
		json_writer__key(w, "ring_buffer_bytes");
		json_writer__uint(w, d->sampler ? bpf_sampler__ring_bytes(d->sampler) : 0);
		json_writer__key(w, "ring_buffer_used_bytes");
		json_writer__uint(w, d->sampler ? bpf_sampler__ring_used_bytes(d->sampler) : 0);
		json_writer__key(w, "stack_table_bytes");
		json_writer__uint(w, stack_table__memory(d->stacks));
		json_writer__key(w, "stack_table_limit_bytes");
		json_writer__uint(w, stack_table__limit(d->stacks));
		json_writer__key(w, "stack_table_stacks");
		json_writer__uint(w, stack_table__count(d->stacks));
		json_writer__key(w, "processes");
		json_writer__uint(w, process_table__count(d->processes));
		json_writer__key(w, "symbolizer_bytes");
		json_writer__uint(w, symbolizer__memory(d->symbols));
		json_writer__key(w, "rss_bytes");
		json_writer__uint(w, rss_bytes());
		json_writer__key(w, "records");
		json_writer__uint(w, d->records);
		json_writer__key(w, "bad_records");
		json_writer__uint(w, d->bad_records);
		json_writer__key(w, "stray_records");
		json_writer__uint(w, d->stray_records);
		json_writer__key(w, "bpf_prog_id");
		json_writer__uint(w, d->sampler ? bpf_sampler__prog_id(d->sampler) : 0);
		json_writer__object_end(w);
	}
	json_writer__key(w, "sessions");
	json_writer__array_begin(w);
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++) {
		struct session *s = d->sessions[slot];

		if (!s)
			continue;
		refresh_counters(d, s);
		write_session(d, s, w);
	}
	json_writer__array_end(w);
	json_writer__object_end(w);
}

int cprofd__ring_fd(const struct cprofd *d)
{
	return d->sampler ? bpf_sampler__ring_fd(d->sampler) : -1;
}

int cprofd__drain(struct cprofd *d)
{
	int n;

	if (!d->sampler)
		return 0;
	n = bpf_sampler__drain(d->sampler);
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++) {
		struct session *s = d->sessions[slot];

		if (!s || s->stop_mono_ns)
			continue;
		refresh_counters(d, s);
		if (kill(s->pid, 0) && errno == ESRCH)
			s->target_exited = true;
	}
	return n;
}

size_t cprofd__n_sessions(const struct cprofd *d)
{
	return d->n_sessions;
}

uint64_t cprofd__total_samples(const struct cprofd *d)
{
	return d->total_samples;
}
