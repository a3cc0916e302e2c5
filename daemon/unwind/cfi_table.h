/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One ELF file's unwind table, in the layout of include/cprof_unwind.h:
 * the file's CFI (.eh_frame, else .debug_frame of the file, else of its
 * separate debug file) turned into rows sorted by address, each naming a
 * rule of the table's own (rule 0: no CFI), for the BPF unwinder on x86-64.
 *
 * The table covers [base_vaddr, base_vaddr + the last row's address): the
 * first row is at 0 and the last one, with rule 0, ends the covered range,
 * so every address in it has exactly one row. base_vaddr is the lowest
 * executable PT_LOAD's p_vaddr, not the lowest address an FDE covers: the
 * loader knows it from the program headers alone, and it stays the same
 * whichever CFI source the table came from. Rows between FDEs (and before
 * the first) have rule 0; consecutive rows with the same rule are merged.
 * FDEs are taken only inside executable PT_LOADs of the binary; one that
 * overlaps the FDE before it keeps only the part after it.
 *
 * Built with libdw's CFI interpreter: the FDEs are enumerated with
 * dwarf_next_cfi() (their address ranges decoded here) and each FDE is
 * walked row by row with dwarf_cfi_addrframe(), whose dwarf_frame_info()
 * gives the row's [start, end); the rule of a row comes from
 * dwarf_frame_cfa() and dwarf_frame_register() for rbp and the return
 * address. Measured on Debian 12 (-O2, best of 20 builds): libc.so.6,
 * 28k rows, 8 ms; python3.11, 65k rows, 27 ms; liblzma.so.5, 3.6k rows,
 * 0.9 ms. Three quarters of that is dwarf_cfi_addrframe(), which runs an
 * FDE's instructions from its start for each row (1.7 MB of them for
 * libc's 150 KB .eh_frame) and mallocs the frame; a single pass over the
 * entries takes 0.03 ms, so a parser of our own might build ten times
 * faster. It would be a second CFA interpreter to keep right (augmentations,
 * remember/restore, the ABI's default rules), and the unit test could no
 * longer check it against an independent libdw; the build runs on the
 * worker thread, once per file, so libdw it is. The quadratic cost per
 * FDE (real ones are short: python3.11's longest has 88 rows) is bounded
 * for hostile input (CFI_TABLE_MAX_WORK).
 *
 * Rule mapping (DWARF registers: 6 rbp, 7 rsp, 16 return address):
 * - a signal frame (CIE augmentation 'S') is CPROF_CFA_SIGNAL;
 * - the return address undefined is CPROF_CFA_END (libdw does not tell
 *   an explicit DW_CFA_undefined from a column the CIE never mentions;
 *   both end the stack, which is the safe reading);
 * - a return address not saved at CFA - 8 is CPROF_CFA_UNSUPPORTED;
 * - CFA = rsp + N is CPROF_CFA_SP, rbp + N CPROF_CFA_FP (N fits s32);
 * - the CFA expression GNU ld emits for a lazy .plt (breg7 8; breg16 0;
 *   lit15; and; lit11; ge; lit3; shl; plus) is CPROF_CFA_PLT; the IBT and
 *   BND variants (lit9, lit10, lit5) are not what CPROF_CFA_PLT computes
 *   and, like any other expression or register, are CPROF_CFA_UNSUPPORTED;
 * - rbp same value, undefined or unspecified is CPROF_FP_SAME; saved at
 *   CFA + N (N fits s16) CPROF_FP_AT_CFA; anything else
 *   CPROF_FP_UNSUPPORTED.
 * Only CPROF_CFA_SP, _FP and _PLT rules carry offsets or an rbp rule;
 * the other kinds have them zero, so equal meaning is one rule.
 *
 * Library-like: does not log. Not thread-safe per Elf: libdw may
 * decompress a debug section of elf or debug_elf in place.
 */
#ifndef CPROF_CFI_TABLE_H
#define CPROF_CFI_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

#include "cprof_unwind.h"

/* At most this many rows per table (8 bytes each); a file that needs more is refused. */
#define CFI_TABLE_MAX_ROWS (4u << 20)
/* At most this many rules per table, rule 0 included. */
#define CFI_TABLE_MAX_RULES (64u << 10)
/* At most this many FDEs read from one CFI section. */
#define CFI_TABLE_MAX_FDES (2u << 20)
/*
 * Bytes of CFI instructions libdw may execute for one table (each row
 * re-executes its FDE up to that row): CFI_TABLE_WORK_BASE plus
 * CFI_TABLE_WORK_PER_BYTE per byte of the CFI section, at most
 * CFI_TABLE_MAX_WORK. Bounds the quadratic cost of hostile FDEs with many
 * rows to about a second; real files execute about 10 bytes per byte.
 */
#define CFI_TABLE_WORK_BASE (16ull << 20)
#define CFI_TABLE_WORK_PER_BYTE 64
#define CFI_TABLE_MAX_WORK (1ull << 30)
/* .debug_frame is read only from files whose .debug_* sections total at most this. */
#define CFI_TABLE_MAX_DEBUG_BYTES (256ull << 20)

enum cfi_table_source {
	CFI_TABLE_EH_FRAME = 1, /* .eh_frame of the binary */
	CFI_TABLE_DEBUG_FRAME = 2, /* .debug_frame of the binary */
	CFI_TABLE_DEBUG_FILE = 3, /* .debug_frame of the separate debug file */
};

/* Number of enum cprof_cfa_kind values, for per-kind counts. */
#define CFI_TABLE_CFA_KINDS 7

/* What a build found, for the daemon's statistics. */
struct cfi_table_stats {
	uint32_t source; /* enum cfi_table_source */
	uint32_t fdes; /* FDEs that gave rows */
	/* FDEs not used: empty, outside executable segments, inside the one before, undecodable */
	uint32_t fdes_skipped;
	/* FDEs libdw failed on part way: the rest of their range is CPROF_CFA_UNSUPPORTED */
	uint32_t fdes_failed;
	uint32_t rows_by_kind[CFI_TABLE_CFA_KINDS]; /* rows per enum cprof_cfa_kind */
	uint32_t rows_fp_unsupported; /* rows whose rbp rule is CPROF_FP_UNSUPPORTED */
	uint64_t work; /* bytes of CFI instructions libdw executed */
};

/*
 * A built table: read-only to its users; freed with cfi_table__free().
 * rows[i].rule indexes rules; rows are sorted by address, strictly
 * increasing, rows[0].address is 0, and the last row has rule 0.
 */
struct cfi_table {
	uint64_t base_vaddr; /* rows' addresses are ELF vaddrs less this */
	struct cprof_unwind_row *rows;
	uint32_t n_rows; /* at least 2 */
	struct cprof_unwind_rule *rules; /* rules[0] is all zero: CPROF_CFA_NONE */
	uint32_t n_rules; /* at least 1 */
	struct cfi_table_stats stats;
};

/*
 * Builds the table of the x86-64 ELF executable or shared object elf,
 * from its .eh_frame, else its .debug_frame, else the .debug_frame of
 * debug_elf (its separate debug file, or NULL); the program headers are
 * always elf's. On success returns 0 and *ret_table, owned by the caller.
 * Returns -ENOENT when no source has an FDE inside an executable segment,
 * -ENOTSUP for an ELF file of another machine or class, -EINVAL for one
 * that is not an executable or shared object or cannot be read, -E2BIG
 * when the table would pass a bound above or an address relative to
 * base_vaddr does not fit 32 bits, -ENOMEM. Malformed FDEs are skipped and
 * counted, never fatal. elf and debug_elf stay the caller's.
 */
int cfi_table__build(Elf *elf, Elf *debug_elf, struct cfi_table **ret_table);

/* Frees t. NULL is a no-op. */
void cfi_table__free(struct cfi_table *t);

/*
 * The rule at ELF virtual address vaddr: the rule of the last row at or
 * before it, rules[0] (CPROF_CFA_NONE) outside the covered range. For
 * tests and diagnostics: the BPF side does its own search.
 */
const struct cprof_unwind_rule *cfi_table__find(const struct cfi_table *t, uint64_t vaddr);

/* Bytes of memory t holds. */
size_t cfi_table__memory(const struct cfi_table *t);

/*
 * The page index of rows (sorted, strictly increasing addresses, n_rows of
 * them): how many pages it has (the last row's page plus one; 0 without
 * rows), and the index itself, pages[k] for page k of the rows' range
 * (CPROF_UNWIND_PAGE_SHIFT bytes each) as struct cprof_unwind_page says.
 * Used on tables whose rows the loader re-keyed by file offset, so it
 * takes the rows rather than a table.
 */
uint32_t cfi_table__n_pages(const struct cprof_unwind_row *rows, uint32_t n_rows);
void cfi_table__page_index(const struct cprof_unwind_row *rows, uint32_t n_rows,
			   struct cprof_unwind_page *pages, uint32_t n_pages);

#endif /* CPROF_CFI_TABLE_H */
