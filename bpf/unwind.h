/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user-stack walk: by the unwind tables the daemon built from each
 * binary's CFI (include/cprof_unwind.h) where it has one, by frame pointers
 * where it has none (JIT code, a file not loaded yet or evicted, an address
 * no FDE covers). One frame per step, from the interrupted registers to the
 * outermost frame, the frame limit, or the first frame that cannot be
 * unwound; why it stopped goes into the record.
 *
 * Written once for two builds: the BPF program includes it with the map
 * lookups and user-memory reads of BPF, and the replay harness
 * (tests/replay/) with the same names over a core file. The includer
 * defines, before including:
 *
 *   UNWIND_READ_USER(dst, size, addr)  0 or negative, as bpf_probe_read_user()
 *   UNWIND_FILE(index)                 const struct cprof_unwind_file *, or NULL
 *   UNWIND_ROW(index)                  const struct cprof_unwind_row *, or NULL
 *   UNWIND_PAGE(index)                 const struct cprof_unwind_page *, or NULL
 *   UNWIND_RULE(index)                 const struct cprof_unwind_rule *, or NULL
 *   UNWIND_BOUND(var)                  makes the verifier forget what it knows of var
 *   UNWIND_LOOP(n, fn, ctx)            calls fn(i, ctx) for i < n until it returns 1
 *
 * and UNWIND_WINDOW_BYTES, the size of the window of stack bytes the
 * includer provides (struct walk_refs.window), a power of two <= 4096.
 */
#ifndef CPROF_BPF_UNWIND_H
#define CPROF_BPF_UNWIND_H

#include "cprof_record.h"
#include "cprof_unwind.h"

/* Binary-search steps: a page of code holds at most 2^16 rows. */
#define UNWIND_ROW_SEARCH_STEPS 17
#define UNWIND_MAPPING_SEARCH_STEPS 10 /* 2^10 > CPROF_UNWIND_MAX_MAPPINGS */

/*
 * The walk's scalars. The BPF program keeps them in map memory (its
 * per-CPU scratch), whose contents the verifier does not track: a step is
 * then checked once, not once per depth and counter value it could see.
 */
struct stack_walk {
	__u64 pc, sp, fp;
	__u64 window_base;
	__u64 window_bytes; /* 0: empty */
	__u32 depth; /* frames in ips */
	__u32 mapping; /* index of the last mapping found, or n_mappings */
	__u8 pc_exact; /* pc is where the frame stopped, not a return address */
	__u8 stop; /* enum cprof_unwind_stop, once stopped */
	__u8 leaf_by_table; /* the leaf's caller came from a table */
	__u16 table_frames; /* frames unwound by a table */
	__u16 fp_frames; /* frames unwound by frame pointers */
	__u16 no_table_frames; /* of them, in a file whose table is not loaded */
	/*
	 * The last row found: [row_start, row_end) of file row_file, relative
	 * to its base, and its rule. Recursion and loops of calls walk the
	 * same function again and again; a hit skips the page index and the
	 * search.
	 */
	__u32 row_file; /* file index + 1; 0: empty */
	__u32 row_rule;
	__u64 row_start, row_end;
};

/* What a step works on: the scalars, and the memory they index. */
struct walk_refs {
	struct stack_walk *s;
	__u64 *window; /* UNWIND_WINDOW_BYTES of user stack from s->window_base */
	__u64 *ips; /* where the frames go: room for CPROF_MAX_USER_FRAMES */
	const struct cprof_unwind_proc *proc; /* NULL: frame pointers only */
};

/* Reads the 8-byte word at addr, through the window when it holds it. */
static __always_inline int walk_read_word(struct walk_refs *w, __u64 addr, __u64 *ret)
{
	struct stack_walk *s = w->s;
	__u64 offset = addr - s->window_base, bytes;

	if (addr & 7)
		return UNWIND_READ_USER(ret, sizeof(*ret), addr);
	if (addr < s->window_base || offset + sizeof(__u64) > s->window_bytes) {
		/* To the end of the window's span or of the page, whichever comes first. */
		bytes = UNWIND_WINDOW_BYTES - (addr & (UNWIND_WINDOW_BYTES - 1));
		s->window_bytes = 0;
		if (UNWIND_READ_USER(w->window, bytes, addr))
			return -1;
		s->window_base = addr;
		s->window_bytes = bytes;
		offset = 0;
	}
	offset /= sizeof(__u64);
	UNWIND_BOUND(offset);
	if (offset > UNWIND_WINDOW_BYTES / sizeof(__u64) - 1) /* cannot happen; for the verifier */
		return -1;
	*ret = w->window[offset];
	return 0;
}

/*
 * Binary searches run as loops of UNWIND_LOOP() (bpf_loop()), one step a
 * call: the verifier checks a step once, rather than every path through
 * every step, which no program could afford.
 */
struct mapping_search {
	const struct cprof_unwind_proc *proc;
	__u64 addr;
	__u32 lo, hi; /* the answer is in [lo - 1, hi): the last start <= addr */
};

static long mapping_search_step(__u32 index, void *ctx)
{
	struct mapping_search *m = ctx;
	__u32 mid;

	if (m->lo >= m->hi)
		return 1;
	mid = m->lo + (m->hi - m->lo) / 2;
	if (mid >= CPROF_UNWIND_MAX_MAPPINGS)
		return 1;
	if (m->proc->mappings[mid].start <= m->addr)
		m->lo = mid + 1;
	else
		m->hi = mid;
	return 0;
}

/* The mapping holding addr, or NULL. The last one found is tried first. */
static __always_inline const struct cprof_unwind_mapping *walk_find_mapping(
	struct walk_refs *w, __u64 addr)
{
	const struct cprof_unwind_proc *p = w->proc;
	struct stack_walk *s = w->s;
	struct mapping_search m = { .proc = p, .addr = addr };
	__u32 n, i;

	if (!p)
		return 0;
	n = p->n_mappings;
	if (n > CPROF_UNWIND_MAX_MAPPINGS)
		n = CPROF_UNWIND_MAX_MAPPINGS;
	i = s->mapping;
	if (i < n && i < CPROF_UNWIND_MAX_MAPPINGS && p->mappings[i].start <= addr &&
	    addr < p->mappings[i].end)
		return &p->mappings[i];
	m.hi = n;
	UNWIND_LOOP(UNWIND_MAPPING_SEARCH_STEPS, mapping_search_step, &m);
	if (m.lo == 0 || m.lo > n)
		return 0;
	i = m.lo - 1;
	if (i >= CPROF_UNWIND_MAX_MAPPINGS || addr >= p->mappings[i].end)
		return 0;
	s->mapping = i;
	return &p->mappings[i];
}

struct row_search {
	__u32 first_row;
	__u32 lo, hi; /* row lo starts at or before relative; the answer is in [lo, hi) */
	__u64 relative;
};

static long row_search_step(__u32 index, void *ctx)
{
	struct row_search *r = ctx;
	const struct cprof_unwind_row *row;
	__u32 mid;

	if (r->hi - r->lo <= 1)
		return 1;
	mid = r->lo + (r->hi - r->lo) / 2;
	row = UNWIND_ROW(r->first_row + mid);
	if (!row)
		return 1;
	if (row->address <= r->relative)
		r->lo = mid;
	else
		r->hi = mid;
	return 0;
}

/*
 * The rule for vaddr in file f (index file), or NULL when the table has no
 * row there: the last row found, if it covers vaddr; else the page index
 * narrows the rows to those that may cover vaddr's page, and a binary
 * search finds the last row that starts at or before vaddr.
 */
static __always_inline const struct cprof_unwind_rule *walk_find_rule(
	struct stack_walk *s, __u32 file, const struct cprof_unwind_file *f, __u64 vaddr)
{
	struct row_search r = { .first_row = f->first_row };
	const struct cprof_unwind_page *page;
	const struct cprof_unwind_row *row, *next;
	__u32 index;

	if (vaddr < f->base)
		return 0;
	r.relative = vaddr - f->base;
	if (s->row_file == file + 1 && s->row_start <= r.relative && r.relative < s->row_end)
		return s->row_rule ? UNWIND_RULE(s->row_rule) : 0;
	if (r.relative >> CPROF_UNWIND_PAGE_SHIFT >= f->n_pages)
		return 0;
	page = UNWIND_PAGE(f->first_page + (__u32)(r.relative >> CPROF_UNWIND_PAGE_SHIFT));
	if (!page)
		return 0;
	r.lo = page->first_row;
	r.hi = page->end_row;
	if (r.hi > f->n_rows)
		r.hi = f->n_rows;
	if (r.lo >= r.hi)
		return 0;
	UNWIND_LOOP(UNWIND_ROW_SEARCH_STEPS, row_search_step, &r);
	row = UNWIND_ROW(r.first_row + r.lo);
	if (!row || row->address > r.relative || r.hi - r.lo > 1)
		return 0;
	index = row->rule;
	/* The row ends where the next begins; the last row (rule 0) ends the table. */
	next = r.lo + 1 < f->n_rows ? UNWIND_ROW(r.first_row + r.lo + 1) : 0;
	if (next) {
		s->row_file = file + 1;
		s->row_start = row->address;
		s->row_end = next->address;
		s->row_rule = index;
	}
	return index ? UNWIND_RULE(index) : 0;
}

/* A step by frame pointers: {next fp, return address} at fp. */
static __always_inline int walk_fp_step(struct walk_refs *w)
{
	struct stack_walk *s = w->s;
	__u64 next, ret, fp = s->fp;

	if (!fp || walk_read_word(w, fp, &next) || walk_read_word(w, fp + 8, &ret)) {
		s->stop = CPROF_UNWIND_STOP_FP_END;
		return 1;
	}
	s->sp = fp + 16;
	s->fp = next;
	s->pc = ret;
	s->pc_exact = 0;
	s->fp_frames++;
	return 0;
}

/*
 * Unwinds one frame: from (pc, sp, fp) of a frame to its caller's. Returns
 * 0 with the caller's pc stored, or 1 once the walk is over (s->stop says
 * why).
 */
static __always_inline int walk_step(struct walk_refs *w)
{
	struct stack_walk *s = w->s;
	const struct cprof_unwind_mapping *m;
	const struct cprof_unwind_rule *rule = 0;
	const struct cprof_unwind_file *f;
	__u64 lookup = s->pc_exact ? s->pc : s->pc - 1, cfa, ret, fp;
	__u32 depth;

	m = walk_find_mapping(w, lookup);
	if (m && m->file != CPROF_UNWIND_NO_FILE) {
		f = UNWIND_FILE(m->file);
		if (f && f->n_rows)
			rule = walk_find_rule(s, m->file, f, lookup - m->bias);
		else
			s->no_table_frames++;
	}
	if (!rule || rule->cfa_kind == CPROF_CFA_NONE) {
		if (walk_fp_step(w))
			return 1;
		goto store;
	}
	switch (rule->cfa_kind) {
	case CPROF_CFA_SP:
		cfa = s->sp + rule->cfa_offset;
		break;
	case CPROF_CFA_FP:
		cfa = s->fp + rule->cfa_offset;
		break;
	case CPROF_CFA_PLT:
		cfa = s->sp + ((s->pc & 15) >= 11 ? 16 : 8);
		break;
	case CPROF_CFA_SIGNAL:
		/* The interrupted registers, from the kernel's signal frame. */
		if (walk_read_word(w, s->sp + CPROF_SIGFRAME_RIP_OFFSET, &ret) ||
		    walk_read_word(w, s->sp + CPROF_SIGFRAME_RBP_OFFSET, &fp) ||
		    walk_read_word(w, s->sp + CPROF_SIGFRAME_RSP_OFFSET, &cfa)) {
			s->stop = CPROF_UNWIND_STOP_READ_FAULT;
			return 1;
		}
		s->pc = ret;
		s->sp = cfa;
		s->fp = fp;
		s->pc_exact = 1; /* where the signal came, not a return address */
		s->table_frames++;
		goto store;
	case CPROF_CFA_END:
		s->stop = CPROF_UNWIND_STOP_END;
		return 1;
	default:
		s->stop = CPROF_UNWIND_STOP_UNSUPPORTED;
		return 1;
	}
	if (walk_read_word(w, cfa - 8, &ret)) {
		s->stop = CPROF_UNWIND_STOP_READ_FAULT;
		return 1;
	}
	if (rule->fp_kind == CPROF_FP_AT_CFA) {
		if (walk_read_word(w, cfa + rule->fp_offset, &fp)) {
			s->stop = CPROF_UNWIND_STOP_READ_FAULT;
			return 1;
		}
		s->fp = fp;
	} else if (rule->fp_kind != CPROF_FP_SAME) {
		s->fp = 0; /* not followed: a later frame by frame pointers stops there */
	}
	s->sp = cfa;
	s->pc = ret;
	s->pc_exact = 0;
	s->table_frames++;
store:
	if (!s->pc) { /* nothing returns to 0: the end, however it was marked */
		s->stop = CPROF_UNWIND_STOP_END;
		return 1;
	}
	/* A caller found with no room left for it: say the stack goes on. */
	depth = s->depth;
	if (depth >= CPROF_MAX_USER_FRAMES) {
		s->stop = CPROF_UNWIND_STOP_TRUNCATED;
		return 1;
	}
	w->ips[depth] = s->pc;
	s->depth = depth + 1;
	return 0;
}

#endif /* CPROF_BPF_UNWIND_H */
