/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Write a file so that readers see either the old file or the complete new
 * one: the data goes to PATH.tmp, which replaces PATH only once it is all on
 * disk. A failed or abandoned write leaves PATH untouched and removes
 * PATH.tmp. A PATH that exists but is not a regular file (/dev/null, a
 * FIFO) and "-" (standard output) are written in place, never replaced.
 */
#ifndef CPROF_CLIENT_ATOMIC_FILE_H
#define CPROF_CLIENT_ATOMIC_FILE_H

#include <stddef.h>

struct atomic_file;

/*
 * Create (or truncate) PATH.tmp for writing. Returns the file, owned by the
 * caller, or NULL with errno set (EACCES, ENOENT, EROFS, ENAMETOOLONG, ...).
 * Creating it first lets a caller find an unwritable place before it asks
 * for data it cannot ask for twice.
 */
struct atomic_file *atomic_file__create(const char *path);

/* PATH.tmp, for messages; valid until atomic_file__free(). */
const char *atomic_file__temp_path(const struct atomic_file *file);

/* Append length bytes. Returns 0 or a negative errno (-ENOSPC, -EDQUOT, -EIO, ...). */
int atomic_file__write(struct atomic_file *file, const void *data, size_t length);

/*
 * Flush PATH.tmp to disk and rename it to PATH. Returns 0 or a negative
 * errno; on failure PATH is unchanged. Either way the caller still frees
 * the file, which removes PATH.tmp unless the commit succeeded.
 */
int atomic_file__commit(struct atomic_file *file);

/* Close the file and, if it was not committed, remove PATH.tmp. NULL is a no-op. */
void atomic_file__free(struct atomic_file *file);

#endif /* CPROF_CLIENT_ATOMIC_FILE_H */
