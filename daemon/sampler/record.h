/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoding of ring-buffer records (include/cprof_record.h). The BPF program
 * is ours, but a record is still checked like outside input: a wrong
 * version, type, size or depth is refused, never trusted.
 */
#ifndef CPROF_RECORD_DECODE_H
#define CPROF_RECORD_DECODE_H

#include <stddef.h>

#include <linux/types.h>

#include "cprof_record.h"

/*
 * Returns data as a sample record if it is exactly one well-formed sample
 * of size bytes (8-byte aligned, as the ring buffer hands them out), or
 * NULL.
 */
const struct cprof_sample_record *record__decode_sample(const void *data, size_t size);

#endif /* CPROF_RECORD_DECODE_H */
