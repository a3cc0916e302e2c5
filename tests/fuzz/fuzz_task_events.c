// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the task event decoder (daemon/sampler/task_events.c) and what the process
 * table makes of the events (daemon/procs/process_table.c, proc_maps__insert()).
 * The input is a run of records, each as long as its header says, as a CPU's
 * buffer holds them; each is copied to a buffer of exactly its size so that
 * ASan catches a read past it. Pids are folded onto four children of this
 * process, and a fork's parent may be this process itself (held, with its
 * real maps, like a session's target), so forks, execs, mmaps and exits
 * meet known entries; the children leave at the end of each input.
 */
#include <linux/perf_event.h>

#include "fuzz.h"
#include "procs/process_table.h"
#include "sampler/task_events.h"

static volatile uint64_t sink;

#define FIRST_CHILD 1000000
#define CHILDREN 4

static pid_t fold_pid(pid_t pid)
{
	return FIRST_CHILD + (uint32_t)pid % CHILDREN;
}

static pid_t fold_parent(pid_t pid)
{
	return (uint32_t)pid % (CHILDREN + 1) == CHILDREN ? getpid() : fold_pid(pid);
}

static void check_maps(struct process_table *t, pid_t pid, const struct task_event *e)
{
	const struct proc_map *m = process_table__find(t, pid, e->start);

	/* A mapping just added is found where it starts, with its own path. */
	if (m) {
		FUZZ_CHECK(m->start <= e->start && e->start < m->end);
		sink += m->path ? strlen(m->path) : 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct process_table *t;
	size_t pos = 0;

	/* Made once: reading this process's maps for every input would be most of the time. */
	if (!t) {
		t = process_table__new(1 + CHILDREN);
		FUZZ_CHECK(t);
		FUZZ_CHECK(process_table__acquire(t, getpid()) == 0);
	}
	while (size - pos >= sizeof(struct perf_event_header)) {
		struct perf_event_header header;
		struct task_event e;
		size_t n;
		void *copy;
		int err;

		memcpy(&header, data + pos, sizeof(header));
		n = header.size < sizeof(header) ? sizeof(header) : header.size;
		if (n > size - pos)
			n = size - pos;
		copy = malloc(n);
		FUZZ_CHECK(copy);
		memcpy(copy, data + pos, n);
		err = task_events__decode(copy, n, &e);
		FUZZ_CHECK(err == 0 || err == -ENOENT || err == -EINVAL);
		if (err == 0) {
			pid_t pid = fold_pid(e.pid);

			FUZZ_CHECK(e.pid != 0);
			switch (e.type) {
			case TASK_EVENT_MMAP: {
				struct proc_map m = { .start = e.start, .end = e.end,
						      .offset = e.offset, .inode = e.inode,
						      .path = (char *)e.path };

				FUZZ_CHECK(e.start < e.end);
				FUZZ_CHECK(memchr(e.path, '\0', n) != NULL);
				process_table__on_mmap(t, pid, &m);
				check_maps(t, pid, &e);
				break;
			}
			case TASK_EVENT_FORK:
				process_table__on_fork(t, fold_parent(e.parent_pid), pid);
				break;
			case TASK_EVENT_EXEC:
				process_table__on_exec(t, pid);
				break;
			case TASK_EVENT_EXIT:
				process_table__on_exit(t, pid);
				break;
			default:
				FUZZ_CHECK(!"unknown event type");
			}
		}
		free(copy);
		pos += n;
	}
	FUZZ_CHECK(process_table__count(t) <= 1 + CHILDREN);
	for (pid_t pid = FIRST_CHILD; pid < FIRST_CHILD + CHILDREN; pid++)
		process_table__on_exit(t, pid);
	/* Unheld, every child left at its exit; this process, held, stayed. */
	FUZZ_CHECK(process_table__count(t) == 1);
	FUZZ_CHECK(process_table__find(t, getpid(), (uintptr_t)&LLVMFuzzerTestOneInput));
	return 0;
}
