/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests of daemon/procs/proc_maps.c: parsing, limits, lookup, and the real /proc. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "procs/proc_maps.h"

/* As the kernel writes it; the last line has no newline on purpose. */
#define PAD "                     " /* to the path column, as the kernel pads */
static const char real_maps[] =
	"55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 247498" PAD "/opt/my app/bin/my prog\n"
	"55d0c0a02000-55d0c0a08000 r-xp 00002000 fe:00 247498" PAD "/opt/my app/bin/my prog\n"
	"55d0c0c00000-55d0c0c21000 rw-p 00000000 00:00 0     " PAD "[heap]\n"
	"7f0000000000-7f0000001000 rw-s 00000000 00:01 1234  " PAD "/memfd:ring buf (deleted)\n"
	"7f0000001000-7f0000003000 rw-p 00000000 00:00 0 \n"
	"7f0000003000-7f0000004000 r-xp 0001a000 103:0a 18446744073709551615 /usr/lib/libx.so\n"
	"7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0     " PAD "[vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 " PAD "[vsyscall]";

static void test_parse_real_looking(void)
{
	struct proc_maps maps = {};
	const struct proc_map *m;

	if (!ASSERT_OK(proc_maps__parse(real_maps, strlen(real_maps), &maps)))
		return;
	if (!ASSERT_EQ(maps.n, 8))
		goto out;

	m = &maps.maps[0];
	ASSERT_EQ(m->start, 0x55d0c0a00000ull);
	ASSERT_EQ(m->end, 0x55d0c0a02000ull);
	ASSERT_EQ(m->perms, PROC_MAP_READ);
	ASSERT_EQ(m->offset, 0);
	ASSERT_EQ(m->dev_major, 0xfe);
	ASSERT_EQ(m->dev_minor, 0);
	ASSERT_EQ(m->inode, 247498);
	ASSERT_STREQ(m->path, "/opt/my app/bin/my prog");
	ASSERT_FALSE(m->deleted);

	m = &maps.maps[1];
	ASSERT_EQ(m->perms, PROC_MAP_READ | PROC_MAP_EXEC);
	ASSERT_EQ(m->offset, 0x2000);
	ASSERT_STREQ(m->path, "/opt/my app/bin/my prog");

	m = &maps.maps[2];
	ASSERT_EQ(m->perms, PROC_MAP_READ | PROC_MAP_WRITE);
	ASSERT_STREQ(m->path, "[heap]");
	ASSERT_EQ(m->inode, 0);

	m = &maps.maps[3];
	ASSERT_EQ(m->perms, PROC_MAP_READ | PROC_MAP_WRITE | PROC_MAP_SHARED);
	ASSERT_STREQ(m->path, "/memfd:ring buf");
	ASSERT_TRUE(m->deleted);
	ASSERT_EQ(m->dev_minor, 1);

	m = &maps.maps[4];
	ASSERT_TRUE(m->path == NULL);
	ASSERT_FALSE(m->deleted);

	m = &maps.maps[5];
	ASSERT_EQ(m->dev_major, 0x103);
	ASSERT_EQ(m->dev_minor, 0xa);
	ASSERT_TRUE(m->inode == UINT64_MAX);
	ASSERT_EQ(m->offset, 0x1a000);
	ASSERT_STREQ(m->path, "/usr/lib/libx.so");

	ASSERT_STREQ(maps.maps[6].path, "[vdso]");
	m = &maps.maps[7];
	ASSERT_TRUE(m->start == 0xffffffffff600000ull);
	ASSERT_EQ(m->perms, PROC_MAP_EXEC);
	ASSERT_STREQ(m->path, "[vsyscall]");
out:
	proc_maps__release(&maps);
	ASSERT_TRUE(maps.maps == NULL);
	ASSERT_EQ(maps.n, 0);
	/* Releasing again, or something never filled, is harmless. */
	proc_maps__release(&maps);
	proc_maps__release(NULL);
}

static void test_parse_edge_cases(void)
{
	static const char anonymous_no_space[] = "1000-2000 rw-p 00000000 00:00 0";
	static const char only_deleted[] = "1000-2000 rw-p 00000000 00:00 0 (deleted)\n";
	static const char deleted_twice[] = "1000-2000 r--p 0 08:01 5 /a (deleted) (deleted)\n";
	struct proc_maps maps = { .maps = (void *)1, .n = 42 };

	/* Nothing to parse is not an error. */
	ASSERT_OK(proc_maps__parse("", 0, &maps));
	ASSERT_EQ(maps.n, 0);
	proc_maps__release(&maps);
	ASSERT_OK(proc_maps__parse(NULL, 0, &maps));
	ASSERT_EQ(maps.n, 0);

	if (ASSERT_OK(proc_maps__parse(anonymous_no_space, strlen(anonymous_no_space), &maps))) {
		ASSERT_EQ(maps.n, 1);
		ASSERT_TRUE(maps.maps[0].path == NULL);
		proc_maps__release(&maps);
	}
	/* A name that is only the suffix is a name, not a deleted nothing. */
	if (ASSERT_OK(proc_maps__parse(only_deleted, strlen(only_deleted), &maps))) {
		ASSERT_STREQ(maps.maps[0].path, "(deleted)");
		ASSERT_FALSE(maps.maps[0].deleted);
		proc_maps__release(&maps);
	}
	/* Only one suffix is the kernel's. */
	if (ASSERT_OK(proc_maps__parse(deleted_twice, strlen(deleted_twice), &maps))) {
		ASSERT_STREQ(maps.maps[0].path, "/a (deleted)");
		ASSERT_TRUE(maps.maps[0].deleted);
		proc_maps__release(&maps);
	}
	/* len is honoured: the text need not be NUL-terminated, and is cut where len says. */
	if (ASSERT_OK(proc_maps__parse(real_maps, strchr(real_maps, '\n') - real_maps, &maps))) {
		ASSERT_EQ(maps.n, 1);
		ASSERT_STREQ(maps.maps[0].path, "/opt/my app/bin/my prog");
		proc_maps__release(&maps);
	}
}

static void test_parse_rejects_malformed(void)
{
	static const char *const bad[] = {
		"zz00-2000 r--p 00000000 00:00 0\n",			/* not hex */
		"1000 r--p 00000000 00:00 0\n",				/* no range */
		"1000-2000r--p 00000000 00:00 0\n",			/* no space */
		"1000-2000  r--p 00000000 00:00 0\n",			/* two spaces */
		"1000-2000\tr--p 00000000 00:00 0\n",			/* tab */
		"-2000 r--p 00000000 00:00 0\n",			/* no start */
		"1000- r--p 00000000 00:00 0\n",			/* no end */
		"2000-1000 r--p 00000000 00:00 0\n",			/* end < start */
		"1000-1000 r--p 00000000 00:00 0\n",			/* empty */
		"1000-2000 r--x 00000000 00:00 0\n",			/* bad share flag */
		"1000-2000 xr-p 00000000 00:00 0\n",			/* perms out of order */
		"1000-2000 rw 00000000 00:00 0\n",			/* short perms */
		"1000-2000 r--pp 00000000 00:00 0\n",			/* long perms */
		"1000-2000 r--p 00000000 0000 0\n",			/* no colon */
		"1000-2000 r--p 00000000 00: 0\n",			/* no minor */
		"1000-2000 r--p 00000000 100000000:00 0\n",		/* major over 32 bits */
		"1000-2000 r--p 00000000 00:00\n",			/* no inode */
		"1000-2000 r--p 00000000 00:00 x\n",			/* inode not decimal */
		"1000-2000 r--p 00000000 00:00 12a /x\n",		/* junk after inode */
		"1000-2000 r--p 00000000 00:00 0x10 /x\n",		/* hex inode */
		"1000-2000 r--p 00000000 00:00 18446744073709551616\n", /* inode overflow */
		"10000000000000000-20000000000000000 r--p 0 00:00 0\n", /* address overflow */
		"1000-2000 r--p 00000000 00:00 0\n\n3000-4000 r--p 0 00:00 0\n", /* blank line */
		"\n",								 /* blank line */
		"1000-3000 r--p 00000000 00:00 0\n2000-4000 r--p 0 00:00 0\n",	 /* overlap */
		"3000-4000 r--p 00000000 00:00 0\n1000-2000 r--p 0 00:00 0\n",	 /* out of order */
		"1000-2000 r--p 00000000 00:00 0\n1000-2000 r--p 0 00:00 0\n",	 /* duplicate */
		"garbage\n",
	};
	/* A NUL inside a path: strings would silently cut it. */
	static const char with_nul[] = "1000-2000 r--p 00000000 00:00 0 /a\0b\n";
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proc_maps maps = { .maps = (void *)1, .n = 7 };
		int err = proc_maps__parse(bad[i], strlen(bad[i]), &maps);

		if (!ASSERT_EQ(err, -EINVAL))
			printf("#   accepted: \"%s\"\n", bad[i]);
		/* ret is written only on success. */
		ASSERT_TRUE(maps.maps == (void *)1 && maps.n == 7);
	}
	{
		struct proc_maps maps = {};

		ASSERT_EQ(proc_maps__parse(with_nul, sizeof(with_nul) - 1, &maps), -EINVAL);
	}
}

/* Writes n valid lines, each with a path of path_len bytes, into a new buffer. */
static char *make_maps_text(size_t n, size_t path_len, size_t *ret_len)
{
	size_t line_max = 64 + path_len, len = 0, i;
	char *text = malloc(n * line_max + 1), *path = malloc(path_len + 1);

	if (!text || !path) {
		free(text);
		free(path);
		return NULL;
	}
	memset(path, 'p', path_len);
	path[0] = '/';
	path[path_len] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%zx-%zx r--p 00000000 00:00 0 %s\n",
				       (i + 1) * 0x1000, (i + 2) * 0x1000, path_len ? path : "");
	free(path);
	*ret_len = len;
	return text;
}

static void test_parse_limits(void)
{
	struct proc_maps maps = {};
	const struct proc_map *m;
	size_t len;
	char *text;

	/* Exactly the entry limit parses; one more does not. */
	text = make_maps_text(PROC_MAPS_MAX_ENTRIES + 1, 0, &len);
	if (!ASSERT_NOT_NULL(text))
		return;
	ASSERT_EQ(proc_maps__parse(text, len, &maps), -E2BIG);
	len = (size_t)(strstr(text, "10001000-10002000") - text);
	if (ASSERT_OK(proc_maps__parse(text, len, &maps))) {
		ASSERT_EQ(maps.n, PROC_MAPS_MAX_ENTRIES);
		m = proc_maps__find(&maps, 0x10000fff);
		ASSERT_TRUE(m == &maps.maps[PROC_MAPS_MAX_ENTRIES - 1]);
		proc_maps__release(&maps);
	}
	free(text);

	/* Few entries with long paths: the byte limit. */
	text = make_maps_text(1100, 16000, &len);
	if (!ASSERT_NOT_NULL(text))
		return;
	ASSERT_TRUE(len > PROC_MAPS_MAX_BYTES);
	ASSERT_EQ(proc_maps__parse(text, len, &maps), -E2BIG);
	/* Cut to whole lines under the limit, it parses. */
	len = (size_t)((char *)memrchr(text, '\n', PROC_MAPS_MAX_BYTES) - text) + 1;
	if (ASSERT_OK(proc_maps__parse(text, len, &maps))) {
		ASSERT_TRUE(maps.n > 1000 && maps.n < 1100);
		ASSERT_EQ(strlen(maps.maps[0].path), 16000);
		proc_maps__release(&maps);
	}
	free(text);
}

static void test_find(void)
{
	struct proc_maps maps = {}, empty = {};
	const struct proc_map *m;

	if (!ASSERT_OK(proc_maps__parse(real_maps, strlen(real_maps), &maps)))
		return;
	/* Adjacent maps: the boundary belongs to the second. */
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c0a00000ull) == &maps.maps[0]);
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c0a01fffull) == &maps.maps[0]);
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c0a02000ull) == &maps.maps[1]);
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c0a07fffull) == &maps.maps[1]);
	/* The gap after the text, before the heap. */
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c0a08000ull) == NULL);
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c0bfffffull) == NULL);
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c0c00000ull) == &maps.maps[2]);
	/* Before the first, after the last, the extremes. */
	ASSERT_TRUE(proc_maps__find(&maps, 0) == NULL);
	ASSERT_TRUE(proc_maps__find(&maps, 0x55d0c09fffffull) == NULL);
	m = proc_maps__find(&maps, 0xffffffffff600abcull);
	ASSERT_TRUE(m == &maps.maps[7]);
	ASSERT_TRUE(proc_maps__find(&maps, 0xffffffffff601000ull) == NULL);
	ASSERT_TRUE(proc_maps__find(&maps, UINT64_MAX) == NULL);
	ASSERT_TRUE(proc_maps__find(&maps, 0x7ffd00001fffull) == &maps.maps[6]);
	ASSERT_TRUE(proc_maps__find(&empty, 0x1000) == NULL);
	ASSERT_TRUE(proc_maps__find(NULL, 0x1000) == NULL);
	proc_maps__release(&maps);
}

static void test_read_self(void)
{
	struct proc_maps maps = {};
	const struct proc_map *m;
	char exe[PATH_MAX];
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (!ASSERT_TRUE(n > 0))
		return;
	exe[n] = '\0';
	if (!ASSERT_OK(proc_maps__read(getpid(), &maps)))
		return;
	ASSERT_TRUE(maps.n > 5);
	for (i = 1; i < maps.n; i++)
		ASSERT_TRUE(maps.maps[i].start >= maps.maps[i - 1].end);

	/* The code running now is in an executable mapping of this very file. */
	m = proc_maps__find(&maps, (uint64_t)(uintptr_t)&test_read_self);
	if (ASSERT_NOT_NULL(m)) {
		ASSERT_STREQ(m->path, exe);
		ASSERT_TRUE(m->perms & PROC_MAP_EXEC);
		ASSERT_TRUE(m->perms & PROC_MAP_READ);
		ASSERT_FALSE(m->perms & PROC_MAP_WRITE);
		ASSERT_FALSE(m->deleted);
		ASSERT_NE(m->inode, 0);
	}
	/* And the stack is the stack. */
	m = proc_maps__find(&maps, (uint64_t)(uintptr_t)&n);
	if (ASSERT_NOT_NULL(m))
		ASSERT_STREQ(m->path, "[stack]");
	proc_maps__release(&maps);
}

static void test_read_gone(void)
{
	struct proc_maps maps = { .maps = (void *)1, .n = 3 };
	long pid_max = 0;
	FILE *file;
	pid_t child;

	/* Process IDs stay below pid_max, so this one never exists. */
	file = fopen("/proc/sys/kernel/pid_max", "r");
	if (ASSERT_NOT_NULL(file)) {
		ASSERT_EQ(fscanf(file, "%ld", &pid_max), 1);
		fclose(file);
	}
	if (pid_max > 0 && pid_max <= INT_MAX)
		ASSERT_EQ(proc_maps__read((pid_t)pid_max, &maps), -ESRCH);
	ASSERT_EQ(proc_maps__read(INT_MAX, &maps), -ESRCH);

	/* A child that has exited and been reaped. */
	child = fork();
	if (child == 0)
		_exit(0);
	if (ASSERT_TRUE(child > 0)) {
		ASSERT_EQ(waitpid(child, NULL, 0), child);
		ASSERT_EQ(proc_maps__read(child, &maps), -ESRCH);
	}
	ASSERT_EQ(proc_maps__read(0, &maps), -EINVAL);
	ASSERT_EQ(proc_maps__read(-1, &maps), -EINVAL);
	ASSERT_TRUE(maps.maps == (void *)1 && maps.n == 3);
}

/* Maps from text, for the insert tests. */
static bool parse(const char *text, struct proc_maps *ret)
{
	return ASSERT_OK(proc_maps__parse(text, strlen(text), ret));
}

static void test_insert(void)
{
	struct proc_maps maps = {}, copy = {};
	struct proc_map m = {
		.start = 0x3000, .end = 0x5000, .offset = 0x1000, .inode = 7,
		.perms = PROC_MAP_READ | PROC_MAP_EXEC, .path = "/new",
	};
	char path[] = "/into-empty";

	/* Into nothing, then on either side. */
	ASSERT_OK(proc_maps__insert(&maps, &(struct proc_map){ .start = 0x1000, .end = 0x2000,
								 .path = path }));
	path[1] = 'X'; /* the path was copied */
	if (ASSERT_EQ(maps.n, 1))
		ASSERT_STREQ(maps.maps[0].path, "/into-empty");
	proc_maps__release(&maps);

	/* m splits one mapping and covers another whole and the start of a third. */
	if (!parse("1000-4000 r-xp 00000000 08:01 1 /a\n"
		   "4000-4800 r-xp 00000000 08:01 2 /b\n"
		   "4800-6000 r--p 00010000 08:01 3 /c\n"
		   "9000-a000 rw-p 00000000 00:00 0 \n",
		   &maps))
		return;
	if (!ASSERT_OK(proc_maps__insert(&maps, &m)) || !ASSERT_EQ(maps.n, 4))
		goto out;
	ASSERT_EQ(maps.maps[0].start, 0x1000);
	ASSERT_EQ(maps.maps[0].end, 0x3000);
	ASSERT_STREQ(maps.maps[0].path, "/a");
	ASSERT_EQ(maps.maps[1].start, 0x3000);
	ASSERT_EQ(maps.maps[1].end, 0x5000);
	ASSERT_EQ(maps.maps[1].offset, 0x1000);
	ASSERT_STREQ(maps.maps[1].path, "/new");
	/* What is left of /c starts later in its file. */
	ASSERT_EQ(maps.maps[2].start, 0x5000);
	ASSERT_EQ(maps.maps[2].end, 0x6000);
	ASSERT_EQ(maps.maps[2].offset, 0x10800);
	ASSERT_STREQ(maps.maps[2].path, "/c");
	ASSERT_TRUE(maps.maps[3].path == NULL);
	ASSERT_TRUE(proc_maps__find(&maps, 0x4400) == &maps.maps[1]);

	/* Inside one mapping: it is cut in two around m. */
	m = (struct proc_map){ .start = 0x9400, .end = 0x9800, .path = "/mid" };
	if (ASSERT_OK(proc_maps__insert(&maps, &m)) && ASSERT_EQ(maps.n, 6)) {
		ASSERT_EQ(maps.maps[3].end, 0x9400);
		ASSERT_STREQ(maps.maps[4].path, "/mid");
		ASSERT_EQ(maps.maps[5].start, 0x9800);
		ASSERT_EQ(maps.maps[5].end, 0xa000);
	}
	for (size_t i = 1; i < maps.n; i++)
		ASSERT_TRUE(maps.maps[i].start >= maps.maps[i - 1].end);

	/* An empty range is refused and changes nothing. */
	m = (struct proc_map){ .start = 0x9400, .end = 0x9400 };
	ASSERT_EQ(proc_maps__insert(&maps, &m), -EINVAL);
	ASSERT_EQ(maps.n, 6);

	/* A copy owns its paths. */
	if (ASSERT_OK(proc_maps__copy(&maps, &copy)) && ASSERT_EQ(copy.n, maps.n)) {
		ASSERT_TRUE(copy.maps[0].path != maps.maps[0].path);
		ASSERT_STREQ(copy.maps[0].path, "/a");
		ASSERT_TRUE(copy.maps[3].path == NULL);
	}
	proc_maps__release(&copy);
out:
	proc_maps__release(&maps);
}

int main(void)
{
	RUN_TEST(test_parse_real_looking);
	RUN_TEST(test_parse_edge_cases);
	RUN_TEST(test_parse_rejects_malformed);
	RUN_TEST(test_parse_limits);
	RUN_TEST(test_find);
	RUN_TEST(test_read_self);
	RUN_TEST(test_read_gone);
	RUN_TEST(test_insert);
	return TEST_SUMMARY();
}
