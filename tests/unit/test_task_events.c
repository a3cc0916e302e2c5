// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Task events: decoding of crafted records (good, of no interest, broken),
 * then the real kernel's account of a child that forks, execs a program
 * and exits, which must come whole and in order.
 */
#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "sampler/task_events.h"

/* Builds a record: header, body, then the sample_id time; returns its size. */
static size_t make_record(unsigned char *buf, uint32_t type, uint16_t misc, const void *body,
			  size_t body_size, uint64_t time)
{
	struct perf_event_header header = {
		.type = type,
		.misc = misc,
		.size = sizeof(header) + body_size + sizeof(time),
	};

	memcpy(buf, &header, sizeof(header));
	memcpy(buf + sizeof(header), body, body_size);
	memcpy(buf + sizeof(header) + body_size, &time, sizeof(time));
	return header.size;
}

struct mmap2_body {
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
	char filename[16];
};

static void test_decode_mmap(void)
{
	struct mmap2_body m = {
		.pid = 42, .tid = 43, .addr = 0x400000, .len = 0x2000, .pgoff = 0x1000,
		.maj = 8, .min = 1, .ino = 99, .prot = PROT_READ | PROT_EXEC,
		.filename = "/usr/bin/true",
	};
	unsigned char buf[256];
	struct task_event e;
	size_t size = make_record(buf, PERF_RECORD_MMAP2, 0, &m, sizeof(m), 1234);

	if (ASSERT_OK(task_events__decode(buf, size, &e))) {
		ASSERT_EQ(e.type, TASK_EVENT_MMAP);
		ASSERT_EQ(e.pid, 42);
		ASSERT_EQ(e.start, 0x400000);
		ASSERT_EQ(e.end, 0x402000);
		ASSERT_EQ(e.offset, 0x1000);
		ASSERT_EQ(e.dev_major, 8);
		ASSERT_EQ(e.dev_minor, 1);
		ASSERT_EQ(e.inode, 99);
		ASSERT_EQ(e.time_ns, 1234);
		ASSERT_STREQ(e.path, "/usr/bin/true");
	}
	/* Data mappings are not wanted. */
	m.prot = PROT_READ;
	size = make_record(buf, PERF_RECORD_MMAP2, 0, &m, sizeof(m), 1);
	ASSERT_EQ(task_events__decode(buf, size, &e), -ENOENT);
	/* A name that does not end inside the record. */
	m.prot = PROT_EXEC;
	memset(m.filename, 'x', sizeof(m.filename));
	size = make_record(buf, PERF_RECORD_MMAP2, 0, &m, sizeof(m), 1);
	ASSERT_EQ(task_events__decode(buf, size, &e), -EINVAL);
	/* A range that wraps. */
	strcpy(m.filename, "/x");
	m.addr = UINT64_MAX - 10;
	size = make_record(buf, PERF_RECORD_MMAP2, 0, &m, sizeof(m), 1);
	ASSERT_EQ(task_events__decode(buf, size, &e), -EINVAL);
	/* Truncated: no room for the name. */
	size = make_record(buf, PERF_RECORD_MMAP2, 0, &m, offsetof(struct mmap2_body, filename), 1);
	ASSERT_EQ(task_events__decode(buf, size, &e), -EINVAL);
	/* A size that is not the header's. */
	size = make_record(buf, PERF_RECORD_MMAP2, 0, &m, sizeof(m), 1);
	ASSERT_EQ(task_events__decode(buf, size - 8, &e), -EINVAL);
	ASSERT_EQ(task_events__decode(buf, 4, &e), -EINVAL);
}

static void test_decode_tasks(void)
{
	uint32_t task[6] = { 0 }; /* pid, ppid, tid, ptid, time (u64) */
	struct { uint32_t pid, tid; char comm[8]; } comm = { 50, 50, "true" };
	unsigned char buf[128];
	struct task_event e;
	size_t size;

	/* A new process. */
	task[0] = 50, task[1] = 40, task[2] = 50, task[3] = 41;
	size = make_record(buf, PERF_RECORD_FORK, 0, task, sizeof(task), 7);
	if (ASSERT_OK(task_events__decode(buf, size, &e))) {
		ASSERT_EQ(e.type, TASK_EVENT_FORK);
		ASSERT_EQ(e.pid, 50);
		ASSERT_EQ(e.parent_pid, 40);
		ASSERT_EQ(e.time_ns, 7);
	}
	/* A new thread: same process. */
	task[0] = 40, task[1] = 40, task[2] = 51;
	size = make_record(buf, PERF_RECORD_FORK, 0, task, sizeof(task), 7);
	ASSERT_EQ(task_events__decode(buf, size, &e), -ENOENT);
	/* A thread's exit is not its process's. */
	size = make_record(buf, PERF_RECORD_EXIT, 0, task, sizeof(task), 7);
	ASSERT_EQ(task_events__decode(buf, size, &e), -ENOENT);
	task[2] = 40;
	size = make_record(buf, PERF_RECORD_EXIT, 0, task, sizeof(task), 8);
	if (ASSERT_OK(task_events__decode(buf, size, &e))) {
		ASSERT_EQ(e.type, TASK_EVENT_EXIT);
		ASSERT_EQ(e.pid, 40);
	}
	/* A process the daemon's namespace cannot see has pid 0. */
	task[0] = task[2] = 0;
	size = make_record(buf, PERF_RECORD_EXIT, 0, task, sizeof(task), 8);
	ASSERT_EQ(task_events__decode(buf, size, &e), -ENOENT);
	/* A task record of the wrong size. */
	size = make_record(buf, PERF_RECORD_EXIT, 0, task, sizeof(task) - 8, 8);
	ASSERT_EQ(task_events__decode(buf, size, &e), -EINVAL);

	/* A comm change is news only when it comes with an exec. */
	size = make_record(buf, PERF_RECORD_COMM, 0, &comm, sizeof(comm), 9);
	ASSERT_EQ(task_events__decode(buf, size, &e), -ENOENT);
	size = make_record(buf, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC, &comm, sizeof(comm), 9);
	if (ASSERT_OK(task_events__decode(buf, size, &e))) {
		ASSERT_EQ(e.type, TASK_EVENT_EXEC);
		ASSERT_EQ(e.pid, 50);
	}
	/* Other record types. */
	size = make_record(buf, PERF_RECORD_SAMPLE, 0, &comm, sizeof(comm), 9);
	ASSERT_EQ(task_events__decode(buf, size, &e), -ENOENT);
}

/* What the kernel told of one child. */
struct child_events {
	pid_t child, parent;
	char exe[PATH_MAX];
	uint64_t fork_time, exec_time, mmap_time, exit_time, last_time;
	int out_of_order;
};

static void on_event(void *ctx, const struct task_event *e)
{
	struct child_events *c = ctx;

	if (e->time_ns < c->last_time)
		c->out_of_order++;
	c->last_time = e->time_ns;
	if (e->pid != c->child)
		return;
	switch (e->type) {
	case TASK_EVENT_FORK:
		if (e->parent_pid == c->parent)
			c->fork_time = e->time_ns;
		break;
	case TASK_EVENT_EXEC:
		c->exec_time = e->time_ns;
		break;
	case TASK_EVENT_MMAP:
		if (strcmp(e->path, c->exe) == 0 && !c->mmap_time)
			c->mmap_time = e->time_ns;
		break;
	case TASK_EVENT_EXIT:
		c->exit_time = e->time_ns;
		break;
	}
}

static void test_real_child(void)
{
	struct child_events c = { .parent = getpid() };
	struct task_events *t = task_events__open(256 * 1024);
	int status;

	if (!t && (errno == EACCES || errno == EPERM))
		TEST_SKIP("task events need CAP_PERFMON (run as root)");
	if (!ASSERT_NOT_NULL(t))
		return;
	ASSERT_TRUE(task_events__fd(t) >= 0);
	/* Draining before anything arrived (no array yet) is no error. */
	ASSERT_GE(task_events__drain(t, 1000000000ull, on_event, &c), 0);
	if (!realpath("/bin/true", c.exe))
		strcpy(c.exe, "/bin/true");

	c.child = fork();
	if (c.child == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (!ASSERT_TRUE(c.child > 0))
		goto out;
	ASSERT_EQ(waitpid(c.child, &status, 0), c.child);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* With a margin of a second nothing is old enough yet... */
	ASSERT_GE(task_events__drain(t, 1000000000ull, on_event, &c), 0);
	ASSERT_EQ(c.fork_time, 0);
	/* ...and with none, everything is, in order. */
	ASSERT_GE(task_events__drain(t, 0, on_event, &c), 4);
	ASSERT_NE(c.fork_time, 0);
	ASSERT_TRUE(c.fork_time <= c.exec_time);
	ASSERT_TRUE(c.exec_time <= c.mmap_time);
	ASSERT_TRUE(c.mmap_time <= c.exit_time);
	ASSERT_NE(c.exit_time, 0);
	ASSERT_EQ(c.out_of_order, 0);
	ASSERT_EQ(task_events__lost(t), 0);
	/* Handed over once: a second drain finds nothing of the child. */
	c.fork_time = 0;
	task_events__drain(t, 0, on_event, &c);
	ASSERT_EQ(c.fork_time, 0);
out:
	task_events__close(t);
}

int main(void)
{
	RUN_TEST(test_decode_mmap);
	RUN_TEST(test_decode_tasks);
	RUN_TEST(test_real_child);
	return TEST_SUMMARY();
}
