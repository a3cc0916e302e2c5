// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Jitdump reader. Records are read through a window of the file, so a dump
 * of any size costs one window of memory; in memory, the window is all of
 * it. Every record is bounds-checked against the size the input had when
 * reading began.
 */
#include "jitdump.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define JITDUMP_MAGIC 0x4A695444u /* "JiTD" */
#define JITDUMP_MAGIC_SWAPPED 0x4454694Au
#define JITDUMP_VERSION 1
/* The only flag defined: timestamps from the CPU's clock, which we do not use. */
#define JITDUMP_FLAG_ARCH_TIMESTAMP (1ull << 0)

enum jitdump_record_id {
	JIT_CODE_LOAD = 0,
	JIT_CODE_MOVE = 1,
	JIT_CODE_DEBUG_INFO = 2,
	JIT_CODE_CLOSE = 3,
	JIT_CODE_UNWINDING_INFO = 4,
};

/* The layouts of the specification, in the writer's (here: our) byte order. */
struct file_header {
	uint32_t magic;
	uint32_t version;
	uint32_t total_size; /* of this header */
	uint32_t elf_mach;
	uint32_t pad1;
	uint32_t pid;
	uint64_t timestamp;
	uint64_t flags;
};

struct record_prefix {
	uint32_t id;
	uint32_t total_size; /* of the record, this prefix included */
	uint64_t timestamp;
};

/* After the prefix of a JIT_CODE_LOAD; then the name, NUL-terminated, then the code. */
struct code_load {
	uint32_t pid;
	uint32_t tid;
	uint64_t vma;
	uint64_t code_addr;
	uint64_t code_size;
	uint64_t code_index;
};

/* After the prefix of a JIT_CODE_MOVE. */
struct code_move {
	uint32_t pid;
	uint32_t tid;
	uint64_t vma;
	uint64_t old_code_addr;
	uint64_t new_code_addr;
	uint64_t code_size;
	uint64_t code_index;
};

_Static_assert(sizeof(struct file_header) == 40, "jitdump header layout");
_Static_assert(sizeof(struct record_prefix) == 16, "jitdump record prefix layout");
_Static_assert(sizeof(struct code_load) == 40, "JIT_CODE_LOAD layout");
_Static_assert(sizeof(struct code_move) == 48, "JIT_CODE_MOVE layout");

#define LOAD_FIXED (sizeof(struct record_prefix) + sizeof(struct code_load))
/* The most of a record ever looked at: a load's fields and its longest name. */
#define MAX_LOOK (LOAD_FIXED + PERF_MAP_MAX_NAME_LEN + 1)
#define WINDOW_BYTES (64u << 10)

_Static_assert(MAX_LOOK <= WINDOW_BYTES, "a record's fields fit the window");

struct reader {
	int fd; /* -1: the input is in memory, at data */
	const uint8_t *data; /* memory: all of it; file: the window */
	uint64_t size; /* of the input; for a file, when reading began */
	uint8_t *window;
	size_t window_capacity;
	uint64_t window_offset; /* file offset of window[0] */
	size_t window_len;
};

/*
 * Points *ret at the n bytes at offset (n <= the window). Returns 0,
 * -ENODATA when the input ends first, or a read's negative errno.
 */
static int reader_get(struct reader *r, uint64_t offset, size_t n, const uint8_t **ret)
{
	size_t want, got = 0;

	if (offset > r->size || n > r->size - offset)
		return -ENODATA;
	if (r->fd < 0) {
		*ret = r->data + offset;
		return 0;
	}
	assert(n <= r->window_capacity);
	if (offset < r->window_offset || offset - r->window_offset > r->window_len ||
	    n > r->window_len - (offset - r->window_offset)) {
		want = r->size - offset < r->window_capacity ? (size_t)(r->size - offset)
							     : r->window_capacity;
		while (got < want) {
			ssize_t k =
				pread(r->fd, r->window + got, want - got, (off_t)(offset + got));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				r->window_len = 0;
				return -errno;
			}
			if (k == 0)
				break; /* the file shrank */
			got += (size_t)k;
		}
		r->window_offset = offset;
		r->window_len = got;
		if (got < n)
			return -ENODATA;
	}
	*ret = r->window + (offset - r->window_offset);
	return 0;
}

static int check_header(const struct file_header *h)
{
	if (h->magic == JITDUMP_MAGIC_SWAPPED)
		return -EPROTONOSUPPORT;
	if (h->magic != JITDUMP_MAGIC)
		return -EBADMSG;
	if (h->version != JITDUMP_VERSION || (h->flags & ~JITDUMP_FLAG_ARCH_TIMESTAMP))
		return -EPROTONOSUPPORT;
	if (h->total_size < sizeof(*h) || h->total_size > JITDUMP_MAX_HEADER_BYTES)
		return -EBADMSG;
	return 0;
}

/*
 * A JIT_CODE_LOAD of size bytes at offset. Returns 0 (kept, skipped or
 * counted as rejected) or the builder's fatal error.
 */
static int read_load(struct reader *r, struct perf_map_builder *b, uint64_t offset, uint32_t size,
		     struct jitdump_info *info)
{
	size_t look = size < MAX_LOOK ? size : MAX_LOOK, name_len;
	const uint8_t *record, *nul;
	struct code_load load;
	int err;

	if (size < LOAD_FIXED + 1)
		goto reject;
	err = reader_get(r, offset, look, &record);
	if (err)
		return err; /* the record was all there a moment ago */
	memcpy(&load, record + sizeof(struct record_prefix), sizeof(load));
	nul = memchr(record + LOAD_FIXED, '\0', look - LOAD_FIXED);
	if (!nul)
		goto reject; /* no end, or a name longer than any kept */
	name_len = (size_t)(nul - (record + LOAD_FIXED));
	/* The code follows the name: a record too short to hold it is not one. */
	if (load.code_size > size - LOAD_FIXED - name_len - 1)
		goto reject;
	if (load.code_size == 0)
		return 0; /* an empty function covers no address */
	err = perf_map_builder__add(b, load.code_addr, load.code_size,
				    (const char *)record + LOAD_FIXED, name_len);
	if (err == -EINVAL)
		goto reject;
	if (!err)
		info->loads++;
	return err;
reject:
	perf_map_builder__reject(b);
	return 0;
}

/* A JIT_CODE_MOVE of size bytes at offset; as read_load(). */
static int read_move(struct reader *r, struct perf_map_builder *b, uint64_t offset, uint32_t size,
		     struct jitdump_info *info)
{
	const uint8_t *record;
	struct code_move move;
	int err;

	if (size < sizeof(struct record_prefix) + sizeof(move))
		goto reject;
	err = reader_get(r, offset, sizeof(struct record_prefix) + sizeof(move), &record);
	if (err)
		return err;
	memcpy(&move, record + sizeof(struct record_prefix), sizeof(move));
	err = perf_map_builder__move(b, move.old_code_addr, move.new_code_addr, move.code_size);
	if (err == -EINVAL || err == -ENOENT)
		goto reject;
	if (!err)
		info->moves++;
	return err;
reject:
	perf_map_builder__reject(b);
	return 0;
}

static int parse(struct reader *r, struct perf_map **ret_map, struct jitdump_info *ret_info)
{
	struct jitdump_info info = {};
	struct perf_map_builder *b;
	struct file_header header;
	struct record_prefix prefix;
	const uint8_t *bytes;
	uint64_t offset;
	int err;

	if (r->size > JITDUMP_MAX_BYTES)
		return -E2BIG;
	err = reader_get(r, 0, sizeof(header), &bytes);
	if (err)
		return err;
	memcpy(&header, bytes, sizeof(header));
	err = check_header(&header);
	if (err)
		return err;
	b = perf_map_builder__new();
	if (!b)
		return -ENOMEM;
	for (offset = header.total_size;; offset += prefix.total_size) {
		err = reader_get(r, offset, sizeof(prefix), &bytes);
		if (err == -ENODATA) {
			info.truncated = offset < r->size;
			err = 0;
			break;
		}
		if (err)
			goto err_free;
		memcpy(&prefix, bytes, sizeof(prefix));
		if (prefix.total_size < sizeof(prefix)) {
			/* Where the next record starts is unknown: stop here. */
			perf_map_builder__reject(b);
			break;
		}
		if (prefix.total_size > r->size - offset) {
			info.truncated = true;
			break;
		}
		info.records++;
		if (prefix.id == JIT_CODE_LOAD)
			err = read_load(r, b, offset, prefix.total_size, &info);
		else if (prefix.id == JIT_CODE_MOVE)
			err = read_move(r, b, offset, prefix.total_size, &info);
		else if (prefix.id == JIT_CODE_CLOSE)
			info.closed = true;
		/* Debug and unwinding info, and ids of later versions: skipped. */
		if (err == -ENODATA) {
			info.truncated = true;
			err = 0;
			break;
		}
		if (err)
			goto err_free;
		if (info.closed)
			break;
	}
	err = perf_map_builder__finish(b, ret_map);
	if (!err && ret_info)
		*ret_info = info;
	return err;
err_free:
	perf_map_builder__free(b);
	return err;
}

int jitdump__parse(const void *data, size_t size, struct perf_map **ret_map,
		   struct jitdump_info *ret_info)
{
	struct reader r = { .fd = -1, .data = data, .size = size };

	return parse(&r, ret_map, ret_info);
}

/* Reads fd, known to be a regular file of size bytes, through a window of window bytes. */
static int read_windowed(int fd, uint64_t size, size_t window, struct perf_map **ret_map,
			 struct jitdump_info *ret_info)
{
	struct reader r = { .fd = fd, .size = size, .window_capacity = window };
	int err;

	if (size > JITDUMP_MAX_BYTES)
		return -EFBIG;
	r.window = malloc(window);
	if (!r.window)
		return -ENOMEM;
	err = parse(&r, ret_map, ret_info);
	free(r.window);
	return err;
}

int jitdump__read_fd(int fd, uid_t owner_uid, struct perf_map **ret_map,
		     struct jitdump_info *ret_info)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != owner_uid))
		return -EPERM;
	return read_windowed(fd, (uint64_t)st.st_size, WINDOW_BYTES, ret_map, ret_info);
}

bool jitdump__is_dump_name(const char *path, uint32_t *ret_pid)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path, *p;
	uint64_t pid = 0;

	if (strncmp(name, "jit-", 4) != 0)
		return false;
	for (p = name + 4; *p >= '0' && *p <= '9'; p++) {
		pid = pid * 10 + (uint64_t)(*p - '0');
		if (pid > UINT32_MAX)
			return false;
	}
	if (p == name + 4 || strcmp(p, ".dump") != 0)
		return false;
	if (ret_pid)
		*ret_pid = (uint32_t)pid;
	return true;
}

/* Opens path if it is the file of m (same inode); -ESTALE if another, or open's errno. */
static int open_if_mapped(const char *path, const struct proc_map *m)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* Only the inode: on overlayfs and btrfs, stat's device is not the one maps shows. */
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != m->inode) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int jitdump__read_mapped(pid_t pid, const struct proc_map *m, uid_t owner_uid,
			 struct perf_map **ret_map)
{
	char path[4096 + 64];
	int fd = -ENOENT, n, err;

	if (!m->path || m->path[0] != '/')
		return -ENOENT;
	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
			 m->start, m->end);
		fd = open_if_mapped(path, m);
		if (fd < 0) {
			n = snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
			if (n > 0 && (size_t)n < sizeof(path))
				fd = open_if_mapped(path, m);
		}
	}
	/* The process is gone (or its /proc is closed to us): the path as we see it. */
	if (fd < 0 && fd != -ESTALE)
		fd = open_if_mapped(m->path, m);
	if (fd < 0)
		return fd;
	err = jitdump__read_fd(fd, owner_uid, ret_map, NULL);
	close(fd);
	return err;
}

int jitdump__fuzz_one(const uint8_t *data, size_t size)
{
	struct jitdump_info info = {}, file_info = {};
	struct perf_map *map = NULL, *file_map = NULL;
	int err, file_err, fd;
	size_t i;

	err = jitdump__parse(data, size, &map, &info);
	if (err != 0 && err != -ENODATA && err != -EBADMSG && err != -EPROTONOSUPPORT &&
	    err != -E2BIG && err != -ENOMEM)
		abort();
	if (!err) {
		if (perf_map__count(map) > info.loads + info.moves ||
		    info.loads + info.moves > info.records)
			abort();
		/* Addresses made of the input's bytes, covered or not. */
		for (i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
			uint64_t address, start;
			const char *name;

			memcpy(&address, data + i, sizeof(address));
			name = perf_map__find(map, address, &start);
			if (name && (start > address || !*name))
				abort();
		}
	}

	/* The same bytes from a file, through the smallest window: the same result. */
	fd = memfd_create("jitdump-fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (i = 0; i < size;) {
		ssize_t k = write(fd, data + i, size - i);

		if (k <= 0)
			abort();
		i += (size_t)k;
	}
	file_err = read_windowed(fd, size, MAX_LOOK, &file_map, &file_info);
	close(fd);
	if (file_err != err)
		abort();
	if (!err && (perf_map__count(file_map) != perf_map__count(map) ||
		     perf_map__rejected(file_map) != perf_map__rejected(map) ||
		     file_info.records != info.records || file_info.loads != info.loads ||
		     file_info.moves != info.moves || file_info.truncated != info.truncated ||
		     file_info.closed != info.closed))
		abort();
	perf_map__free(file_map);
	perf_map__free(map);
	return 0;
}
