// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack_table.h"
#include "procs/process_table.h"
#include "util/array.h"

#define NO_STACK UINT32_MAX
#define MIN_COUNTS 256
#define MIN_PROCESSES 8
/* A bound on the processes one session holds, below the process table's. */
#define MAX_PROCESSES (1u << 20)

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct session *session__new(pid_t pid, uint32_t slot, unsigned int hz)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->counts = malloc(MIN_COUNTS * sizeof(*s->counts));
	if (!s->counts) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < MIN_COUNTS; i++)
		s->counts[i].stack_id = NO_STACK;
	s->counts_capacity = MIN_COUNTS;
	s->pid = pid;
	s->pidfd = -1;
	s->root_fd = -1;
	s->slot = slot;
	s->hz = hz;
	s->start_wall_ns = clock_ns(CLOCK_REALTIME);
	s->start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	return s;
}

static size_t count_slot(uint32_t stack_id, uint32_t tid, size_t capacity)
{
	uint64_t h = ((uint64_t)stack_id << 32 | tid) * 0x9e3779b97f4a7c15ull;

	return (h >> 32) & (capacity - 1);
}

/* Keeps the table at most half full so probes stay short. */
static int maybe_grow_counts(struct session *s)
{
	size_t capacity = s->counts_capacity * 2;
	struct session_count *counts;

	if (s->n_counts * 2 < s->counts_capacity)
		return 0;
	counts = malloc(capacity * sizeof(*counts));
	if (!counts)
		return -ENOMEM;
	for (size_t i = 0; i < capacity; i++)
		counts[i].stack_id = NO_STACK;
	for (size_t i = 0; i < s->counts_capacity; i++) {
		const struct session_count *c = &s->counts[i];
		size_t j;

		if (c->stack_id == NO_STACK)
			continue;
		for (j = count_slot(c->stack_id, c->tid, capacity); counts[j].stack_id != NO_STACK;
		     j = (j + 1) & (capacity - 1))
			;
		counts[j] = *c;
	}
	free(s->counts);
	s->counts = counts;
	s->counts_capacity = capacity;
	return 0;
}

/* Index of the first held pid >= tgid. */
static size_t process_index(const struct session *s, pid_t tgid)
{
	size_t lo = 0, hi = s->n_processes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->processes[mid] < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int session__hold_process(struct session *s, struct process_table *processes, pid_t tgid)
{
	size_t i;
	void *grown;
	int err;

	/* The last process seen is the likely one: skip the search for it. */
	if (s->n_processes && s->last_tgid == tgid)
		return 0;
	s->last_tgid = tgid;
	i = process_index(s, tgid);
	if (i < s->n_processes && s->processes[i] == tgid)
		return 0;
	err = array__reserve(s->processes, sizeof(*s->processes), &s->processes_capacity,
			     s->n_processes, 1, MIN_PROCESSES, MAX_PROCESSES, &grown);
	if (!err) {
		s->processes = grown;
		err = process_table__acquire(processes, tgid);
	}
	if (err) {
		s->processes_untracked++;
		return err;
	}
	memmove(&s->processes[i + 1], &s->processes[i],
		(s->n_processes - i) * sizeof(*s->processes));
	s->processes[i] = tgid;
	s->n_processes++;
	return 0;
}

int session__add_sample(struct session *s, struct stack_table *stacks,
			struct process_table *processes, const struct cprof_sample_record *r)
{
	unsigned int user_depth = r->user_depth;
	struct session_count *c;
	uint32_t stack_id;
	size_t i;
	int err;

	/*
	 * A zero return address is where a frame-pointer chain ends (the
	 * outermost frame's, or a thread's first): no code runs at 0.
	 */
	while (user_depth > 0 && r->ips[r->kernel_depth + user_depth - 1] == 0)
		user_depth--;

	session__hold_process(s, processes, r->tgid);
	if (r->flags & (CPROF_SAMPLE_USER_STACK_ERROR | CPROF_SAMPLE_KERNEL_STACK_ERROR))
		s->stack_errors++;

	err = maybe_grow_counts(s);
	if (err)
		goto lost;
	err = stack_table__intern(stacks, r->tgid, (const uint64_t *)r->ips, r->kernel_depth,
				  user_depth, &stack_id);
	if (err)
		goto lost;

	for (i = count_slot(stack_id, r->tid, s->counts_capacity);;
	     i = (i + 1) & (s->counts_capacity - 1)) {
		c = &s->counts[i];
		if (c->stack_id == stack_id && c->tid == r->tid) {
			/* The entry already holds a reference on this stack. */
			stack_table__unref(stacks, stack_id);
			break;
		}
		if (c->stack_id == NO_STACK) {
			c->stack_id = stack_id;
			c->tid = r->tid;
			c->count = 0;
			memcpy(c->comm, r->comm, sizeof(c->comm));
			c->comm[sizeof(c->comm) - 1] = '\0';
			s->n_counts++;
			/* A new stack may hold addresses of code mapped since the last read. */
			for (unsigned int f = r->kernel_depth; f < r->kernel_depth + user_depth; f++)
				if (r->ips[f] < CPROF_STOP_MARKER_BASE)
					process_table__find(processes, r->tgid, r->ips[f]);
			break;
		}
	}
	c->count++;
	s->samples++;
	return 0;

lost:
	s->lost_stack_table_full++;
	return err;
}

const struct session_count *session__next_count(const struct session *s, size_t *cursor)
{
	for (; *cursor < s->counts_capacity; (*cursor)++)
		if (s->counts[*cursor].stack_id != NO_STACK)
			return &s->counts[(*cursor)++];
	return NULL;
}

uint64_t session__lost(const struct session *s)
{
	return s->kernel.lost_ring_full + s->lost_stack_table_full;
}

uint64_t session__duration_ns(const struct session *s)
{
	uint64_t end = s->stop_mono_ns ? s->stop_mono_ns : clock_ns(CLOCK_MONOTONIC);

	return end - s->start_mono_ns;
}

void session__free(struct session *s, struct stack_table *stacks, struct process_table *processes)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->counts_capacity; i++)
		if (s->counts[i].stack_id != NO_STACK)
			stack_table__unref(stacks, s->counts[i].stack_id);
	for (size_t i = 0; i < s->n_processes; i++)
		process_table__release(processes, s->processes[i]);
	free(s->processes);
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->counts);
	free(s);
}
