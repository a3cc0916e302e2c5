// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perf map parser. Entries are kept in one array sorted by start address,
 * with the names in one arena; a lookup is a binary search plus a short
 * look back for an earlier, longer entry that still covers the address.
 */
#include "perf_map.h"
#include "util/array.h"
#include "util/read_bounded.h"

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
	uint32_t order; /* the order it was given in, to let the later one win */
};

struct perf_map {
	struct perf_map_entry *entries; /* sorted by start; one per start */
	size_t n_entries;
	size_t n_rejected;
	char *names;
	size_t names_size;
};

struct perf_map_builder {
	struct perf_map map; /* entries in the order given, until finished */
	size_t capacity; /* of map.entries */
	size_t names_capacity;
	/*
	 * Only moves need to find an entry by its start: made at the first
	 * one. Open addressing, 1 + the index of the latest entry per start.
	 */
	uint32_t *by_start;
	size_t by_start_capacity; /* power of two; 0 until the first move */
	size_t n_starts;
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
	size_t pos = 0;

	if (!parse_hex_field(line, len, &pos, &start) || !parse_hex_field(line, len, &pos, &size))
		return false;
	/* The name (checked by the builder) must be there, and not start with a space. */
	if (pos >= len || line[pos] == ' ')
		return false;
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
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A name is printable text: no control bytes (NUL included). */
static bool valid_name(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > PERF_MAP_MAX_NAME_LEN)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

struct perf_map_builder *perf_map_builder__new(void)
{
	return calloc(1, sizeof(struct perf_map_builder));
}

static size_t start_hash(uint64_t start, size_t capacity)
{
	return (size_t)((start * 0x9e3779b97f4a7c15ull) >> 32) & (capacity - 1);
}

/* Makes index the entry found for its start in by_start; room is there. */
static void by_start_put(struct perf_map_builder *b, uint32_t index)
{
	uint64_t start = b->map.entries[index].start;
	size_t i;

	for (i = start_hash(start, b->by_start_capacity);;
	     i = (i + 1) & (b->by_start_capacity - 1)) {
		uint32_t slot = b->by_start[i];

		if (!slot) {
			b->n_starts++;
			break;
		}
		if (b->map.entries[slot - 1].start == start)
			break;
	}
	b->by_start[i] = index + 1;
}

/* Makes room in by_start for one more start (building it at the first call). */
static int by_start_reserve(struct perf_map_builder *b)
{
	size_t capacity = b->by_start_capacity ? b->by_start_capacity : 64, i;
	size_t needed = (b->by_start ? b->n_starts : b->map.n_entries) + 1;
	uint32_t *old = b->by_start;
	size_t old_capacity = b->by_start_capacity;

	/* At most half full, so probes stay short. */
	while (needed * 2 > capacity)
		capacity *= 2;
	if (capacity == b->by_start_capacity)
		return 0;
	b->by_start = calloc(capacity, sizeof(*b->by_start));
	if (!b->by_start) {
		b->by_start = old;
		return -ENOMEM;
	}
	b->by_start_capacity = capacity;
	b->n_starts = 0;
	if (old) {
		for (i = 0; i < old_capacity; i++)
			if (old[i])
				by_start_put(b, old[i] - 1);
		free(old);
	} else {
		/* Given in order: later entries take over their start. */
		for (i = 0; i < b->map.n_entries; i++)
			by_start_put(b, (uint32_t)i);
	}
	return 0;
}

/* Appends an entry naming the arena's name at offset name. */
static int push_entry(struct perf_map_builder *b, uint64_t start, uint64_t size, uint32_t name)
{
	void *grown;

	if (b->map.n_entries == PERF_MAP_MAX_ENTRIES)
		return -E2BIG;
	if (b->by_start && by_start_reserve(b))
		return -ENOMEM;
	if (array__reserve(b->map.entries, sizeof(*b->map.entries), &b->capacity, b->map.n_entries,
			   1, 256, SIZE_MAX, &grown))
		return -ENOMEM;
	b->map.entries = grown;
	b->map.entries[b->map.n_entries] = (struct perf_map_entry){
		.start = start,
		.size = size,
		.name = name,
		.order = (uint32_t)b->map.n_entries,
	};
	if (b->by_start)
		by_start_put(b, (uint32_t)b->map.n_entries);
	b->map.n_entries++;
	return 0;
}

int perf_map_builder__add(struct perf_map_builder *b, uint64_t start, uint64_t size,
			  const char *name, size_t name_len)
{
	size_t offset = b->map.names_size;
	void *grown;
	int err;

	if (size == 0 || start + size < start || !valid_name(name, name_len))
		return -EINVAL;
	if (b->map.n_entries == PERF_MAP_MAX_ENTRIES || offset + name_len + 1 > PERF_MAP_MAX_BYTES)
		return -E2BIG;
	/* The arena is capped far below 4 GiB: offsets fit the entries' 32 bits. */
	if (array__reserve(b->map.names, 1, &b->names_capacity, offset, name_len + 1, 4096,
			   SIZE_MAX, &grown))
		return -ENOMEM;
	b->map.names = grown;
	memcpy(b->map.names + offset, name, name_len);
	b->map.names[offset + name_len] = '\0';
	err = push_entry(b, start, size, (uint32_t)offset);
	if (!err)
		b->map.names_size += name_len + 1;
	return err;
}

int perf_map_builder__move(struct perf_map_builder *b, uint64_t old_start, uint64_t new_start,
			   uint64_t size)
{
	uint32_t slot = 0;
	size_t i;

	if (size == 0 || new_start + size < new_start)
		return -EINVAL;
	if (!b->map.n_entries)
		return -ENOENT;
	if (by_start_reserve(b))
		return -ENOMEM;
	for (i = start_hash(old_start, b->by_start_capacity); (slot = b->by_start[i]);
	     i = (i + 1) & (b->by_start_capacity - 1))
		if (b->map.entries[slot - 1].start == old_start)
			break;
	if (!slot)
		return -ENOENT;
	/* The name is shared, not copied: it cannot change with a move. */
	return push_entry(b, new_start, size, b->map.entries[slot - 1].name);
}

void perf_map_builder__reject(struct perf_map_builder *b)
{
	b->map.n_rejected++;
}

void perf_map_builder__free(struct perf_map_builder *b)
{
	if (!b)
		return;
	free(b->map.entries);
	free(b->map.names);
	free(b->by_start);
	free(b);
}

int perf_map_builder__finish(struct perf_map_builder *b, struct perf_map **ret_map)
{
	struct perf_map *map = malloc(sizeof(*map));
	size_t i, n;

	if (!map) {
		perf_map_builder__free(b);
		return -ENOMEM;
	}
	*map = b->map;
	b->map = (struct perf_map){};
	perf_map_builder__free(b);

	if (map->n_entries)
		qsort(map->entries, map->n_entries, sizeof(*map->entries), entry_compare);
	/* One entry per start: the last one given for it. */
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
}

int perf_map__parse(const char *text, size_t len, struct perf_map **ret_map)
{
	struct perf_map_builder *b;
	size_t offset = 0;
	int err;

	if (len > PERF_MAP_MAX_BYTES)
		return -E2BIG;
	b = perf_map_builder__new();
	if (!b)
		return -ENOMEM;
	while (offset < len) {
		const char *line = text + offset, *newline;
		size_t line_len, name_offset;
		uint64_t start, size;

		newline = memchr(line, '\n', len - offset);
		if (!newline)
			break; /* still being written */
		line_len = (size_t)(newline - line);
		offset += line_len + 1;
		if (!parse_line(line, line_len, &start, &size, &name_offset)) {
			perf_map_builder__reject(b);
			continue;
		}
		err = perf_map_builder__add(b, start, size, line + name_offset,
					    line_len - name_offset);
		if (err == -EINVAL) {
			perf_map_builder__reject(b);
			continue;
		}
		if (err) {
			perf_map_builder__free(b);
			return err;
		}
	}
	return perf_map_builder__finish(b, ret_map);
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

		if (address - e->start < e->size && (!best || e->order > best->order))
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
		    (!find_entry(map, e->start) || find_entry(map, e->start)->order < e->order))
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
