// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The window store (daemon/store/window_store.h) and its file format
 * (window_file.h): round trips, restarts, range queries, retention, files
 * left by crashes or written by someone else, kill -9 in the middle of
 * writes, a full disk (root: a tiny tmpfs in a mount namespace of a child's
 * own), threads, the index's bound on memory (process lists read back from
 * the files), and the time of the startup scan and of each().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "store/window_file.h"
#include "store/window_index.h"
#include "store/window_store.h"
#include "util/clock.h"

#define SEC 1000000000ll
#define MAX_PROCS 400
#define N_STRINGS 5

/* A window to put, with storage for its processes and strings. */
struct test_window {
	struct store_window w;
	struct store_process procs[MAX_PROCS];
	char strings[MAX_PROCS][N_STRINGS][48];
	uint8_t *profile;
};

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* A window's contents follow from (start_ns, seed) alone: a reader can check them. */
static struct test_window *make_window(int64_t start_ns, int64_t len_ns, size_t n_procs,
				       size_t profile_size, uint64_t seed)
{
	struct test_window *t = calloc(1, sizeof(*t));
	uint64_t r = seed * 2654435761u + (uint64_t)start_ns + 1;

	if (!t || n_procs > MAX_PROCS)
		abort();
	t->profile = malloc(profile_size ? profile_size : 1);
	for (size_t i = 0; i < profile_size; i++)
		t->profile[i] = (uint8_t)next_random(&r);
	t->w = (struct store_window){
		.start_ns = start_ns,
		.end_ns = start_ns + len_ns,
		.hz = 19,
		.samples = 1000 + seed,
		.lost = seed % 7,
		.processes = t->procs,
		.n_processes = n_procs,
		.profile = profile_size ? t->profile : NULL,
		.profile_size = profile_size,
	};
	for (size_t i = 0; i < n_procs; i++) {
		struct store_process *p = &t->procs[i];
		const char **fields[N_STRINGS] = { &p->exe, &p->build_id, &p->cgroup, &p->unit,
						   &p->container };

		p->pid = (int32_t)(100 + i);
		p->uid = (uint32_t)(i % 3 ? 1000 : 0);
		p->start_ticks = 5000 + i * 17 + seed;
		p->samples = i * 3 + 1;
		p->lost = i % 2;
		snprintf(p->comm, sizeof(p->comm), "proc-%zu", i);
		for (int j = 0; j < N_STRINGS; j++) {
			/* Some unknown, one empty: NULL and "" are not the same. */
			if ((i + (size_t)j) % 4 == 0)
				continue;
			if ((i + (size_t)j) % 9 == 1)
				t->strings[i][j][0] = '\0';
			else
				snprintf(t->strings[i][j], sizeof(t->strings[i][j]), "s%d-%zu-%" PRIu64,
					 j, i, seed);
			*fields[j] = t->strings[i][j];
		}
	}
	return t;
}

static void free_window(struct test_window *t)
{
	if (t) {
		free(t->profile);
		free(t);
	}
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_processes(const struct store_process *a, const struct store_process *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].pid != b[i].pid || a[i].uid != b[i].uid ||
		    a[i].start_ticks != b[i].start_ticks || a[i].samples != b[i].samples ||
		    a[i].lost != b[i].lost || strcmp(a[i].comm, b[i].comm) != 0 ||
		    !same_string(a[i].exe, b[i].exe) || !same_string(a[i].build_id, b[i].build_id) ||
		    !same_string(a[i].cgroup, b[i].cgroup) || !same_string(a[i].unit, b[i].unit) ||
		    !same_string(a[i].container, b[i].container))
			return false;
	}
	return true;
}

/* What each() gave, checked against the windows put while fn ran (its pointers live only then). */
struct collected {
	size_t n, calls, stop_after;
	uint64_t ids[1024];
	int64_t starts[1024];
	uint64_t bytes[1024];
	struct test_window **expected;
	size_t n_expected;
	bool mismatch;
};

static int collect(void *ctx, const struct store_window_info *w)
{
	struct collected *c = ctx;
	const struct test_window *want = NULL;

	c->calls++;
	if (c->n < 1024) {
		c->ids[c->n] = w->id;
		c->starts[c->n] = w->start_ns;
		c->bytes[c->n] = w->bytes;
		c->n++;
	}
	for (size_t i = 0; i < c->n_expected; i++)
		if (c->expected[i] && c->expected[i]->w.start_ns == w->start_ns)
			want = c->expected[i];
	if (want && (w->end_ns != want->w.end_ns || w->hz != want->w.hz ||
		     w->samples != want->w.samples || w->lost != want->w.lost ||
		     w->n_processes != want->w.n_processes ||
		     !same_processes(w->processes, want->procs, w->n_processes)))
		c->mismatch = true;
	return c->stop_after && c->calls == c->stop_after ? 7 : 0;
}

static bool profile_is(struct window_store *s, uint64_t id, const struct test_window *t)
{
	void *data = NULL;
	size_t size = 0;
	bool same;

	if (!ASSERT_OK(window_store__read_profile(s, id, &data, &size)))
		return false;
	same = ASSERT_NOT_NULL(data) && ASSERT_EQ(size, t->w.profile_size) &&
	       ASSERT_TRUE(memcmp(data, t->profile, size) == 0);
	free(data);
	return same;
}

static char *make_base(void)
{
	const char *tmp = getenv("TMPDIR");
	char *base;

	if (asprintf(&base, "%s/cprof-window-store-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(base))
		abort();
	return base;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tree(char *base)
{
	nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(base);
}

static char *store_dir(const char *base)
{
	char *dir;

	if (asprintf(&dir, "%s/windows", base) < 0)
		abort();
	return dir;
}

/* How many names of each kind the directory holds. */
struct listing {
	size_t windows, temporary, corrupt, other;
};

static struct listing list(const char *dir)
{
	struct listing l = { 0 };
	struct dirent *de;
	DIR *d = opendir(dir);
	int64_t start;
	uint32_t seq;

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		switch (window_file__parse_name(de->d_name, &start, &seq)) {
		case WINDOW_FILE_NAME_WINDOW:
			l.windows++;
			break;
		case WINDOW_FILE_NAME_TEMPORARY:
			l.temporary++;
			break;
		case WINDOW_FILE_NAME_CORRUPT:
			l.corrupt++;
			break;
		default:
			l.other++;
		}
	}
	if (d)
		closedir(d);
	return l;
}

static struct window_store *open_store(const char *dir, uint64_t max_bytes, uint64_t max_age_ns)
{
	struct window_store_options opts = { .dir = dir, .max_bytes = max_bytes,
					     .max_age_ns = max_age_ns };

	return window_store__open(&opts);
}

static struct window_store_stats stats_of(struct window_store *s)
{
	struct window_store_stats st;

	window_store__stats(s, &st);
	return st;
}

static void test_file_format(void)
{
	struct test_window *t = make_window(5 * SEC, SEC, 7, 300, 1);
	struct window_file_header h;
	uint8_t *head, *again;
	size_t size, again_size;
	char name[WINDOW_FILE_NAME_SIZE];
	int64_t start;
	uint32_t seq;

	if (!ASSERT_OK(window_file__encode_head(&t->w, &head, &size)))
		goto out;
	if (ASSERT_OK(window_file__parse_header(head, size, &h))) {
		ASSERT_EQ(h.start_ns, 5 * SEC);
		ASSERT_EQ(h.n_processes, 7);
		ASSERT_EQ(h.file_size, size + 300 + 4);
		ASSERT_TRUE(same_processes(h.processes, t->procs, 7));
		/* Canonical: the parse encodes to the same bytes. */
		t->w.processes = h.processes;
		if (ASSERT_OK(window_file__encode_head(&t->w, &again, &again_size))) {
			ASSERT_TRUE(again_size == size && memcmp(again, head, size) == 0);
			free(again);
		}
		t->w.processes = t->procs;
		window_file_header__release(&h);
	}
	ASSERT_EQ(window_file__parse_header(head, size - 1, &h), -EINVAL);
	head[size - 10] ^= 1;
	ASSERT_EQ(window_file__parse_header(head, size, &h), -EINVAL);
	head[8] = 2; /* another version */
	ASSERT_EQ(window_file__parse_header(head, size, &h), -EPROTONOSUPPORT);
	free(head);

	/* Bounds the encoder keeps. */
	t->w.end_ns = t->w.start_ns;
	ASSERT_EQ(window_file__encode_head(&t->w, &head, &size), -EINVAL);
	t->w.end_ns = t->w.start_ns + 1;
	t->w.start_ns = -1;
	ASSERT_EQ(window_file__encode_head(&t->w, &head, &size), -EINVAL);
	t->w.start_ns = 0;
	t->w.n_processes = WINDOW_FILE_MAX_PROCESSES + 1;
	ASSERT_EQ(window_file__encode_head(&t->w, &head, &size), -E2BIG);

	window_file__name(123, 4, "", name);
	ASSERT_STREQ(name, "w-0000000000000000123-0000000004.cpw");
	ASSERT_EQ(window_file__parse_name(name, &start, &seq), WINDOW_FILE_NAME_WINDOW);
	ASSERT_TRUE(start == 123 && seq == 4);
	ASSERT_EQ(window_file__parse_name("w-0000000000000000123-0000000004.cpw.tmp", &start, &seq),
		  WINDOW_FILE_NAME_TEMPORARY);
	ASSERT_EQ(window_file__parse_name("w-9999999999999999999-0000000004.cpw", &start, &seq),
		  WINDOW_FILE_NAME_OTHER); /* past INT64_MAX */
	ASSERT_EQ(window_file__parse_name("w-000000000000000123-0000000004.cpw", &start, &seq),
		  WINDOW_FILE_NAME_OTHER);
	ASSERT_EQ(window_file__parse_name("w-0000000000000000123-0000000004.cpwx", &start, &seq),
		  WINDOW_FILE_NAME_OTHER);
out:
	free_window(t);
}

static void test_round_trip(void)
{
	char *base = make_base(), *dir = store_dir(base);
	struct test_window *t[4] = {
		make_window(100 * SEC, 10 * SEC, 12, 5000, 1),
		make_window(110 * SEC, 10 * SEC, 0, 0, 2),   /* no processes, empty profile */
		make_window(120 * SEC, 10 * SEC, 3, 1, 3),
		make_window(130 * SEC, 10 * SEC, 40, 70000, 4),
	};
	struct collected c = { .expected = t, .n_expected = 4 };
	struct window_store_stats st;
	struct window_store *s;
	struct stat dir_st;
	uint64_t ids[4];

	s = open_store(dir, 0, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	ASSERT_OK(stat(dir, &dir_st));
	ASSERT_EQ(dir_st.st_mode & 07777, 0750);
	for (int i = 0; i < 4; i++)
		ASSERT_OK(window_store__put(s, &t[i]->w, 140 * SEC));
	ASSERT_EQ(window_store__each(s, 0, INT64_MAX, collect, &c), 0);
	ASSERT_EQ(c.n, 4);
	ASSERT_FALSE(c.mismatch);
	for (int i = 0; i < 4 && i < (int)c.n; i++) {
		ASSERT_EQ(c.starts[i], t[i]->w.start_ns);
		ids[i] = c.ids[i];
		profile_is(s, ids[i], t[i]);
	}
	st = stats_of(s);
	ASSERT_EQ(st.windows, 4);
	ASSERT_EQ(st.written, 4);
	ASSERT_EQ(st.bytes, c.bytes[0] + c.bytes[1] + c.bytes[2] + c.bytes[3]);
	ASSERT_EQ(st.oldest_ns, 100 * SEC);
	ASSERT_EQ(st.newest_ns, 140 * SEC);
	ASSERT_TRUE(st.index_bytes > 0);
	ASSERT_EQ(window_store__read_profile(s, 999, &(void *){ NULL }, &(size_t){ 0 }), -ENOENT);
	window_store__free(s);

	/* A restart finds the same windows, and nothing else on disk. */
	ASSERT_EQ(list(dir).windows, 4);
	ASSERT_EQ(list(dir).other + list(dir).temporary + list(dir).corrupt, 0);
	s = open_store(dir, 0, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	c.n = c.calls = 0;
	window_store__each(s, 0, INT64_MAX, collect, &c);
	ASSERT_EQ(c.n, 4);
	ASSERT_FALSE(c.mismatch);
	for (int i = 0; i < 4 && i < (int)c.n; i++)
		profile_is(s, c.ids[i], t[i]);
	st = stats_of(s);
	ASSERT_EQ(st.windows, 4);
	ASSERT_EQ(st.corrupt_files + st.skipped_files + st.temporary_removed, 0);
	window_store__free(s);
	window_store__free(NULL);
out:
	for (int i = 0; i < 4; i++)
		free_window(t[i]);
	free(dir);
	remove_tree(base);
}

static void test_limits(void)
{
	char *base = make_base(), *dir = store_dir(base);
	struct test_window *t = make_window(SEC, SEC, 1, 10, 1);
	struct collected c = { 0 };
	char long_string[WINDOW_FILE_MAX_STRING + 100];
	struct window_store *s = open_store(dir, 0, 0);
	struct window_store *second;

	if (!ASSERT_NOT_NULL(s))
		goto out;
	/* One store per directory. */
	second = open_store(dir, 0, 0);
	ASSERT_TRUE(second == NULL && errno == EBUSY);
	window_store__free(second);

	memset(long_string, 'x', sizeof(long_string) - 1);
	long_string[sizeof(long_string) - 1] = '\0';
	t->procs[0].exe = long_string;
	memcpy(t->procs[0].comm, "0123456789abcdef", 16); /* no NUL: cut to 15 */
	ASSERT_OK(window_store__put(s, &t->w, 0));
	t->w.end_ns = t->w.start_ns;
	ASSERT_EQ(window_store__put(s, &t->w, 0), -EINVAL);
	ASSERT_EQ(stats_of(s).write_errors, 1);
	window_store__free(s);

	s = open_store(dir, 0, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	c.stop_after = 1;
	ASSERT_EQ(window_store__each(s, 0, INT64_MAX, collect, &c), 7);
	ASSERT_EQ(list(dir).windows, 1);
	window_store__free(s);
	{
		/* What was kept of the long strings, read from the file itself. */
		struct window_file_header h;
		char path[PATH_MAX], name[WINDOW_FILE_NAME_SIZE];
		uint8_t buf[16384];
		ssize_t n;
		int fd;

		window_file__name(SEC, 0, "", name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		if (ASSERT_TRUE(n > 0) && ASSERT_OK(window_file__parse_header(buf, (size_t)n, &h))) {
			ASSERT_EQ(strlen(h.processes[0].exe), WINDOW_FILE_MAX_STRING);
			ASSERT_STREQ(h.processes[0].comm, "0123456789abcde");
			ASSERT_OK(window_file__check(buf, (size_t)n));
			window_file_header__release(&h);
		}
	}
out:
	free_window(t);
	free(dir);
	remove_tree(base);
}

/* each() against the definition, over windows of uneven lengths and many ranges. */
static void test_ranges(void)
{
	char *base = make_base(), *dir = store_dir(base);
	static const int64_t spans[][2] = { { 10, 20 }, { 20, 30 }, { 30, 40 }, { 0, 100 },
					    { 35, 36 }, { 50, 51 }, { 20, 25 } };
	const size_t n = sizeof(spans) / sizeof(spans[0]);
	struct window_store *s = open_store(dir, 0, 0);
	uint64_t r = 42;

	if (!ASSERT_NOT_NULL(s))
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct test_window *t = make_window(spans[i][0], spans[i][1] - spans[i][0], 1, 8, i);

		ASSERT_OK(window_store__put(s, &t->w, 0));
		free_window(t);
	}
	for (int q = 0; q < 3000; q++) {
		int64_t a = (int64_t)(next_random(&r) % 110) - 5, b = (int64_t)(next_random(&r) % 110) - 5;
		struct collected c = { 0 };
		size_t want = 0;

		if (q == 0)
			a = INT64_MIN, b = INT64_MAX;
		if (q == 1)
			a = 40, b = 40; /* empty: [0, 100) has 40 inside */
		if (q == 2)
			a = 36, b = 20; /* inverted: taken literally too */
		for (size_t i = 0; i < n; i++)
			want += spans[i][0] < b && a < spans[i][1];
		window_store__each(s, a, b, collect, &c);
		if (!ASSERT_EQ(c.n, want)) {
			printf("#   range [%" PRId64 ", %" PRId64 ")\n", a, b);
			break;
		}
		for (size_t i = 1; i < c.n; i++)
			ASSERT_TRUE(c.starts[i - 1] <= c.starts[i]);
	}
	window_store__free(s);
out:
	free(dir);
	remove_tree(base);
}

static void test_retention_age(void)
{
	char *base = make_base(), *dir = store_dir(base);
	struct window_store *s = open_store(dir, 0, 100 * SEC);
	struct window_store_stats st;

	if (!ASSERT_NOT_NULL(s))
		goto out;
	for (int i = 0; i < 3; i++) {
		struct test_window *t = make_window(i * 10 * SEC, 10 * SEC, 2, 100, i);

		ASSERT_OK(window_store__put(s, &t->w, 30 * SEC));
		free_window(t);
	}
	ASSERT_EQ(stats_of(s).windows, 3);
	window_store__expire(s, 110 * SEC - 1); /* the first ends at 10 s: 100 s old only at 110 */
	ASSERT_EQ(stats_of(s).windows, 3);
	window_store__expire(s, 110 * SEC);
	st = stats_of(s);
	ASSERT_EQ(st.windows, 2);
	ASSERT_EQ(st.dropped_for_age, 1);
	ASSERT_EQ(st.oldest_ns, 10 * SEC);
	ASSERT_EQ(list(dir).windows, 2);
	{
		/* A put with the clock far ahead: the old ones go, the new one stays. */
		struct test_window *t = make_window(500 * SEC, 10 * SEC, 2, 100, 9);

		ASSERT_OK(window_store__put(s, &t->w, 510 * SEC));
		free_window(t);
	}
	st = stats_of(s);
	ASSERT_EQ(st.windows, 1);
	ASSERT_EQ(st.dropped_for_age, 3);
	ASSERT_EQ(st.oldest_ns, 500 * SEC);
	ASSERT_EQ(list(dir).windows, 1);
	window_store__expire(s, INT64_MIN); /* no overflow */
	window_store__expire(s, INT64_MAX);
	ASSERT_EQ(stats_of(s).windows, 0);
	ASSERT_EQ(list(dir).windows, 0);
	window_store__free(s);
out:
	free(dir);
	remove_tree(base);
}

static void test_retention_size(void)
{
	char *base = make_base(), *dir = store_dir(base);
	struct test_window *t = make_window(0, SEC, 5, 3000, 0);
	struct collected c = { 0 };
	struct window_store_stats st;
	struct window_store *s;
	uint64_t file_size;
	uint8_t *head;
	size_t head_size;

	if (!ASSERT_OK(window_file__encode_head(&t->w, &head, &head_size)))
		goto out;
	free(head);
	file_size = head_size + 3000 + 4;
	free_window(t);
	t = NULL;
	s = open_store(dir, file_size * 7 / 2, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	for (int i = 0; i < 6; i++) {
		t = make_window(i * SEC, SEC, 5, 3000, 0);
		ASSERT_OK(window_store__put(s, &t->w, 0));
		free_window(t);
	}
	st = stats_of(s);
	ASSERT_EQ(st.windows, 3);
	ASSERT_EQ(st.dropped_for_size, 3);
	ASSERT_EQ(st.bytes, 3 * file_size);
	window_store__each(s, 0, INT64_MAX, collect, &c);
	ASSERT_TRUE(c.n == 3 && c.starts[0] == 3 * SEC && c.starts[2] == 5 * SEC);
	ASSERT_EQ(list(dir).windows, 3);
	/* Alone over the bound: refused, nothing removed for it. */
	t = make_window(10 * SEC, SEC, 5, file_size * 4, 0);
	ASSERT_EQ(window_store__put(s, &t->w, 0), -EFBIG);
	free_window(t);
	t = NULL;
	ASSERT_EQ(stats_of(s).windows, 3);
	ASSERT_EQ(list(dir).windows, 3);
	window_store__free(s);

	/* A smaller bound at the next start: the newest window stays. */
	s = open_store(dir, file_size * 3 / 2, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	st = stats_of(s);
	ASSERT_EQ(st.windows, 1);
	ASSERT_EQ(st.dropped_for_size, 2);
	ASSERT_EQ(st.oldest_ns, 5 * SEC);
	ASSERT_EQ(list(dir).windows, 1);
	window_store__free(s);
out:
	free_window(t);
	free(dir);
	remove_tree(base);
}

static int write_bytes(const char *dir, const char *name, const void *data, size_t size)
{
	char path[PATH_MAX];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		return -errno;
	n = write(fd, data, size);
	close(fd);
	return n == (ssize_t)size ? 0 : -EIO;
}

static void *read_bytes(const char *dir, const char *name, size_t *ret_size)
{
	char path[PATH_MAX];
	struct stat st;
	void *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1)) ||
	    read(fd, buf, (size_t)st.st_size) != st.st_size)
		abort();
	close(fd);
	*ret_size = (size_t)st.st_size;
	return buf;
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/* Three good windows, and beside them every kind of file a crash or a stranger leaves. */
static void test_leftovers(void)
{
	char *base = make_base(), *dir = store_dir(base);
	char name[WINDOW_FILE_NAME_SIZE], path[PATH_MAX], target[PATH_MAX];
	struct test_window *t[3];
	struct collected c = { .expected = t, .n_expected = 3 };
	struct window_store_stats st;
	struct window_store *s;
	uint8_t *good, zeros[512] = { 0 };
	size_t size;

	s = open_store(dir, 0, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	for (int i = 0; i < 3; i++) {
		t[i] = make_window((i + 1) * 10 * SEC, 10 * SEC, 6, 2000, i);
		ASSERT_OK(window_store__put(s, &t[i]->w, 0));
	}
	window_store__free(s);

	window_file__name(10 * SEC, 0, "", name);
	good = read_bytes(dir, name, &size);
	/* A truncated copy, named as the same window's next file. */
	window_file__name(10 * SEC, 1, "", name);
	ASSERT_OK(write_bytes(dir, name, good, size / 2));
	/* A copy with one byte flipped in its head (a process's samples). */
	good[WINDOW_FILE_PREAMBLE_SIZE + 48 + 16] ^= 0x10;
	window_file__name(20 * SEC, 1, "", name);
	ASSERT_OK(write_bytes(dir, name, good, size));
	good[WINDOW_FILE_PREAMBLE_SIZE + 48 + 16] ^= 0x10;
	/* An interrupted write. */
	window_file__name(30 * SEC, 1, ".tmp", name);
	ASSERT_OK(write_bytes(dir, name, good, size / 3));
	/* Empty, zeros, a copy under another window's name. */
	window_file__name(40 * SEC, 0, "", name);
	ASSERT_OK(write_bytes(dir, name, "", 0));
	window_file__name(41 * SEC, 0, "", name);
	ASSERT_OK(write_bytes(dir, name, zeros, sizeof(zeros)));
	window_file__name(42 * SEC, 0, "", name);
	ASSERT_OK(write_bytes(dir, name, good, size));
	/* A FIFO (must not hang the scan), a symlink and a directory under windows' names. */
	window_file__name(43 * SEC, 0, "", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ASSERT_OK(mkfifo(path, 0600));
	window_file__name(44 * SEC, 0, "", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	window_file__name(10 * SEC, 0, "", name);
	snprintf(target, sizeof(target), "%s/%s", dir, name);
	ASSERT_OK(symlink(target, path));
	window_file__name(45 * SEC, 0, "", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ASSERT_OK(mkdir(path, 0700));
	/* Another format version's file stays, unindexed; so does a stranger's name. */
	good[8] = 2;
	window_file__name(46 * SEC, 0, "", name);
	ASSERT_OK(write_bytes(dir, name, good, size));
	ASSERT_OK(write_bytes(dir, "notes.txt", "hello", 5));

	s = open_store(dir, 0, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out_free;
	st = stats_of(s);
	ASSERT_EQ(st.windows, 3);
	ASSERT_EQ(st.corrupt_files, 8);
	ASSERT_EQ(st.temporary_removed, 1);
	ASSERT_EQ(st.skipped_files, 1);
	window_store__each(s, 0, INT64_MAX, collect, &c);
	ASSERT_EQ(c.n, 3);
	ASSERT_FALSE(c.mismatch);
	for (int i = 0; i < 3 && i < (int)c.n; i++)
		profile_is(s, c.ids[i], t[i]);
	window_store__free(s);
	ASSERT_EQ(list(dir).windows, 4); /* the 3, and the other version's */
	ASSERT_EQ(list(dir).temporary, 0);
	ASSERT_EQ(list(dir).corrupt, 8);
	ASSERT_TRUE(exists(dir, "notes.txt"));
	window_file__name(20 * SEC, 1, ".corrupt", name);
	ASSERT_TRUE(exists(dir, name));

	/* Past WINDOW_STORE_MAX_CORRUPT the oldest windows' go. */
	for (int i = 0; i < 5; i++) {
		window_file__name(60 * SEC + i, 0, "", name);
		ASSERT_OK(write_bytes(dir, name, zeros, 10));
	}
	s = open_store(dir, 0, 0);
	if (ASSERT_NOT_NULL(s)) {
		ASSERT_EQ(stats_of(s).corrupt_files, 5);
		ASSERT_EQ(stats_of(s).windows, 3);
		window_store__free(s);
	}
	ASSERT_EQ(list(dir).corrupt, WINDOW_STORE_MAX_CORRUPT);
	window_file__name(60 * SEC + 4, 0, ".corrupt", name);
	ASSERT_TRUE(exists(dir, name));
	window_file__name(10 * SEC, 1, ".corrupt", name);
	ASSERT_FALSE(exists(dir, name));
out_free:
	free(good);
	for (int i = 0; i < 3; i++)
		free_window(t[i]);
out:
	free(dir);
	remove_tree(base);
}

/* A file damaged after open: its profile's read finds it, once. */
static void test_corrupt_profile(void)
{
	char *base = make_base(), *dir = store_dir(base);
	struct test_window *t[3];
	struct collected c = { 0 };
	char name[WINDOW_FILE_NAME_SIZE], path[PATH_MAX];
	struct window_store *s = open_store(dir, 0, 0);
	void *data;
	size_t size;
	uint8_t *bytes;

	if (!ASSERT_NOT_NULL(s))
		goto out;
	for (int i = 0; i < 3; i++) {
		t[i] = make_window(i * SEC, SEC, 2, 1000, i);
		ASSERT_OK(window_store__put(s, &t[i]->w, 0));
	}
	window_store__each(s, 0, INT64_MAX, collect, &c);
	if (!ASSERT_EQ(c.n, 3))
		goto out_free;
	/* One byte of the profile: the head is whole, so open would index it too. */
	window_file__name(0, 0, "", name);
	bytes = read_bytes(dir, name, &size);
	bytes[size - 100] ^= 1;
	ASSERT_OK(write_bytes(dir, name, bytes, size));
	free(bytes);
	ASSERT_EQ(window_store__read_profile(s, c.ids[0], &data, &size), -EIO);
	ASSERT_EQ(stats_of(s).corrupt_files, 1);
	ASSERT_EQ(stats_of(s).windows, 2);
	ASSERT_EQ(window_store__read_profile(s, c.ids[0], &data, &size), -ENOENT);
	window_file__name(0, 0, ".corrupt", name);
	ASSERT_TRUE(exists(dir, name));
	/* Truncated after open. */
	window_file__name(SEC, 0, "", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ASSERT_OK(truncate(path, 50));
	ASSERT_EQ(window_store__read_profile(s, c.ids[1], &data, &size), -EIO);
	/* Removed by someone else: gone from the index too. */
	window_file__name(2 * SEC, 0, "", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ASSERT_OK(unlink(path));
	ASSERT_EQ(window_store__read_profile(s, c.ids[2], &data, &size), -ENOENT);
	ASSERT_EQ(stats_of(s).windows, 0);
	ASSERT_EQ(stats_of(s).corrupt_files, 2);
	window_store__free(s);
out_free:
	for (int i = 0; i < 3; i++)
		free_window(t[i]);
out:
	free(dir);
	remove_tree(base);
}

/*
 * each() against make_window(): every window was made as make_window(start,
 * SEC, n_procs, _, seed) with seed start / SEC, or 0 for windows that share
 * their strings; fn's pointers live only while it runs.
 */
struct made_check {
	size_t n_procs;
	bool shared;
	size_t n, stop_after;
	int64_t last_start;
	bool mismatch, unordered;
	uint64_t ids[256];
};

static int check_made(void *ctx, const struct store_window_info *w)
{
	struct made_check *c = ctx;
	uint64_t seed = c->shared ? 0 : (uint64_t)(w->start_ns / SEC);
	struct test_window *t = make_window(w->start_ns, SEC, c->n_procs, 0, seed);

	if (w->end_ns != t->w.end_ns || w->hz != t->w.hz || w->samples != t->w.samples ||
	    w->lost != t->w.lost || w->n_processes != c->n_procs ||
	    (c->n_procs && !w->processes) || !same_processes(w->processes, t->procs, c->n_procs))
		c->mismatch = true;
	if (c->n && w->start_ns <= c->last_start)
		c->unordered = true;
	c->last_start = w->start_ns;
	if (c->n < 256)
		c->ids[c->n] = w->id;
	c->n++;
	free_window(t);
	return c->stop_after && c->n == c->stop_after ? 5 : 0;
}

/* What index_bytes may be: the lists' bound, and the records (an array that doubles). */
static uint64_t index_bound(uint64_t max_list_bytes, uint64_t windows)
{
	return max_list_bytes + 512 + 2 * (windows + 64) * sizeof(struct window_record);
}

static struct window_store *open_small(const char *dir, uint64_t index_max_bytes)
{
	struct window_store_options opts = { .dir = dir, .index_max_bytes = index_max_bytes };

	return window_store__open(&opts);
}

/*
 * 200 windows of 20 processes under an 8 KiB bound (a list takes ~5 KiB
 * here, with strings of its own): a list or two stays in memory, each()
 * reads the rest from the files - whole and right, old and new, after a
 * restart too; a file removed by hand is skipped, one whose head was
 * damaged (or replaced by another window's) is counted as corrupt and
 * moved aside.
 */
#define INDEX_SMALL 8192

static void test_index_bound(void)
{
	char *base = make_base(), *dir = store_dir(base);
	char name[WINDOW_FILE_NAME_SIZE], path[PATH_MAX];
	struct made_check c = { .n_procs = 20 };
	struct window_store_stats st;
	struct window_store *s;
	uint8_t *bytes;
	size_t size;

	s = open_small(dir, INDEX_SMALL);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	for (int i = 0; i < 200; i++) {
		struct test_window *t = make_window(i * SEC, SEC, 20, 300, i);

		ASSERT_OK(window_store__put(s, &t->w, 0));
		free_window(t);
		st = stats_of(s);
		if (!ASSERT_TRUE(st.index_bytes <= index_bound(INDEX_SMALL, st.windows)))
			break;
	}
	st = stats_of(s);
	printf("# index bound 8 KiB: %" PRIu64 " windows, %" PRIu64 " lists in memory, "
	       "index %" PRIu64 " bytes\n",
	       st.windows, st.index_windows_in_memory, st.index_bytes);
	ASSERT_EQ(st.windows, 200);
	ASSERT_TRUE(st.index_windows_in_memory >= 1 && st.index_windows_in_memory < 10);
	ASSERT_EQ(window_store__each(s, 0, INT64_MAX, check_made, &c), 0);
	ASSERT_EQ(c.n, 200);
	ASSERT_FALSE(c.mismatch);
	ASSERT_FALSE(c.unordered);
	/* Old windows alone, and the newest alone (in memory). */
	c = (struct made_check){ .n_procs = 20 };
	window_store__each(s, 10 * SEC, 20 * SEC, check_made, &c);
	ASSERT_TRUE(c.n == 10 && !c.mismatch && !c.unordered);
	c = (struct made_check){ .n_procs = 20 };
	window_store__each(s, 199 * SEC, INT64_MAX, check_made, &c);
	ASSERT_TRUE(c.n == 1 && !c.mismatch);
	/* Stopping early, between windows read from the files. */
	c = (struct made_check){ .n_procs = 20, .stop_after = 70 };
	ASSERT_EQ(window_store__each(s, 0, INT64_MAX, check_made, &c), 5);
	ASSERT_EQ(c.n, 70);
	ASSERT_EQ(stats_of(s).index_bytes, st.index_bytes); /* what each() held is let go */
	window_store__free(s);

	s = open_small(dir, INDEX_SMALL);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	st = stats_of(s);
	ASSERT_EQ(st.windows, 200);
	ASSERT_TRUE(st.index_windows_in_memory >= 1 && st.index_windows_in_memory < 10);
	ASSERT_TRUE(st.index_bytes <= index_bound(INDEX_SMALL, 200));
	c = (struct made_check){ .n_procs = 20 };
	ASSERT_EQ(window_store__each(s, 0, INT64_MAX, check_made, &c), 0);
	ASSERT_TRUE(c.n == 200 && !c.mismatch && !c.unordered);
	if (c.n == 200) {
		struct test_window *t = make_window(3 * SEC, SEC, 20, 300, 3);

		profile_is(s, c.ids[3], t);
		free_window(t);
	}

	/* Removed by hand: skipped, and out of the index. */
	window_file__name(5 * SEC, 0, "", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ASSERT_OK(unlink(path));
	c = (struct made_check){ .n_procs = 20 };
	ASSERT_EQ(window_store__each(s, 0, INT64_MAX, check_made, &c), 0);
	ASSERT_TRUE(c.n == 199 && !c.mismatch);
	st = stats_of(s);
	ASSERT_EQ(st.windows, 199);
	ASSERT_EQ(st.corrupt_files, 0);
	/* A head damaged (same size, a process's samples): corrupt, once. */
	window_file__name(7 * SEC, 0, "", name);
	bytes = read_bytes(dir, name, &size);
	bytes[WINDOW_FILE_PREAMBLE_SIZE + 48 + 16] ^= 0x10;
	ASSERT_OK(write_bytes(dir, name, bytes, size));
	free(bytes);
	for (int pass = 0; pass < 2; pass++) {
		c = (struct made_check){ .n_procs = 20 };
		ASSERT_EQ(window_store__each(s, 0, INT64_MAX, check_made, &c), 0);
		ASSERT_TRUE(c.n == 198 && !c.mismatch);
		st = stats_of(s);
		ASSERT_EQ(st.windows, 198);
		ASSERT_EQ(st.corrupt_files, 1);
	}
	window_file__name(7 * SEC, 0, ".corrupt", name);
	ASSERT_TRUE(exists(dir, name));
	/* Another window's whole file copied under an old one's name: not its head. */
	window_file__name(9 * SEC, 0, "", name);
	bytes = read_bytes(dir, name, &size);
	window_file__name(8 * SEC, 0, "", name);
	ASSERT_OK(write_bytes(dir, name, bytes, size));
	free(bytes);
	c = (struct made_check){ .n_procs = 20 };
	window_store__each(s, 0, INT64_MAX, check_made, &c);
	ASSERT_TRUE(c.n == 197 && !c.mismatch);
	ASSERT_EQ(stats_of(s).corrupt_files, 2);
	ASSERT_TRUE(stats_of(s).index_bytes <= index_bound(INDEX_SMALL, 200));
	window_store__free(s);
out:
	free(dir);
	remove_tree(base);
}

/* Windows of the same processes share their strings: more lists fit the same bound. */
static void test_index_sharing(void)
{
	size_t in_memory[2] = { 0 };

	for (int shared = 0; shared < 2; shared++) {
		char *base = make_base(), *dir = store_dir(base);
		struct made_check c = { .n_procs = 20, .shared = shared };
		struct window_store *s = open_small(dir, 64 * 1024);
		struct window_store_stats st;

		if (!ASSERT_NOT_NULL(s))
			goto next;
		for (int i = 0; i < 200; i++) {
			struct test_window *t = make_window(i * SEC, SEC, 20, 100, shared ? 0 : i);

			ASSERT_OK(window_store__put(s, &t->w, 0));
			free_window(t);
		}
		st = stats_of(s);
		ASSERT_TRUE(st.index_bytes <= index_bound(64 * 1024, 200));
		in_memory[shared] = st.index_windows_in_memory;
		window_store__each(s, 0, INT64_MAX, check_made, &c);
		ASSERT_TRUE(c.n == 200 && !c.mismatch && !c.unordered);
		window_store__free(s);
		/* A restart loads the newest lists again, as many. */
		s = open_small(dir, 64 * 1024);
		if (ASSERT_NOT_NULL(s)) {
			ASSERT_EQ(stats_of(s).index_windows_in_memory, in_memory[shared]);
			c = (struct made_check){ .n_procs = 20, .shared = shared };
			window_store__each(s, 0, INT64_MAX, check_made, &c);
			ASSERT_TRUE(c.n == 200 && !c.mismatch && !c.unordered);
			window_store__free(s);
		}
next:
		free(dir);
		remove_tree(base);
	}
	printf("# index bound 64 KiB, 20 processes a window: %zu lists in memory, %zu when "
	       "the windows share their strings\n", in_memory[0], in_memory[1]);
	ASSERT_TRUE(in_memory[1] * 10 >= in_memory[0] * 15);
}

/*
 * A writer killed (SIGKILL) at a random instant, 20 times, by both ways of
 * writing: every window file left is whole, the windows are the first k
 * written, and the next open leaves no temporary behind.
 */
static void test_crash(void)
{
	size_t total_windows = 0, total_temporary = 0;
	uint64_t r = (uint64_t)monotonic_ns() | 1;

	for (int run = 0; run < 20; run++) {
		char *base = make_base(), *dir = store_dir(base);
		bool named = run % 2;
		struct window_store_options opts = { .dir = dir, .named_temporary = named };
		struct window_store_stats st;
		struct collected c = { 0 };
		struct window_store *s;
		struct listing l;
		pid_t child;
		int status;

		fflush(stdout);
		child = fork();
		if (child == 0) {
			s = window_store__open(&opts);
			for (int i = 0; s; i++) {
				struct test_window *t =
					make_window(i * SEC, SEC, 20, 20000 + (size_t)i * 40000 % 300000, i);

				window_store__put(s, &t->w, i * SEC);
				free_window(t);
			}
			_exit(1);
		}
		usleep(2000 + (useconds_t)(next_random(&r) % 40000));
		kill(child, SIGKILL);
		ASSERT_EQ(waitpid(child, &status, 0), child);
		ASSERT_TRUE(WIFSIGNALED(status));

		l = list(dir);
		ASSERT_EQ(l.other + l.corrupt, 0);
		if (!named)
			ASSERT_EQ(l.temporary, 0); /* O_TMPFILE: nothing has a name before it is whole */
		total_temporary += l.temporary;
		s = window_store__open(&opts);
		if (!ASSERT_NOT_NULL(s))
			goto next;
		st = stats_of(s);
		ASSERT_EQ(st.corrupt_files + st.skipped_files, 0);
		ASSERT_EQ(st.temporary_removed, l.temporary);
		ASSERT_EQ(st.windows, l.windows);
		c.n = 0;
		window_store__each(s, 0, INT64_MAX, collect, &c);
		for (size_t i = 0; i < c.n; i++) {
			struct test_window *t = make_window((int64_t)i * SEC, SEC, 20,
							    20000 + i * 40000 % 300000, i);

			ASSERT_EQ(c.starts[i], (int64_t)i * SEC);
			profile_is(s, c.ids[i], t);
			free_window(t);
		}
		total_windows += st.windows;
		window_store__free(s);
		ASSERT_EQ(list(dir).temporary, 0);
next:
		free(dir);
		remove_tree(base);
	}
	printf("# crash: 20 writers killed, %zu whole windows found, %zu temporaries removed\n",
	       total_windows, total_temporary);
}

/* In a child in a mount namespace of its own: the store on a 256 KiB tmpfs. */
static void enospc_child(const char *mount_dir)
{
	char dir[PATH_MAX];
	struct window_store_options opts = { .dir = dir };
	struct window_store_stats st;
	struct collected c = { 0 };
	struct window_store *s;
	struct statvfs vfs;
	struct test_window *t;
	int64_t last = 0;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mount_dir, "tmpfs", 0, "size=256k,mode=0700") < 0)
		_exit(77);
	snprintf(dir, sizeof(dir), "%s/windows", mount_dir);
	s = window_store__open(&opts);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	/* 40 windows of ~24 KiB each, ~10 fit: the oldest make room, all puts succeed. */
	for (int i = 0; i < 40; i++) {
		t = make_window(i * SEC, SEC, 10, 24000, i);
		ASSERT_OK(window_store__put(s, &t->w, i * SEC));
		free_window(t);
		last = i * SEC;
	}
	st = stats_of(s);
	printf("#   on 256 KiB: %" PRIu64 " windows kept, %" PRIu64 " dropped for space\n",
	       st.windows, st.dropped_for_space);
	ASSERT_TRUE(st.windows >= 5 && st.windows < 12);
	ASSERT_EQ(st.dropped_for_space, 40 - st.windows);
	ASSERT_EQ(st.write_errors, 0);
	window_store__each(s, 0, INT64_MAX, collect, &c);
	/* The newest, contiguous, each whole. */
	ASSERT_EQ(c.starts[c.n - 1], last);
	for (size_t i = 0; i < c.n; i++) {
		ASSERT_EQ(c.starts[i], last - (int64_t)(c.n - 1 - i) * SEC);
		t = make_window(c.starts[i], SEC, 10, 24000, (uint64_t)(c.starts[i] / SEC));
		profile_is(s, c.ids[i], t);
		free_window(t);
	}
	/* An older window than all those kept, bigger than what is free: nothing older to drop. */
	ASSERT_OK(statvfs(mount_dir, &vfs));
	t = make_window(0, SEC, 1, (size_t)(vfs.f_bavail * vfs.f_frsize) + 8192, 99);
	ASSERT_EQ(window_store__put(s, &t->w, last), -ENOSPC);
	free_window(t);
	ASSERT_EQ(stats_of(s).windows, st.windows);
	/* Bigger than the whole disk: refused, and nothing removed for it. */
	t = make_window(100 * SEC, SEC, 1, 300 * 1024, 100);
	ASSERT_EQ(window_store__put(s, &t->w, 100 * SEC), -ENOSPC);
	free_window(t);
	ASSERT_EQ(stats_of(s).windows, st.windows);
	/* Nearly the whole disk: everything older goes, then it fits. */
	t = make_window(101 * SEC, SEC, 1, 230 * 1024, 101);
	ASSERT_OK(window_store__put(s, &t->w, 101 * SEC));
	st = stats_of(s);
	ASSERT_EQ(st.windows, 1);
	c.n = 0;
	window_store__each(s, 0, INT64_MAX, collect, &c);
	if (ASSERT_EQ(c.n, 1))
		profile_is(s, c.ids[0], t);
	free_window(t);
	ASSERT_EQ(list(dir).windows, 1);
	ASSERT_EQ(list(dir).temporary, 0);
	window_store__free(s);
out:
	fflush(stdout);
	_exit(test__current_failed ? 1 : 0);
}

static void test_enospc(void)
{
	char *base;
	pid_t child;
	int status;

	if (geteuid() != 0)
		TEST_SKIP("a tmpfs of 256 KiB needs root (a private mount namespace)");
	base = make_base();
	fflush(stdout);
	child = fork();
	if (child == 0)
		enospc_child(base);
	ASSERT_EQ(waitpid(child, &status, 0), child);
	rmdir(base);
	free(base);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		TEST_SKIP("cannot mount a tmpfs in a new mount namespace");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* put() on a thread while the loop's calls run: the ASan build checks the lock. */
struct writer {
	struct window_store *s;
	int errors;
};

static void *write_windows(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < 150; i++) {
		struct test_window *t = make_window(i * SEC, SEC, 30, 4000, i);

		w->errors += window_store__put(w->s, &t->w, i * SEC) != 0;
		free_window(t);
	}
	return NULL;
}

static void test_threads(void)
{
	/* The lists in memory, then nearly all of them read from the files as the writer goes. */
	static const uint64_t index_max_bytes[] = { 0, INDEX_SMALL };

	for (size_t k = 0; k < 2; k++) {
		char *base = make_base(), *dir = store_dir(base);
		struct window_store_options opts = { .dir = dir, .max_bytes = 20 * 9000,
						     .max_age_ns = 30 * SEC,
						     .index_max_bytes = index_max_bytes[k] };
		struct writer w = { .s = window_store__open(&opts) };
		size_t reads = 0, gone = 0, listed = 0;
		bool mismatch = false;
		pthread_t thread;

		if (!ASSERT_NOT_NULL(w.s))
			goto next;
		if (!ASSERT_OK(-pthread_create(&thread, NULL, write_windows, &w)))
			goto out_free;
		while (stats_of(w.s).written < 150 && stats_of(w.s).write_errors == 0) {
			struct made_check c = { .n_procs = 30 };

			window_store__each(w.s, 0, INT64_MAX, check_made, &c);
			mismatch = mismatch || c.mismatch || c.unordered;
			listed += c.n;
			for (size_t i = 0; i < c.n && i < 256; i++) {
				void *data;
				size_t size;
				int err = window_store__read_profile(w.s, c.ids[i], &data, &size);

				if (!err)
					free(data);
				ASSERT_TRUE(err == 0 || err == -ENOENT);
				reads++;
				gone += err == -ENOENT;
			}
			window_store__expire(w.s, (int64_t)stats_of(w.s).written * SEC);
		}
		pthread_join(thread, NULL);
		ASSERT_EQ(w.errors, 0);
		ASSERT_FALSE(mismatch);
		ASSERT_EQ(stats_of(w.s).corrupt_files, 0);
		ASSERT_EQ(list(dir).windows, stats_of(w.s).windows);
		printf("# threads (index bound %s): %zu windows listed and %zu reads beside "
		       "150 puts, %zu found their window gone\n",
		       k ? "8 KiB" : "default", listed, reads, gone);
out_free:
		window_store__free(w.s);
next:
		free(dir);
		remove_tree(base);
	}
}

/*
 * Writes n windows' files straight (no fsync: setting up, not testing the
 * writer); shared: the same processes in every window, as on a real machine.
 */
static uint64_t write_many(const char *dir, size_t n, int64_t len_ns, size_t procs,
			   size_t profile_size, bool shared)
{
	uint64_t total = 0;

	mkdir(dir, 0750);
	for (size_t i = 0; i < n; i++) {
		struct test_window *t = make_window((int64_t)(1700000000 * SEC + i * len_ns),
						    len_ns, procs, profile_size, shared ? 0 : i);
		uint8_t *head, trailer[WINDOW_FILE_CRC_SIZE];
		char name[WINDOW_FILE_NAME_SIZE], path[PATH_MAX];
		size_t head_size;
		int fd;

		if (window_file__encode_head(&t->w, &head, &head_size))
			abort();
		window_file__trailer(head, head_size, t->profile, profile_size, trailer);
		window_file__name(t->w.start_ns, 0, "", name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		if (fd < 0 || write(fd, head, head_size) != (ssize_t)head_size ||
		    write(fd, t->profile, profile_size) != (ssize_t)profile_size ||
		    write(fd, trailer, sizeof(trailer)) != (ssize_t)sizeof(trailer))
			abort();
		close(fd);
		total += head_size + profile_size + 4;
		free(head);
		free_window(t);
	}
	return total;
}

/* Drops the files' cached pages, so the next open reads them from the disk (mostly). */
static void evict(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d)
		syncfs(dirfd(d)); /* dirty pages are not dropped */
	while (d && (de = readdir(d))) {
		int fd = openat(dirfd(d), de->d_name, O_RDONLY);

		if (fd >= 0) {
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
	if (d)
		closedir(d);
}

static int count_processes(void *ctx, const struct store_window_info *w)
{
	uint64_t *n = ctx;

	*n += w->n_processes;
	for (size_t i = 0; i < w->n_processes; i++)
		*n += w->processes[i].exe != NULL; /* look at them, as a query does */
	return 0;
}

/* each() over all the windows of an open store, in microseconds. */
static uint64_t each_us(struct window_store *s, uint64_t *ret_processes)
{
	uint64_t started = monotonic_ns();

	*ret_processes = 0;
	window_store__each(s, 0, INT64_MAX, count_processes, ret_processes);
	return (monotonic_ns() - started) / 1000;
}

/*
 * The numbers behind "files, not SQLite": how long open() takes over an hour
 * of windows, what the index holds then, and what each() takes over them all
 * with their lists in memory and with them read from the files (cached).
 */
static void test_open_time(void)
{
	static const struct {
		size_t windows;
		int64_t len_ns;
		size_t procs, profile;
		bool shared;
		const char *what;
	} cases[] = {
		{ 3600, SEC, 10, 2048, false, "an hour of 1 s windows" },
		{ 360, 10 * SEC, 300, 65536, false, "an hour of 10 s windows of a busy machine" },
		{ 3600, SEC, 10, 2048, true, "the same, of the same processes" },
		{ 360, 10 * SEC, 300, 65536, true, "the same, of the same processes" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *base = make_base(), *dir = store_dir(base);
		uint64_t bytes = write_many(dir, cases[k].windows, cases[k].len_ns, cases[k].procs,
					    cases[k].profile, cases[k].shared);
		uint64_t in_memory_us = 0, on_disk_us = 0, listed = 0, want;
		struct window_store_stats warm, cold = { 0 }, disk = { 0 };
		struct window_store *s = open_store(dir, 0, 0);

		if (!ASSERT_NOT_NULL(s))
			goto next;
		warm = stats_of(s);
		in_memory_us = each_us(s, &want);
		window_store__free(s);
		evict(dir);
		s = open_store(dir, 0, 0);
		if (ASSERT_NOT_NULL(s)) {
			cold = stats_of(s);
			window_store__free(s);
		}
		/* No list in memory (a bound of 1 byte): each() reads every head, cached now. */
		s = open_small(dir, 1);
		if (ASSERT_NOT_NULL(s)) {
			disk = stats_of(s);
			on_disk_us = each_us(s, &listed);
			window_store__free(s);
		}
		ASSERT_EQ(warm.windows, cases[k].windows);
		ASSERT_EQ(warm.bytes, bytes);
		ASSERT_EQ(disk.index_windows_in_memory, 0);
		ASSERT_EQ(listed, want);
		ASSERT_TRUE(warm.index_bytes <= index_bound(WINDOW_STORE_DEFAULT_INDEX_MAX_BYTES,
							    warm.windows));
		printf("# open(): %zu windows (%s, %zu processes, %" PRIu64 " KiB on disk): "
		       "%" PRIu64 ".%03" PRIu64 " ms cached, %" PRIu64 ".%03" PRIu64
		       " ms with file pages evicted; index %" PRIu64 " KiB, %" PRIu64
		       " lists in memory (%" PRIu64 " KiB with none)\n",
		       cases[k].windows, cases[k].what, cases[k].procs, bytes / 1024,
		       warm.open_us / 1000, warm.open_us % 1000, cold.open_us / 1000,
		       cold.open_us % 1000, warm.index_bytes / 1024, warm.index_windows_in_memory,
		       disk.index_bytes / 1024);
		printf("#   each() over them all: %" PRIu64 ".%03" PRIu64 " ms (%" PRIu64
		       " lists in memory), %" PRIu64 ".%03" PRIu64
		       " ms with every list read from its file\n",
		       in_memory_us / 1000, in_memory_us % 1000, warm.index_windows_in_memory,
		       on_disk_us / 1000, on_disk_us % 1000);
next:
		free(dir);
		remove_tree(base);
	}
}

int main(void)
{
	RUN_TEST(test_file_format);
	RUN_TEST(test_round_trip);
	RUN_TEST(test_limits);
	RUN_TEST(test_ranges);
	RUN_TEST(test_retention_age);
	RUN_TEST(test_retention_size);
	RUN_TEST(test_leftovers);
	RUN_TEST(test_corrupt_profile);
	RUN_TEST(test_index_bound);
	RUN_TEST(test_index_sharing);
	RUN_TEST(test_crash);
	RUN_TEST(test_enospc);
	RUN_TEST(test_threads);
	RUN_TEST(test_open_time);
	return TEST_SUMMARY();
}
