/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The unwind tables the daemon builds from each binary's CFI (.eh_frame,
 * else .debug_frame) and the BPF program walks stacks with, on x86-64.
 *
 * A file's table is a sorted array of rows; a row says that from its
 * address (an offset in the file, less the table's base) up to the next
 * row's, the frame is unwound by one rule. File offsets rather than ELF
 * addresses, so that a mapping's bias is its start less its file offset,
 * as /proc/PID/maps and the kernel's mmap records give them: the daemon
 * puts each row's ELF address through its segment when it writes the table. Rules are few and shared by every
 * file (rule 0 means "no CFI here"). To find the row of an address, a
 * per-file page index gives for each 4 KiB page of the table's range the
 * rows that may cover it; a short binary search does the rest.
 *
 * Each process known to the unwinder has its executable mappings in one
 * entry, sorted by start: a program counter is turned into (file, file
 * offset) there.
 *
 * Included by BPF C (after vmlinux.h) and by user space: fixed-width types,
 * explicit padding, sizes asserted. Every type the daemon writes through an
 * array map's mmap() is a multiple of 8 bytes: the kernel lays array
 * elements out 8-byte aligned, and the mapped view is that layout.
 */
#ifndef CPROF_UNWIND_H
#define CPROF_UNWIND_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bump when a layout below changes. */
#define CPROF_UNWIND_VERSION 1

/* How a rule finds the canonical frame address (CFA), or what it says instead. */
enum cprof_cfa_kind {
	CPROF_CFA_NONE = 0, /* no CFI for this address: frame pointers, if anything */
	CPROF_CFA_SP = 1, /* CFA = rsp + cfa_offset */
	CPROF_CFA_FP = 2, /* CFA = rbp + cfa_offset */
	/*
	 * A PLT entry's CFA expression (as GNU ld emits for .plt):
	 * CFA = rsp + 8, plus 8 once rip & 15 >= 11 (after the push).
	 */
	CPROF_CFA_PLT = 3,
	/*
	 * A signal frame (__restore_rt, marked 'S' in its CIE): rsp points at
	 * the kernel's struct rt_sigframe less its return address, and the
	 * interrupted rip, rsp and rbp are in its ucontext.
	 */
	CPROF_CFA_SIGNAL = 4,
	/* The return address is undefined: the outermost frame (_start, clone). */
	CPROF_CFA_END = 5,
	/* An expression or register the unwinder does not follow: stop here. */
	CPROF_CFA_UNSUPPORTED = 6,
};

/* Where the caller's rbp is. */
enum cprof_fp_kind {
	CPROF_FP_SAME = 0, /* unchanged by this frame */
	CPROF_FP_AT_CFA = 1, /* saved at CFA + fp_offset */
	CPROF_FP_UNSUPPORTED = 2, /* anything else (another register, an expression) */
};

/* The return address is always at CFA - 8 on x86-64; rules that say otherwise are unsupported. */
struct cprof_unwind_rule {
	__s32 cfa_offset;
	__s16 fp_offset;
	__u8 cfa_kind; /* enum cprof_cfa_kind */
	__u8 fp_kind; /* enum cprof_fp_kind */
};
_Static_assert(sizeof(struct cprof_unwind_rule) == 8, "unwind rule layout");

struct cprof_unwind_row {
	__u32 address; /* file offset - the file's base */
	__u32 rule; /* index in the rules map; 0: no CFI */
};
_Static_assert(sizeof(struct cprof_unwind_row) == 8, "unwind row layout");

/* Bytes of table address range per page index entry. */
#define CPROF_UNWIND_PAGE_SHIFT 12

/*
 * The rows to search for an address in page k of a table's range: the row
 * that covers the page's first byte (the last starting at or before it, or
 * row 0) up to, not including, the first row of the next page.
 */
struct cprof_unwind_page {
	__u32 first_row; /* relative to the file's first_row */
	__u32 end_row;
};
_Static_assert(sizeof(struct cprof_unwind_page) == 8, "unwind page layout");

/* One file's table: where its rows and page index are in the shared arrays. */
struct cprof_unwind_file {
	__u64 base; /* rows' addresses are file offsets relative to this */
	__u32 first_row; /* in the rows map */
	__u32 n_rows; /* 0: not loaded (evicted, or never): frame pointers */
	__u32 first_page; /* in the pages map */
	__u32 n_pages; /* covering [base, base + n_pages << PAGE_SHIFT) */
};
_Static_assert(sizeof(struct cprof_unwind_file) == 24, "unwind file layout");

/* An executable mapping of a process: pc -> (file, file offset = pc - bias). */
struct cprof_unwind_mapping {
	__u64 start;
	__u64 end;
	__u64 bias;
	__u32 file; /* index in the files map; CPROF_UNWIND_NO_FILE: none (JIT, no CFI) */
	__u32 reserved;
};
_Static_assert(sizeof(struct cprof_unwind_mapping) == 32, "unwind mapping layout");

#define CPROF_UNWIND_NO_FILE 0xffffffffu

/* Executable mappings a process's entry holds; past it, the rest use frame pointers. */
#define CPROF_UNWIND_MAX_MAPPINGS 384

struct cprof_unwind_proc {
	__u32 n_mappings;
	__u32 reserved;
	struct cprof_unwind_mapping mappings[CPROF_UNWIND_MAX_MAPPINGS]; /* sorted by start */
};

/* x86-64's struct rt_sigframe and ucontext, as far as the unwinder reads them. */
#define CPROF_SIGFRAME_RBP_OFFSET 120 /* uc_mcontext.rbp from the rsp __restore_rt sees */
#define CPROF_SIGFRAME_RSP_OFFSET 160
#define CPROF_SIGFRAME_RIP_OFFSET 168

#endif /* CPROF_UNWIND_H */
