/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The FDEs of one CFI section (.eh_frame or .debug_frame) as address
 * ranges, for cfi_table.c: enumerated with libdw's dwarf_next_cfi(), each
 * one's initial location and range decoded here with its CIE's pointer
 * encoding, which libdw has no call for. Internal to daemon/unwind/.
 */
#ifndef CPROF_CFI_FDES_H
#define CPROF_CFI_FDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

/* An executable segment of the binary: [start, end) in ELF virtual addresses. */
struct cfi_segment {
	uint64_t start, end;
};

/* An FDE's address range, and what one row lookup in it costs libdw. */
struct cfi_fde {
	uint64_t start, end;
	uint64_t cost; /* bytes of instructions: the CIE's initial ones and the FDE's */
};

struct cfi_fdes {
	struct cfi_fde *fdes; /* sorted by start; of equal starts, the longer first */
	size_t n_fdes, capacity;
	uint64_t section_bytes; /* of the CFI section read */
	uint32_t skipped; /* FDEs not kept: undecodable, empty, outside the segments */
};

/*
 * Reads into list (emptied first) the FDEs of elf's section named one of
 * names (NULL-terminated; eh_frame: in .eh_frame's format, else
 * .debug_frame's) that lie inside one of segments, sorted. No such section
 * is no FDEs. Returns 0, -E2BIG past CFI_TABLE_MAX_FDES, or -ENOMEM.
 */
int cfi_fdes__read(struct cfi_fdes *list, Elf *elf, const char *const *names, bool eh_frame,
		   const struct cfi_segment *segments, size_t n_segments);

/* Frees list's array; list is empty and reusable after. */
void cfi_fdes__release(struct cfi_fdes *list);

#endif /* CPROF_CFI_FDES_H */
