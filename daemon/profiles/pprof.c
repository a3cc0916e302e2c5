/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pprof encoder. The profile is kept as deduplicated tables (strings,
 * functions, locations, mappings) plus the samples already encoded as
 * protobuf, and written out by a small write-only protobuf writer
 * (pprof_wire.c) straight into a gzip stream, so encoding never holds the
 * whole uncompressed profile in memory at once.
 *
 * Field numbers (pprof_impl.h) are those of github.com/google/pprof
 * proto/profile.proto.
 */
#include "pprof.h"
#include "pprof_impl.h"

#include "util/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Table indices are stored as index + 1 in 32 bits (0 marks an empty hash slot). */
#define MAX_ENTRIES ((size_t)UINT32_MAX - 1)
/* First size of every table. */
#define ARRAY_INITIAL 16

/* Open-addressing hash set of table indices; the key lives in the table. */
struct hash_slot {
	uint32_t hash; /* kept so growing does not need the keys */
	uint32_t index; /* table index + 1; 0 for an empty slot */
};

struct hash_table {
	struct hash_slot *slots;
	size_t mask; /* number of slots - 1, a power of two minus one */
	size_t count;
};

/* A string of the string table: bytes in builder.chars, not NUL-terminated. */
struct string_entry {
	size_t offset;
	size_t len;
};

/* A Function; the fields are string table indices and also the dedup key. */
struct function {
	uint32_t name;
	uint32_t system_name;
	uint32_t filename;
};

/* A Line of a Location. */
struct line {
	uint64_t function_id;
	int64_t line; /* 0 when unknown */
};

/* A Location; (mapping_id, address, key_name) is the dedup key. */
struct location {
	uint64_t mapping_id; /* 0 for none */
	uint64_t address;
	/*
	 * The first line's function name when address is 0, else 0: part of
	 * the key, so address-less frames stay apart by name.
	 */
	uint32_t key_name;
	size_t first_line; /* index into builder.lines */
	size_t n_lines;
};

/* A Mapping, as given. */
struct mapping {
	uint64_t start;
	uint64_t limit;
	uint64_t file_offset;
	uint32_t filename; /* string index */
	uint32_t build_id; /* string index */
	bool has_functions;
};

/* Key of a Location lookup. */
struct location_key {
	uint64_t mapping_id;
	uint64_t address;
	uint32_t key_name;
};

/* Key of a string lookup. */
struct string_key {
	const char *s;
	size_t len;
};

struct pprof_builder {
	struct pprof_profile_info info;

	struct pb_buf chars; /* bytes of all strings, back to back */
	struct string_entry *strings; /* the string table; [0] is "" */
	size_t n_strings, strings_cap;
	struct hash_table string_index;

	struct function *functions; /* Function id = index + 1 */
	size_t n_functions, functions_cap;
	struct hash_table function_index;

	struct location *locations; /* Location id = index + 1 */
	size_t n_locations, locations_cap;
	struct hash_table location_index;
	struct line *lines; /* lines of all locations, by location */
	size_t n_lines, lines_cap;

	struct mapping *mappings; /* Mapping id = index + 1 */
	size_t n_mappings, mappings_cap;

	/*
	 * Samples, already encoded as Profile.sample fields: they are only
	 * appended, and encoding them once keeps them compact.
	 */
	struct pb_buf samples;

	/* String indices of the fixed value types. */
	uint32_t str_samples, str_count, str_cpu, str_nanoseconds;
};

/*
 * Hash tables
 */

static uint32_t hash_u64(uint64_t h, uint64_t x)
{
	/* combine as boost's hash_combine does, then mix with splitmix64's finalizer */
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t hash_bytes(const char *s, size_t len)
{
	/* FNV-1a, then mixed so the low bits used for the slot are spread */
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	return hash_u64(h, len);
}

/* Whether table entry index has the given key. */
typedef bool (*hash_equal_fn)(const struct pprof_builder *b, size_t index, const void *key);

/* Makes sure one more entry fits below a load of 1/2. Returns 0 or -ENOMEM. */
static int hash_reserve(struct hash_table *t)
{
	struct hash_slot *slots;
	size_t n_slots, i, j;

	if (t->slots && (t->count + 1) * 2 <= t->mask + 1)
		return 0;
	n_slots = t->slots ? (t->mask + 1) * 2 : 64;
	if (n_slots > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	if (t->slots) {
		for (i = 0; i <= t->mask; i++) {
			if (!t->slots[i].index)
				continue;
			j = t->slots[i].hash & (n_slots - 1);
			while (slots[j].index)
				j = (j + 1) & (n_slots - 1);
			slots[j] = t->slots[i];
		}
	}
	free(t->slots);
	t->slots = slots;
	t->mask = n_slots - 1;
	return 0;
}

/*
 * Returns the slot holding key, or the empty slot where it would go. The
 * table must have slots (hash_reserve() first).
 */
static struct hash_slot *hash_find(const struct hash_table *t, uint32_t hash, hash_equal_fn equal,
				   const struct pprof_builder *b, const void *key)
{
	size_t i = hash & t->mask;

	for (;;) {
		struct hash_slot *slot = &t->slots[i];

		if (!slot->index)
			return slot;
		if (slot->hash == hash && equal(b, slot->index - 1, key))
			return slot;
		i = (i + 1) & t->mask;
	}
}

static void hash_insert(struct hash_table *t, struct hash_slot *slot, uint32_t hash, size_t index)
{
	slot->hash = hash;
	slot->index = (uint32_t)(index + 1);
	t->count++;
}

static void hash_release(struct hash_table *t)
{
	free(t->slots);
	*t = (struct hash_table){ 0 };
}

/*
 * Interning
 */

static bool string_equal(const struct pprof_builder *b, size_t index, const void *key)
{
	const struct string_key *k = key;
	const struct string_entry *e = &b->strings[index];

	return e->len == k->len && memcmp(b->chars.data + e->offset, k->s, k->len) == 0;
}

/* Sets *ret_index to the string table index of s (NULL is ""). Returns 0 or -ENOMEM. */
static int intern_string(struct pprof_builder *b, const char *s, uint32_t *ret_index)
{
	struct string_key key;
	struct hash_slot *slot;
	void *strings;
	uint32_t hash;

	/* "" is always index 0, as the format requires */
	if (!s || !*s) {
		*ret_index = 0;
		return 0;
	}
	key.s = s;
	key.len = strlen(s);
	hash = hash_bytes(s, key.len);
	if (hash_reserve(&b->string_index))
		return -ENOMEM;
	slot = hash_find(&b->string_index, hash, string_equal, b, &key);
	if (slot->index) {
		*ret_index = slot->index - 1;
		return 0;
	}
	if (array__reserve(b->strings, sizeof(*b->strings), &b->strings_cap, b->n_strings, 1,
			   ARRAY_INITIAL, MAX_ENTRIES, &strings))
		return -ENOMEM;
	b->strings = strings;
	if (pb_buf__reserve(&b->chars, key.len))
		return -ENOMEM;
	memcpy(b->chars.data + b->chars.len, s, key.len);
	b->strings[b->n_strings] = (struct string_entry){ .offset = b->chars.len, .len = key.len };
	b->chars.len += key.len;
	hash_insert(&b->string_index, slot, hash, b->n_strings);
	*ret_index = (uint32_t)b->n_strings++;
	return 0;
}

static bool function_equal(const struct pprof_builder *b, size_t index, const void *key)
{
	const struct function *k = key;
	const struct function *f = &b->functions[index];

	return f->name == k->name && f->system_name == k->system_name && f->filename == k->filename;
}

/* Sets *ret_id to the Function id for line's names. Returns 0 or -ENOMEM. */
static int intern_function(struct pprof_builder *b, const struct pprof_line *line, uint64_t *ret_id)
{
	struct function key;
	struct hash_slot *slot;
	void *functions;
	uint32_t hash;

	if (intern_string(b, line->function_name, &key.name))
		return -ENOMEM;
	if (!line->system_name)
		key.system_name = key.name;
	else if (intern_string(b, line->system_name, &key.system_name))
		return -ENOMEM;
	if (intern_string(b, line->file_name, &key.filename))
		return -ENOMEM;

	hash = hash_u64(hash_u64(hash_u64(0, key.name), key.system_name), key.filename);
	if (hash_reserve(&b->function_index))
		return -ENOMEM;
	slot = hash_find(&b->function_index, hash, function_equal, b, &key);
	if (slot->index) {
		*ret_id = slot->index;
		return 0;
	}
	if (array__reserve(b->functions, sizeof(*b->functions), &b->functions_cap, b->n_functions,
			   1, ARRAY_INITIAL, MAX_ENTRIES, &functions))
		return -ENOMEM;
	b->functions = functions;
	b->functions[b->n_functions] = key;
	hash_insert(&b->function_index, slot, hash, b->n_functions);
	*ret_id = ++b->n_functions;
	return 0;
}

static bool location_equal(const struct pprof_builder *b, size_t index, const void *key)
{
	const struct location_key *k = key;
	const struct location *l = &b->locations[index];

	return l->mapping_id == k->mapping_id && l->address == k->address &&
	       l->key_name == k->key_name;
}

/*
 * Builder
 */

struct pprof_builder *pprof_builder__new(const struct pprof_profile_info *info)
{
	struct pprof_builder *b;
	void *strings;

	if (!info || info->period_ns < 0 || info->duration_ns < 0) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		goto err_nomem;
	b->info = *info;

	/* string_table[0] must be "" */
	if (array__reserve(NULL, sizeof(*b->strings), &b->strings_cap, 0, 1, ARRAY_INITIAL,
			   MAX_ENTRIES, &strings))
		goto err_free;
	b->strings = strings;
	b->strings[0] = (struct string_entry){ 0 };
	b->n_strings = 1;

	if (intern_string(b, "samples", &b->str_samples) ||
	    intern_string(b, "count", &b->str_count) || intern_string(b, "cpu", &b->str_cpu) ||
	    intern_string(b, "nanoseconds", &b->str_nanoseconds))
		goto err_free;
	return b;

err_free:
	pprof_builder__free(b);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

void pprof_builder__free(struct pprof_builder *b)
{
	if (!b)
		return;
	pb_buf__release(&b->samples);
	free(b->mappings);
	free(b->lines);
	hash_release(&b->location_index);
	free(b->locations);
	hash_release(&b->function_index);
	free(b->functions);
	hash_release(&b->string_index);
	free(b->strings);
	pb_buf__release(&b->chars);
	free(b);
}

uint64_t pprof_builder__add_mapping(struct pprof_builder *b, uint64_t start, uint64_t limit,
				    uint64_t file_offset, const char *file, const char *build_id,
				    bool has_functions)
{
	struct mapping m = {
		.start = start,
		.limit = limit,
		.file_offset = file_offset,
		.has_functions = has_functions,
	};
	void *mappings;

	if (!b) {
		errno = EINVAL;
		return 0;
	}
	if (intern_string(b, file, &m.filename) || intern_string(b, build_id, &m.build_id))
		goto err_nomem;
	if (array__reserve(b->mappings, sizeof(*b->mappings), &b->mappings_cap, b->n_mappings, 1,
			   ARRAY_INITIAL, MAX_ENTRIES, &mappings))
		goto err_nomem;
	b->mappings = mappings;
	b->mappings[b->n_mappings] = m;
	return ++b->n_mappings;

err_nomem:
	errno = ENOMEM;
	return 0;
}

uint64_t pprof_builder__location(struct pprof_builder *b, uint64_t mapping_id, uint64_t address,
				 const struct pprof_line *lines, size_t n_lines)
{
	struct location_key key = { .mapping_id = mapping_id, .address = address };
	struct hash_slot *slot;
	struct line *new_lines;
	void *p;
	uint32_t hash;
	size_t i;

	/* A Location naming a missing Mapping makes the whole profile unreadable. */
	if (!b || mapping_id > b->n_mappings || (n_lines && !lines))
		goto err_inval;
	for (i = 0; i < n_lines; i++) {
		if (!lines[i].function_name)
			goto err_inval;
	}

	/*
	 * Frames without an address (markers) would all share one key; tell
	 * them apart by what they are called.
	 */
	if (!address && n_lines && intern_string(b, lines[0].function_name, &key.key_name))
		goto err_nomem;

	hash = hash_u64(hash_u64(hash_u64(0, mapping_id), address), key.key_name);
	if (hash_reserve(&b->location_index))
		goto err_nomem;
	slot = hash_find(&b->location_index, hash, location_equal, b, &key);
	if (slot->index)
		return slot->index;

	/*
	 * Reserve everything before adding, so a failure leaves no half
	 * Location behind (only unused strings and functions, which are
	 * harmless in the output).
	 */
	if (array__reserve(b->locations, sizeof(*b->locations), &b->locations_cap, b->n_locations,
			   1, ARRAY_INITIAL, MAX_ENTRIES, &p))
		goto err_nomem;
	b->locations = p;
	if (array__reserve(b->lines, sizeof(*b->lines), &b->lines_cap, b->n_lines, n_lines,
			   ARRAY_INITIAL, MAX_ENTRIES, &p))
		goto err_nomem;
	b->lines = p;
	new_lines = b->lines + b->n_lines;
	for (i = 0; i < n_lines; i++) {
		if (intern_function(b, &lines[i], &new_lines[i].function_id))
			goto err_nomem;
		new_lines[i].line = lines[i].line;
	}

	b->locations[b->n_locations] = (struct location){
		.mapping_id = mapping_id,
		.address = address,
		.key_name = key.key_name,
		.first_line = b->n_lines,
		.n_lines = n_lines,
	};
	b->n_lines += n_lines;
	hash_insert(&b->location_index, slot, hash, b->n_locations);
	return ++b->n_locations;

err_inval:
	errno = EINVAL;
	return 0;
err_nomem:
	errno = ENOMEM;
	return 0;
}

/*
 * Samples
 */

int pprof_builder__add_sample(struct pprof_builder *b, const uint64_t *location_ids,
			      size_t n_locations, int64_t count, const struct pprof_label *labels,
			      size_t n_labels)
{
	struct pb_buf *buf;
	size_t saved_len, sample, field, i;
	int64_t cpu_ns;
	uint32_t key, str, unit;
	int err = -ENOMEM;

	if (!b || (n_locations && !location_ids) || (n_labels && !labels))
		return -EINVAL;
	/* An id that names no Location makes the whole profile unreadable. */
	for (i = 0; i < n_locations; i++) {
		if (!location_ids[i] || location_ids[i] > b->n_locations)
			return -EINVAL;
	}
	for (i = 0; i < n_labels; i++) {
		if (!labels[i].key)
			return -EINVAL;
	}
	if (__builtin_mul_overflow(count, b->info.period_ns, &cpu_ns))
		return -EOVERFLOW;

	buf = &b->samples;
	saved_len = buf->len;
	sample = pb_buf__begin(buf, PROFILE_SAMPLE);

	if (n_locations) {
		field = pb_buf__begin(buf, SAMPLE_LOCATION_ID);
		for (i = 0; i < n_locations; i++)
			pb_buf__varint(buf, location_ids[i]);
		pb_buf__end(buf, field);
	}

	field = pb_buf__begin(buf, SAMPLE_VALUE);
	pb_buf__varint(buf, (uint64_t)count);
	pb_buf__varint(buf, (uint64_t)cpu_ns);
	pb_buf__end(buf, field);

	for (i = 0; i < n_labels; i++) {
		const struct pprof_label *l = &labels[i];

		if (intern_string(b, l->key, &key))
			goto err;
		field = pb_buf__begin(buf, SAMPLE_LABEL);
		pb_buf__uint64(buf, LABEL_KEY, key);
		if (l->str) {
			if (intern_string(b, l->str, &str))
				goto err;
			pb_buf__uint64(buf, LABEL_STR, str);
		} else {
			if (intern_string(b, l->num_unit, &unit))
				goto err;
			pb_buf__int64(buf, LABEL_NUM, l->num);
			pb_buf__uint64(buf, LABEL_NUM_UNIT, unit);
		}
		pb_buf__end(buf, field);
	}

	pb_buf__end(buf, sample);
	if (buf->err) {
		err = buf->err;
		goto err;
	}
	return 0;

err:
	/* Drop the partial sample so the buffer stays a list of whole ones. */
	buf->len = saved_len;
	buf->err = 0;
	return err;
}

/*
 * Encoding
 */

static void encode_mapping(struct pb_buf *buf, const struct mapping *m, uint64_t id)
{
	size_t start = pb_buf__begin(buf, PROFILE_MAPPING);

	pb_buf__uint64(buf, MAPPING_ID, id);
	pb_buf__uint64(buf, MAPPING_MEMORY_START, m->start);
	pb_buf__uint64(buf, MAPPING_MEMORY_LIMIT, m->limit);
	pb_buf__uint64(buf, MAPPING_FILE_OFFSET, m->file_offset);
	pb_buf__uint64(buf, MAPPING_FILENAME, m->filename);
	pb_buf__uint64(buf, MAPPING_BUILD_ID, m->build_id);
	pb_buf__uint64(buf, MAPPING_HAS_FUNCTIONS, m->has_functions);
	pb_buf__end(buf, start);
}

static void encode_location(struct pb_buf *buf, const struct pprof_builder *b,
			    const struct location *l, uint64_t id)
{
	size_t start = pb_buf__begin(buf, PROFILE_LOCATION), line_start, i;

	pb_buf__uint64(buf, LOCATION_ID, id);
	pb_buf__uint64(buf, LOCATION_MAPPING_ID, l->mapping_id);
	pb_buf__uint64(buf, LOCATION_ADDRESS, l->address);
	for (i = 0; i < l->n_lines; i++) {
		const struct line *line = &b->lines[l->first_line + i];

		line_start = pb_buf__begin(buf, LOCATION_LINE);
		pb_buf__uint64(buf, LINE_FUNCTION_ID, line->function_id);
		pb_buf__int64(buf, LINE_LINE, line->line);
		pb_buf__end(buf, line_start);
	}
	pb_buf__end(buf, start);
}

static void encode_function(struct pb_buf *buf, const struct function *f, uint64_t id)
{
	size_t start = pb_buf__begin(buf, PROFILE_FUNCTION);

	pb_buf__uint64(buf, FUNCTION_ID, id);
	pb_buf__uint64(buf, FUNCTION_NAME, f->name);
	pb_buf__uint64(buf, FUNCTION_SYSTEM_NAME, f->system_name);
	pb_buf__uint64(buf, FUNCTION_FILENAME, f->filename);
	pb_buf__end(buf, start);
}

static int encode_profile(struct pb_encoder *enc, const struct pprof_builder *b)
{
	struct pb_buf *s = &enc->scratch;
	size_t i;
	int err;

	pb_buf__value_type(s, PROFILE_SAMPLE_TYPE, b->str_samples, b->str_count);
	pb_buf__value_type(s, PROFILE_SAMPLE_TYPE, b->str_cpu, b->str_nanoseconds);
	err = pb_encoder__flush(enc, true);
	if (err)
		return err;

	/* Samples are encoded already: compress them in place. */
	err = pb_encoder__deflate(enc, b->samples.data, b->samples.len, Z_NO_FLUSH);
	if (err)
		return err;

	for (i = 0; i < b->n_mappings; i++) {
		encode_mapping(s, &b->mappings[i], i + 1);
		err = pb_encoder__flush(enc, false);
		if (err)
			return err;
	}
	for (i = 0; i < b->n_locations; i++) {
		encode_location(s, b, &b->locations[i], i + 1);
		err = pb_encoder__flush(enc, false);
		if (err)
			return err;
	}
	for (i = 0; i < b->n_functions; i++) {
		encode_function(s, &b->functions[i], i + 1);
		err = pb_encoder__flush(enc, false);
		if (err)
			return err;
	}
	for (i = 0; i < b->n_strings; i++) {
		const struct string_entry *e = &b->strings[i];

		pb_buf__bytes(s, PROFILE_STRING_TABLE, b->chars.data + e->offset, e->len);
		err = pb_encoder__flush(enc, false);
		if (err)
			return err;
	}

	pb_buf__int64(s, PROFILE_TIME_NANOS, b->info.time_ns);
	pb_buf__int64(s, PROFILE_DURATION_NANOS, b->info.duration_ns);
	pb_buf__value_type(s, PROFILE_PERIOD_TYPE, b->str_cpu, b->str_nanoseconds);
	pb_buf__int64(s, PROFILE_PERIOD, b->info.period_ns);
	err = pb_encoder__flush(enc, true);
	if (err)
		return err;
	return pb_encoder__deflate(enc, NULL, 0, Z_FINISH);
}

int pprof_builder__encode(struct pprof_builder *b, void **ret_data, size_t *ret_size)
{
	struct pb_encoder enc = { 0 };
	int err;

	if (!b || !ret_data || !ret_size)
		return -EINVAL;
	/* windowBits 15 + 16: a gzip header and trailer rather than zlib's */
	err = deflateInit2(&enc.zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			   Z_DEFAULT_STRATEGY);
	if (err != Z_OK)
		return err == Z_MEM_ERROR ? -ENOMEM : -EIO;

	err = encode_profile(&enc, b);
	deflateEnd(&enc.zs);
	pb_buf__release(&enc.scratch);
	if (err) {
		pb_buf__release(&enc.out);
		return err;
	}
	*ret_data = enc.out.data;
	*ret_size = enc.out.len;
	return 0;
}

uint64_t pprof_builder__find_location(const struct pprof_builder *b, uint64_t mapping_id,
				      uint64_t address)
{
	struct location_key key = { .mapping_id = mapping_id, .address = address };
	struct hash_slot *slot;

	/* Markers (address 0) are told apart by name: callers add them directly. */
	if (!b || !address || !b->location_index.slots)
		return 0;
	slot = hash_find(&b->location_index,
			 hash_u64(hash_u64(hash_u64(0, mapping_id), address), 0), location_equal, b,
			 &key);
	return slot->index;
}
