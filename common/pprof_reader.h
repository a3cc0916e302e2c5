/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pprof decoder: reads a profile.proto message (github.com/google/pprof,
 * proto/profile.proto), gzipped or not, into read-only tables. Shared by
 * cprofd (merging stored profiles) and cprofctl (flame graphs, folded
 * stacks); the encoder is the daemon's (daemon/profiles/pprof.h).
 *
 * The input is hostile (files from disk, from users): every varint, wire
 * type, length, string index and id is checked, and the tables are sized
 * by a counting pass over the input, so memory is linear in the
 * decompressed size (at most about 24 bytes of tables per byte, for a
 * profile of nothing but empty samples; real ones take 2 to 6).
 *
 * What this reader decides where the format leaves it open:
 * - Strings are NUL-terminated copies; a string holding a NUL byte is cut
 *   at the first one (proto strings may hold NULs; nothing we print can).
 * - An empty input is a valid empty profile, as an empty message is in
 *   proto3. An absent string table reads as [""], so index 0 is always "";
 *   a present one must start with "".
 * - A repeated scalar may be packed or not, or both in turns; a singular
 *   field given twice keeps the last value (period_type too).
 * - A label is a string label when its str index is not 0, else numeric;
 *   so a string label whose value is "" reads as the number 0 (go's pprof
 *   drops such labels).
 * - Wire types 0, 1, 2 and 5 are read; groups (3, 4) and 6, 7 are
 *   malformed, as is field number 0. Unknown fields are skipped; a known
 *   one with another wire type than its own is malformed (as go has it).
 * - Several gzip members one after the other are one stream, as gzip(1)
 *   and go read them.
 * - Ignored but checked: drop_frames, keep_frames, default_sample_type (string
 *   indices), Mapping's has_filenames..has_inline_frames, Location's
 *   is_folded, Line's column.
 */
#ifndef CPROF_PPROF_READER_H
#define CPROF_PPROF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The decompressed size allowed when the caller passes max_bytes 0. */
#define PPROF_READER_DEFAULT_MAX_BYTES ((size_t)256 << 20)

/* A ValueType: what a sample value (or the period) counts, and in what. */
struct pprof_reader_value_type {
	const char *type;
	const char *unit;
};

/* A Label of a Sample. */
struct pprof_reader_label {
	const char *key;
	const char *str; /* NULL when numeric */
	int64_t num;
	const char *num_unit; /* NULL for none */
};

/* A Sample: a stack and its values. The arrays are NULL when empty. */
struct pprof_reader_sample {
	const uint64_t *location_ids; /* leaf first; each resolves (pprof_reader__location()) */
	size_t n_locations;
	const int64_t *values; /* one per sample type */
	size_t n_values;
	const struct pprof_reader_label *labels;
	size_t n_labels;
};

/* A Mapping: [start, limit) mapped from file_offset of file. */
struct pprof_reader_mapping {
	uint64_t id, start, limit, file_offset; /* id first: the lookups rely on it */
	const char *file, *build_id; /* "" when unknown */
	bool has_functions;
};

/* A Line of a Location. */
struct pprof_reader_line {
	uint64_t function_id; /* resolves (pprof_reader__function()) */
	int64_t line; /* 0 when unknown */
};

/* A Location: an address in a mapping, and the frames (lines) there. */
struct pprof_reader_location {
	uint64_t id, mapping_id, address; /* mapping_id 0: no mapping; else it resolves */
	const struct pprof_reader_line *lines;
	size_t n_lines; /* innermost first */
};

/* A Function. */
struct pprof_reader_function {
	uint64_t id;
	const char *name, *system_name, *file; /* "" when unknown */
	int64_t start_line;
};

/*
 * A decoded profile: every pointer in it, strings included, is owned by the
 * profile and lives until pprof_reader__free(). Arrays are in input order,
 * NULL when empty; every string is non-NULL but for the documented NULLs
 * of struct pprof_reader_label.
 */
struct pprof_reader_profile {
	const struct pprof_reader_value_type *sample_types;
	size_t n_sample_types;
	const struct pprof_reader_sample *samples;
	size_t n_samples;
	const struct pprof_reader_mapping *mappings;
	size_t n_mappings;
	const struct pprof_reader_location *locations;
	size_t n_locations;
	const struct pprof_reader_function *functions;
	size_t n_functions;
	struct pprof_reader_value_type period_type; /* "" and "" when absent */
	int64_t period;
	int64_t time_nanos, duration_nanos;
	const char *const *comments;
	size_t n_comments;

	/* Private to the reader, below. */
	void *arena; /* every table above and their strings: one allocation */
	/* Sorted by id, for the lookups; NULL when the ids are 1..n in order. */
	const void **mappings_by_id;
	const void **locations_by_id;
	const void **functions_by_id;
};

/*
 * Decodes a profile.proto, gzipped (detected by the 1f 8b magic) or not.
 * The decompressed size (or the size, when not gzipped) is bounded by
 * max_bytes (0: PPROF_READER_DEFAULT_MAX_BYTES). Returns 0 and
 * *ret_profile, which the caller frees with pprof_reader__free(), or
 * -EINVAL (malformed: bad varint, wire type, length, string index out of
 * range, an id referenced but not defined, an id 0 or twice defined, a
 * sample with n_values != n_sample_types, a bad or truncated gzip stream),
 * -E2BIG (over max_bytes) or -ENOMEM. *ret_profile is written only on
 * success.
 */
int pprof_reader__read(const void *data, size_t size, size_t max_bytes,
		       struct pprof_reader_profile **ret_profile);

/* Frees p and everything in it; NULL is a no-op. */
void pprof_reader__free(struct pprof_reader_profile *p);

/*
 * Lookups by id: the element, or NULL when there is none (or p is NULL).
 * O(1) when the ids are 1..n in order (as our encoder and go's write them),
 * else a binary search.
 */
const struct pprof_reader_location *pprof_reader__location(const struct pprof_reader_profile *p,
							   uint64_t id);
const struct pprof_reader_function *pprof_reader__function(const struct pprof_reader_profile *p,
							   uint64_t id);
const struct pprof_reader_mapping *pprof_reader__mapping(const struct pprof_reader_profile *p,
							 uint64_t id);

/* The value of a sample's first string label called key, or NULL when it has none. */
const char *pprof_reader__label_str(const struct pprof_reader_sample *s, const char *key);

/*
 * Sets *ret_num to the value of the sample's first numeric label called
 * key. Returns 0, -ENOENT when it has none, or -EINVAL for a NULL argument.
 */
int pprof_reader__label_num(const struct pprof_reader_sample *s, const char *key, int64_t *ret_num);

#endif /* CPROF_PPROF_READER_H */
