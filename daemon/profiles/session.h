/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A session: one target (a process today; a cgroup or every process later),
 * a rate, a time span, and the samples counted for it: a count per
 * (stack, thread), plus what was lost and why. Stacks live in the shared
 * stack table and processes in the shared process table; the session holds
 * references on what it uses and drops them in session__free().
 */
#ifndef CPROF_SESSION_H
#define CPROF_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "cprof_record.h"

struct stack_table;
struct process_table;

/* Samples of one stack on one thread. */
struct session_count {
	uint32_t stack_id; /* in the stack table */
	uint32_t tid;
	uint64_t count;
	char comm[CPROF_COMM_LEN]; /* thread name at the first such sample */
};

struct session {
	pid_t pid; /* the target process */
	bool children; /* processes it forks, and theirs, are sampled too */
	uid_t owner; /* who started it: only they (or root) may see and stop it */
	uint64_t start_ticks; /* the process's start time: pid + this name it */
	uint32_t slot; /* the BPF program's counter slot */
	unsigned int hz;
	int64_t start_wall_ns; /* CLOCK_REALTIME at start */
	uint64_t start_mono_ns; /* CLOCK_MONOTONIC at start */
	uint64_t stop_mono_ns; /* 0 while running */
	bool target_exited; /* the process was gone when last checked */
	int pidfd; /* the target's pidfd, readable once it exits; -1: none, poll /proc */
	/*
	 * The target's root directory (O_PATH), kept so that files it leaves in
	 * its own /tmp (a JIT's perf map) can still be read once it has exited:
	 * the daemon's /tmp may be another (PrivateTmp=, containers). -1: none.
	 */
	int root_fd;

	uint64_t samples; /* records counted */
	uint64_t lost_stack_table_full; /* records dropped: no room for a new stack */
	uint64_t stack_errors; /* records with an unreadable stack */
	/* How the user stacks were walked: samples by why the walk ended, ... */
	uint64_t unwind_stops[CPROF_UNWIND_STOP_KINDS];
	uint64_t samples_by_table; /* ...with a frame unwound by a table */
	uint64_t samples_no_table; /* ...with one in a file whose table is not loaded */
	struct cprof_session_counters kernel; /* the BPF program's counters, last read */

	struct session_count *counts; /* open addressing, stack_id NO_STACK when empty */
	size_t n_counts;
	size_t counts_capacity; /* power of two */
	/* Processes sampled (pid and its children), each holding a process table reference. */
	pid_t *processes; /* sorted */
	size_t n_processes;
	size_t processes_capacity;
	size_t processes_untracked; /* seen but not held: the process table was full */
	pid_t last_tgid; /* of the last sample */
};

/* Returns a session, or NULL with errno set. */
struct session *session__new(pid_t pid, uint32_t slot, unsigned int hz);

/*
 * Takes a process table reference on tgid for the session (once per tgid),
 * so its maps outlive it. Returns 0 or a negative errno.
 */
int session__hold_process(struct session *s, struct process_table *processes, pid_t tgid);

/*
 * Counts one sample record (already validated: its size matches its depths).
 * Returns 0, or a negative errno for a sample that could not be counted
 * (then it is counted as lost, by cause).
 */
int session__add_sample(struct session *s, struct stack_table *stacks,
			struct process_table *processes, const struct cprof_sample_record *r);

/* Iterates counts: returns the next used entry at or after *cursor, or NULL. */
const struct session_count *session__next_count(const struct session *s, size_t *cursor);

/* Samples lost by every cause. */
uint64_t session__lost(const struct session *s);
/* Wall time sampled so far (or until stop), ns. */
uint64_t session__duration_ns(const struct session *s);

/* Drops the session's references and frees it. NULL is a no-op. */
void session__free(struct session *s, struct stack_table *stacks, struct process_table *processes);

#endif /* CPROF_SESSION_H */
