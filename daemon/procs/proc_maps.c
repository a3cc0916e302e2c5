/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parser of /proc/PID/maps. A line as the kernel writes it
 * (fs/proc/task_mmu.c, show_vma_header_prefix()):
 *
 *   start-end perms offset major:minor inode [spaces path]
 *
 * with the numbers in hex except the inode, perms four characters, and the
 * path running to the end of the line (it may hold spaces; the kernel escapes
 * newlines in it). Anything else is rejected: the text belongs to a process
 * we do not trust, and a guessed mapping would give wrong symbols silently.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_maps.h"
#include "util/array.h"
#include "util/read_bounded.h"

#define DELETED_SUFFIX " (deleted)"
#define DELETED_SUFFIX_LEN (sizeof(DELETED_SUFFIX) - 1)

/* First read buffer; most processes' maps fit, bigger ones double it. */
#define READ_INITIAL_BYTES (64u << 10)

/* A parsed line whose path still points into the text being parsed. */
struct pending_map {
	struct proc_map map;
	size_t path_offset; /* from the start of the text */
	size_t path_len; /* 0: anonymous */
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses one or more hex digits at line[*pos]; fails on none or on overflow of 64 bits. */
static int parse_hex(const char *line, size_t len, size_t *pos, uint64_t *ret_value)
{
	uint64_t value = 0;
	size_t i = *pos;
	int digit;

	if (i >= len || hex_digit(line[i]) < 0)
		return -EINVAL;
	for (; i < len && (digit = hex_digit(line[i])) >= 0; i++) {
		if (value >> 60)
			return -EINVAL;
		value = value << 4 | (uint64_t)digit;
	}
	*pos = i;
	*ret_value = value;
	return 0;
}

static int parse_decimal(const char *line, size_t len, size_t *pos, uint64_t *ret_value)
{
	uint64_t value = 0;
	size_t i = *pos;

	if (i >= len || line[i] < '0' || line[i] > '9')
		return -EINVAL;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		uint64_t digit = (uint64_t)(line[i] - '0');

		if (value > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		value = value * 10 + digit;
	}
	*pos = i;
	*ret_value = value;
	return 0;
}

static int expect_char(const char *line, size_t len, size_t *pos, char c)
{
	if (*pos >= len || line[*pos] != c)
		return -EINVAL;
	(*pos)++;
	return 0;
}

static int parse_perms(const char *line, size_t len, size_t *pos, uint32_t *ret_perms)
{
	const char *p = line + *pos;
	uint32_t perms = 0;

	if (len - *pos < 4)
		return -EINVAL;
	if (p[0] == 'r')
		perms |= PROC_MAP_READ;
	else if (p[0] != '-')
		return -EINVAL;
	if (p[1] == 'w')
		perms |= PROC_MAP_WRITE;
	else if (p[1] != '-')
		return -EINVAL;
	if (p[2] == 'x')
		perms |= PROC_MAP_EXEC;
	else if (p[2] != '-')
		return -EINVAL;
	if (p[3] == 's')
		perms |= PROC_MAP_SHARED;
	else if (p[3] != 'p')
		return -EINVAL;
	*pos += 4;
	*ret_perms = perms;
	return 0;
}

/*
 * Parses one line (without its newline) starting at text[line_offset].
 * The path is returned as an offset into text and a length, 0 for none.
 */
static int parse_line(const char *text, size_t line_offset, size_t len, struct pending_map *ret)
{
	const char *line = text + line_offset;
	struct pending_map pending = {};
	struct proc_map *map = &pending.map;
	uint64_t major, minor;
	size_t pos = 0;
	int err;

	if (memchr(line, '\0', len))
		return -EINVAL;

	err = parse_hex(line, len, &pos, &map->start);
	err = err ?: expect_char(line, len, &pos, '-');
	err = err ?: parse_hex(line, len, &pos, &map->end);
	err = err ?: expect_char(line, len, &pos, ' ');
	err = err ?: parse_perms(line, len, &pos, &map->perms);
	err = err ?: expect_char(line, len, &pos, ' ');
	err = err ?: parse_hex(line, len, &pos, &map->offset);
	err = err ?: expect_char(line, len, &pos, ' ');
	err = err ?: parse_hex(line, len, &pos, &major);
	err = err ?: expect_char(line, len, &pos, ':');
	err = err ?: parse_hex(line, len, &pos, &minor);
	err = err ?: expect_char(line, len, &pos, ' ');
	err = err ?: parse_decimal(line, len, &pos, &map->inode);
	if (err)
		return err;
	/* The kernel never shows an empty or inverted area. */
	if (map->end <= map->start)
		return -EINVAL;
	if (major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	map->dev_major = (uint32_t)major;
	map->dev_minor = (uint32_t)minor;

	if (pos < len) {
		/* Padding to the path column; anonymous areas end with a space. */
		err = expect_char(line, len, &pos, ' ');
		if (err)
			return err;
		while (pos < len && line[pos] == ' ')
			pos++;
	}
	if (pos < len) {
		size_t path_len = len - pos;
		const char *end = line + len;

		/* end - DELETED_SUFFIX_LEN is formed only once the path is known to be longer. */
		if (path_len > DELETED_SUFFIX_LEN &&
		    memcmp(end - DELETED_SUFFIX_LEN, DELETED_SUFFIX, DELETED_SUFFIX_LEN) == 0) {
			map->deleted = true;
			path_len -= DELETED_SUFFIX_LEN;
		}
		pending.path_offset = line_offset + pos;
		pending.path_len = path_len;
	}
	*ret = pending;
	return 0;
}

/* Moves the pending maps and their paths into one allocation owned by ret->maps. */
static int pack_maps(const char *text, const struct pending_map *pending, size_t n,
		     struct proc_maps *ret)
{
	size_t path_bytes = 0, i;
	struct proc_map *maps;
	char *paths;

	if (n == 0) {
		*ret = (struct proc_maps){};
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (pending[i].path_len)
			path_bytes += pending[i].path_len + 1;
	}
	/* Both terms are bounded by PROC_MAPS_MAX_{ENTRIES,BYTES}: no overflow. */
	maps = malloc(n * sizeof(*maps) + path_bytes);
	if (!maps)
		return -ENOMEM;
	paths = (char *)(maps + n);
	for (i = 0; i < n; i++) {
		maps[i] = pending[i].map;
		maps[i].path = NULL;
		if (pending[i].path_len) {
			memcpy(paths, text + pending[i].path_offset, pending[i].path_len);
			paths[pending[i].path_len] = '\0';
			maps[i].path = paths;
			paths += pending[i].path_len + 1;
		}
	}
	ret->maps = maps;
	ret->n = n;
	return 0;
}

int proc_maps__parse(const char *text, size_t len, struct proc_maps *ret)
{
	struct pending_map *pending = NULL;
	void *grown;
	size_t n = 0, capacity = 0, offset = 0;
	int err = 0;

	if ((!text && len) || !ret)
		return -EINVAL;
	if (len > PROC_MAPS_MAX_BYTES)
		return -E2BIG;

	while (offset < len) {
		const char *newline = memchr(text + offset, '\n', len - offset);
		size_t line_len = newline ? (size_t)(newline - (text + offset)) : len - offset;
		struct pending_map map;

		err = parse_line(text, offset, line_len, &map);
		if (err)
			goto out;
		if (n > 0 && map.map.start < pending[n - 1].map.end) {
			/* Overlapping or out of order: not what the kernel writes. */
			err = -EINVAL;
			goto out;
		}
		err = array__reserve(pending, sizeof(*pending), &capacity, n, 1, 64,
				     PROC_MAPS_MAX_ENTRIES, &grown);
		if (err)
			goto out;
		pending = grown;
		pending[n++] = map;
		offset += line_len + (newline ? 1 : 0);
	}
	err = pack_maps(text, pending, n, ret);
out:
	free(pending);
	return err;
}

/* A process that exits between our steps shows up as either errno. */
static int gone_or(int err)
{
	return err == ENOENT || err == ESRCH ? -ESRCH : -err;
}

int proc_maps__read(pid_t pid, struct proc_maps *ret)
{
	char path[32], *buf;
	size_t len;
	int fd, err;

	if (pid <= 0 || !ret)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gone_or(errno);
	err = read_bounded(fd, READ_INITIAL_BYTES, PROC_MAPS_MAX_BYTES, &buf, &len);
	close(fd);
	if (err == -EFBIG)
		return -E2BIG;
	if (err)
		return gone_or(-err);
	err = proc_maps__parse(buf, len, ret);
	free(buf);
	return err;
}

const struct proc_map *proc_maps__find(const struct proc_maps *maps, uint64_t addr)
{
	size_t low = 0, high;

	if (!maps || !maps->maps)
		return NULL;
	/* Find the first map starting above addr; the one before it may hold addr. */
	high = maps->n;
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (maps->maps[mid].start <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0)
		return NULL;
	if (addr >= maps->maps[low - 1].end)
		return NULL;
	return &maps->maps[low - 1];
}

void proc_maps__release(struct proc_maps *maps)
{
	if (!maps)
		return;
	/* The paths live in the same allocation as the array (see pack_maps()). */
	free(maps->maps);
	maps->maps = NULL;
	maps->n = 0;
}

/* Copies n maps and their paths into one allocation, as pack_maps() does. */
static int copy_maps(const struct proc_map *src, size_t n, struct proc_maps *ret)
{
	size_t path_bytes = 0, i;
	struct proc_map *maps;
	char *paths;

	if (n == 0) {
		*ret = (struct proc_maps){};
		return 0;
	}
	if (n > PROC_MAPS_MAX_ENTRIES)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (src[i].path)
			path_bytes += strlen(src[i].path) + 1;
		if (path_bytes > PROC_MAPS_MAX_BYTES)
			return -E2BIG;
	}
	maps = malloc(n * sizeof(*maps) + path_bytes);
	if (!maps)
		return -ENOMEM;
	paths = (char *)(maps + n);
	for (i = 0; i < n; i++) {
		maps[i] = src[i];
		if (src[i].path) {
			size_t len = strlen(src[i].path) + 1;

			memcpy(paths, src[i].path, len);
			maps[i].path = paths;
			paths += len;
		}
	}
	ret->maps = maps;
	ret->n = n;
	return 0;
}

int proc_maps__copy(const struct proc_maps *src, struct proc_maps *ret)
{
	return copy_maps(src->maps, src->n, ret);
}

int proc_maps__insert(struct proc_maps *maps, const struct proc_map *m)
{
	struct proc_map *merged;
	struct proc_maps result;
	bool inserted = false;
	size_t n = 0;
	int err;

	if (m->start >= m->end)
		return -EINVAL;
	/* One old mapping may be split in two around m: room for one more. */
	merged = malloc((maps->n + 2) * sizeof(*merged));
	if (!merged)
		return -ENOMEM;
	/* What m covers is m now, as after a MAP_FIXED mmap; old ones keep what is left. */
	for (size_t i = 0; i < maps->n; i++) {
		struct proc_map old = maps->maps[i];

		if (old.start < m->start) {
			struct proc_map left = old;

			left.end = old.end < m->start ? old.end : m->start;
			merged[n++] = left;
		}
		if (!inserted && old.end > m->start) {
			merged[n++] = *m;
			inserted = true;
		}
		if (old.end > m->end) {
			struct proc_map right = old;

			if (old.start < m->end) {
				right.start = m->end;
				if (old.path) /* anonymous memory has no file offset to move */
					right.offset += m->end - old.start;
			}
			merged[n++] = right;
		}
	}
	if (!inserted)
		merged[n++] = *m;
	err = copy_maps(merged, n, &result);
	free(merged);
	if (err)
		return err;
	proc_maps__release(maps);
	*maps = result;
	return 0;
}
