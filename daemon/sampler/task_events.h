/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Task events: the kernel's own account of every executable mapping, fork,
 * exec and exit on the machine, as perf record takes it (a software dummy
 * perf event per CPU with mmap2, comm and task records in its buffer). It
 * is what tells cprofd the maps of a process that lived and died between
 * two drains, which /proc can no longer show.
 *
 * Each CPU has its own buffer, so records are sorted by time and handed
 * over only once every buffer has been read past that time (less a margin
 * for a record being written while its buffer is read): a child's mmaps on
 * one CPU never come before its fork on another.
 */
#ifndef CPROF_TASK_EVENTS_H
#define CPROF_TASK_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum task_event_type {
	TASK_EVENT_MMAP = 1, /* an executable mapping was made */
	TASK_EVENT_FORK, /* a new process (not a thread) */
	TASK_EVENT_EXEC, /* a process ran a new program: its old maps are gone */
	TASK_EVENT_EXIT, /* a process's main thread exited */
};

struct task_event {
	enum task_event_type type;
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	pid_t pid; /* the process (tgid), in the daemon's PID namespace */
	pid_t parent_pid; /* FORK: the process that forked it */
	/* MMAP: as a line of /proc/PID/maps would show it. */
	uint64_t start, end, offset;
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	uint32_t prot; /* PROT_* */
	const char *path; /* NUL-terminated, inside the record decoded */
};

/*
 * Decodes one record of a buffer (size bytes, as its header says) into
 * *ret. Returns 0, -ENOENT for a record of no interest (a thread's fork or
 * exit, a plain comm change, lost-record notes), or -EINVAL when it is
 * malformed. Exposed for tests and fuzzing.
 */
int task_events__decode(const void *data, size_t size, struct task_event *ret);

struct task_events;

/*
 * Opens the events on every online CPU with a buffer of bytes_per_cpu (a
 * power of two, at least two pages). NULL with errno set on failure.
 */
struct task_events *task_events__open(size_t bytes_per_cpu);
/* Closes the events; what was not handed over is dropped. NULL is a no-op. */
void task_events__close(struct task_events *t);

/* An epoll fd, readable when a CPU's buffer is a quarter full. */
int task_events__fd(const struct task_events *t);

typedef void (*task_event_fn)(void *ctx, const struct task_event *e);

/*
 * Reads every buffer, then hands over in time order the records older than
 * now - margin_ns, keeping the younger ones for the next call. Returns the
 * number handed over, or a negative errno.
 */
int task_events__drain(struct task_events *t, uint64_t margin_ns, task_event_fn fn, void *ctx);

/* Records the kernel dropped (a full buffer) or that did not decode. */
uint64_t task_events__lost(const struct task_events *t);

#endif /* CPROF_TASK_EVENTS_H */
