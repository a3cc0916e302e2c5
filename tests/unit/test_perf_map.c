/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests of daemon/symbols/perf_map.c: good lines, malformed lines, overlaps, limits, files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "symbols/perf_map.h"

/* As node --perf-basic-prof and a JVM agent write them. */
static const char good_map[] = "3ef41c04000 60 Builtin:ArgumentsAdaptorTrampoline\n"
			       "0x3ef41c05000 0x1a0 LazyCompile:*hot /srv/app/x.js:12\n"
			       "3EF41C06000 10 JS:~<anonymous> :1\n"
			       "7f00aa000000 400 Ljava/lang/String;::hashCode\n"
			       "7f00aa001000 20 Interpreter\n";

static void test_good_lines(void)
{
	struct perf_map *map = NULL;
	uint64_t start = 0;

	if (!ASSERT_OK(perf_map__parse(good_map, strlen(good_map), &map)))
		return;
	ASSERT_EQ(perf_map__count(map), 5);
	ASSERT_EQ(perf_map__rejected(map), 0);
	ASSERT_STREQ(perf_map__find(map, 0x3ef41c04000ull, &start),
		     "Builtin:ArgumentsAdaptorTrampoline");
	ASSERT_EQ(start, 0x3ef41c04000ull);
	ASSERT_STREQ(perf_map__find(map, 0x3ef41c0405full, NULL),
		     "Builtin:ArgumentsAdaptorTrampoline");
	/* Sizes are exact: one past the end is nobody's. */
	ASSERT_TRUE(perf_map__find(map, 0x3ef41c04060ull, NULL) == NULL);
	/* Names keep their spaces; 0x and upper case hex are fine. */
	ASSERT_STREQ(perf_map__find(map, 0x3ef41c05100ull, &start),
		     "LazyCompile:*hot /srv/app/x.js:12");
	ASSERT_EQ(start, 0x3ef41c05000ull);
	ASSERT_STREQ(perf_map__find(map, 0x3ef41c06000ull, NULL), "JS:~<anonymous> :1");
	ASSERT_STREQ(perf_map__find(map, 0x7f00aa0003ffull, NULL), "Ljava/lang/String;::hashCode");
	ASSERT_STREQ(perf_map__find(map, 0x7f00aa001010ull, NULL), "Interpreter");
	ASSERT_TRUE(perf_map__find(map, 0, NULL) == NULL);
	ASSERT_TRUE(perf_map__find(map, UINT64_MAX, NULL) == NULL);
	ASSERT_TRUE(perf_map__memory(map) > 5 * 16);
	perf_map__free(map);
	perf_map__free(NULL);
	ASSERT_TRUE(perf_map__find(NULL, 1, NULL) == NULL);
}

static void test_malformed_lines_rejected(void)
{
	static const char *const bad[] = {
		"", /* empty */
		"1000 10", /* no name */
		"1000 10 ", /* empty name */
		"1000  10 name", /* two spaces */
		"1000 10  name", /* name starting with a space */
		" 1000 10 name", /* leading space */
		"1000\t10 name", /* tab as separator */
		"xyz 10 name", /* not hex */
		"1000 1g name", /* not hex */
		"0x 10 name", /* no digits */
		"1000 0 name", /* empty range */
		"10000000000000000 10 name", /* 17 digits */
		"ffffffffffffff00 200 name", /* wraps around */
		"1000 10 na\001me", /* control byte */
		"1000 10 name\r", /* CR */
		"-1000 10 name", /* sign */
		"1000 -10 name", /* sign */
	};
	char text[4096];
	struct perf_map *map;
	size_t i, len = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = (size_t)snprintf(text, sizeof(text), "%s\n", bad[i]);
		map = NULL;
		if (!ASSERT_OK(perf_map__parse(text, len, &map)))
			continue;
		if (!ASSERT_EQ(perf_map__count(map), 0) || !ASSERT_EQ(perf_map__rejected(map), 1))
			printf("#   line %zu: \"%s\" was taken\n", i, bad[i]);
		ASSERT_TRUE(perf_map__find(map, 0x1000, NULL) == NULL);
		perf_map__free(map);
	}

	/* A NUL inside a line is a control byte too; good lines around bad ones stay. */
	static const char mixed[] = "1000 10 first\nbad line\n2000 1\0 x\n3000 10 third\n";
	if (ASSERT_OK(perf_map__parse(mixed, sizeof(mixed) - 1, &map))) {
		ASSERT_EQ(perf_map__count(map), 2);
		ASSERT_EQ(perf_map__rejected(map), 2);
		ASSERT_STREQ(perf_map__find(map, 0x1008, NULL), "first");
		ASSERT_STREQ(perf_map__find(map, 0x3000, NULL), "third");
		ASSERT_TRUE(perf_map__find(map, 0x2000, NULL) == NULL);
		perf_map__free(map);
	}

	/* The last line without its newline is still being written: left out, not rejected. */
	static const char partial[] = "1000 10 done\n2000 10 half-writ";
	if (ASSERT_OK(perf_map__parse(partial, strlen(partial), &map))) {
		ASSERT_EQ(perf_map__count(map), 1);
		ASSERT_EQ(perf_map__rejected(map), 0);
		ASSERT_TRUE(perf_map__find(map, 0x2000, NULL) == NULL);
		perf_map__free(map);
	}
}

static void test_overlaps_later_line_wins(void)
{
	static const char text[] = "1000 100 old_big\n"
				   "1040 20 inner\n"
				   "1000 100 old_again\n"
				   "1000 80 reused\n"
				   "5000 10 a\n";
	struct perf_map *map;

	if (!ASSERT_OK(perf_map__parse(text, strlen(text), &map)))
		return;
	/* One entry per start: the last line for 0x1000 is "reused". */
	ASSERT_EQ(perf_map__count(map), 3);
	ASSERT_STREQ(perf_map__find(map, 0x1000, NULL), "reused");
	/* inner came after the first two 0x1000 lines but before "reused". */
	ASSERT_STREQ(perf_map__find(map, 0x1045, NULL), "reused");
	/* Past "reused" (0x80) but inside "inner"? inner ends at 0x1060: no entry left covers 0x1090. */
	ASSERT_TRUE(perf_map__find(map, 0x1090, NULL) == NULL);
	ASSERT_STREQ(perf_map__find(map, 0x5000, NULL), "a");
	perf_map__free(map);
}

static void test_limits(void)
{
	size_t len = PERF_MAP_MAX_NAME_LEN + 64, n, i;
	struct perf_map *map;
	char *text;

	/* A name of the longest length is kept, one byte longer is not. */
	text = malloc(len * 2);
	if (!ASSERT_NOT_NULL(text))
		return;
	n = (size_t)sprintf(text, "1000 10 ");
	memset(text + n, 'a', PERF_MAP_MAX_NAME_LEN);
	n += PERF_MAP_MAX_NAME_LEN;
	text[n++] = '\n';
	i = (size_t)sprintf(text + n, "2000 10 ");
	n += i;
	memset(text + n, 'b', PERF_MAP_MAX_NAME_LEN + 1);
	n += PERF_MAP_MAX_NAME_LEN + 1;
	text[n++] = '\n';
	if (ASSERT_OK(perf_map__parse(text, n, &map))) {
		ASSERT_EQ(perf_map__count(map), 1);
		ASSERT_EQ(perf_map__rejected(map), 1);
		perf_map__free(map);
	}
	free(text);

	/* Over the byte cap: refused before anything is read into a table. */
	ASSERT_EQ(perf_map__parse("", (size_t)PERF_MAP_MAX_BYTES + 1, &map), -E2BIG);

	/* Over the entry cap: refused whole. */
	len = (size_t)(PERF_MAP_MAX_ENTRIES + 1) * 12;
	text = malloc(len + 1);
	if (!ASSERT_NOT_NULL(text))
		return;
	for (i = 0, n = 0; i < PERF_MAP_MAX_ENTRIES + 1; i++)
		n += (size_t)sprintf(text + n, "%06zx 1 f\n", i);
	map = NULL;
	ASSERT_EQ(perf_map__parse(text, n, &map), -E2BIG);
	ASSERT_TRUE(map == NULL);
	/* One fewer fits. */
	n -= strlen("200000 1 f\n");
	if (ASSERT_OK(perf_map__parse(text, n, &map))) {
		ASSERT_EQ(perf_map__count(map), PERF_MAP_MAX_ENTRIES);
		ASSERT_STREQ(perf_map__find(map, 0x1fffff, NULL), "f");
		perf_map__free(map);
	}
	free(text);
}

static void test_read_file(void)
{
	char dir[] = "/tmp/cprof-perf-map-XXXXXX", path[PATH_MAX], link_path[PATH_MAX];
	struct perf_map *map;
	FILE *file;

	if (!ASSERT_NOT_NULL(mkdtemp(dir)))
		return;
	snprintf(path, sizeof(path), "%s/perf-1.map", dir);
	snprintf(link_path, sizeof(link_path), "%s/perf-2.map", dir);
	file = fopen(path, "w");
	if (!ASSERT_NOT_NULL(file))
		goto out;
	fputs(good_map, file);
	fclose(file);

	if (ASSERT_OK(perf_map__read(path, getuid(), &map))) {
		ASSERT_EQ(perf_map__count(map), 5);
		perf_map__free(map);
	}
	ASSERT_EQ(perf_map__read(link_path, getuid(), &map), -ENOENT);
	/* A symlink is not followed: anyone can plant one in /tmp. */
	if (ASSERT_OK(symlink(path, link_path)))
		ASSERT_EQ(perf_map__read(link_path, getuid(), &map), -EPERM);
	/* Owned by neither the process's owner nor root. */
	if (getuid() == 0 && ASSERT_OK(chown(path, 4321, 4321)))
		ASSERT_EQ(perf_map__read(path, 1234, &map), -EPERM);
	/* Not a regular file. */
	ASSERT_EQ(perf_map__read(dir, getuid(), &map), -EPERM);
	/* Over the size cap: a sparse file, so the test writes nothing big. */
	if (ASSERT_OK(truncate(path, (off_t)PERF_MAP_MAX_BYTES + 1)) && getuid() == 0)
		ASSERT_OK(chown(path, 0, 0));
	ASSERT_EQ(perf_map__read(path, getuid(), &map), -EFBIG);
out:
	unlink(link_path);
	unlink(path);
	rmdir(dir);
}

static void test_builder(void)
{
	struct perf_map_builder *b = perf_map_builder__new();
	struct perf_map *map = NULL;
	uint64_t start = 0;
	char name[16];
	int i;

	if (!ASSERT_NOT_NULL(b))
		return;
	ASSERT_OK(perf_map_builder__add(b, 0x1000, 0x100, "first", 5));
	/* Bad ranges and names leave the builder as it was. */
	ASSERT_EQ(perf_map_builder__add(b, 0x2000, 0, "empty", 5), -EINVAL);
	ASSERT_EQ(perf_map_builder__add(b, UINT64_MAX - 1, 4, "wraps", 5), -EINVAL);
	ASSERT_EQ(perf_map_builder__add(b, 0x2000, 1, "", 0), -EINVAL);
	ASSERT_EQ(perf_map_builder__add(b, 0x2000, 1, "a\nb", 3), -EINVAL);
	ASSERT_EQ(perf_map_builder__add(b, 0x2000, 1, "a\0b", 3), -EINVAL);
	/* Nothing at 0x5000 to move yet. */
	ASSERT_EQ(perf_map_builder__move(b, 0x5000, 0x6000, 0x10), -ENOENT);
	perf_map_builder__reject(b);
	/* Many starts, so the lookup by start grows while moves go on. */
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ASSERT_OK(perf_map_builder__add(b, 0x100000 + (uint64_t)i * 0x100, 0x80, name,
						strlen(name)));
		if (i % 7 == 0)
			ASSERT_OK(perf_map_builder__move(b, 0x100000 + (uint64_t)i * 0x100,
							 0x900000 + (uint64_t)i * 0x100, 0x80));
	}
	/* A move names the new place after the latest code at the old one. */
	ASSERT_OK(perf_map_builder__add(b, 0x1000, 0x100, "second", 6));
	ASSERT_OK(perf_map_builder__move(b, 0x1000, 0x8000, 0x100));
	/* Code loaded at the new place later wins over the move. */
	ASSERT_OK(perf_map_builder__move(b, 0x1000, 0xa000, 0x100));
	ASSERT_OK(perf_map_builder__add(b, 0xa000, 0x100, "third", 5));
	ASSERT_EQ(perf_map_builder__move(b, 0x5000, 0x6000, 0x10), -ENOENT);
	ASSERT_EQ(perf_map_builder__move(b, 0x1000, UINT64_MAX, 2), -EINVAL);
	if (!ASSERT_OK(perf_map_builder__finish(b, &map)))
		return;
	ASSERT_EQ(perf_map__rejected(map), 1);
	ASSERT_STREQ(perf_map__find(map, 0x10ff, NULL), "second");
	ASSERT_STREQ(perf_map__find(map, 0x8080, &start), "second");
	ASSERT_EQ(start, 0x8000);
	ASSERT_STREQ(perf_map__find(map, 0xa000, NULL), "third");
	ASSERT_STREQ(perf_map__find(map, 0x100000 + 14 * 0x100 + 0x7f, NULL), "f14");
	/* The old place keeps its name: samples from before the move are there. */
	ASSERT_STREQ(perf_map__find(map, 0x900000 + 14 * 0x100 + 0x10, NULL), "f14");
	ASSERT_TRUE(perf_map__find(map, 0x900000 + 15 * 0x100, NULL) == NULL);
	ASSERT_TRUE(perf_map__find(map, 0x2000, NULL) == NULL);
	/* 0x1000, the 300, their 43 moves (i = 0, 7, ..., 294), 0x8000, 0xa000. */
	ASSERT_EQ(perf_map__count(map), 1 + 300 + 43 + 1 + 1);
	perf_map__free(map);
	perf_map_builder__free(NULL);
	/* Freed unfinished. */
	b = perf_map_builder__new();
	if (ASSERT_NOT_NULL(b) && ASSERT_OK(perf_map_builder__add(b, 1, 1, "x", 1)))
		ASSERT_OK(perf_map_builder__move(b, 1, 2, 1));
	perf_map_builder__free(b);
}

static void test_fuzz_entry_point(void)
{
	static const char *const inputs[] = {
		"",
		"\n",
		"1 1 a\n",
		"ffffffffffffffff 1 x\n",
		"fffffffffffffffe 1 x\n",
		"1000 100 a\n1000 100 b\n1010 10 c\n1000 1 d\n",
		"0x0 0x1 zero\n1 1 \n",
	};
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		ASSERT_OK(perf_map__fuzz_one((const uint8_t *)inputs[i], strlen(inputs[i])));
	ASSERT_OK(perf_map__fuzz_one((const uint8_t *)good_map, strlen(good_map)));
}

int main(void)
{
	RUN_TEST(test_good_lines);
	RUN_TEST(test_malformed_lines_rejected);
	RUN_TEST(test_overlaps_later_line_wins);
	RUN_TEST(test_limits);
	RUN_TEST(test_read_file);
	RUN_TEST(test_builder);
	RUN_TEST(test_fuzz_entry_point);
	return TEST_SUMMARY();
}
