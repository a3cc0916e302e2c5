// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The process table following task events: a child forked by a known
 * process starts with its parent's maps, exec clears them, mmaps add to
 * them, and exit drops an entry no session holds but keeps a held one.
 * The parent is this very process (its maps read from /proc); the child is
 * a pid no process has (past pid_max), as for a child already gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"
#include "procs/process_table.h"

static pid_t pid_nobody_has(void)
{
	long pid_max = 0;
	FILE *file = fopen("/proc/sys/kernel/pid_max", "r");

	if (file) {
		if (fscanf(file, "%ld", &pid_max) != 1)
			pid_max = 0;
		fclose(file);
	}
	return pid_max > 0 && pid_max < INT_MAX ? (pid_t)pid_max : INT_MAX;
}

static void test_fork_exec_mmap_exit(void)
{
	struct process_table *t = process_table__new(16);
	uint64_t code = (uint64_t)(uintptr_t)&test_fork_exec_mmap_exit;
	pid_t parent = getpid(), child = pid_nobody_has(), stranger = child - 1;
	struct proc_map lib = {
		.start = 0x10000000, .end = 0x10004000, .offset = 0x2000,
		.perms = PROC_MAP_READ | PROC_MAP_EXEC, .path = "/lib/libnew.so",
	};
	const struct proc_map *m, *mine;

	if (!ASSERT_NOT_NULL(t))
		return;
	if (!ASSERT_OK(process_table__acquire(t, parent)))
		goto out;
	mine = process_table__find(t, parent, code);
	if (!ASSERT_NOT_NULL(mine))
		goto out;

	/* Forks of unknown processes are not followed. */
	process_table__on_fork(t, stranger, child);
	ASSERT_EQ(process_table__count(t), 1);

	/* The child has the parent's code where the parent has it. */
	process_table__on_fork(t, parent, child);
	ASSERT_EQ(process_table__count(t), 2);
	m = process_table__find(t, child, code);
	if (ASSERT_NOT_NULL(m))
		ASSERT_STREQ(m->path, process_table__find(t, parent, code)->path);

	/*
	 * After exec the new program's mappings come one by one; the old ones
	 * stay behind them for samples taken before the exec, but the main
	 * mapping is the new program's.
	 */
	process_table__on_exec(t, child);
	ASSERT_TRUE(process_table__main_mapping(t, child) == NULL);
	process_table__on_mmap(t, child, &lib);
	m = process_table__find(t, child, 0x10001000);
	if (ASSERT_NOT_NULL(m)) {
		ASSERT_STREQ(m->path, "/lib/libnew.so");
		ASSERT_EQ(m->offset, 0x2000);
	}
	ASSERT_TRUE(process_table__main_mapping(t, child) == m);
	ASSERT_NOT_NULL(process_table__find(t, child, code));
	/* The parent is untouched. */
	ASSERT_TRUE(process_table__find(t, parent, 0x10001000) == NULL);
	ASSERT_NOT_NULL(process_table__find(t, parent, code));

	/* Held by a session, an exited child stays, and keeps its maps. */
	ASSERT_OK(process_table__acquire(t, child));
	process_table__on_exit(t, child);
	ASSERT_EQ(process_table__count(t), 2);
	ASSERT_NOT_NULL(process_table__find(t, child, 0x10001000));
	/* No mmap after exit: a reused pid's mappings are not the old process's. */
	lib.start = 0x20000000, lib.end = 0x20001000;
	process_table__on_mmap(t, child, &lib);
	ASSERT_TRUE(process_table__find(t, child, 0x20000000) == NULL);
	process_table__release(t, child);
	ASSERT_EQ(process_table__count(t), 1);

	/* Not held, it goes at exit. */
	process_table__on_fork(t, parent, child);
	ASSERT_EQ(process_table__count(t), 2);
	process_table__on_exit(t, child);
	ASSERT_EQ(process_table__count(t), 1);
	ASSERT_EQ(process_table__untracked(t), 0);
out:
	process_table__free(t);
}

/*
 * A child's first sample can be drained before its fork record and read
 * its maps from /proc, after it ran exec: the parent's maps must still be
 * there for the samples taken between the fork and the exec. The parent is
 * a pid nobody has, known only through an mmap record; the child is this
 * process, whose /proc maps do not have the parent's library.
 */
static void test_fork_after_first_read(void)
{
	struct process_table *t = process_table__new(16);
	uint64_t code = (uint64_t)(uintptr_t)&test_fork_after_first_read;
	pid_t parent = pid_nobody_has(), child = getpid();
	struct proc_map parent_lib = {
		.start = 0x10000000, .end = 0x10004000, .offset = 0x1000,
		.perms = PROC_MAP_READ | PROC_MAP_EXEC, .path = "/lib/libparent.so",
	};
	const struct proc_map *m;

	if (!ASSERT_NOT_NULL(t))
		return;
	ASSERT_OK(process_table__acquire(t, parent));
	process_table__on_mmap(t, parent, &parent_lib);
	if (!ASSERT_NOT_NULL(process_table__find(t, parent, 0x10001000)))
		goto out;

	ASSERT_OK(process_table__acquire(t, child));
	ASSERT_TRUE(process_table__find(t, child, 0x10001000) == NULL);
	process_table__on_fork(t, parent, child);
	m = process_table__find(t, child, 0x10001000);
	if (ASSERT_NOT_NULL(m))
		ASSERT_STREQ(m->path, "/lib/libparent.so");
	/* The maps read from /proc come first, and still name the program. */
	m = process_table__find(t, child, code);
	ASSERT_NOT_NULL(m);
	ASSERT_TRUE(process_table__main_mapping(t, child) != NULL &&
		    strcmp(process_table__main_mapping(t, child)->path, "/lib/libparent.so") != 0);

	/* An exited entry of a reused pid takes nothing from a new parent. */
	process_table__on_exit(t, child);
	parent_lib.start = 0x50000000, parent_lib.end = 0x50001000;
	process_table__on_mmap(t, parent, &parent_lib);
	process_table__on_fork(t, parent, child);
	ASSERT_TRUE(process_table__find(t, child, 0x50000000) == NULL);
	ASSERT_EQ(process_table__untracked(t), 0);
out:
	process_table__free(t);
}

static void test_bound(void)
{
	struct process_table *t = process_table__new(1);
	pid_t child = pid_nobody_has();

	if (!ASSERT_NOT_NULL(t))
		return;
	ASSERT_OK(process_table__acquire(t, getpid()));
	/* No room for the child: counted, not kept. */
	process_table__on_fork(t, getpid(), child);
	ASSERT_EQ(process_table__count(t), 1);
	ASSERT_EQ(process_table__untracked(t), 1);
	ASSERT_EQ(process_table__acquire(t, child), -ENOSPC);
	process_table__free(t);
}

static bool path_ends_with(const struct proc_map *m, void *arg)
{
	size_t len = strlen(m->path), suffix_len = strlen(arg);

	return len >= suffix_len && strcmp(m->path + len - suffix_len, arg) == 0;
}

static void test_find_file(void)
{
	char dir[] = "/tmp/cprof-process-table-XXXXXX", path[PATH_MAX], name[64];
	struct proc_map older = { .start = 0x30000000, .end = 0x30001000, .path = "/b/marker" };
	struct proc_map newer = { .start = 0x40000000, .end = 0x40001000, .path = "/a/marker" };
	struct process_table *t = NULL;
	const struct proc_map *m;
	void *mapped = MAP_FAILED;
	int fd = -1;

	if (!ASSERT_NOT_NULL(mkdtemp(dir)))
		return;
	/* A file this process maps, as a JIT maps its jit-PID.dump. */
	snprintf(name, sizeof(name), "jit-%d.marker", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!ASSERT_TRUE(fd >= 0) || !ASSERT_OK(ftruncate(fd, 4096)))
		goto out;
	mapped = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (!ASSERT_TRUE(mapped != MAP_FAILED))
		goto out;
	t = process_table__new(4);
	if (!ASSERT_NOT_NULL(t) || !ASSERT_OK(process_table__acquire(t, getpid())))
		goto out;
	m = process_table__find_file(t, getpid(), path_ends_with, name);
	if (ASSERT_NOT_NULL(m)) {
		ASSERT_STREQ(m->path, path);
		ASSERT_EQ(m->start, (uint64_t)(uintptr_t)mapped);
	}
	ASSERT_TRUE(process_table__find_file(t, getpid(), path_ends_with, "no-such.dump") == NULL);
	ASSERT_TRUE(process_table__find_file(t, pid_nobody_has(), path_ends_with, name) == NULL);
	/* A newer mapping of a matching file is found first. */
	process_table__on_mmap(t, getpid(), &older);
	process_table__on_exec(t, getpid());
	process_table__on_mmap(t, getpid(), &newer);
	m = process_table__find_file(t, getpid(), path_ends_with, "marker");
	if (ASSERT_NOT_NULL(m))
		ASSERT_STREQ(m->path, "/a/marker");
out:
	process_table__free(t);
	if (mapped != MAP_FAILED)
		munmap(mapped, 4096);
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN_TEST(test_fork_exec_mmap_exit);
	RUN_TEST(test_fork_after_first_read);
	RUN_TEST(test_bound);
	RUN_TEST(test_find_file);
	return TEST_SUMMARY();
}
