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

/* Frees the map; NULL is a no-op. */
void perf_map__free(struct perf_map *map);

/*
 * A fuzz target's body (LLVMFuzzerTestOneInput can call it): parses data,
 * looks up addresses taken from it, checks the invariants (sorted entries,
 * every found entry covers the address) and aborts if one fails. Returns 0.
 */
int perf_map__fuzz_one(const uint8_t *data, size_t size);

#endif /* CPROF_PERF_MAP_H */
