/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The file the capture tool writes and the replay harness reads: ring-buffer
 * records exactly as the daemon's on_record callback saw them.
 *
 *   magic "CPRFREC1" (8 bytes)
 *   then per record: __u32 size, __u32 zero, size bytes, zero padding to 8
 *
 * Records stay 8-byte aligned in the file, as the ring buffer hands them out,
 * so a file read into an aligned buffer can be decoded in place.
 */
#ifndef CPROF_BENCH_RECORD_FILE_H
#define CPROF_BENCH_RECORD_FILE_H

#include <stdint.h>

#define RECORD_FILE_MAGIC "CPRFREC1"
#define RECORD_FILE_MAGIC_LEN 8

struct record_file_entry {
	uint32_t size; /* bytes of the record that follows */
	uint32_t reserved; /* zero */
};

_Static_assert(sizeof(struct record_file_entry) == 8, "record file entry layout");

/* Rounds a record's size up to the file's 8-byte alignment. */
static inline uint64_t record_file__padded(uint64_t size)
{
	return (size + 7) & ~7ull;
}

#endif /* CPROF_BENCH_RECORD_FILE_H */
