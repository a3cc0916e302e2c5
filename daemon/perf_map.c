// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perf map parser. Entries are kept in one array sorted by start address,
 * with the names in one arena; a lookup is a binary search plus a short
 * look back for an earlier, longer entry that still covers the address.
 */
#include "perf_map.h"
#include "array.h"
#include "read_bounded.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How far back a lookup looks for an entry enclosing the address. */
#define MAX_LOOKBACK 8

struct perf_map_entry {
	uint64_t start;
	uint64_t size; /* > 0 */
	uint32_t name; /* offset in the arena */
	uint32_t line; /* line number in the file, to let the later line win */
};

struct perf_map {
	struct perf_map_entry *entries; /* sorted by start; one per start */
	size_t n_entries;
	size_t n_rejected;
	char *names;
	size_t names_size;
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

/* One to sixteen hex digits, with an optional 0x; the field must end at a space. */
static bool parse_hex_field(const char *line, size_t len, size_t *pos, uint64_t *ret_value)
{
	size_t i = *pos, digits = 0;
	uint64_t value = 0;
	int digit;

	if (len - i >= 2 && line[i] == '0' && (line[i + 1] == 'x' || line[i + 1] == 'X'))
		i += 2;
	for (; i < len && (digit = hex_digit(line[i])) >= 0; i++) {
		if (++digits > 16)
			return false;
		value = value << 4 | (uint64_t)digit;
	}
	if (digits == 0 || i >= len || line[i] != ' ')
		return false;
	*pos = i + 1;
	*ret_value = value;
	return true;
}

/*
 * Parses one line (without its newline). On success gives the entry's
 * start, size and where its name is in the line.
 */
static bool parse_line(const char *line, size_t len, uint64_t *ret_start, uint64_t *ret_size,
		       size_t *ret_name_offset)
{
	uint64_t start, size;
	size_t pos = 0, i;

	if (!parse_hex_field(line, len, &pos, &start) || !parse_hex_field(line, len, &pos, &size))
		return false;
	if (size == 0 || start + size < start)
		return false;
	if (pos >= len || len - pos > PERF_MAP_MAX_NAME_LEN)
		return false;
	/* A name is printable text: no control bytes (NUL included), no leading space. */
	if (line[pos] == ' ')
		return false;
	for (i = pos; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	*ret_start = start;
	*ret_size = size;
	*ret_name_offset = pos;
	return true;
}

static int entry_compare(const void *a, const void *b)
{
	const struct perf_map_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

int perf_map__parse(const char *text, size_t len, struct perf_map **ret_map)
{
	struct perf_map *map;
	size_t offset = 0, capacity = 0, names_capacity = 0, n, i;
	uint32_t line_number = 0;
	int err = -ENOMEM;

	if (len > PERF_MAP_MAX_BYTES)
		return -E2BIG;
	map = calloc(1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	while (offset < len) {
		const char *line = text + offset, *newline;
		size_t line_len, name_offset, name_len;
		uint64_t start, size;
		void *grown;

		newline = memchr(line, '\n', len - offset);
		if (!newline)
			break; /* still being written */
		line_len = (size_t)(newline - line);
		offset += line_len + 1;
		line_number++;
		if (!parse_line(line, line_len, &start, &size, &name_offset)) {
			map->n_rejected++;
			continue;
		}
		if (map->n_entries == PERF_MAP_MAX_ENTRIES) {
			err = -E2BIG;
			goto err_free;
		}
		if (array__reserve(map->entries, sizeof(*map->entries), &capacity, map->n_entries,
				   1, 256, SIZE_MAX, &grown))
			goto err_free;
		map->entries = grown;
		name_len = line_len - name_offset;
		/* The arena is at most the file's size, which is capped far below 4 GiB. */
		if (array__reserve(map->names, 1, &names_capacity, map->names_size, name_len + 1,
				   4096, SIZE_MAX, &grown))
			goto err_free;
		map->names = grown;
		memcpy(map->names + map->names_size, line + name_offset, name_len);
		map->names[map->names_size + name_len] = '\0';
		map->entries[map->n_entries++] = (struct perf_map_entry){
			.start = start,
			.size = size,
			.name = (uint32_t)map->names_size,
			.line = line_number,
		};
		map->names_size += name_len + 1;
	}

	if (map->n_entries)
		qsort(map->entries, map->n_entries, sizeof(*map->entries), entry_compare);
	/* One entry per start: the last line written for it. */
	for (i = 0, n = 0; i < map->n_entries; i++) {
		if (n > 0 && map->entries[n - 1].start == map->entries[i].start)
			n--;
		map->entries[n++] = map->entries[i];
	}
	map->n_entries = n;
	if (n) {
		struct perf_map_entry *shrunk = realloc(map->entries, n * sizeof(*shrunk));

		if (shrunk)
			map->entries = shrunk;
	}
	*ret_map = map;
	return 0;
err_free:
	perf_map__free(map);
	return err;
}

int perf_map__read(const char *path, uid_t owner_uid, struct perf_map **ret_map)
{
	size_t len = 0;
	struct stat st;
	char *text;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != owner_uid)) {
		err = -EPERM;
		goto out_close;
	}
	if ((uint64_t)st.st_size > PERF_MAP_MAX_BYTES) {
		err = -EFBIG;
		goto out_close;
	}
	/* The JIT may still be appending: read to the end, but never past the cap. */
	err = read_bounded(fd, (size_t)st.st_size + 4096, PERF_MAP_MAX_BYTES, &text, &len);
	if (!err) {
		err = perf_map__parse(text, len, ret_map);
		free(text);
	}
out_close:
	close(fd);
	return err;
}

static const struct perf_map_entry *find_entry(const struct perf_map *map, uint64_t address)
{
	size_t low = 0, high, i, last;
	const struct perf_map_entry *best = NULL;

	high = map->n_entries;
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (map->entries[mid].start <= address)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0)
		return NULL;
	last = low - 1;
	for (i = last + 1; i-- > 0 && last - i < MAX_LOOKBACK;) {
		const struct perf_map_entry *e = &map->entries[i];

		if (address - e->start < e->size && (!best || e->line > best->line))
			best = e;
	}
	return best;
}

const char *perf_map__find(const struct perf_map *map, uint64_t address, uint64_t *ret_start)
{
	const struct perf_map_entry *best = map ? find_entry(map, address) : NULL;

	if (!best)
		return NULL;
	if (ret_start)
		*ret_start = best->start;
	return map->names + best->name;
}

size_t perf_map__count(const struct perf_map *map)
{
	return map ? map->n_entries : 0;
}

size_t perf_map__rejected(const struct perf_map *map)
{
	return map ? map->n_rejected : 0;
}

size_t perf_map__memory(const struct perf_map *map)
{
	if (!map)
		return 0;
	return sizeof(*map) + map->n_entries * sizeof(*map->entries) + map->names_size;
}

void perf_map__free(struct perf_map *map)
{
	if (!map)
		return;
	free(map->entries);
	free(map->names);
	free(map);
}

int perf_map__fuzz_one(const uint8_t *data, size_t size)
{
	const struct perf_map_entry *found;
	struct perf_map *map;
	size_t i;

	if (perf_map__parse((const char *)data, size, &map))
		return 0;
	for (i = 0; i < map->n_entries; i++) {
		const struct perf_map_entry *e = &map->entries[i];
		uint64_t last = e->start + e->size - 1;

		if (i > 0 && map->entries[i - 1].start >= e->start)
			abort();
		if (e->size == 0 || e->name >= map->names_size || !map->names[e->name])
			abort();
		if (find_entry(map, e->start) != e &&
		    (!find_entry(map, e->start) || find_entry(map, e->start)->line < e->line))
			abort();
		found = find_entry(map, last);
		if (found && last - found->start >= found->size)
			abort();
	}
	/* Addresses made of the input's bytes, covered or not. */
	for (i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
		uint64_t address;

		memcpy(&address, data + i, sizeof(address));
		found = find_entry(map, address);
		if (found && address - found->start >= found->size)
			abort();
	}
	perf_map__free(map);
	return 0;
}
