/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Leaf-caller recovery. Frame-pointer unwinding loses the caller of a user
 * function interrupted before it set up its frame (a leaf that compilers
 * leave frameless at -O2, or any function in its prologue or epilogue):
 * %rbp still names the caller's frame, so the walk goes from the leaf
 * straight to the caller's caller. The unwind info (.eh_frame, else
 * .debug_frame) says where the leaf's return address is: when the CFA is
 * sp + N and the return address is saved at CFA - 8, it is the word at
 * sp + N - 8, which the BPF program copies into the record (leaf_stack).
 * This module finds that rule for the leaf's address and splices the word
 * in as the leaf's caller. A CFA based on %rbp means the frame is set up
 * and the walk already has the caller: nothing changes.
 *
 * Rules are cached per (file, offset) in a fixed-size table and files stay
 * open in a small cache, so the per-record cost is a maps lookup and a hash
 * probe. Binaries are opened through /proc/PID/map_files (the mapped file
 * itself), else /proc/PID/root/PATH checked by inode. Library-like: does
 * not log.
 */
#ifndef CPROF_LEAF_UNWIND_H
#define CPROF_LEAF_UNWIND_H

#include <stdint.h>

#include <gelf.h>
#include <linux/types.h>

#include "cprof_record.h"

struct leaf_unwind;
struct process_table;

/* Returns a recoverer holding at most max_files open files, or NULL with errno set. */
struct leaf_unwind *leaf_unwind__new(size_t max_files);
/* Closes every file. NULL is a no-op. */
void leaf_unwind__free(struct leaf_unwind *lu);

/*
 * Returns r itself when nothing is to be added, or a copy of r with the
 * leaf's caller inserted after the first user frame (user_depth one more;
 * at the depth limit the outermost frame is dropped). The copy is owned by
 * lu and valid until the next call. r must be a validated record
 * (record__decode_sample()).
 */
const struct cprof_sample_record *leaf_unwind__apply(struct leaf_unwind *lu,
						     struct process_table *processes,
						     const struct cprof_sample_record *r);

/*
 * The rule at file_offset of the ELF file elf (x86-64; an offset as
 * /proc/PID/maps gives it): when the CFA there is sp + N and the return
 * address is saved in memory at CFA + K, writes N + K (bytes above sp) to
 * *ret_sp_offset and returns 0. Returns -ENOENT when the frame is not
 * sp-based (set up, or an unusual rule), -ENODATA when no unwind info
 * covers the offset, -EINVAL for an ELF file that is not x86-64 or whose
 * segments do not map the offset.
 */
int leaf_unwind__elf_rule(Elf *elf, uint64_t file_offset, uint32_t *ret_sp_offset);

/* Counters, for status and tests. */
struct leaf_unwind_stats {
	uint64_t recovered; /* records given their leaf's caller */
	uint64_t rule_lookups; /* rules looked up in unwind info (cache misses) */
	uint64_t not_captured; /* the rule wanted a word the record does not hold */
};

void leaf_unwind__stats(const struct leaf_unwind *lu, struct leaf_unwind_stats *ret);

#endif /* CPROF_LEAF_UNWIND_H */
