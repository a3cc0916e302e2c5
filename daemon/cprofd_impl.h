/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's state, for the core's own files (cprofd.c, status.c) and no
 * one else: the rest of the daemon goes through cprofd.h.
 */
#ifndef CPROF_CPROFD_IMPL_H
#define CPROF_CPROFD_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cprof_record.h"
#include "cprofd.h"

struct session;

/* Processes whose unwind entries wait to be rewritten, at most, per drain. */
#define CPROFD_UNWIND_DIRTY_MAX 512

struct cprofd {
	struct cprofd_options opts;
	struct bpf_sampler *sampler;
	struct stack_table *stacks;
	struct process_table *processes;
	struct symbolizer *symbols;
	struct task_events *task_events; /* open while sampling, NULL if they cannot be */
	int task_events_error; /* why they could not be opened, last time */
	int epoll_fd; /* the ring buffer's and the task events' fds */
	struct leaf_unwind *leaf; /* recovers the caller of a leaf without a frame */
	struct unwind_tables *unwind; /* NULL: frame pointers only */
	struct continuous *continuous; /* continuous mode, NULL when off */
	int unwind_error; /* why there are no tables, if so */
	/* Processes whose mappings changed since the last drain: their entries to rewrite. */
	pid_t unwind_dirty[CPROFD_UNWIND_DIRTY_MAX];
	size_t n_unwind_dirty;
	/* A record with a marker frame added, too big for the stack. */
	uint64_t marked[(sizeof(struct cprof_sample_record) + (CPROF_MAX_FRAMES + 2) * 8) / 8];
	struct session *sessions[CPROF_MAX_SESSIONS]; /* by slot */
	size_t n_sessions; /* running or ended, not yet forgotten */
	size_t n_running;  /* still sampling */
	uint64_t records; /* records drained */
	uint64_t bad_records; /* malformed: wrong version, size or depths */
	uint64_t stray_records; /* for no session (a slot ended before the record came) */
	uint64_t total_samples;
	void (*symbols_callback)(void *ctx); /* background symbol loads finished */
	void *symbols_ctx;
};

/* The session of pid, running or ended; NULL if none. */
struct session *cprofd__find_session(const struct cprofd *d, pid_t pid);
/* Reads a running session's kernel counters into it. */
void cprofd__refresh_counters(struct cprofd *d, struct session *s);
/* Opens the task events if they are not (failing quietly: see task_events_error). */
void cprofd__open_task_events(struct cprofd *d);
/* Detaches the sessions' events when none runs, and the task events unless continuous mode needs them. */
void cprofd__detach_if_idle(struct cprofd *d);

#endif /* CPROF_CPROFD_IMPL_H */
