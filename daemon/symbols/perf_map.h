/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Perf maps: the names a JIT gives its code, in /tmp/perf-PID.map, one line
 * per piece of code:
 *
 *   START SIZE NAME
 *
 * START and SIZE in hex (with or without 0x), NAME running to the end of the
 * line (it may hold spaces: "LazyCompile:*hot /app/x.js:3"). node
 * --perf-basic-prof and the JVM's perf map agents write it; perf reads it.
 *
 * The file is written by the profiled process (or by anyone, in /tmp), so it
 * is hostile input: every line is checked strictly and a malformed line is
 * rejected (skipped and counted), never guessed at; the file's size and the
 * number of entries are capped. A last line without its newline is being
 * written right now: it is left out, not counted as malformed. When ranges
 * overlap (the JIT freed code and reused its memory), the later line wins.
 *
 * Library-like: does not log.
 */
#ifndef CPROF_PERF_MAP_H
#define CPROF_PERF_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bounds on what one perf map may cost us. */
#define PERF_MAP_MAX_BYTES (64u << 20)
#define PERF_MAP_MAX_ENTRIES (2u << 20)
#define PERF_MAP_MAX_NAME_LEN 4096

struct perf_map;

/*
 * Parses the text of a perf map (len bytes, need not be NUL-terminated).
 * On success *ret_map is a new map (free with perf_map__free) and 0 is
 * returned, even when every line was rejected. Returns -E2BIG past
 * PERF_MAP_MAX_BYTES or PERF_MAP_MAX_ENTRIES, -ENOMEM; *ret_map is written
 * only on success.
 */
int perf_map__parse(const char *text, size_t len, struct perf_map **ret_map);

/*
 * Reads and parses the perf map at path. The file must be a regular file
 * (a symlink is not followed) owned by root or by owner_uid, as perf
 * requires, else -EPERM; -EFBIG when it is over PERF_MAP_MAX_BYTES;
 * -ENOENT when there is none; other negative errnos as for __parse().
 */
int perf_map__read(const char *path, uid_t owner_uid, struct perf_map **ret_map);

/*
 * The name of the entry containing address, and in *ret_start (may be NULL)
 * where it starts; NULL if no entry covers it. The name lives as long as
 * the map.
 */
const char *perf_map__find(const struct perf_map *map, uint64_t address, uint64_t *ret_start);

/* Entries kept; lines rejected as malformed. */
size_t perf_map__count(const struct perf_map *map);
size_t perf_map__rejected(const struct perf_map *map);

/* Bytes the map holds. */
size_t perf_map__memory(const struct perf_map *map);

/*
 * Building a map from ranges given one by one, for formats other than the
 * text one (jitdump). The rules are the text's: a name is 1 to
 * PERF_MAP_MAX_NAME_LEN bytes without control bytes, at most
 * PERF_MAP_MAX_ENTRIES ranges, and where ranges overlap the one given
 * later wins.
 */
struct perf_map_builder;

/* Returns an empty builder, or NULL with errno set. */
struct perf_map_builder *perf_map_builder__new(void);

/*
 * Adds [start, start + size) named by the name_len bytes at name (copied).
 * Returns 0; -EINVAL for an empty or wrapping range or a bad name (the
 * builder is unchanged, the caller may go on); -E2BIG past
 * PERF_MAP_MAX_ENTRIES or PERF_MAP_MAX_BYTES of names; -ENOMEM.
 */
int perf_map_builder__add(struct perf_map_builder *b, uint64_t start, uint64_t size,
			  const char *name, size_t name_len);

/*
 * Code that moved: the range last added at old_start is named again at
 * [new_start, new_start + size), as if added now. The old range keeps its
 * name: samples taken there before the move still belong to it, and code
 * loaded there later is added later, so it wins. Returns 0; -ENOENT when
 * nothing was added at old_start; otherwise as __add().
 */
int perf_map_builder__move(struct perf_map_builder *b, uint64_t old_start, uint64_t new_start,
			   uint64_t size);

/* Counts an input record the caller refused, for perf_map__rejected(). */
void perf_map_builder__reject(struct perf_map_builder *b);

/*
 * Turns the builder into a map: *ret_map (free with perf_map__free) and 0,
 * or -ENOMEM. The builder is consumed either way.
 */
int perf_map_builder__finish(struct perf_map_builder *b, struct perf_map **ret_map);

/* Frees a builder not finished; NULL is a no-op. */
void perf_map_builder__free(struct perf_map_builder *b);

/* Frees the map; NULL is a no-op. */
void perf_map__free(struct perf_map *map);

/*
 * A fuzz target's body (LLVMFuzzerTestOneInput can call it): parses data,
 * looks up addresses taken from it, checks the invariants (sorted entries,
 * every found entry covers the address) and aborts if one fails. Returns 0.
 */
int perf_map__fuzz_one(const uint8_t *data, size_t size);

#endif /* CPROF_PERF_MAP_H */
