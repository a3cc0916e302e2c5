/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pprof decoder, in three walks over the (decompressed) message: 1 counts
 * the elements of each table, checking every field's wire format; 2 copies
 * the string table; 3 fills the tables sized by 1, resolving string indices.
 * Then come the id indexes and a check of every reference (a message may
 * name an id defined further on). Tables sized by what is there, never by a
 * count the input claims, keep memory linear. Field numbers: profile.proto.
 */
#include "pprof_reader.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Field numbers: cprof_pprof_proto.h; the singular varints are also in the specs below. */
#include "cprof_pprof_proto.h"

#define WIRE_VARINT 0
#define WIRE_FIXED64 1
#define WIRE_LEN 2
#define WIRE_FIXED32 5

#define VARINT_MAX_BYTES 10

#define INFLATE_INITIAL (64u << 10) /* first size of the inflate buffer, doubled as needed */
#define ARENA_ALIGN 16 /* tables in the arena start at multiples of this */

/* The bytes of one message still to read. */
struct pb_reader {
	const uint8_t *p;
	const uint8_t *end;
};

/* A field as read: its varint, or where its bytes are. Fixed-size values are skipped. */
struct pb_field {
	uint32_t number;
	uint32_t wire_type;
	uint64_t value; /* WIRE_VARINT */
	const uint8_t *data; /* WIRE_LEN */
	size_t len;
};

/* Reads a varint: at most 10 bytes, the 10th holding only bit 63. Returns 0 or -EINVAL. */
static int pb_varint(struct pb_reader *r, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < VARINT_MAX_BYTES && r->p < r->end; i++) {
		uint8_t byte = *r->p++;

		if (i == VARINT_MAX_BYTES - 1 && byte > 1)
			return -EINVAL;
		v |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EINVAL;
}

/* Reads the next field of r. Returns 1, 0 at the end of the message, or -EINVAL. */
static int pb_next(struct pb_reader *r, struct pb_field *f)
{
	uint64_t tag, len;

	if (r->p == r->end)
		return 0;
	/* field numbers are 1 to 2^29 - 1 */
	if (pb_varint(r, &tag) || tag >> 3 == 0 || tag > UINT32_MAX)
		return -EINVAL;
	*f = (struct pb_field){ .number = (uint32_t)(tag >> 3), .wire_type = (uint32_t)(tag & 7) };
	switch (f->wire_type) {
	case WIRE_VARINT:
		return pb_varint(r, &f->value) ? -EINVAL : 1;
	case WIRE_FIXED64:
	case WIRE_FIXED32:
		len = f->wire_type == WIRE_FIXED64 ? 8 : 4;
		break;
	case WIRE_LEN:
		if (pb_varint(r, &len))
			return -EINVAL;
		f->data = r->p;
		break;
	default:
		/* groups (3, 4) are deprecated and profile.proto has none; 6, 7 do not exist */
		return -EINVAL;
	}
	if (len > (uint64_t)(r->end - r->p))
		return -EINVAL;
	f->len = (size_t)len;
	r->p += len;
	return 1;
}

/* The decoder's tables (struct decoder), and those of them a profile shows. */
/* clang-format off */
#define DECODER_TABLES(X)                                                                          \
	X(sample_types) X(samples) X(location_ids) X(values) X(labels) X(mappings) X(locations)   \
	X(lines) X(functions) X(strings) X(comments) X(chars)
#define PROFILE_TABLES(X)                                                                          \
	X(sample_types) X(samples) X(mappings) X(locations) X(functions) X(comments)
/* clang-format on */

/* How many elements of each table: so far in this pass, or in all of pass 1. */
struct counts {
#define X(table) size_t table;
	DECODER_TABLES(X)
#undef X
};

struct decoder {
	bool fill; /* false in the counting pass, true in the filling pass */
	struct counts n; /* elements met so far in this pass */
	struct counts cap; /* the tables' sizes: what pass 1 counted */
	/* The tables, writable, while pass 3 fills them. */
	struct pprof_reader_value_type *sample_types;
	struct pprof_reader_sample *samples;
	uint64_t *location_ids;
	int64_t *values;
	struct pprof_reader_label *labels;
	struct pprof_reader_mapping *mappings;
	struct pprof_reader_location *locations;
	struct pprof_reader_line *lines;
	struct pprof_reader_function *functions;
	const char **strings; /* the string table; never empty once pass 2 is done */
	const char **comments;
	char *chars; /* the strings' bytes, each NUL-terminated */
	struct pprof_reader_profile *p;
};

/* The string table of a profile without one: proto3 makes an empty message valid. */
static const char *empty_string_table[] = { "" };

/*
 * Sets *ret_slot to the next element of a table in pass 3, NULL in pass 1;
 * false when full, which pass 3 (over what pass 1 counted) never should be.
 */
#define NEXT_SLOT(d, table, ret_slot)                                                              \
	({                                                                                         \
		bool next__room = !(d)->fill || (d)->n.table < (d)->cap.table;                     \
		*(ret_slot) = (d)->fill && next__room ? &(d)->table[(d)->n.table] : NULL;          \
		next__room;                                                                        \
	})

/* The part of a table one message added, from index first on (NULL when empty), and its size. */
#define SPAN(d, table, first, ret_count)                                                           \
	((*(ret_count) = (d)->n.table - (first)) ? (d)->table + (first) : NULL)

static int string_at(const struct decoder *d, uint64_t index, const char **ret)
{
	if (index >= d->n.strings)
		return -EINVAL;
	*ret = d->strings[index];
	return 0;
}

/* What a singular varint field of a message is, and where in an element it goes. */
enum field_kind {
	FIELD_ID, /* an id being defined: 0 is malformed */
	FIELD_UINT64, /* uint64 or int64 */
	FIELD_BOOL,
	FIELD_STRING, /* a string table index */
	FIELD_OPTIONAL_STRING, /* a string index, 0 for NULL */
	FIELD_CHECK_STRING, /* a string index not kept */
	FIELD_SKIP, /* known, not kept */
};

struct field_spec {
	uint32_t number;
	enum field_kind kind;
	size_t offset;
};

/* clang-format off */
#define FIELD_AT(number, kind, type, member) { number, FIELD_##kind, offsetof(type, member) }
#define FIELD_NOT_KEPT(number, kind) { number, FIELD_##kind, 0 }
/* clang-format on */
#define N_SPEC(spec) (sizeof(spec) / sizeof((spec)[0]))
#define MAX_SPEC 10

static const struct field_spec value_type_spec[] = {
	FIELD_AT(1, STRING, struct pprof_reader_value_type, type),
	FIELD_AT(2, STRING, struct pprof_reader_value_type, unit),
};
static const struct field_spec label_spec[] = {
	FIELD_AT(1, STRING, struct pprof_reader_label, key),
	FIELD_AT(2, OPTIONAL_STRING, struct pprof_reader_label, str),
	FIELD_AT(3, UINT64, struct pprof_reader_label, num),
	FIELD_AT(4, OPTIONAL_STRING, struct pprof_reader_label, num_unit),
};
static const struct field_spec mapping_spec[] = {
	FIELD_AT(1, ID, struct pprof_reader_mapping, id),
	FIELD_AT(2, UINT64, struct pprof_reader_mapping, start),
	FIELD_AT(3, UINT64, struct pprof_reader_mapping, limit),
	FIELD_AT(4, UINT64, struct pprof_reader_mapping, file_offset),
	FIELD_AT(5, STRING, struct pprof_reader_mapping, file),
	FIELD_AT(6, STRING, struct pprof_reader_mapping, build_id),
	FIELD_AT(7, BOOL, struct pprof_reader_mapping, has_functions),
	FIELD_NOT_KEPT(8, SKIP), /* has_filenames */
	FIELD_NOT_KEPT(9, SKIP), /* has_line_numbers */
	FIELD_NOT_KEPT(10, SKIP), /* has_inline_frames */
};
static const struct field_spec location_spec[] = {
	FIELD_AT(1, ID, struct pprof_reader_location, id),
	FIELD_AT(2, UINT64, struct pprof_reader_location, mapping_id),
	FIELD_AT(3, UINT64, struct pprof_reader_location, address),
	FIELD_NOT_KEPT(5, SKIP), /* is_folded */
};
static const struct field_spec line_spec[] = {
	/* 0 never resolves; the others are checked once all are known (check_references()) */
	FIELD_AT(1, ID, struct pprof_reader_line, function_id),
	FIELD_AT(2, UINT64, struct pprof_reader_line, line), /* 0 when unknown */
	FIELD_NOT_KEPT(3, SKIP), /* column */
};
static const struct field_spec function_spec[] = {
	FIELD_AT(1, ID, struct pprof_reader_function, id),
	FIELD_AT(2, STRING, struct pprof_reader_function, name),
	FIELD_AT(3, STRING, struct pprof_reader_function, system_name),
	FIELD_AT(4, STRING, struct pprof_reader_function, file),
	FIELD_AT(5, UINT64, struct pprof_reader_function, start_line),
};
static const struct field_spec profile_spec[] = {
	FIELD_NOT_KEPT(7, CHECK_STRING), /* drop_frames */
	FIELD_NOT_KEPT(8, CHECK_STRING), /* keep_frames */
	FIELD_AT(9, UINT64, struct pprof_reader_profile, time_nanos),
	FIELD_AT(10, UINT64, struct pprof_reader_profile, duration_nanos),
	FIELD_AT(12, UINT64, struct pprof_reader_profile, period),
	FIELD_NOT_KEPT(14, CHECK_STRING), /* default_sample_type */
};
_Static_assert(N_SPEC(mapping_spec) <= MAX_SPEC, "the longest spec fits decode_message()");

/* Stores the value v of a field into the element at item, as spec says. */
static int store_field(const struct decoder *d, const struct field_spec *spec, char *item,
		       uint64_t v)
{
	void *at = item + spec->offset;
	const char *unused;

	switch (spec->kind) {
	case FIELD_ID:
	case FIELD_UINT64:
		/* int64 and uint64 may alias: an int64 is its varint's two's complement */
		*(uint64_t *)at = v;
		return 0;
	case FIELD_BOOL:
		*(bool *)at = v != 0;
		return 0;
	case FIELD_STRING:
		return string_at(d, v, at);
	case FIELD_OPTIONAL_STRING:
		*(const char **)at = NULL;
		return v ? string_at(d, v, at) : 0;
	case FIELD_CHECK_STRING:
		return string_at(d, v, &unused);
	case FIELD_SKIP:
		break;
	}
	return 0;
}

/*
 * Walks the message in field outer. The fields of spec are singular varints
 * (the last one given wins; another wire type is malformed), stored into
 * item unless it is NULL (pass 1); the others go to other, which returns 0
 * for those it does not know either. Returns 0 or -EINVAL.
 */
static int decode_message(struct decoder *d, const struct pb_field *outer,
			  const struct field_spec *spec, size_t n_spec,
			  int (*other)(struct decoder *d, const struct pb_field *f), void *item)
{
	uint64_t v[MAX_SPEC] = { 0 };
	struct pb_reader r;
	struct pb_field f;
	size_t i;
	int more, err;

	if (outer->wire_type != WIRE_LEN)
		return -EINVAL;
	r = (struct pb_reader){ outer->data, outer->data + outer->len };
	while ((more = pb_next(&r, &f)) > 0) {
		for (i = 0; i < n_spec && spec[i].number != f.number; i++)
			;
		if (i < n_spec && f.wire_type != WIRE_VARINT)
			return -EINVAL;
		if (i < n_spec)
			v[i] = f.value;
		else if (other && (err = other(d, &f)))
			return err;
	}
	if (more < 0)
		return more;
	for (i = 0; i < n_spec; i++) {
		if ((spec[i].kind == FIELD_ID && !v[i]) ||
		    (item && store_field(d, &spec[i], item, v[i])))
			return -EINVAL;
	}
	return 0;
}

/* A message of nothing but singular varints, appended to table. */
#define DECODE_PLAIN(d, f, spec, table)                                                            \
	({                                                                                         \
		void *plain__slot;                                                                 \
		int plain__err = NEXT_SLOT(d, table, &plain__slot) ? 0 : -EINVAL;                  \
		if (!plain__err)                                                                   \
			plain__err = decode_message(d, f, spec, N_SPEC(spec), NULL, plain__slot);  \
		if (!plain__err)                                                                   \
			(d)->n.table++;                                                            \
		plain__err;                                                                        \
	})

/*
 * Appends the values of a repeated varint field, packed or not, to a table
 * of uint64_t or int64_t (strings false) or of string table entries.
 */
static int decode_repeated(struct decoder *d, const struct pb_field *f, void *table, size_t cap,
			   size_t *count, bool strings)
{
	bool single = f->wire_type == WIRE_VARINT;
	struct pb_reader packed = { 0 };
	uint64_t v = f->value;

	if (!single && f->wire_type != WIRE_LEN)
		return -EINVAL;
	if (!single)
		packed = (struct pb_reader){ f->data, f->data + f->len };
	while (single || packed.p < packed.end) {
		if (!single && pb_varint(&packed, &v))
			return -EINVAL;
		if (d->fill && (*count >= cap ||
				(strings && string_at(d, v, &((const char **)table)[*count]))))
			return -EINVAL;
		/* int64 and uint64 may alias: a value is its varint's two's complement */
		if (d->fill && !strings)
			((uint64_t *)table)[*count] = v;
		(*count)++;
		if (single)
			break;
	}
	return 0;
}

static int sample_field(struct decoder *d, const struct pb_field *f)
{
	switch (f->number) {
	case SAMPLE_LOCATION_ID:
		return decode_repeated(d, f, d->location_ids, d->cap.location_ids,
				       &d->n.location_ids, false);
	case SAMPLE_VALUE:
		return decode_repeated(d, f, d->values, d->cap.values, &d->n.values, false);
	case SAMPLE_LABEL:
		return DECODE_PLAIN(d, f, label_spec, labels);
	}
	return 0;
}

static int decode_sample(struct decoder *d, const struct pb_field *outer)
{
	size_t first_id = d->n.location_ids, first_value = d->n.values, first_label = d->n.labels;
	struct pprof_reader_sample *s;
	int err;

	/* samples are read one at a time, so each one's elements are contiguous */
	if (!NEXT_SLOT(d, samples, &s))
		return -EINVAL;
	err = decode_message(d, outer, NULL, 0, sample_field, NULL);
	if (err)
		return err;
	if (s) {
		s->location_ids = SPAN(d, location_ids, first_id, &s->n_locations);
		s->values = SPAN(d, values, first_value, &s->n_values);
		s->labels = SPAN(d, labels, first_label, &s->n_labels);
		/* a value per sample type, or the columns do not add up */
		if (s->n_values != d->cap.sample_types)
			return -EINVAL;
	}
	d->n.samples++;
	return 0;
}

static int location_field(struct decoder *d, const struct pb_field *f)
{
	return f->number == LOCATION_LINE ? DECODE_PLAIN(d, f, line_spec, lines) : 0;
}

static int decode_location(struct decoder *d, const struct pb_field *outer)
{
	size_t first_line = d->n.lines;
	struct pprof_reader_location *l;
	int err;

	if (!NEXT_SLOT(d, locations, &l))
		return -EINVAL;
	err = decode_message(d, outer, location_spec, N_SPEC(location_spec), location_field, l);
	if (err)
		return err;
	if (l)
		l->lines = SPAN(d, lines, first_line, &l->n_lines);
	d->n.locations++;
	return 0;
}

static int profile_field(struct decoder *d, const struct pb_field *f)
{
	switch (f->number) {
	case PROFILE_SAMPLE_TYPE:
		return DECODE_PLAIN(d, f, value_type_spec, sample_types);
	case PROFILE_SAMPLE:
		return decode_sample(d, f);
	case PROFILE_MAPPING:
		return DECODE_PLAIN(d, f, mapping_spec, mappings);
	case PROFILE_LOCATION:
		return decode_location(d, f);
	case PROFILE_FUNCTION:
		return DECODE_PLAIN(d, f, function_spec, functions);
	case PROFILE_STRING_TABLE:
		/* counted here, copied by pass 2 */
		d->n.strings += !d->fill;
		d->n.chars += d->fill ? 0 : f->len + 1;
		return f->wire_type == WIRE_LEN ? 0 : -EINVAL;
	case PROFILE_PERIOD_TYPE:
		/* singular: the last one given wins */
		return decode_message(d, f, value_type_spec, N_SPEC(value_type_spec), NULL,
				      d->fill ? &d->p->period_type : NULL);
	case PROFILE_COMMENT:
		return decode_repeated(d, f, d->comments, d->cap.comments, &d->n.comments, true);
	}
	return 0;
}

/* Pass 1 or pass 3 over the whole message. */
static int decode_profile(struct decoder *d, const uint8_t *data, size_t size)
{
	const struct pb_field whole = { .wire_type = WIRE_LEN, .data = data, .len = size };

	return decode_message(d, &whole, profile_spec, N_SPEC(profile_spec), profile_field,
			      d->fill ? d->p : NULL);
}

/* Pass 2: copies the string table into d->chars, each string cut at a NUL and terminated. */
static int copy_strings(struct decoder *d, const uint8_t *data, size_t size)
{
	struct pb_reader r = { data, data + size };
	char *out = d->chars;
	struct pb_field f;
	int more;

	while ((more = pb_next(&r, &f)) > 0) {
		size_t len;

		if (f.number != PROFILE_STRING_TABLE)
			continue;
		if (f.wire_type != WIRE_LEN || d->n.strings >= d->cap.strings)
			return -EINVAL;
		/* profile.proto: string_table[0] must be "" */
		if (d->n.strings == 0 && f.len)
			return -EINVAL;
		len = strnlen((const char *)f.data, f.len);
		/* pass 1 counted f.len + 1 bytes for each: out stays in the table */
		memcpy(out, f.data, len);
		out[len] = '\0';
		d->strings[d->n.strings++] = out;
		out += len + 1;
	}
	if (!d->n.strings) {
		d->strings = empty_string_table;
		d->n.strings = 1;
	}
	return more;
}

/*
 * Allocates every table at the size pass 1 counted, in one arena that d->p
 * owns: a first round adds up the size, a second hands out the tables.
 */
static int allocate(struct decoder *d)
{
	size_t size, offset, bytes;
	char *arena = NULL;
	int round;

	for (round = 0; round < 2; round++) {
		size = 0;
#define X(table)                                                                                   \
	if (__builtin_add_overflow(size, ARENA_ALIGN - 1, &offset) ||                              \
	    __builtin_mul_overflow(d->cap.table, sizeof(*d->table), &bytes) ||                     \
	    __builtin_add_overflow(offset & ~(size_t)(ARENA_ALIGN - 1), bytes, &size))             \
		return -ENOMEM;                                                                    \
	if (arena)                                                                                 \
		d->table = bytes ? (void *)(arena + size - bytes) : NULL;
		DECODER_TABLES(X)
#undef X
		if (!arena && !(arena = d->p->arena = calloc(1, size ? size : 1)))
			return -ENOMEM;
	}
	return 0;
}

#define ID_OF(item) (*(const uint64_t *)(item))
_Static_assert(offsetof(struct pprof_reader_mapping, id) == 0 &&
		       offsetof(struct pprof_reader_location, id) == 0 &&
		       offsetof(struct pprof_reader_function, id) == 0,
	       "ID_OF() reads the id of mappings, locations and functions");
/* A profile's table of them, as build_index() and find_id() take it. */
#define ID_TABLE(p, table) (p)->table, (p)->n_##table, sizeof(*(p)->table)

static int compare_ids(const void *a, const void *b)
{
	uint64_t x = ID_OF(*(const void *const *)a), y = ID_OF(*(const void *const *)b);

	return x < y ? -1 : x > y;
}

/*
 * Sets *ret_index to the items of table sorted by id, or to NULL when the
 * ids are 1..n in order and a lookup needs no index. Returns 0, -EINVAL when
 * an id is defined twice, or -ENOMEM.
 */
static int build_index(const void *table, size_t n, size_t item_size, const void ***ret_index)
{
	const char *items = table;
	const void **index;
	size_t i;

	for (i = 0; i < n && ID_OF(items + i * item_size) == i + 1; i++)
		;
	if (i == n)
		return 0;
	index = calloc(n, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		index[i] = items + i * item_size;
	qsort(index, n, sizeof(*index), compare_ids);
	*ret_index = index; /* freed with the profile, if this fails */
	for (i = 1; i < n; i++)
		if (ID_OF(index[i - 1]) == ID_OF(index[i]))
			return -EINVAL;
	return 0;
}

/* The item of table with id, or NULL: where a dense table has it, else by the index. */
static const void *find_id(const void *table, size_t n, size_t item_size, const void *const *index,
			   uint64_t id)
{
	const char *items = table;
	size_t low = 0, high = n;

	if (id && id <= n && ID_OF(items + (id - 1) * item_size) == id)
		return items + (id - 1) * item_size;
	while (index && low < high) {
		size_t middle = low + (high - low) / 2;
		uint64_t found = ID_OF(index[middle]);

		if (found == id)
			return index[middle];
		if (found < id)
			low = middle + 1;
		else
			high = middle;
	}
	return NULL;
}

/* Every id named must be defined; runs once the indexes are built. */
static int check_references(const struct pprof_reader_profile *p)
{
	size_t i, j;

	for (i = 0; i < p->n_locations; i++) {
		const struct pprof_reader_location *l = &p->locations[i];

		if (l->mapping_id && !pprof_reader__mapping(p, l->mapping_id))
			return -EINVAL;
		for (j = 0; j < l->n_lines; j++)
			if (!pprof_reader__function(p, l->lines[j].function_id))
				return -EINVAL;
	}
	for (i = 0; i < p->n_samples; i++)
		for (j = 0; j < p->samples[i].n_locations; j++)
			if (!pprof_reader__location(p, p->samples[i].location_ids[j]))
				return -EINVAL;
	return 0;
}

/* Decodes an uncompressed message into a new profile. */
static int decode(const uint8_t *data, size_t size, struct pprof_reader_profile **ret_profile)
{
	struct pprof_reader_profile *p;
	struct decoder d = { 0 };
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	d.p = p;
	err = decode_profile(&d, data, size);
	d.cap = d.n;
	d.n = (struct counts){ 0 };
	if (!err)
		err = allocate(&d);
	if (!err)
		err = copy_strings(&d, data, size);
	/* pass 3 counts again from 0, but for the string table that pass 2 filled */
	d.n = (struct counts){ .strings = d.n.strings };
	d.fill = true;
	p->period_type = (struct pprof_reader_value_type){ .type = "", .unit = "" };
	if (!err)
		err = decode_profile(&d, data, size);
	if (err)
		goto err;
#define X(table) p->table = d.table, p->n_##table = d.n.table;
	PROFILE_TABLES(X)
#undef X

	err = build_index(ID_TABLE(p, mappings), &p->mappings_by_id);
	if (!err)
		err = build_index(ID_TABLE(p, locations), &p->locations_by_id);
	if (!err)
		err = build_index(ID_TABLE(p, functions), &p->functions_by_id);
	if (!err)
		err = check_references(p);
	if (err)
		goto err;
	*ret_profile = p;
	return 0;

err:
	pprof_reader__free(p);
	return err;
}

/*
 * Inflates the gzip stream data[0..size) (one member or several) into
 * *ret_data (malloc'd), at most limit bytes. Returns 0, -E2BIG past limit,
 * -EINVAL for a bad or truncated stream, or -ENOMEM.
 */
static int gunzip(const uint8_t *data, size_t size, size_t limit, uint8_t **ret_data,
		  size_t *ret_size)
{
	z_stream zs = { 0 };
	uint8_t *out = NULL, *grown;
	size_t cap = 0, len = 0, fed = 0;
	int ret, err = -EINVAL;

	/* room for one byte past the limit tells "exactly limit" from "more" */
	if (limit > SIZE_MAX / 2)
		limit = SIZE_MAX / 2;
	ret = inflateInit2(&zs, 15 + 16);
	if (ret != Z_OK)
		return ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : INFLATE_INITIAL;
			cap = cap < limit + 1 ? cap : limit + 1;
			grown = realloc(out, cap);
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			out = grown;
		}
		/* avail_in and avail_out are unsigned ints: huge buffers go in pieces */
		if (!zs.avail_in && fed < size) {
			zs.next_in = (Bytef *)(data + fed);
			zs.avail_in = size - fed < UINT_MAX ? (uInt)(size - fed) : UINT_MAX;
			fed += zs.avail_in;
		}
		zs.next_out = out + len;
		zs.avail_out = cap - len < UINT_MAX ? (uInt)(cap - len) : UINT_MAX;
		ret = inflate(&zs, Z_NO_FLUSH);
		len = (size_t)(zs.next_out - out);
		if (len > limit) {
			err = -E2BIG;
			break;
		}
		if (ret == Z_STREAM_END && !zs.avail_in && fed == size) {
			err = 0;
			break;
		}
		/* another member follows (or garbage, which its header check refuses) */
		if (ret == Z_STREAM_END && inflateReset(&zs) == Z_OK)
			continue;
		if (ret == Z_MEM_ERROR)
			err = -ENOMEM;
		/* no progress though there was room: all input is in, and the stream is cut */
		if (ret != Z_OK && (ret != Z_BUF_ERROR || zs.avail_out))
			break;
	}
	inflateEnd(&zs);
	if (err) {
		free(out);
		return err;
	}
	*ret_data = out;
	*ret_size = len;
	return 0;
}

int pprof_reader__read(const void *data, size_t size, size_t max_bytes,
		       struct pprof_reader_profile **ret_profile)
{
	const uint8_t *bytes = size ? data : (const uint8_t *)""; /* no NULL + 0 below */
	uint8_t *inflated = NULL;
	size_t limit = max_bytes ? max_bytes : PPROF_READER_DEFAULT_MAX_BYTES;
	int err;

	if (!ret_profile || (!data && size))
		return -EINVAL;
	if (size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
		err = gunzip(bytes, size, limit, &inflated, &size);
		if (err)
			return err;
		bytes = inflated;
	} else if (size > limit) {
		return -E2BIG;
	}
	err = decode(bytes, size, ret_profile);
	free(inflated);
	return err;
}

void pprof_reader__free(struct pprof_reader_profile *p)
{
	if (!p)
		return;
	free(p->functions_by_id);
	free(p->locations_by_id);
	free(p->mappings_by_id);
	free(p->arena);
	free(p);
}

const struct pprof_reader_location *pprof_reader__location(const struct pprof_reader_profile *p,
							   uint64_t id)
{
	return p ? find_id(ID_TABLE(p, locations), p->locations_by_id, id) : NULL;
}

const struct pprof_reader_function *pprof_reader__function(const struct pprof_reader_profile *p,
							   uint64_t id)
{
	return p ? find_id(ID_TABLE(p, functions), p->functions_by_id, id) : NULL;
}

const struct pprof_reader_mapping *pprof_reader__mapping(const struct pprof_reader_profile *p,
							 uint64_t id)
{
	return p ? find_id(ID_TABLE(p, mappings), p->mappings_by_id, id) : NULL;
}

const char *pprof_reader__label_str(const struct pprof_reader_sample *s, const char *key)
{
	size_t i;

	for (i = 0; s && key && i < s->n_labels; i++)
		if (s->labels[i].str && strcmp(s->labels[i].key, key) == 0)
			return s->labels[i].str;
	return NULL;
}

int pprof_reader__label_num(const struct pprof_reader_sample *s, const char *key, int64_t *ret_num)
{
	size_t i;

	if (!s || !key || !ret_num)
		return -EINVAL;
	for (i = 0; i < s->n_labels; i++) {
		if (!s->labels[i].str && strcmp(s->labels[i].key, key) == 0) {
			*ret_num = s->labels[i].num;
			return 0;
		}
	}
	return -ENOENT;
}
