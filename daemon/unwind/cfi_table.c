// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cfi_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "cfi_fdes.h"
#include "util/array.h"

/* DWARF register numbers on x86-64 (System V psABI). */
#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define DWARF_REG_RA 16

/* Executable PT_LOADs taken; real files have one or two, more are ignored. */
#define MAX_SEGMENTS 16

struct builder {
	uint64_t base;
	struct cfi_segment segments[MAX_SEGMENTS];
	size_t n_segments;
	struct cfi_fdes fdes;

	struct cprof_unwind_row *rows;
	size_t n_rows, rows_capacity;
	struct cprof_unwind_rule *rules;
	size_t n_rules, rules_capacity;
	uint32_t *slots; /* open addressing over rules[1..]: index, 0 for empty */
	size_t n_slots; /* a power of two, at least twice n_rules */

	uint64_t cursor; /* vaddr up to which rows are written */
	uint64_t max_work; /* for stats.work, from the CFI section's size */
	struct cfi_table_stats stats;
};

static bool rule_equal(const struct cprof_unwind_rule *a, const struct cprof_unwind_rule *b)
{
	return a->cfa_offset == b->cfa_offset && a->fp_offset == b->fp_offset &&
	       a->cfa_kind == b->cfa_kind && a->fp_kind == b->fp_kind;
}

static size_t rule_hash(const struct cprof_unwind_rule *r, size_t n_slots)
{
	uint64_t key = (uint64_t)(uint32_t)r->cfa_offset | (uint64_t)(uint16_t)r->fp_offset << 32 |
		       (uint64_t)r->cfa_kind << 48 | (uint64_t)r->fp_kind << 56;

	key ^= key >> 31;
	key *= 0x9e3779b97f4a7c15ull;
	return (size_t)(key >> 20) & (n_slots - 1);
}

static int grow_slots(struct builder *b)
{
	size_t n_slots = b->n_slots ? b->n_slots * 2 : 256;
	uint32_t *slots = calloc(n_slots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 1; i < b->n_rules; i++) {
		size_t s = rule_hash(&b->rules[i], n_slots);

		while (slots[s])
			s = (s + 1) & (n_slots - 1);
		slots[s] = (uint32_t)i;
	}
	free(b->slots);
	b->slots = slots;
	b->n_slots = n_slots;
	return 0;
}

/* The index of rule r in the table, added if new. */
static int intern_rule(struct builder *b, const struct cprof_unwind_rule *r, uint32_t *ret_index)
{
	size_t s;
	int err;

	if (r->cfa_kind == CPROF_CFA_NONE) {
		*ret_index = 0;
		return 0;
	}
	if (b->n_rules * 2 >= b->n_slots) {
		err = grow_slots(b);
		if (err)
			return err;
	}
	for (s = rule_hash(r, b->n_slots); b->slots[s]; s = (s + 1) & (b->n_slots - 1)) {
		if (rule_equal(&b->rules[b->slots[s]], r)) {
			*ret_index = b->slots[s];
			return 0;
		}
	}
	err = array__reserve(b->rules, sizeof(*b->rules), &b->rules_capacity, b->n_rules, 1, 64,
			     CFI_TABLE_MAX_RULES, (void **)&b->rules);
	if (err)
		return err;
	b->rules[b->n_rules] = *r;
	b->slots[s] = (uint32_t)b->n_rules;
	*ret_index = (uint32_t)b->n_rules++;
	return 0;
}

/* Starts a row at vaddr with rule index, merged into the row before if that has the same rule. */
static int append_row(struct builder *b, uint64_t vaddr, uint32_t rule)
{
	uint64_t address = vaddr - b->base;
	int err;

	if (vaddr < b->base || address > UINT32_MAX)
		return -E2BIG;
	if (b->n_rows && b->rows[b->n_rows - 1].address == address) {
		/* A row of no bytes: the new one replaces it. */
		b->n_rows--;
	}
	if (b->n_rows && b->rows[b->n_rows - 1].rule == rule)
		return 0;
	err = array__reserve(b->rows, sizeof(*b->rows), &b->rows_capacity, b->n_rows, 1, 4096,
			     CFI_TABLE_MAX_ROWS, (void **)&b->rows);
	if (err)
		return err;
	b->rows[b->n_rows++] = (struct cprof_unwind_row){ .address = (__u32)address, .rule = rule };
	return 0;
}

/* Whether ops (a register's location from libdw) say "saved at CFA + N"; N in *ret_offset. */
static bool at_cfa_offset(const Dwarf_Op *ops, size_t nops, int64_t *ret_offset)
{
	if (!ops || nops < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*ret_offset = 0;
		return true;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*ret_offset = (int64_t)ops[1].number;
		return true;
	}
	if (nops == 3 && ops[1].atom == DW_OP_consts && ops[2].atom == DW_OP_plus) {
		*ret_offset = (int64_t)ops[1].number;
		return true;
	}
	return false; /* a value (DW_OP_stack_value), a register or an expression */
}

/* The CFA expression GNU ld writes for a lazy .plt: rsp + 8, + 8 once rip & 15 >= 11. */
static bool is_plt_expression(const Dwarf_Op *ops, size_t nops)
{
	static const uint8_t atoms[] = { DW_OP_breg7, DW_OP_breg16, DW_OP_lit15,
					 DW_OP_and,   DW_OP_lit11,  DW_OP_ge,
					 DW_OP_lit3,  DW_OP_shl,    DW_OP_plus };

	if (nops != sizeof(atoms))
		return false;
	for (size_t i = 0; i < nops; i++)
		if (ops[i].atom != atoms[i])
			return false;
	return ops[0].number == 8 && ops[1].number == 0;
}

/* The rbp part of a rule with a CFA. */
static void classify_rbp(Dwarf_Frame *frame, struct cprof_unwind_rule *r)
{
	Dwarf_Op ops_mem[3], *ops;
	size_t nops;
	int64_t offset;

	r->fp_kind = CPROF_FP_UNSUPPORTED;
	if (dwarf_frame_register(frame, DWARF_REG_RBP, ops_mem, &ops, &nops))
		return;
	if (nops == 0) {
		r->fp_kind = CPROF_FP_SAME; /* same value, undefined or never mentioned */
	} else if (at_cfa_offset(ops, nops, &offset) && offset >= INT16_MIN &&
		   offset <= INT16_MAX) {
		r->fp_kind = CPROF_FP_AT_CFA;
		r->fp_offset = (__s16)offset;
	}
}

/* The rule libdw's frame gives, in the table's terms (cfi_table.h). */
static struct cprof_unwind_rule classify(Dwarf_Frame *frame, int ra_column, bool signal_frame)
{
	struct cprof_unwind_rule r = { .cfa_kind = CPROF_CFA_UNSUPPORTED };
	Dwarf_Op ops_mem[3], *ops;
	size_t nops;
	int64_t offset;
	int reg;

	if (signal_frame) {
		r.cfa_kind = CPROF_CFA_SIGNAL;
		return r;
	}
	if (ra_column != DWARF_REG_RA ||
	    dwarf_frame_register(frame, DWARF_REG_RA, ops_mem, &ops, &nops))
		return r;
	if (nops == 0) {
		if (ops) /* undefined: the outermost frame */
			r.cfa_kind = CPROF_CFA_END;
		return r;
	}
	if (!at_cfa_offset(ops, nops, &offset) || offset != -8)
		return r;

	if (dwarf_frame_cfa(frame, &ops, &nops) || nops < 1)
		return r;
	if (nops == 1 && ops[0].atom == DW_OP_bregx) {
		reg = ops[0].number > 64 ? -1 : (int)ops[0].number;
		offset = (int64_t)ops[0].number2;
	} else if (nops == 1 && ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		offset = (int64_t)ops[0].number;
	} else if (is_plt_expression(ops, nops)) {
		r.cfa_kind = CPROF_CFA_PLT;
		classify_rbp(frame, &r);
		return r;
	} else {
		return r;
	}
	if ((reg != DWARF_REG_RSP && reg != DWARF_REG_RBP) || offset < INT32_MIN ||
	    offset > INT32_MAX)
		return r;
	r.cfa_kind = reg == DWARF_REG_RSP ? CPROF_CFA_SP : CPROF_CFA_FP;
	r.cfa_offset = (__s32)offset;
	classify_rbp(frame, &r);
	return r;
}

/*
 * Writes the rows of [start, end), an FDE's range, asking libdw for the
 * row at each row's start. Where libdw fails (or answers for a range not
 * containing the address) the rest of the range is unsupported.
 */
static int walk_fde(struct builder *b, Dwarf_CFI *cfi, uint64_t start, const struct cfi_fde *f)
{
	static const struct cprof_unwind_rule unsupported = { .cfa_kind = CPROF_CFA_UNSUPPORTED };
	uint64_t pc = start;
	uint32_t index;
	int err;

	while (pc < f->end) {
		Dwarf_Frame *frame = NULL;
		Dwarf_Addr row_start, row_end;
		struct cprof_unwind_rule r;
		bool signal_frame = false;
		int ra_column;

		if (f->cost > b->max_work - b->stats.work)
			return -E2BIG;
		b->stats.work += f->cost;
		if (dwarf_cfi_addrframe(cfi, pc, &frame)) {
			free(frame);
			goto failed;
		}
		ra_column = dwarf_frame_info(frame, &row_start, &row_end, &signal_frame);
		if (ra_column < 0 || row_start > pc || row_end <= pc) {
			free(frame);
			goto failed;
		}
		r = classify(frame, ra_column, signal_frame);
		free(frame);
		err = intern_rule(b, &r, &index);
		if (!err)
			err = append_row(b, pc, index);
		if (err)
			return err;
		pc = row_end < f->end ? row_end : f->end;
	}
	return 0;
failed:
	b->stats.fdes_failed++;
	err = intern_rule(b, &unsupported, &index);
	return err ? err : append_row(b, pc, index);
}

/* Writes the rows of b->fdes, the gaps between them and the last row. */
static int walk_fdes(struct builder *b, Dwarf_CFI *cfi)
{
	uint32_t walked = 0;
	int err;

	b->cursor = b->base;
	for (size_t i = 0; i < b->fdes.n_fdes; i++) {
		const struct cfi_fde *f = &b->fdes.fdes[i];
		uint64_t start = f->start > b->cursor ? f->start : b->cursor;

		if (start >= f->end) {
			b->stats.fdes_skipped++; /* inside the FDE before */
			continue;
		}
		if (start > b->cursor) {
			err = append_row(b, b->cursor, 0);
			if (err)
				return err;
		}
		err = walk_fde(b, cfi, start, f);
		if (err)
			return err;
		b->cursor = f->end;
		walked++;
	}
	if (!walked)
		return -ENOENT;
	b->stats.fdes = walked;
	return append_row(b, b->cursor, 0);
}

/* Builds from the CFI section of section_elf named one of names, read by cfi. */
static int build_from(struct builder *b, Dwarf_CFI *cfi, Elf *section_elf, const char *const *names,
		      bool eh_frame)
{
	int err;

	if (!cfi)
		return -ENOENT;
	err = cfi_fdes__read(&b->fdes, section_elf, names, eh_frame, b->segments, b->n_segments);
	if (err)
		return err;
	if (!b->fdes.n_fdes)
		return -ENOENT;
	/* Start over: an earlier source may have left rows and rules. */
	b->n_rows = 0;
	b->n_rules = 1;
	free(b->slots);
	b->slots = NULL;
	b->n_slots = 0;
	b->stats.fdes_skipped = b->fdes.skipped;
	b->stats.fdes_failed = 0;
	b->stats.work = 0;
	/* The work bound grows with the section: real files execute about 10 bytes per byte. */
	b->max_work = CFI_TABLE_MAX_WORK;
	if (b->fdes.section_bytes <
	    (CFI_TABLE_MAX_WORK - CFI_TABLE_WORK_BASE) / CFI_TABLE_WORK_PER_BYTE)
		b->max_work = CFI_TABLE_WORK_BASE + b->fdes.section_bytes * CFI_TABLE_WORK_PER_BYTE;
	return walk_fdes(b, cfi);
}

/*
 * Whether elf has a .debug_frame worth opening its DWARF for:
 * dwarf_begin_elf() reads every debug section, so their total is bounded.
 */
static bool has_debug_frame(Elf *elf)
{
	uint64_t bytes = 0;
	bool found = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(elf, shstrndx, shdr.sh_name)))
			continue;
		if (strncmp(name, ".debug_", 7) && strncmp(name, ".zdebug_", 8))
			continue;
		if (__builtin_add_overflow(bytes, shdr.sh_size, &bytes))
			return false;
		found |= !strcmp(name, ".debug_frame") || !strcmp(name, ".zdebug_frame");
	}
	return found && bytes <= CFI_TABLE_MAX_DEBUG_BYTES;
}

static int build_from_debug_frame(struct builder *b, Elf *elf)
{
	static const char *const names[] = { ".debug_frame", ".zdebug_frame", NULL };
	Dwarf *dwarf;
	int err;

	if (!elf || elf_kind(elf) != ELF_K_ELF || !has_debug_frame(elf))
		return -ENOENT;
	dwarf = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dwarf)
		return -ENOENT;
	/* dwarf_begin_elf() has decompressed the sections it reads, in place. */
	err = build_from(b, dwarf_getcfi(dwarf), elf, names, false);
	dwarf_end(dwarf);
	return err;
}

/* Takes the executable PT_LOADs of elf; base is the lowest. */
static int read_segments(struct builder *b, Elf *elf)
{
	GElf_Ehdr ehdr;
	size_t n;

	if (!gelf_getehdr(elf, &ehdr))
		return -EINVAL;
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_ident[EI_DATA] != ELFDATA2LSB ||
	    ehdr.e_machine != EM_X86_64)
		return -ENOTSUP;
	if ((ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) || elf_getphdrnum(elf, &n))
		return -EINVAL;
	b->base = UINT64_MAX;
	for (size_t i = 0; i < n && b->n_segments < MAX_SEGMENTS; i++) {
		GElf_Phdr phdr;
		uint64_t end;

		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD ||
		    !(phdr.p_flags & PF_X) || !phdr.p_memsz ||
		    __builtin_add_overflow(phdr.p_vaddr, phdr.p_memsz, &end))
			continue;
		b->segments[b->n_segments++] =
			(struct cfi_segment){ .start = phdr.p_vaddr, .end = end };
		if (phdr.p_vaddr < b->base)
			b->base = phdr.p_vaddr;
	}
	return b->n_segments ? 0 : -ENOENT;
}

static void count_rows(struct cfi_table *t)
{
	for (uint32_t i = 0; i < t->n_rows; i++) {
		const struct cprof_unwind_rule *r = &t->rules[t->rows[i].rule];

		if (r->cfa_kind < CFI_TABLE_CFA_KINDS)
			t->stats.rows_by_kind[r->cfa_kind]++;
		t->stats.rows_fp_unsupported += r->fp_kind == CPROF_FP_UNSUPPORTED;
	}
}

/* Moves the builder's rows and rules into a table, trimmed to size. */
static int finish(struct builder *b, struct cfi_table **ret_table)
{
	struct cfi_table *t = calloc(1, sizeof(*t));
	void *trimmed;

	if (!t)
		return -ENOMEM;
	trimmed = realloc(b->rows, b->n_rows * sizeof(*b->rows));
	if (trimmed)
		b->rows = trimmed;
	trimmed = realloc(b->rules, b->n_rules * sizeof(*b->rules));
	if (trimmed)
		b->rules = trimmed;
	t->base_vaddr = b->base;
	t->rows = b->rows;
	t->n_rows = (uint32_t)b->n_rows;
	t->rules = b->rules;
	t->n_rules = (uint32_t)b->n_rules;
	t->stats = b->stats;
	count_rows(t);
	b->rows = NULL;
	b->rules = NULL;
	*ret_table = t;
	return 0;
}

int cfi_table__build(Elf *elf, Elf *debug_elf, struct cfi_table **ret_table)
{
	static const char *const eh_names[] = { ".eh_frame", NULL };
	struct builder b = { 0 };
	Dwarf_CFI *eh_cfi;
	int err;

	if (!elf || !ret_table || elf_kind(elf) != ELF_K_ELF)
		return -EINVAL;
	err = read_segments(&b, elf);
	if (err)
		return err;
	/* Rule 0, "no CFI", is the table's whatever the source. */
	err = array__reserve(NULL, sizeof(*b.rules), &b.rules_capacity, 0, 1, 64,
			     CFI_TABLE_MAX_RULES, (void **)&b.rules);
	if (err)
		return err;
	memset(&b.rules[0], 0, sizeof(b.rules[0]));
	b.n_rules = 1;

	eh_cfi = dwarf_getcfi_elf(elf);
	err = build_from(&b, eh_cfi, elf, eh_names, true);
	if (eh_cfi)
		dwarf_cfi_end(eh_cfi);
	b.stats.source = CFI_TABLE_EH_FRAME;
	if (err == -ENOENT) {
		err = build_from_debug_frame(&b, elf);
		b.stats.source = CFI_TABLE_DEBUG_FRAME;
	}
	if (err == -ENOENT && debug_elf && debug_elf != elf) {
		err = build_from_debug_frame(&b, debug_elf);
		b.stats.source = CFI_TABLE_DEBUG_FILE;
	}
	if (!err)
		err = finish(&b, ret_table);
	cfi_fdes__release(&b.fdes);
	free(b.slots);
	free(b.rows);
	free(b.rules);
	return err;
}

void cfi_table__free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->rules);
	free(t);
}

const struct cprof_unwind_rule *cfi_table__find(const struct cfi_table *t, uint64_t vaddr)
{
	uint64_t address;
	uint32_t lo = 0, hi;

	if (!t || !t->n_rows)
		return NULL;
	address = vaddr - t->base_vaddr;
	if (vaddr < t->base_vaddr || address >= t->rows[t->n_rows - 1].address)
		return &t->rules[0];
	/* The last row at or before address: rows[lo].address <= address < rows[hi].address. */
	hi = t->n_rows - 1;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].address <= address)
			lo = mid;
		else
			hi = mid;
	}
	return &t->rules[t->rows[lo].rule];
}

size_t cfi_table__memory(const struct cfi_table *t)
{
	if (!t)
		return 0;
	return sizeof(*t) + (size_t)t->n_rows * sizeof(*t->rows) +
	       (size_t)t->n_rules * sizeof(*t->rules);
}

uint32_t cfi_table__n_pages(const struct cprof_unwind_row *rows, uint32_t n_rows)
{
	return n_rows ? (rows[n_rows - 1].address >> CPROF_UNWIND_PAGE_SHIFT) + 1 : 0;
}

void cfi_table__page_index(const struct cprof_unwind_row *rows, uint32_t n_rows,
			   struct cprof_unwind_page *pages, uint32_t n_pages)
{
	uint32_t next = 0; /* the first row at or past the next page's start */

	for (uint32_t k = 0; k < n_pages; k++) {
		uint64_t end = (uint64_t)(k + 1) << CPROF_UNWIND_PAGE_SHIFT;
		uint32_t first = next ? next - 1 : 0;

		/* Row next - 1 starts before this page (or is row 0): it covers its first byte. */
		if (next < n_rows && rows[next].address == (uint64_t)k << CPROF_UNWIND_PAGE_SHIFT)
			first = next;
		while (next < n_rows && rows[next].address < end)
			next++;
		pages[k].first_row = first;
		pages[k].end_row = next;
	}
}
