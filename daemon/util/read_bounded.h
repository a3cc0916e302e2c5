/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading a file of unknown size to its end, within a bound: /proc seq
 * files say they hold 0 bytes, and files other processes write (perf maps)
 * may still grow while we read.
 */
#ifndef CPROF_READ_BOUNDED_H
#define CPROF_READ_BOUNDED_H

#include <stddef.h>

/*
 * Reads fd to EOF into a malloc'd buffer, starting with initial bytes and
 * doubling. Returns 0 with *ret_text (the caller frees; not NUL-terminated)
 * and *ret_len, -EFBIG when the file holds more than max_bytes, -ENOMEM, or
 * the read's negative errno.
 */
int read_bounded(int fd, size_t initial, size_t max_bytes, char **ret_text, size_t *ret_len);

#endif /* CPROF_READ_BOUNDED_H */
