/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parser of /proc/PID/maps. The text comes from another process's life and
 * is treated as hostile: every line is validated, sizes are bounded, and a
 * malformed line fails the parse with -EINVAL rather than being guessed at.
 */
#ifndef CPROF_PROC_MAPS_H
#define CPROF_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_MAP_READ (1u << 0)
#define PROC_MAP_WRITE (1u << 1)
#define PROC_MAP_EXEC (1u << 2)
#define PROC_MAP_SHARED (1u << 3)

/* Bounds on what one process's maps may cost us. */
#define PROC_MAPS_MAX_BYTES (16u << 20)
#define PROC_MAPS_MAX_ENTRIES 65536

struct proc_map {
	uint64_t start; /* first address */
	uint64_t end; /* one past the last address */
	uint64_t offset; /* file offset of start */
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t perms; /* PROC_MAP_* */
	bool deleted; /* the kernel appended " (deleted)"; stripped from path */
	char *path; /* NULL for anonymous memory; "[vdso]", "[stack]" as given */
};

/* A process's maps, sorted by start, not overlapping. */
struct proc_maps {
	struct proc_map *maps;
	size_t n;
};

/*
 * Parses the text of a maps file (len bytes, need not be NUL-terminated).
 * On success fills *ret (release with proc_maps__release) and returns 0;
 * returns -EINVAL on a malformed line, -E2BIG past the bounds above,
 * -ENOMEM. *ret is written only on success.
 */
int proc_maps__parse(const char *text, size_t len, struct proc_maps *ret);

/*
 * Reads and parses /proc/PID/maps. Returns 0, -ESRCH when the process is
 * gone, or another negative errno.
 */
int proc_maps__read(pid_t pid, struct proc_maps *ret);

/* Returns the mapping containing addr, or NULL. */
const struct proc_map *proc_maps__find(const struct proc_maps *maps, uint64_t addr);

/* Copies src, paths included, into *ret. Returns 0, -E2BIG or -ENOMEM. */
int proc_maps__copy(const struct proc_maps *src, struct proc_maps *ret);

/*
 * Puts m (its path copied) into maps, in order, in place of whatever it
 * overlaps, as a new mapping replaces the old ones it covers. Returns 0,
 * -EINVAL for an empty range, -E2BIG or -ENOMEM (then maps is unchanged).
 */
int proc_maps__insert(struct proc_maps *maps, const struct proc_map *m);

/* Frees what *maps owns and empties it; safe on an empty or released one. */
void proc_maps__release(struct proc_maps *maps);

#endif /* CPROF_PROC_MAPS_H */
