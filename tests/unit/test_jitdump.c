/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of daemon/symbols/jitdump.c: dumps are built here, record by record,
 * as the specification lays them out (and as node --perf-prof writes
 * them), then read from memory, from files, and through a mapping of this
 * very process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "procs/proc_maps.h"
#include "symbols/jitdump.h"

#define MAGIC 0x4A695444u
#define PREFIX_SIZE 16
#define LOAD_FIXED (PREFIX_SIZE + 40)

enum { CODE_LOAD, CODE_MOVE, CODE_DEBUG_INFO, CODE_CLOSE, CODE_UNWINDING_INFO };

struct dump {
	uint8_t *data;
	size_t size;
	size_t capacity;
	bool failed; /* out of memory: the test says so once */
};

static void put(struct dump *d, const void *bytes, size_t n)
{
	if (d->size + n > d->capacity) {
		size_t capacity = (d->size + n) * 2;
		uint8_t *grown = realloc(d->data, capacity);

		if (!grown) {
			d->failed = true;
			return;
		}
		d->data = grown;
		d->capacity = capacity;
	}
	memcpy(d->data + d->size, bytes, n);
	d->size += n;
}

static void put32(struct dump *d, uint32_t value)
{
	put(d, &value, sizeof(value));
}

static void put64(struct dump *d, uint64_t value)
{
	put(d, &value, sizeof(value));
}

/* A file header of total_size bytes (zeros after the 40 defined). */
static void put_header_of(struct dump *d, uint32_t magic, uint32_t version, uint32_t total_size,
			  uint64_t flags)
{
	put32(d, magic);
	put32(d, version);
	put32(d, total_size);
	put32(d, 62); /* EM_X86_64 */
	put32(d, 0xdeadbeef); /* pad1, as node writes it */
	put32(d, 4242);
	put64(d, 123456789);
	put64(d, flags);
	for (uint32_t i = 40; i < total_size; i++)
		put(d, "", 1);
}

static void put_header(struct dump *d)
{
	put_header_of(d, MAGIC, 1, 40, 0);
}

static void put_prefix(struct dump *d, uint32_t id, uint32_t total_size)
{
	put32(d, id);
	put32(d, total_size);
	put64(d, 987654321);
}

/* A JIT_CODE_LOAD with its name and code_size bytes of code, as the format has it. */
static void put_load(struct dump *d, uint64_t code_addr, uint64_t code_size, const char *name)
{
	size_t name_size = strlen(name) + 1;
	static uint64_t index;

	put_prefix(d, CODE_LOAD, (uint32_t)(LOAD_FIXED + name_size + code_size));
	put32(d, 4242);
	put32(d, 4243);
	put64(d, code_addr); /* vma */
	put64(d, code_addr);
	put64(d, code_size);
	put64(d, ++index);
	put(d, name, name_size);
	for (uint64_t i = 0; i < code_size; i++)
		put(d, "\xcc", 1);
}

static void put_move(struct dump *d, uint64_t old_addr, uint64_t new_addr, uint64_t code_size)
{
	put_prefix(d, CODE_MOVE, PREFIX_SIZE + 48);
	put32(d, 4242);
	put32(d, 4243);
	put64(d, new_addr); /* vma */
	put64(d, old_addr);
	put64(d, new_addr);
	put64(d, code_size);
	put64(d, 1);
}

/* A record of any id with n payload bytes of fill. */
static void put_record(struct dump *d, uint32_t id, size_t n, uint8_t fill)
{
	put_prefix(d, id, (uint32_t)(PREFIX_SIZE + n));
	for (size_t i = 0; i < n; i++)
		put(d, &fill, 1);
}

static void dump_free(struct dump *d)
{
	free(d->data);
	*d = (struct dump){};
}

/* Parses d; fails the test on an error. */
static struct perf_map *parse_ok(const struct dump *d, struct jitdump_info *info)
{
	struct perf_map *map = NULL;

	if (!ASSERT_FALSE(d->failed) || !ASSERT_OK(jitdump__parse(d->data, d->size, &map, info)))
		return NULL;
	return map;
}

static void test_loads(void)
{
	struct jitdump_info info;
	struct dump d = {};
	struct perf_map *map;
	uint64_t start = 0;

	put_header(&d);
	put_load(&d, 0x7f0000001000, 0x100, "JS:*hot /srv/app/x.js:12:3");
	put_load(&d, 0x7f0000002000, 0x40, "Builtin:ArgumentsAdaptorTrampoline");
	put_load(&d, 0x7f0000003000, 0x10, "Ljava/lang/String;::hashCode");
	map = parse_ok(&d, &info);
	if (!map)
		goto out;
	ASSERT_EQ(perf_map__count(map), 3);
	ASSERT_EQ(perf_map__rejected(map), 0);
	ASSERT_EQ(info.records, 3);
	ASSERT_EQ(info.loads, 3);
	ASSERT_FALSE(info.truncated);
	ASSERT_FALSE(info.closed);
	ASSERT_STREQ(perf_map__find(map, 0x7f0000001080, &start), "JS:*hot /srv/app/x.js:12:3");
	ASSERT_EQ(start, 0x7f0000001000);
	ASSERT_STREQ(perf_map__find(map, 0x7f000000103f + 0xc0, NULL),
		     "JS:*hot /srv/app/x.js:12:3");
	/* Sizes are exact. */
	ASSERT_TRUE(perf_map__find(map, 0x7f0000001100, NULL) == NULL);
	ASSERT_TRUE(perf_map__find(map, 0x7f0000000fff, NULL) == NULL);
	ASSERT_STREQ(perf_map__find(map, 0x7f0000002000, NULL),
		     "Builtin:ArgumentsAdaptorTrampoline");
	ASSERT_STREQ(perf_map__find(map, 0x7f000000300f, NULL), "Ljava/lang/String;::hashCode");
	perf_map__free(map);

	/* A header only: no code yet, and that is no error. */
	d.size = 40;
	map = parse_ok(&d, &info);
	if (map) {
		ASSERT_EQ(perf_map__count(map), 0);
		ASSERT_EQ(info.records, 0);
		ASSERT_FALSE(info.truncated);
		perf_map__free(map);
	}
out:
	dump_free(&d);
}

static void test_move_and_close(void)
{
	struct jitdump_info info;
	struct dump d = {};
	struct perf_map *map;
	uint64_t start = 0;

	put_header(&d);
	put_load(&d, 0x10000, 0x100, "moved");
	put_load(&d, 0x20000, 0x100, "stays");
	put_move(&d, 0x10000, 0x30000, 0x100);
	/* Nothing was loaded at 0x40000: rejected, and reading goes on. */
	put_move(&d, 0x40000, 0x50000, 0x100);
	/* A move that would wrap around. */
	put_move(&d, 0x20000, UINT64_MAX - 0x10, 0x100);
	put_load(&d, 0x60000, 0x10, "before close");
	put_record(&d, CODE_CLOSE, 0, 0);
	put_load(&d, 0x70000, 0x10, "after close");
	map = parse_ok(&d, &info);
	if (!map)
		goto out;
	ASSERT_TRUE(info.closed);
	ASSERT_EQ(info.moves, 1);
	ASSERT_EQ(info.loads, 3);
	ASSERT_EQ(info.records, 7);
	ASSERT_EQ(perf_map__rejected(map), 2);
	ASSERT_STREQ(perf_map__find(map, 0x300ff, &start), "moved");
	ASSERT_EQ(start, 0x30000);
	/* The old place keeps the name for samples taken before the move. */
	ASSERT_STREQ(perf_map__find(map, 0x10010, NULL), "moved");
	ASSERT_TRUE(perf_map__find(map, 0x50000, NULL) == NULL);
	ASSERT_STREQ(perf_map__find(map, 0x60000, NULL), "before close");
	ASSERT_TRUE(perf_map__find(map, 0x70000, NULL) == NULL);
	perf_map__free(map);
out:
	dump_free(&d);
}

static void test_other_records_skipped(void)
{
	struct jitdump_info info;
	struct dump d = {};
	struct perf_map *map;

	put_header(&d);
	/* Debug info comes before its load; then unwinding info, as node writes it. */
	put_prefix(&d, CODE_DEBUG_INFO, PREFIX_SIZE + 16 + 16 + 6);
	put64(&d, 0x1000);
	put64(&d, 1);
	put64(&d, 0x1004);
	put32(&d, 12);
	put32(&d, 0);
	put(&d, "x.js\0\0", 6);
	put_load(&d, 0x1000, 0x20, "with debug info");
	put_record(&d, CODE_UNWINDING_INFO, 48, 0);
	put_record(&d, 99, 3, 0xff); /* a later version's record, odd size */
	put_record(&d, 1000, 0, 0);
	put_load(&d, 0x2000, 0x20, "after unknown");
	map = parse_ok(&d, &info);
	if (!map)
		goto out;
	ASSERT_EQ(info.records, 6);
	ASSERT_EQ(perf_map__count(map), 2);
	ASSERT_EQ(perf_map__rejected(map), 0);
	ASSERT_STREQ(perf_map__find(map, 0x1004, NULL), "with debug info");
	ASSERT_STREQ(perf_map__find(map, 0x2010, NULL), "after unknown");
	perf_map__free(map);
out:
	dump_free(&d);
}

/* Cut at every length, a dump reads as far as its last whole record, never fails. */
static void test_truncated_tail(void)
{
	struct jitdump_info info;
	struct perf_map *map;
	struct dump d = {};
	size_t ends[4], n_ends = 0, cut, whole;

	put_header(&d);
	ends[n_ends++] = d.size;
	put_load(&d, 0x1000, 0x30, "one");
	ends[n_ends++] = d.size;
	put_move(&d, 0x1000, 0x5000, 0x30);
	ends[n_ends++] = d.size;
	put_load(&d, 0x2000, 0x30, "two");
	ends[n_ends++] = d.size;
	if (!ASSERT_FALSE(d.failed))
		goto out;
	for (cut = 0; cut <= d.size; cut++) {
		map = NULL;
		if (cut < 40) {
			if (!ASSERT_EQ(jitdump__parse(d.data, cut, &map, &info), -ENODATA))
				printf("#   cut at %zu\n", cut);
			ASSERT_TRUE(map == NULL);
			continue;
		}
		if (!ASSERT_OK(jitdump__parse(d.data, cut, &map, &info))) {
			printf("#   cut at %zu\n", cut);
			continue;
		}
		for (whole = 0; whole + 1 < n_ends && ends[whole + 1] <= cut; whole++)
			;
		/* whole records are all there; a cut inside the next one is not an error. */
		if (!ASSERT_EQ(info.records, whole) ||
		    !ASSERT_EQ(info.truncated, cut != ends[whole]) ||
		    !ASSERT_EQ(perf_map__rejected(map), 0))
			printf("#   cut at %zu\n", cut);
		ASSERT_EQ(perf_map__find(map, 0x1000, NULL) != NULL, whole >= 1);
		ASSERT_EQ(perf_map__find(map, 0x5000, NULL) != NULL, whole >= 2);
		ASSERT_EQ(perf_map__find(map, 0x2000, NULL) != NULL, whole >= 3);
		perf_map__free(map);
	}
out:
	dump_free(&d);
}

static void test_bad_header(void)
{
	static const struct {
		uint32_t magic, version, total_size;
		uint64_t flags;
		int err;
	} cases[] = {
		{ 0x464c457fu, 1, 40, 0, -EBADMSG }, /* an ELF file */
		{ 0, 0, 0, 0, -EBADMSG },
		{ 0x4454694Au, 1, 40, 0, -EPROTONOSUPPORT }, /* the other byte order */
		{ 0x4454694Au, 0x01000000, 0x28000000, 0, -EPROTONOSUPPORT },
		{ MAGIC, 2, 40, 0, -EPROTONOSUPPORT },
		{ MAGIC, 0, 40, 0, -EPROTONOSUPPORT },
		{ MAGIC, 1, 40, 1ull << 1, -EPROTONOSUPPORT }, /* an unknown flag */
		{ MAGIC, 1, 40, 1ull << 63, -EPROTONOSUPPORT },
		{ MAGIC, 1, 39, 0, -EBADMSG }, /* smaller than itself */
		{ MAGIC, 1, 0, 0, -EBADMSG },
		{ MAGIC, 1, JITDUMP_MAX_HEADER_BYTES + 1, 0, -EBADMSG },
		{ MAGIC, 1, UINT32_MAX, 0, -EBADMSG },
	};
	struct perf_map *map;
	struct jitdump_info info;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dump d = {};

		put_header_of(&d, cases[i].magic, cases[i].version, 40, cases[i].flags);
		memcpy(d.data + 8, &cases[i].total_size, 4);
		put_load(&d, 0x1000, 0x10, "f");
		map = NULL;
		if (!ASSERT_EQ(jitdump__parse(d.data, d.size, &map, &info), cases[i].err))
			printf("#   case %zu\n", i);
		ASSERT_TRUE(map == NULL);
		dump_free(&d);
	}

	/* The architecture-specific clock flag is fine, and so is a longer header. */
	struct dump d = {};

	put_header_of(&d, MAGIC, 1, 128, 1);
	put_load(&d, 0x1000, 0x10, "after a long header");
	map = parse_ok(&d, &info);
	if (map) {
		ASSERT_STREQ(perf_map__find(map, 0x1000, NULL), "after a long header");
		perf_map__free(map);
	}
	dump_free(&d);
}

static void test_bad_records(void)
{
	char long_name[PERF_MAP_MAX_NAME_LEN + 2];
	struct jitdump_info info;
	struct perf_map *map;
	struct dump d = {};

	put_header(&d);
	put_load(&d, 0x1000, 0x10, "good");
	/* A load too short for its fields. */
	put_record(&d, CODE_LOAD, 40, 0);
	/* A name without its NUL: the record ends first. */
	put_prefix(&d, CODE_LOAD, LOAD_FIXED + 4);
	put32(&d, 1), put32(&d, 1), put64(&d, 0x2000), put64(&d, 0x2000), put64(&d, 0);
	put64(&d, 1), put(&d, "abcd", 4);
	/* The code size says more than the record holds. */
	put_prefix(&d, CODE_LOAD, LOAD_FIXED + 2 + 4);
	put32(&d, 1), put32(&d, 1), put64(&d, 0x3000), put64(&d, 0x3000), put64(&d, 5);
	put64(&d, 1), put(&d, "x\0abcd", 6);
	/* A code size of 2^64 - 1, which no record holds. */
	put_prefix(&d, CODE_LOAD, LOAD_FIXED + 2);
	put32(&d, 1), put32(&d, 1), put64(&d, 0x3000), put64(&d, 0x3000), put64(&d, UINT64_MAX);
	put64(&d, 1), put(&d, "x", 2);
	/* Empty name, control bytes, a range wrapping around. */
	put_load(&d, 0x4000, 0x10, "");
	put_load(&d, 0x4000, 0x10, "tab\there");
	put_load(&d, UINT64_MAX - 4, 0x10, "wraps");
	/* An empty function covers nothing: skipped, not rejected. */
	put_load(&d, 0x5000, 0, "empty");
	/* A name of the longest length is kept, one byte longer is not. */
	memset(long_name, 'a', sizeof(long_name));
	long_name[PERF_MAP_MAX_NAME_LEN] = '\0';
	put_load(&d, 0x6000, 0x10, long_name);
	long_name[PERF_MAP_MAX_NAME_LEN] = 'b';
	long_name[PERF_MAP_MAX_NAME_LEN + 1] = '\0';
	put_load(&d, 0x7000, 0x10, long_name);
	/* A move too short for its fields. */
	put_record(&d, CODE_MOVE, 47, 0);
	put_load(&d, 0x8000, 0x10, "still read");
	/* A record smaller than its prefix: where the next one starts is unknown. */
	put_prefix(&d, CODE_LOAD, 15);
	put_load(&d, 0x9000, 0x10, "never reached");
	map = parse_ok(&d, &info);
	if (!map)
		goto out;
	ASSERT_EQ(perf_map__count(map), 3);
	ASSERT_EQ(perf_map__rejected(map), 10);
	ASSERT_EQ(info.loads, 3);
	ASSERT_FALSE(info.truncated);
	ASSERT_STREQ(perf_map__find(map, 0x1000, NULL), "good");
	ASSERT_TRUE(perf_map__find(map, 0x2000, NULL) == NULL);
	ASSERT_TRUE(perf_map__find(map, 0x3000, NULL) == NULL);
	ASSERT_TRUE(perf_map__find(map, 0x4000, NULL) == NULL);
	ASSERT_EQ(strlen(perf_map__find(map, 0x6000, NULL) ?: ""), PERF_MAP_MAX_NAME_LEN);
	ASSERT_TRUE(perf_map__find(map, 0x7000, NULL) == NULL);
	ASSERT_STREQ(perf_map__find(map, 0x8000, NULL), "still read");
	ASSERT_TRUE(perf_map__find(map, 0x9000, NULL) == NULL);
	perf_map__free(map);

	/* A huge record size is a record still being written, not an error. */
	dump_free(&d);
	put_header(&d);
	put_load(&d, 0x1000, 0x10, "kept");
	put_prefix(&d, CODE_LOAD, UINT32_MAX);
	put32(&d, 1), put32(&d, 1), put64(&d, 0x2000), put64(&d, 0x2000), put64(&d, 0x10);
	map = parse_ok(&d, &info);
	if (map) {
		ASSERT_TRUE(info.truncated);
		ASSERT_EQ(perf_map__count(map), 1);
		ASSERT_EQ(perf_map__rejected(map), 0);
		perf_map__free(map);
	}

	/* Over the byte cap: refused before anything is read. */
	map = NULL;
	ASSERT_EQ(jitdump__parse(d.data, (size_t)JITDUMP_MAX_BYTES + 1, &map, NULL), -E2BIG);
	ASSERT_TRUE(map == NULL);
out:
	dump_free(&d);
}

static void test_overlapping_loads(void)
{
	struct dump d = {};
	struct perf_map *map;
	uint64_t start = 0;

	put_header(&d);
	put_load(&d, 0x1000, 0x100, "old big");
	put_load(&d, 0x1040, 0x20, "inner");
	put_load(&d, 0x1000, 0x100, "old again");
	/* The JIT freed its code and reused the memory: the later load wins. */
	put_load(&d, 0x1000, 0x80, "reused");
	put_load(&d, 0x2000, 0x10, "a");
	put_load(&d, 0x2000, 0x10, "b");
	map = parse_ok(&d, NULL);
	if (!map)
		goto out;
	ASSERT_EQ(perf_map__count(map), 3);
	ASSERT_STREQ(perf_map__find(map, 0x1000, NULL), "reused");
	ASSERT_STREQ(perf_map__find(map, 0x1045, &start), "reused");
	ASSERT_EQ(start, 0x1000);
	ASSERT_TRUE(perf_map__find(map, 0x1090, NULL) == NULL);
	ASSERT_STREQ(perf_map__find(map, 0x2000, NULL), "b");
	perf_map__free(map);
out:
	dump_free(&d);
}

/* A dump bigger than the reader's window, in a file. */
static void make_big_dump(struct dump *d, size_t n)
{
	char name[32];

	put_header(d);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "JS:*f%zu", i);
		put_load(d, 0x100000 + i * 0x100, 0x80 + i % 0x80, name);
		if (i % 100 == 99)
			put_record(d, CODE_UNWINDING_INFO, 4000, 0);
	}
}

static int write_file(const char *path, const struct dump *d)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < d->size) {
		ssize_t n = write(fd, d->data + done, d->size - done);

		if (n <= 0) {
			close(fd);
			return -EIO;
		}
		done += (size_t)n;
	}
	return close(fd) ? -errno : 0;
}

static void test_read_file(void)
{
	char dir[] = "/tmp/cprof-jitdump-XXXXXX", path[PATH_MAX];
	struct jitdump_info info, file_info;
	struct perf_map *map = NULL, *file_map = NULL;
	struct dump d = {};
	int fd;

	if (!ASSERT_NOT_NULL(mkdtemp(dir)))
		return;
	snprintf(path, sizeof(path), "%s/jit-1.dump", dir);
	make_big_dump(&d, 3001);
	/* Cut inside the last load, as a dump being written is. */
	d.size -= 7;
	if (!ASSERT_TRUE(d.size > 4 * (64u << 10)) || !ASSERT_OK(write_file(path, &d)))
		goto out;
	map = parse_ok(&d, &info);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!map || !ASSERT_TRUE(fd >= 0))
		goto out;
	if (ASSERT_OK(jitdump__read_fd(fd, getuid(), &file_map, &file_info))) {
		ASSERT_EQ(perf_map__count(file_map), 3000);
		ASSERT_EQ(perf_map__count(file_map), perf_map__count(map));
		ASSERT_EQ(file_info.records, info.records);
		ASSERT_TRUE(file_info.truncated);
		ASSERT_STREQ(perf_map__find(file_map, 0x100000 + 2999 * 0x100, NULL), "JS:*f2999");
		ASSERT_STREQ(perf_map__find(file_map, 0x100000 + 1234 * 0x100 + 0x80, NULL),
			     "JS:*f1234");
		ASSERT_TRUE(perf_map__find(file_map, 0x100000 + 3000 * 0x100, NULL) == NULL);
		perf_map__free(file_map);
	}
	/* Owned by neither the process's owner nor root. */
	if (getuid() == 0 && ASSERT_OK(fchown(fd, 4321, 4321)))
		ASSERT_EQ(jitdump__read_fd(fd, 1234, &file_map, NULL), -EPERM);
	close(fd);
	/* Not a regular file. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ASSERT_TRUE(fd >= 0)) {
		ASSERT_EQ(jitdump__read_fd(fd, getuid(), &file_map, NULL), -EPERM);
		close(fd);
	}
	/* Over the size cap: a sparse file, so the test writes nothing big. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (ASSERT_TRUE(fd >= 0)) {
		if (ASSERT_OK(ftruncate(fd, (off_t)JITDUMP_MAX_BYTES + 1)) && getuid() == 0)
			ASSERT_OK(fchown(fd, 0, 0));
		ASSERT_EQ(jitdump__read_fd(fd, getuid(), &file_map, NULL), -EFBIG);
		close(fd);
	}
out:
	perf_map__free(map);
	dump_free(&d);
	unlink(path);
	rmdir(dir);
}

/* The dump as a JIT leaves it: mapped by the process, found through its maps. */
static void test_read_mapped(void)
{
	char dir[] = "/tmp/cprof-jitdump-XXXXXX", path[PATH_MAX], moved[PATH_MAX];
	struct proc_maps maps = {};
	struct perf_map *map = NULL;
	struct proc_map copy;
	const struct proc_map *m;
	void *mapped = MAP_FAILED;
	struct dump d = {};
	bool map_files;
	int fd = -1;

	if (!ASSERT_NOT_NULL(mkdtemp(dir)))
		return;
	snprintf(path, sizeof(path), "%s/jit-%d.dump", dir, (int)getpid());
	snprintf(moved, sizeof(moved), "%s/elsewhere", dir);
	make_big_dump(&d, 10);
	if (!ASSERT_OK(write_file(path, &d)))
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!ASSERT_TRUE(fd >= 0))
		goto out;
	mapped = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (!ASSERT_TRUE(mapped != MAP_FAILED) || !ASSERT_OK(proc_maps__read(getpid(), &maps)))
		goto out;
	m = proc_maps__find(&maps, (uint64_t)(uintptr_t)mapped);
	if (!ASSERT_NOT_NULL(m) || !ASSERT_STREQ(m->path, path))
		goto out;
	ASSERT_TRUE(jitdump__is_dump_name(m->path, NULL));
	if (ASSERT_OK(jitdump__read_mapped(getpid(), m, getuid(), &map))) {
		ASSERT_STREQ(perf_map__find(map, 0x100000 + 9 * 0x100, NULL), "JS:*f9");
		perf_map__free(map);
	}
	/*
	 * Renamed since: the mapping still reaches it, if we may open
	 * /proc/PID/map_files (CAP_SYS_ADMIN); by the old path nothing is there.
	 */
	snprintf(moved, sizeof(moved), "/proc/self/map_files/%" PRIx64 "-%" PRIx64, m->start,
		 m->end);
	map_files = access(moved, R_OK) == 0;
	snprintf(moved, sizeof(moved), "%s/elsewhere", dir);
	if (ASSERT_OK(rename(path, moved))) {
		if (map_files && ASSERT_OK(jitdump__read_mapped(getpid(), m, getuid(), &map)))
			perf_map__free(map);
		if (!map_files)
			ASSERT_EQ(jitdump__read_mapped(getpid(), m, getuid(), &map), -ENOENT);
		/* A process gone: only the path is left, and it names nothing now. */
		ASSERT_EQ(jitdump__read_mapped(INT_MAX, m, getuid(), &map), -ENOENT);
		ASSERT_OK(rename(moved, path));
	}
	/* Gone, and the file is still there: read by its path. */
	if (ASSERT_OK(jitdump__read_mapped(INT_MAX, m, getuid(), &map)))
		perf_map__free(map);
	/* Another file by that path (another inode) is not the mapped one. */
	copy = *m;
	copy.inode++;
	ASSERT_EQ(jitdump__read_mapped(INT_MAX, &copy, getuid(), &map), -ESTALE);
	/* Not a file. */
	copy = *m;
	copy.path = NULL;
	ASSERT_EQ(jitdump__read_mapped(getpid(), &copy, getuid(), &map), -ENOENT);
out:
	proc_maps__release(&maps);
	if (mapped != MAP_FAILED)
		munmap(mapped, 4096);
	if (fd >= 0)
		close(fd);
	dump_free(&d);
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

static void test_dump_names(void)
{
	uint32_t pid = 0;

	ASSERT_TRUE(jitdump__is_dump_name("/tmp/jit-1234.dump", &pid));
	ASSERT_EQ(pid, 1234);
	ASSERT_TRUE(jitdump__is_dump_name("jit-7.dump", &pid));
	ASSERT_EQ(pid, 7);
	ASSERT_TRUE(jitdump__is_dump_name("/srv/app/jit-4294967295.dump", &pid));
	ASSERT_EQ(pid, UINT32_MAX);
	ASSERT_FALSE(jitdump__is_dump_name("/srv/app/jit-4294967296.dump", NULL));
	ASSERT_FALSE(jitdump__is_dump_name("/tmp/jit-.dump", NULL));
	ASSERT_FALSE(jitdump__is_dump_name("/tmp/jit-12.dump.old", NULL));
	ASSERT_FALSE(jitdump__is_dump_name("/tmp/jit-12x.dump", NULL));
	ASSERT_FALSE(jitdump__is_dump_name("/tmp/perf-12.map", NULL));
	ASSERT_FALSE(jitdump__is_dump_name("/tmp/jit-12.dump/x", NULL));
	ASSERT_FALSE(jitdump__is_dump_name("/tmp/xjit-12.dump", NULL));
}

static void test_fuzz_entry_point(void)
{
	struct dump d = {};

	put_header(&d);
	ASSERT_OK(jitdump__fuzz_one(d.data, 0));
	ASSERT_OK(jitdump__fuzz_one(d.data, 39));
	ASSERT_OK(jitdump__fuzz_one(d.data, d.size));
	put_load(&d, 0x1000, 0x10, "a");
	put_move(&d, 0x1000, 0x2000, 0x10);
	put_record(&d, CODE_CLOSE, 0, 0);
	if (ASSERT_FALSE(d.failed))
		ASSERT_OK(jitdump__fuzz_one(d.data, d.size));
	dump_free(&d);
	make_big_dump(&d, 200);
	if (ASSERT_FALSE(d.failed))
		ASSERT_OK(jitdump__fuzz_one(d.data, d.size));
	dump_free(&d);
}

int main(void)
{
	RUN_TEST(test_loads);
	RUN_TEST(test_move_and_close);
	RUN_TEST(test_other_records_skipped);
	RUN_TEST(test_truncated_tail);
	RUN_TEST(test_bad_header);
	RUN_TEST(test_bad_records);
	RUN_TEST(test_overlapping_loads);
	RUN_TEST(test_read_file);
	RUN_TEST(test_read_mapped);
	RUN_TEST(test_dump_names);
	RUN_TEST(test_fuzz_entry_point);
	return TEST_SUMMARY();
}
