/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Continuous mode, the core's side: every process on the machine sampled
 * at a low rate by events of its own (bpf_sampler__attach_continuous()),
 * its samples cut into windows aligned on the wall clock, each window's
 * processes labelled (pid, comm, executable and build ID, cgroup, systemd
 * unit, container, host), and each finished window built into one pprof
 * and written to the history (store/window_store.h) on a worker thread.
 *
 * Memory is bounded by the window: the window in progress, and at most
 * CONTINUOUS_MAX_CLOSING finished ones being symbolized or written; a
 * window drops its processes and stacks once it is built, so processes that
 * come and go leave nothing behind.
 *
 * For the core (cprofd.c, status.c) only: it reaches into struct cprofd.
 */
#ifndef CPROF_CONTINUOUS_H
#define CPROF_CONTINUOUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cprof_record.h"
#include "store/window_store.h"

struct cprofd;
struct continuous;
struct json_writer;
struct session;
struct query_filter;

struct continuous_options {
	unsigned int hz; /* CPROF_MIN_HZ..CPROF_MAX_HZ */
	uint64_t window_ns; /* >= 1 s, a divisor of an hour is the sane choice */
	const char *history_dir; /* where finished windows are kept */
	uint64_t history_max_bytes; /* 0: no bound */
	uint64_t history_max_age_ns; /* 0: no bound */
};

/*
 * Opens the history (creating its directory), attaches the whole-machine
 * events and opens the first window. NULL with errno set on failure (then
 * nothing stays attached); *ret_what names the step that failed.
 */
struct continuous *continuous__new(struct cprofd *d, const struct continuous_options *opts,
				   const char **ret_what);

/*
 * Detaches, then finishes the window in progress and those closing (their
 * symbols waited for at most timeout_ms) and writes them, waiting for the
 * writes. NULL is a no-op.
 */
void continuous__free(struct continuous *c, int timeout_ms);

/*
 * The window session a record of the continuous slot counts into, after
 * cutting a window at the record's time if it is past the window's end.
 * NULL when there is none (the record is then stray).
 */
struct session *continuous__session_for(struct continuous *c,
					 const struct cprof_sample_record *r);
/* Notes the record's process (its labels) once it is counted, and whether it was lost. */
void continuous__count(struct continuous *c, const struct cprof_sample_record *r, bool lost);

/*
 * From every drain: cuts the window at its end, advances the oldest
 * closing window by a bounded slice (symbols, then the build), and takes
 * back the finished writes.
 */
void continuous__tick(struct continuous *c);

/* The worker's fd, readable when writes finished (for the loop's epoll). */
int continuous__fd(const struct continuous *c);

struct continuous_stats {
	unsigned int hz;
	uint64_t window_ns;
	const char *history_dir;
	uint64_t history_max_bytes, history_max_age_ns;
	size_t processes; /* in the window in progress */
	size_t windows_in_memory; /* that one and those closing */
	uint64_t samples, lost; /* counted; lost in the kernel or for want of room */
	uint64_t unlabelled; /* samples of processes past a window's bound */
	uint64_t windows_built, windows_written;
	uint64_t windows_dropped; /* finished windows let go: too many closing, or writes behind */
	uint64_t build_errors, write_errors;
	int last_write_error; /* negative errno, 0 for none */
	uint64_t build_ns; /* CPU time the loop spent building windows */
	struct window_store_stats store;
};

void continuous__stats(const struct continuous *c, struct continuous_stats *ret);

/*
 * The history's windows overlapping [since_ns, until_ns) that f matches,
 * merged into one gzipped pprof of the processes viewer may see (root:
 * all; others: their own). Returns 0, -ENOENT (no window matched), or a
 * negative errno.
 */
struct query_summary;
int continuous__query(struct continuous *c, const struct query_filter *f, uid_t viewer,
		      void **ret_data, size_t *ret_size, struct query_summary *ret_summary);
/* What the history keeps, as JSON members of an object the caller opened. */
int continuous__list(struct continuous *c, const struct query_filter *f, uid_t viewer,
		     struct json_writer *w);

#endif /* CPROF_CONTINUOUS_H */
