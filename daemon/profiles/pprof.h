/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pprof encoder: builds a profile.proto message (github.com/google/pprof,
 * proto/profile.proto) and writes it gzipped. Write-only, no protobuf
 * library: strings, functions, locations and mappings are interned here and
 * referenced by the ids these functions return.
 *
 * Sample types are fixed: samples/count and cpu/nanoseconds; the period
 * type is cpu/nanoseconds.
 */
#ifndef CPROF_PPROF_H
#define CPROF_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pprof_builder;

struct pprof_profile_info {
	int64_t period_ns; /* 1e9 / hz */
	int64_t time_ns; /* wall-clock start, ns since the epoch */
	int64_t duration_ns;
};

/* One Line of a Location: a function (and later a file and line). */
struct pprof_line {
	const char *function_name; /* display name; required */
	const char *system_name; /* mangled name, or NULL for the same */
	const char *file_name; /* source file, or NULL */
	int64_t line; /* 0 when unknown */
};

/* A sample's label: a string (str != NULL) or a number with an optional unit. */
struct pprof_label {
	const char *key;
	const char *str;
	int64_t num;
	const char *num_unit; /* NULL for none */
};

/* Returns a builder, or NULL with errno set. */
struct pprof_builder *pprof_builder__new(const struct pprof_profile_info *info);
void pprof_builder__free(struct pprof_builder *b);

/*
 * Adds a Mapping: [start, limit) in the process, mapped from file_offset of
 * file. build_id is a hex string or NULL. has_functions says whether the
 * locations in it carry symbolized lines. Returns the mapping id (>= 1),
 * or 0 on allocation failure.
 */
uint64_t pprof_builder__add_mapping(struct pprof_builder *b, uint64_t start, uint64_t limit,
				    uint64_t file_offset, const char *file, const char *build_id,
				    bool has_functions);

/*
 * Returns the id (>= 1) of the Location for (mapping_id, address), adding it
 * with lines[0..n_lines) (innermost first) the first time it is asked for;
 * later calls with the same key return the same id and ignore lines.
 * mapping_id 0 means no mapping (marker frames). Returns 0 on allocation
 * failure.
 */
uint64_t pprof_builder__location(struct pprof_builder *b, uint64_t mapping_id, uint64_t address,
				 const struct pprof_line *lines, size_t n_lines);

/*
 * Returns the id of the Location already added for (mapping_id, address),
 * or 0 if there is none, so callers can skip symbolizing known addresses.
 */
uint64_t pprof_builder__find_location(const struct pprof_builder *b, uint64_t mapping_id,
				      uint64_t address);

/*
 * Adds a Sample with location ids leaf first, value count (samples) and
 * count * period_ns (cpu). Returns 0 or -ENOMEM.
 */
int pprof_builder__add_sample(struct pprof_builder *b, const uint64_t *location_ids,
			      size_t n_locations, int64_t count, const struct pprof_label *labels,
			      size_t n_labels);

/*
 * Encodes the profile and gzips it. On success *ret_data is a malloc'd
 * buffer the caller frees. Returns 0 or a negative errno.
 */
int pprof_builder__encode(struct pprof_builder *b, void **ret_data, size_t *ret_size);

#endif /* CPROF_PPROF_H */
