/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A table's rows keyed by file offset rather than ELF address, as the BPF
 * maps hold them (include/cprof_unwind.h): each row's ELF address goes
 * through the executable PT_LOAD that holds it (p_vaddr -> p_offset). Then
 * a mapping's bias is its start less its file offset, straight from
 * /proc/PID/maps, an mmap record or a core's NT_FILE note, with no need to
 * read the file's program headers where the mapping is known.
 *
 * Used by unwind_tables.c when it installs a table, and by the replay
 * harness (tests/replay/), which must key rows exactly as the daemon does.
 * Library-like: does not log.
 */
#ifndef CPROF_FILE_ROWS_H
#define CPROF_FILE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

#include "cfi_table.h"

/* Executable segments read from one file; real binaries have one or two. */
#define FILE_ROWS_MAX_SEGMENTS 8

/* An executable PT_LOAD: ELF address -> file offset. */
struct file_segment {
	uint64_t vaddr, offset, size; /* size: p_filesz, what the file holds */
};

/*
 * The executable PT_LOAD segments of elf, in program-header order, into
 * segs (room for FILE_ROWS_MAX_SEGMENTS; more are ignored). Returns how
 * many; 0 when the program headers cannot be read.
 */
size_t file_rows__exec_segments(Elf *elf, struct file_segment *segs);

/*
 * table's rows keyed by file offset through segs, sorted by it; rows
 * outside every segment, or whose offset does not fit 32 bits, are left
 * out. Rules are table's own, as in table. On success returns 0 with
 * *ret_rows (malloc()ed, the caller frees it) and *ret_n_rows; -ENOENT
 * when no row is left, -ENOMEM. On error *ret_rows is NULL.
 */
int file_rows__by_offset(const struct cfi_table *table, const struct file_segment *segs,
			 size_t n_segs, struct cprof_unwind_row **ret_rows, size_t *ret_n_rows);

#endif /* CPROF_FILE_ROWS_H */
