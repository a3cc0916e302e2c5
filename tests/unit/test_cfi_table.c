// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The CFI table builder (daemon/unwind/cfi_table.c) against real binaries:
 * Debian's libc, python3 and liblzma, a C++ program built here with
 * -fomit-frame-pointer, and a C program with .debug_frame only, with and
 * without a separate debug file. Two references the builder does not use:
 *
 * - readelf (binutils) decodes the same CFI on its own: its FDE ranges say
 *   where the table must have CFI and where it must have none (gaps), and
 *   its interpreted rows (--debug-dump=frames-interp) say at each row's
 *   address what the rule must be (CFA register and offset, rbp, return
 *   address, the CIE's 'S');
 * - libdw's dwarf_cfi_addrframe() at any address: every row's first and
 *   last byte, thousands of random addresses inside FDEs, and every byte
 *   of a few FDEs, so an error in walking rows, merging, gaps or sorting
 *   shows wherever it is.
 *
 * Plus known facts: __restore_rt (the restorer libc gives the kernel) is a
 * signal frame, python3's _start and libc's clone child end the stack,
 * .plt entries have the PLT rule; and refusals (another machine, an object
 * file, no CFI). Rows, rules, build time and memory are printed as '#'.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>

#include "test.h"
#include "unwind/cfi_table.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBLZMA "/usr/lib/x86_64-linux-gnu/liblzma.so.5"

#define RANDOM_ADDRESSES 5000
#define GAP_ADDRESSES 2000
#define BYTEWISE_FDES 12
#define MAX_MISMATCHES_SHOWN 8

static char dir[] = "/tmp/cprof-cfi-XXXXXX";
static char why[512];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		snprintf(why, sizeof(why), "command failed (%d): %.400s", status, cmd);
	return status;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*, seeded per binary so that a failure is reproducible. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static const char *kind_name(unsigned int kind)
{
	static const char *const names[] = { "none", "sp", "fp", "plt", "signal", "end", "unsup" };

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static void format_rule(const struct cprof_unwind_rule *r, char *buf, size_t size)
{
	static const char *const fp[] = { "same", "at-cfa", "unsup" };

	snprintf(buf, size, "%s%+d rbp %s%+d", kind_name(r->cfa_kind), r->cfa_offset,
		 r->fp_kind < 3 ? fp[r->fp_kind] : "?", r->fp_offset);
}

static bool same_rule(const struct cprof_unwind_rule *a, const struct cprof_unwind_rule *b)
{
	return a->cfa_kind == b->cfa_kind && a->cfa_offset == b->cfa_offset &&
	       a->fp_kind == b->fp_kind && a->fp_offset == b->fp_offset;
}

/* An opened ELF file. */
struct elf_file {
	int fd;
	Elf *elf;
};

static bool elf_file__open(struct elf_file *f, const char *path)
{
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	f->elf = f->fd >= 0 ? elf_begin(f->fd, ELF_C_READ_MMAP, NULL) : NULL;
	if (!f->elf) {
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		return false;
	}
	return true;
}

static void elf_file__close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

struct range {
	uint64_t start, end;
};

/* Section name's [start, end) in elf, or false. */
static bool section_range(Elf *elf, const char *name, struct range *ret)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *n;

		if (gelf_getshdr(scn, &shdr) && (n = elf_strptr(elf, shstrndx, shdr.sh_name)) &&
		    !strcmp(n, name)) {
			ret->start = shdr.sh_addr;
			ret->end = shdr.sh_addr + shdr.sh_size;
			return true;
		}
	}
	return false;
}

static size_t exec_segments(Elf *elf, struct range *segs, size_t max)
{
	size_t n = 0, phnum;

	if (elf_getphdrnum(elf, &phnum))
		return 0;
	for (size_t i = 0; i < phnum && n < max; i++) {
		GElf_Phdr phdr;

		if (gelf_getphdr(elf, (int)i, &phdr) && phdr.p_type == PT_LOAD &&
		    (phdr.p_flags & PF_X))
			segs[n++] = (struct range){ phdr.p_vaddr, phdr.p_vaddr + phdr.p_memsz };
	}
	return n;
}

/*
 * The reference, from libdw: the rule at vaddr as cfi_table.h defines the
 * mapping, written out here from libdw's answers (CFA register and offset,
 * where rbp and the return address are). False if libdw has no frame.
 */
static bool libdw_rule(Dwarf_CFI *cfi, uint64_t vaddr, struct cprof_unwind_rule *ret)
{
	struct cprof_unwind_rule r = { .cfa_kind = CPROF_CFA_UNSUPPORTED };
	Dwarf_Op mem[3], *ops;
	Dwarf_Frame *frame = NULL;
	Dwarf_Addr start, end;
	size_t nops;
	bool signal = false;
	int ra, reg = -1;
	int64_t offset = 0;

	if (dwarf_cfi_addrframe(cfi, vaddr, &frame))
		return false;
	ra = dwarf_frame_info(frame, &start, &end, &signal);
	if (signal) {
		r.cfa_kind = CPROF_CFA_SIGNAL;
		goto out;
	}
	if (ra != 16 || dwarf_frame_register(frame, 16, mem, &ops, &nops))
		goto out;
	if (nops == 0 && ops == mem) {
		r.cfa_kind = CPROF_CFA_END;
		goto out;
	}
	/* Saved at CFA - 8: DW_OP_call_frame_cfa, then -8 as libdw spells it. */
	if (!(nops == 2 && ops[0].atom == DW_OP_call_frame_cfa &&
	      ops[1].atom == DW_OP_plus_uconst && (int64_t)ops[1].number == -8) &&
	    !(nops == 3 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_consts &&
	      (int64_t)ops[1].number == -8 && ops[2].atom == DW_OP_plus))
		goto out;
	if (dwarf_frame_cfa(frame, &ops, &nops))
		goto out;
	if (nops == 1 && ops[0].atom == DW_OP_bregx) {
		reg = (int)ops[0].number;
		offset = (int64_t)ops[0].number2;
	} else if (nops == 1 && ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		offset = (int64_t)ops[0].number;
	} else if (nops == 9 && ops[0].atom == DW_OP_breg7 && ops[0].number == 8 &&
		   ops[1].atom == DW_OP_breg16 && ops[1].number == 0 &&
		   ops[2].atom == DW_OP_lit15 && ops[3].atom == DW_OP_and &&
		   ops[4].atom == DW_OP_lit11 && ops[5].atom == DW_OP_ge &&
		   ops[6].atom == DW_OP_lit3 && ops[7].atom == DW_OP_shl &&
		   ops[8].atom == DW_OP_plus) {
		r.cfa_kind = CPROF_CFA_PLT;
	} else {
		goto out;
	}
	if (r.cfa_kind != CPROF_CFA_PLT) {
		if ((reg != 7 && reg != 6) || offset != (int32_t)offset)
			goto out;
		r.cfa_kind = reg == 7 ? CPROF_CFA_SP : CPROF_CFA_FP;
		r.cfa_offset = (int32_t)offset;
	}
	r.fp_kind = CPROF_FP_UNSUPPORTED;
	if (dwarf_frame_register(frame, 6, mem, &ops, &nops) == 0) {
		int64_t at = 0;
		bool located = nops >= 1 && ops[0].atom == DW_OP_call_frame_cfa;

		if (located && nops == 2 && ops[1].atom == DW_OP_plus_uconst)
			at = (int64_t)ops[1].number;
		else if (located && nops == 3 && ops[1].atom == DW_OP_consts &&
			 ops[2].atom == DW_OP_plus)
			at = (int64_t)ops[1].number;
		else if (!(located && nops == 1))
			located = false;
		if (nops == 0)
			r.fp_kind = CPROF_FP_SAME;
		else if (located && at == (int16_t)at)
			r = (struct cprof_unwind_rule){ .cfa_kind = r.cfa_kind,
							.cfa_offset = r.cfa_offset,
							.fp_kind = CPROF_FP_AT_CFA,
							.fp_offset = (int16_t)at };
	}
out:
	free(frame);
	*ret = r;
	return true;
}

/* What readelf says of a file's CFI. */
struct readelf_row {
	uint64_t address;
	struct cprof_unwind_rule rule;
};

struct readelf_cfi {
	struct range *fdes; /* sorted by start */
	size_t n_fdes;
	struct readelf_row *rows;
	size_t n_rows;
};

/* A CIE readelf printed: its offset, 'S' and its initial row. */
struct readelf_cie {
	uint64_t offset;
	bool signal;
	bool has_row;
	struct cprof_unwind_rule rule;
};

/*
 * The rule a row of readelf's frames-interp table means: cfa like
 * "rsp+8", "rbp+16" or "exp"; rbp and ra like "u" (undefined), "s" (same),
 * "c-16" (at CFA - 16), or NULL when the register has no column.
 */
static struct cprof_unwind_rule readelf_rule(const char *cfa, const char *rbp, const char *ra,
					     bool signal, bool in_plt)
{
	struct cprof_unwind_rule r = { .cfa_kind = CPROF_CFA_UNSUPPORTED };
	char reg[16];
	long offset;
	int used;

	if (signal) {
		r.cfa_kind = CPROF_CFA_SIGNAL;
		return r;
	}
	if (!ra || !strcmp(ra, "u")) {
		r.cfa_kind = CPROF_CFA_END;
		return r;
	}
	if (strcmp(ra, "c-8"))
		return r;
	if (!strcmp(cfa, "exp")) {
		if (!in_plt)
			return r;
		r.cfa_kind = CPROF_CFA_PLT;
	} else if (sscanf(cfa, "%15[a-z0-9]%ld%n", reg, &offset, &used) == 2 && !cfa[used] &&
		   (!strcmp(reg, "rsp") || !strcmp(reg, "rbp"))) {
		r.cfa_kind = !strcmp(reg, "rsp") ? CPROF_CFA_SP : CPROF_CFA_FP;
		r.cfa_offset = (int32_t)offset;
	} else {
		return r;
	}
	if (!rbp || !strcmp(rbp, "u") || !strcmp(rbp, "s")) {
		r.fp_kind = CPROF_FP_SAME;
	} else if (rbp[0] == 'c' && sscanf(rbp + 1, "%ld%n", &offset, &used) == 1 &&
		   !rbp[1 + used] && offset == (int16_t)offset) {
		r.fp_kind = CPROF_FP_AT_CFA;
		r.fp_offset = (int16_t)offset;
	} else {
		r.fp_kind = CPROF_FP_UNSUPPORTED;
	}
	return r;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static bool push(void **items, size_t *n, size_t *cap, size_t size, const void *item)
{
	if (*n == *cap) {
		size_t grown_cap = *cap ? *cap * 2 : 256;
		void *grown = realloc(*items, grown_cap * size);

		if (!grown)
			return false;
		*items = grown;
		*cap = grown_cap;
	}
	memcpy((char *)*items + *n * size, item, size);
	(*n)++;
	return true;
}

/*
 * Runs readelf --debug-dump=frames-interp on path and keeps, for the
 * section named section: the FDE ranges inside segs, and per printed row
 * the rule it means (an FDE with no rows of its own gets its CIE's).
 */
static bool readelf_cfi__read(struct readelf_cfi *c, const char *path, const char *section,
			      const struct range *segs, size_t n_segs, const struct range *plt)
{
	struct readelf_cie *cies = NULL, *cie = NULL;
	size_t n_cies = 0, cap_cies = 0, cap_fdes = 0, cap_rows = 0;
	int cfa_col = -1, rbp_col = -1, ra_col = -1;
	bool in_section = false, in_fde = false, fde_has_rows = false, fde_used = false;
	char cmd[PATH_MAX + 64], *line = NULL, wanted[64];
	struct range fde = { 0 };
	size_t len = 0;
	FILE *pipe;

	memset(c, 0, sizeof(*c));
	snprintf(wanted, sizeof(wanted), "Contents of the %s section:", section);
	/* -wN: this file's sections only, not those of a debug file it links to. */
	snprintf(cmd, sizeof(cmd), "readelf -wN --debug-dump=frames-interp '%s' 2>/dev/null", path);
	pipe = popen(cmd, "r");
	if (!pipe)
		return false;
	while (getline(&line, &len, pipe) > 0) {
		char *tok[32], *save = NULL;
		int n = 0;

		if (!strncmp(line, "Contents of the ", 16)) {
			in_section = !strncmp(line, wanted, strlen(wanted));
			in_fde = false;
			continue;
		}
		if (!in_section)
			continue;
		/* A register rule prints as "r10 (r10)": the name in parentheses is not a column. */
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 32;
		     t = strtok_r(NULL, " \t\n", &save))
			if (t[0] != '(')
				tok[n++] = t;
		if (n >= 4 && !strcmp(tok[3], "CIE")) {
			struct readelf_cie new_cie = { .offset = strtoull(tok[0], NULL, 16) };

			/* Finish the FDE before: one without rows of its own has its CIE's. */
			if (in_fde && fde_used && !fde_has_rows && cie && cie->has_row) {
				struct readelf_row row = { fde.start, cie->rule };

				push((void **)&c->rows, &c->n_rows, &cap_rows, sizeof(row), &row);
			}
			new_cie.signal = n >= 5 && strchr(tok[4], 'S');
			if (!push((void **)&cies, &n_cies, &cap_cies, sizeof(new_cie), &new_cie))
				break;
			cie = &cies[n_cies - 1];
			in_fde = false;
			cfa_col = rbp_col = ra_col = -1;
			continue;
		}
		if (n >= 6 && !strcmp(tok[3], "FDE") && !strncmp(tok[4], "cie=", 4) &&
		    !strncmp(tok[5], "pc=", 3)) {
			uint64_t cie_offset = strtoull(tok[4] + 4, NULL, 16);
			char *dots;

			if (in_fde && fde_used && !fde_has_rows && cie && cie->has_row) {
				struct readelf_row row = { fde.start, cie->rule };

				push((void **)&c->rows, &c->n_rows, &cap_rows, sizeof(row), &row);
			}
			fde.start = strtoull(tok[5] + 3, &dots, 16);
			fde.end = strncmp(dots, "..", 2) ? 0 : strtoull(dots + 2, NULL, 16);
			cie = NULL;
			for (size_t i = 0; i < n_cies; i++)
				if (cies[i].offset == cie_offset)
					cie = &cies[i];
			fde_used = false;
			for (size_t i = 0; i < n_segs; i++)
				fde_used |= fde.start >= segs[i].start && fde.end <= segs[i].end &&
					    fde.end > fde.start;
			if (fde_used &&
			    !push((void **)&c->fdes, &c->n_fdes, &cap_fdes, sizeof(fde), &fde))
				break;
			in_fde = true;
			fde_has_rows = false;
			cfa_col = rbp_col = ra_col = -1;
			continue;
		}
		if (n >= 2 && !strcmp(tok[0], "LOC")) {
			cfa_col = rbp_col = ra_col = -1;
			for (int i = 1; i < n; i++) {
				if (!strcmp(tok[i], "CFA"))
					cfa_col = i;
				else if (!strcmp(tok[i], "rbp"))
					rbp_col = i;
				else if (!strcmp(tok[i], "ra"))
					ra_col = i;
			}
			continue;
		}
		if (n >= 2 && cfa_col > 0 && cfa_col < n && strlen(tok[0]) == 16 && cie) {
			uint64_t address = strtoull(tok[0], NULL, 16);
			bool in_plt = plt && address >= plt->start && address < plt->end;
			struct readelf_row row = {
				address,
				readelf_rule(tok[cfa_col],
					     rbp_col > 0 && rbp_col < n ? tok[rbp_col] : NULL,
					     ra_col > 0 && ra_col < n ? tok[ra_col] : NULL,
					     cie->signal, in_plt),
			};

			if (!in_fde) {
				cie->has_row = true; /* the CIE's initial row, at LOC 0 */
				cie->rule = row.rule;
			} else if (fde_used) {
				fde_has_rows = true;
				push((void **)&c->rows, &c->n_rows, &cap_rows, sizeof(row), &row);
			}
		}
	}
	if (in_fde && fde_used && !fde_has_rows && cie && cie->has_row) {
		struct readelf_row row = { fde.start, cie->rule };

		push((void **)&c->rows, &c->n_rows, &cap_rows, sizeof(row), &row);
	}
	free(line);
	free(cies);
	pclose(pipe);
	qsort(c->fdes, c->n_fdes, sizeof(*c->fdes), compare_ranges);
	return c->n_fdes > 0;
}

static void readelf_cfi__free(struct readelf_cfi *c)
{
	free(c->fdes);
	free(c->rows);
}

/* The FDE of c containing vaddr, or NULL. */
static const struct range *readelf_fde(const struct readelf_cfi *c, uint64_t vaddr)
{
	size_t lo = 0, hi = c->n_fdes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->fdes[mid].end <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_fdes && c->fdes[lo].start <= vaddr ? &c->fdes[lo] : NULL;
}

/* Counts and reports disagreements of one binary's checks. */
struct checker {
	const char *name;
	const struct cfi_table *table;
	Dwarf_CFI *cfi;
	const struct readelf_cfi *readelf;
	size_t checked, mismatches;
};

static void mismatch(struct checker *k, const char *what, uint64_t vaddr,
		     const struct cprof_unwind_rule *want, const struct cprof_unwind_rule *got)
{
	char a[64], b[64];

	k->mismatches++;
	if (k->mismatches > MAX_MISMATCHES_SHOWN)
		return;
	format_rule(want, a, sizeof(a));
	format_rule(got, b, sizeof(b));
	printf("#   %s: %s at %#" PRIx64 ": want %s, table has %s\n", k->name, what, vaddr, a, b);
}

/*
 * Checks the table at vaddr against libdw: inside an FDE (per readelf)
 * the rule libdw gives, elsewhere rule 0.
 */
static void check_address(struct checker *k, uint64_t vaddr, const char *what)
{
	static const struct cprof_unwind_rule none = { 0 };
	const struct cprof_unwind_rule *got = cfi_table__find(k->table, vaddr);
	struct cprof_unwind_rule want;

	k->checked++;
	if (!readelf_fde(k->readelf, vaddr)) {
		if (!same_rule(got, &none))
			mismatch(k, what, vaddr, &none, got);
		return;
	}
	if (!libdw_rule(k->cfi, vaddr, &want))
		want = (struct cprof_unwind_rule){ .cfa_kind = CPROF_CFA_UNSUPPORTED };
	if (!same_rule(got, &want))
		mismatch(k, what, vaddr, &want, got);
}

/* The table's own promises: sorted rows, rules in range and unique, rule 0, the last row. */
static void check_invariants(const struct cfi_table *t)
{
	static const struct cprof_unwind_rule none = { 0 };
	size_t bad_order = 0, bad_rule = 0, unmerged = 0, duplicates = 0;

	ASSERT_GE(t->n_rows, 2);
	ASSERT_GE(t->n_rules, 2);
	ASSERT_TRUE(same_rule(&t->rules[0], &none));
	ASSERT_EQ(t->rows[0].address, 0);
	ASSERT_EQ(t->rows[t->n_rows - 1].rule, 0);
	for (uint32_t i = 0; i < t->n_rows; i++) {
		bad_rule += t->rows[i].rule >= t->n_rules;
		if (i) {
			bad_order += t->rows[i].address <= t->rows[i - 1].address;
			unmerged += t->rows[i].rule == t->rows[i - 1].rule;
		}
	}
	for (uint32_t i = 1; i < t->n_rules; i++) {
		ASSERT_NE(t->rules[i].cfa_kind, CPROF_CFA_NONE);
		for (uint32_t j = i + 1; j < t->n_rules; j++)
			duplicates += same_rule(&t->rules[i], &t->rules[j]);
	}
	ASSERT_EQ(bad_order, 0);
	ASSERT_EQ(bad_rule, 0);
	ASSERT_EQ(unmerged, 0);
	ASSERT_EQ(duplicates, 0);
}

/*
 * The page index against a search of the rows: for every page, the rows
 * it names hold the row of the page's first and last byte, and of a byte
 * in the middle.
 */
static void check_page_index(const struct cfi_table *t)
{
	uint32_t n_pages = cfi_table__n_pages(t->rows, t->n_rows);
	struct cprof_unwind_page *pages;
	size_t wrong = 0;

	ASSERT_EQ(n_pages, (t->rows[t->n_rows - 1].address >> CPROF_UNWIND_PAGE_SHIFT) + 1);
	pages = calloc(n_pages, sizeof(*pages));
	if (!ASSERT_TRUE(pages != NULL))
		return;
	cfi_table__page_index(t->rows, t->n_rows, pages, n_pages);
	for (uint32_t k = 0; k < n_pages; k++) {
		uint64_t start = (uint64_t)k << CPROF_UNWIND_PAGE_SHIFT;
		uint64_t probes[3] = { start, start + (1u << CPROF_UNWIND_PAGE_SHIFT) / 2,
				       start + (1u << CPROF_UNWIND_PAGE_SHIFT) - 1 };

		for (int p = 0; p < 3; p++) {
			uint32_t lo = 0, hi = t->n_rows; /* the last row at or before the probe */

			while (hi - lo > 1) {
				uint32_t mid = lo + (hi - lo) / 2;

				if (t->rows[mid].address <= probes[p])
					lo = mid;
				else
					hi = mid;
			}
			wrong += !(pages[k].first_row <= lo &&
				   (lo < pages[k].end_row || t->rows[lo].address > probes[p]));
		}
		wrong += pages[k].end_row > t->n_rows || pages[k].first_row > pages[k].end_row;
	}
	ASSERT_EQ(wrong, 0);
	free(pages);
}

/* What check_binary checks besides the common part. */
struct expect {
	const char *section; /* the CFI section readelf reads: .eh_frame or .debug_frame */
	enum cfi_table_source source;
	size_t min_rows;
};

/*
 * Builds path's table (with debug_path as its debug file, if any) and
 * checks it everywhere against readelf and libdw. The table is returned
 * for the caller's known facts (free it), or NULL.
 */
static struct cfi_table *check_binary(const char *name, const char *path, const char *debug_path,
				      const struct expect *e)
{
	struct elf_file bin = { -1, NULL }, dbg = { -1, NULL }, ref = { -1, NULL };
	struct range segs[16], plt, *pltp = NULL;
	struct readelf_cfi readelf = { 0 };
	struct cfi_table *t = NULL;
	Dwarf *ref_dwarf = NULL;
	Dwarf_CFI *cfi = NULL;
	struct checker k = { .name = name };
	size_t n_segs, bytes = 0, row_checks = 0;
	uint64_t start_ns, build_ns;
	int err;

	rng_state = 0x9e3779b97f4a7c15ull ^ (uint64_t)strlen(path) * 0x100000001b3ull;
	if (!ASSERT_TRUE(elf_file__open(&bin, path)) ||
	    (debug_path && !ASSERT_TRUE(elf_file__open(&dbg, debug_path))))
		goto out;
	start_ns = now_ns();
	err = cfi_table__build(bin.elf, dbg.elf, &t);
	build_ns = now_ns() - start_ns;
	if (!ASSERT_OK(err))
		goto out;
	ASSERT_EQ(t->stats.source, e->source);
	ASSERT_GE(t->n_rows, e->min_rows);
	printf("# %s: %u FDEs (%u skipped, %u failed), %u rows, %u rules, %.1f ms, %zu bytes;"
	       " rows sp %u fp %u plt %u signal %u end %u unsupported %u none %u,"
	       " rbp unsupported %u; %.1f MB of CFI executed\n",
	       name, t->stats.fdes, t->stats.fdes_skipped, t->stats.fdes_failed, t->n_rows,
	       t->n_rules, build_ns / 1e6, cfi_table__memory(t), t->stats.rows_by_kind[1],
	       t->stats.rows_by_kind[2], t->stats.rows_by_kind[3], t->stats.rows_by_kind[4],
	       t->stats.rows_by_kind[5], t->stats.rows_by_kind[6], t->stats.rows_by_kind[0],
	       t->stats.rows_fp_unsupported, t->stats.work / 1e6);
	ASSERT_EQ(t->stats.fdes_failed, 0);
	check_invariants(t);
	check_page_index(t);
	ASSERT_TRUE(cfi_table__memory(t) >= (size_t)t->n_rows * sizeof(struct cprof_unwind_row));

	/* The reference reads the CFI the table should have come from, on its own Elf. */
	if (!ASSERT_TRUE(elf_file__open(
		    &ref, debug_path && e->source == CFI_TABLE_DEBUG_FILE ? debug_path : path)))
		goto out;
	if (!strcmp(e->section, ".eh_frame")) {
		cfi = dwarf_getcfi_elf(ref.elf);
	} else {
		ref_dwarf = dwarf_begin_elf(ref.elf, DWARF_C_READ, NULL);
		cfi = ref_dwarf ? dwarf_getcfi(ref_dwarf) : NULL;
	}
	if (!ASSERT_NOT_NULL(cfi))
		goto out;
	n_segs = exec_segments(bin.elf, segs, 16);
	ASSERT_EQ(t->base_vaddr, segs[0].start);
	if (section_range(bin.elf, ".plt", &plt))
		pltp = &plt;
	if (!ASSERT_TRUE(readelf_cfi__read(
		    &readelf, debug_path && e->source == CFI_TABLE_DEBUG_FILE ? debug_path : path,
		    e->section, segs, n_segs, pltp)))
		goto out;
	k.table = t;
	k.cfi = cfi;
	k.readelf = &readelf;
	ASSERT_EQ(t->stats.fdes, readelf.n_fdes);

	/* readelf's rows: the rule at each, decoded by binutils. */
	for (size_t i = 0; i < readelf.n_rows; i++) {
		const struct cprof_unwind_rule *got = cfi_table__find(t, readelf.rows[i].address);

		k.checked++;
		if (!same_rule(got, &readelf.rows[i].rule))
			mismatch(&k, "readelf row", readelf.rows[i].address, &readelf.rows[i].rule,
				 got);
	}
	/* Every row's first byte and the byte before it (the last of the row before). */
	for (uint32_t i = 0; i < t->n_rows; i++) {
		uint64_t vaddr = t->base_vaddr + t->rows[i].address;

		check_address(&k, vaddr, "row start");
		if (vaddr > t->base_vaddr)
			check_address(&k, vaddr - 1, "row end");
		row_checks += 2;
	}
	/* Random addresses inside FDEs, and anywhere in the executable segments (gaps too). */
	for (int i = 0; i < RANDOM_ADDRESSES; i++) {
		const struct range *f = &readelf.fdes[rng() % readelf.n_fdes];

		check_address(&k, f->start + rng() % (f->end - f->start), "random in FDE");
	}
	for (int i = 0; i < GAP_ADDRESSES; i++) {
		const struct range *s = &segs[rng() % n_segs];

		check_address(&k, s->start + rng() % (s->end - s->start), "random in segment");
	}
	/* Every byte of the first and last FDE, the .plt's and a few more at random. */
	for (int i = 0; i < BYTEWISE_FDES; i++) {
		const struct range *f = i == 0		 ? &readelf.fdes[0]
					: i == 1	 ? &readelf.fdes[readelf.n_fdes - 1]
					: i == 2 && pltp ? readelf_fde(&readelf, plt.start)
							 : &readelf.fdes[rng() % readelf.n_fdes];

		if (!f)
			continue;
		for (uint64_t a = f->start ? f->start - 1 : 0; a <= f->end; a++, bytes++)
			check_address(&k, a, "bytewise");
	}
	/* Outside the table: below the base, past the end. */
	check_address(&k, t->base_vaddr ? t->base_vaddr - 1 : 0, "below base");
	check_address(&k, t->base_vaddr + t->rows[t->n_rows - 1].address, "past the end");
	check_address(&k, UINT64_MAX, "far away");
	printf("# %s: %zu addresses checked (%zu readelf rows, %zu row edges, %zu bytewise), "
	       "%zu mismatches\n",
	       name, k.checked, readelf.n_rows, row_checks, bytes, k.mismatches);
	ASSERT_EQ(k.mismatches, 0);
out:
	if (test__current_failed && t) {
		cfi_table__free(t);
		t = NULL;
	}
	readelf_cfi__free(&readelf);
	if (ref_dwarf)
		dwarf_end(ref_dwarf);
	else if (cfi)
		dwarf_cfi_end(cfi);
	elf_file__close(&ref);
	elf_file__close(&dbg);
	elf_file__close(&bin);
	return t;
}

/* The load bias of the mapped file whose path is path, in this process. */
struct bias_search {
	const char *path;
	uint64_t bias;
	bool found;
};

static int find_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct bias_search *s = arg;
	char a[PATH_MAX], b[PATH_MAX];

	if (!info->dlpi_name || !info->dlpi_name[0] || !realpath(info->dlpi_name, a) ||
	    !realpath(s->path, b) || strcmp(a, b))
		return 0;
	s->bias = info->dlpi_addr;
	s->found = true;
	return 1;
}

static bool runtime_to_vaddr(const char *path, uint64_t runtime, uint64_t *ret)
{
	struct bias_search s = { .path = path };

	dl_iterate_phdr(find_bias, &s);
	if (!s.found)
		return false;
	*ret = runtime - s.bias;
	return true;
}

/* The kernel's struct sigaction, which shows the restorer libc installed. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void ignore_signal(int sig)
{
	(void)sig;
}

static void test_libc(void)
{
	static const struct expect e = { ".eh_frame", CFI_TABLE_EH_FRAME, 10000 };
	struct sigaction sa = { .sa_handler = ignore_signal };
	struct kernel_sigaction ksa = { 0 };
	uint64_t restore_rt, clone_vaddr;
	const struct cprof_unwind_rule *r;
	struct cfi_table *t;
	bool end_seen = false;
	void *clone_fn;

	if (access(LIBC, R_OK) || run("command -v readelf >/dev/null"))
		TEST_SKIP("needs %s and readelf (binutils)", LIBC);
	t = check_binary("libc.so.6", LIBC, NULL, &e);
	if (!t)
		return;
	/* libc hands the kernel __restore_rt as the restorer: a signal frame from its first byte. */
	if (ASSERT_OK(sigaction(SIGUSR2, &sa, NULL)) &&
	    ASSERT_OK(syscall(SYS_rt_sigaction, SIGUSR2, NULL, &ksa, sizeof(ksa.mask))) &&
	    ASSERT_TRUE(runtime_to_vaddr(LIBC, (uint64_t)(uintptr_t)ksa.restorer, &restore_rt))) {
		r = cfi_table__find(t, restore_rt);
		printf("# libc.so.6: __restore_rt at %#" PRIx64 ": %s\n", restore_rt,
		       kind_name(r->cfa_kind));
		ASSERT_EQ(r->cfa_kind, CPROF_CFA_SIGNAL);
		/* The FDE starts a byte early, so that a return address of +0 finds it. */
		ASSERT_EQ(cfi_table__find(t, restore_rt - 1)->cfa_kind, CPROF_CFA_SIGNAL);
	}
	signal(SIGUSR2, SIG_DFL);
	/* clone()'s child part marks the return address undefined: the end of the stack. */
	clone_fn = dlsym(RTLD_DEFAULT, "clone");
	if (ASSERT_NOT_NULL(clone_fn) &&
	    ASSERT_TRUE(runtime_to_vaddr(LIBC, (uint64_t)(uintptr_t)clone_fn, &clone_vaddr))) {
		ASSERT_EQ(cfi_table__find(t, clone_vaddr)->cfa_kind, CPROF_CFA_SP);
		for (uint64_t a = clone_vaddr; a < clone_vaddr + 128; a++)
			end_seen |= cfi_table__find(t, a)->cfa_kind == CPROF_CFA_END;
		ASSERT_TRUE(end_seen);
	}
	ASSERT_GE(t->stats.rows_by_kind[CPROF_CFA_PLT], 1);
	cfi_table__free(t);
}

/* python3's .plt: PLT0 pushes twice, then each entry is the PLT rule. */
static void check_plt(const char *path, const struct cfi_table *t)
{
	struct elf_file f = { -1, NULL };
	struct range plt;
	const struct cprof_unwind_rule *r;

	if (!ASSERT_TRUE(elf_file__open(&f, path)))
		return;
	if (section_range(f.elf, ".plt", &plt) && plt.end - plt.start >= 32) {
		r = cfi_table__find(t, plt.start);
		ASSERT_EQ(r->cfa_kind, CPROF_CFA_SP);
		ASSERT_EQ(r->cfa_offset, 16);
		r = cfi_table__find(t, plt.start + 6);
		ASSERT_EQ(r->cfa_kind, CPROF_CFA_SP);
		ASSERT_EQ(r->cfa_offset, 24);
		for (uint64_t a = plt.start + 16; a < plt.start + 48 && a < plt.end; a++) {
			r = cfi_table__find(t, a);
			ASSERT_EQ(r->cfa_kind, CPROF_CFA_PLT);
			ASSERT_EQ(r->fp_kind, CPROF_FP_SAME);
		}
		ASSERT_EQ(cfi_table__find(t, plt.end - 1)->cfa_kind, CPROF_CFA_PLT);
	} else {
		printf("# %s has no .plt\n", path);
	}
	elf_file__close(&f);
}

static void test_python(void)
{
	static const struct expect e = { ".eh_frame", CFI_TABLE_EH_FRAME, 20000 };
	char path[PATH_MAX];
	struct elf_file f = { -1, NULL };
	struct cfi_table *t;
	GElf_Ehdr ehdr;

	if (!realpath("/usr/bin/python3", path) || run("command -v readelf >/dev/null"))
		TEST_SKIP("needs /usr/bin/python3 and readelf (binutils)");
	printf("# python3 is %s\n", path);
	t = check_binary("python3", path, NULL, &e);
	if (!t)
		return;
	/* _start (the entry point) says the return address is undefined: the outermost frame. */
	if (ASSERT_TRUE(elf_file__open(&f, path)) && ASSERT_NOT_NULL(gelf_getehdr(f.elf, &ehdr))) {
		ASSERT_EQ(cfi_table__find(t, ehdr.e_entry)->cfa_kind, CPROF_CFA_END);
		ASSERT_EQ(cfi_table__find(t, ehdr.e_entry + 4)->cfa_kind, CPROF_CFA_END);
	}
	elf_file__close(&f);
	check_plt(path, t);
	cfi_table__free(t);
}

static void test_liblzma(void)
{
	static const struct expect e = { ".eh_frame", CFI_TABLE_EH_FRAME, 1000 };
	struct cfi_table *t;

	if (access(LIBLZMA, R_OK) || run("command -v readelf >/dev/null"))
		TEST_SKIP("needs %s and readelf (binutils)", LIBLZMA);
	t = check_binary("liblzma.so.5", LIBLZMA, NULL, &e);
	if (!t)
		return;
	check_plt(LIBLZMA, t);
	cfi_table__free(t);
}

/* Frameless code, exceptions, alloca (a CFA on rbp), a realigned stack (a CFA expression). */
static const char cxx_source[] =
	"#include <alloca.h>\n"
	"#include <cstdio>\n"
	"#include <cstdlib>\n"
	"#include <map>\n"
	"#include <stdexcept>\n"
	"#include <string>\n"
	"#include <vector>\n"
	"struct Shape { virtual ~Shape() {} virtual long area(long) const = 0; };\n"
	"struct Square : Shape { long area(long x) const override {\n"
	"	std::vector<long> v(x % 17 + 1, x); long s = 0; for (long e : v) s += e * 3;\n"
	"	return s; } };\n"
	"struct Named : Shape { long area(long x) const override {\n"
	"	if (x % 13 == 0) throw std::runtime_error(\"thirteen\");\n"
	"	std::map<long, std::string> m; m[x] = std::to_string(x); return (long)m[x].size(); }\n"
	"};\n"
	"__attribute__((noinline)) long with_alloca(long n) {\n"
	"	char *p = (char *)alloca(n + 16); for (long i = 0; i < n; i++) p[i] = (char)i;\n"
	"	long s = 0; for (long i = 0; i < n; i++) s += p[i]; return s; }\n"
	"__attribute__((noinline)) long realigned(long n) {\n"
	"	alignas(64) char buf[256]; char *p = (char *)alloca(n + 1);\n"
	"	for (long i = 0; i < 256; i++) buf[i] = (char)(i * n);\n"
	"	p[0] = buf[n & 255]; __asm__ volatile(\"\" : : \"r\"(buf), \"r\"(p) : \"memory\");\n"
	"	return p[0] + buf[3]; }\n"
	"int main(int argc, char **argv) {\n"
	"	std::vector<Shape *> shapes; long total = 0;\n"
	"	for (int i = 0; i < argc + 20; i++) shapes.push_back(i % 2 ? (Shape *)new Square\n"
	"							: (Shape *)new Named);\n"
	"	for (size_t i = 0; i < shapes.size(); i++) {\n"
	"		try { total += shapes[i]->area((long)i); }\n"
	"		catch (const std::exception &e) { total += 1; }\n"
	"	}\n"
	"	total += with_alloca(argc + 40) + realigned(argc);\n"
	"	for (Shape *s : shapes) delete s;\n"
	"	std::printf(\"%ld %s\\n\", total, argv[0]);\n"
	"	return 0;\n"
	"}\n";

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	if (f)
		ok &= fclose(f) == 0;
	return ok;
}

static void test_cxx_omit_frame_pointer(void)
{
	static const struct expect e = { ".eh_frame", CFI_TABLE_EH_FRAME, 20 };
	char src[PATH_MAX], bin[PATH_MAX];
	struct cfi_table *t;

	if (run("command -v g++ >/dev/null && command -v readelf >/dev/null"))
		TEST_SKIP("needs g++ and readelf (packages g++, binutils)");
	snprintf(src, sizeof(src), "%s/shapes.cc", dir);
	snprintf(bin, sizeof(bin), "%s/shapes", dir);
	if (!ASSERT_TRUE(write_file(src, cxx_source)) ||
	    !ASSERT_OK(run("g++ -O2 -fomit-frame-pointer '%s' -o '%s'", src, bin)))
		return;
	t = check_binary("shapes (g++ -O2 -fomit-frame-pointer)", bin, NULL, &e);
	if (!t)
		return;
	ASSERT_GE(t->stats.rows_by_kind[CPROF_CFA_SP], 10);
	ASSERT_GE(t->stats.rows_by_kind[CPROF_CFA_FP], 1); /* alloca keeps a frame pointer */
	ASSERT_GE(t->stats.rows_by_kind[CPROF_CFA_UNSUPPORTED], 1); /* the realigned stack */
	check_plt(bin, t);
	cfi_table__free(t);
}

/* A program without .eh_frame: its CFI in .debug_frame, then only in its debug file. */
static const char debug_frame_source[] =
	"static volatile long sink;\n"
	"__attribute__((noinline)) static long leaf(long x) { return x * 7 + 1; }\n"
	"__attribute__((noinline)) static long deeper(long x) {\n"
	"	long a[32]; for (int i = 0; i < 32; i++) a[i] = leaf(x + i);\n"
	"	long s = 0; for (int i = 0; i < 32; i++) s += a[i] * a[(i * 7) & 31]; return s; }\n"
	"__attribute__((noinline)) static long framed(long x) {\n"
	"	char *p = __builtin_alloca(x & 63); p[0] = 1; sink = (long)p; return deeper(x) + p[0]; }\n"
	"void _start(void) {\n"
	"	sink = framed(sink) + deeper(3);\n"
	"	__asm__ volatile(\"mov $60, %%eax; xor %%edi, %%edi; syscall\" ::: \"memory\");\n"
	"	__builtin_unreachable();\n"
	"}\n";

static void test_debug_frame(void)
{
	static const struct expect own = { ".debug_frame", CFI_TABLE_DEBUG_FRAME, 4 };
	static const struct expect separate = { ".debug_frame", CFI_TABLE_DEBUG_FILE, 4 };
	char src[PATH_MAX], full[PATH_MAX], stripped[PATH_MAX], debug[PATH_MAX];
	struct elf_file f = { -1, NULL };
	struct cfi_table *t = NULL;

	if (run("command -v gcc >/dev/null && command -v objcopy >/dev/null && "
		"command -v readelf >/dev/null"))
		TEST_SKIP("needs gcc, objcopy and readelf (packages gcc, binutils)");
	snprintf(src, sizeof(src), "%s/debug_frame.c", dir);
	snprintf(full, sizeof(full), "%s/debug_frame", dir);
	snprintf(stripped, sizeof(stripped), "%s/debug_frame.stripped", dir);
	snprintf(debug, sizeof(debug), "%s/debug_frame.debug", dir);
	if (!ASSERT_TRUE(write_file(src, debug_frame_source)) ||
	    !ASSERT_OK(run("gcc -O2 -g -fomit-frame-pointer -fno-asynchronous-unwind-tables "
			   "-fno-unwind-tables -fno-stack-protector -nostdlib -static '%s' -o '%s'",
			   src, full)) ||
	    !ASSERT_OK(run("! readelf -SW '%s' | grep -q '\\.eh_frame ' && "
			   "objcopy --only-keep-debug '%s' '%s' && strip -o '%s' '%s'",
			   full, full, debug, stripped, full)))
		return;
	cfi_table__free(check_binary("debug_frame (own .debug_frame)", full, NULL, &own));
	cfi_table__free(check_binary("debug_frame (debug file)", stripped, debug, &separate));
	/* Stripped and no debug file: no CFI at all. */
	if (ASSERT_TRUE(elf_file__open(&f, stripped))) {
		ASSERT_EQ(cfi_table__build(f.elf, NULL, &t), -ENOENT);
		ASSERT_TRUE(t == NULL);
	}
	elf_file__close(&f);
}

/*
 * One shape of CFI per function, labels where a rule starts; a shared
 * object so that GNU ld adds a .plt and its CFI. The fuzz seeds in
 * tests/fuzz/corpus/cfi/ are this file, built as in test_shapes() with
 * -Wl,-z,max-page-size=16 -Wl,-z,common-page-size=16 -Wl,-z,norelro and
 * stripped (and once with ".cfi_sections .debug_frame" first).
 */
static const char shapes_source[] =
	"	.text\n"
	"	.globl frame_start, frame_pushed, frame_set, frame_popped\n"
	"	.type frame_start, @function\n"
	"frame_start:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"frame_pushed:\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	.cfi_rel_offset %rbp, 0\n"
	"	mov %rsp, %rbp\n"
	"frame_set:\n"
	"	.cfi_def_cfa_register %rbp\n"
	"	call ext@PLT\n"
	"	pop %rbp\n"
	"frame_popped:\n"
	"	.cfi_def_cfa %rsp, 8\n"
	"	.cfi_restore %rbp\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size frame_start, .-frame_start\n"
	"\n"
	"	.globl remember, remember_restored, remember_moved\n"
	"remember:\n"
	"	.cfi_startproc\n"
	"	sub $24, %rsp\n"
	"	.cfi_adjust_cfa_offset 24\n"
	"	test %rdi, %rdi\n"
	"	.cfi_remember_state\n"
	"	jz 1f\n"
	"	add $24, %rsp\n"
	"	.cfi_adjust_cfa_offset -24\n"
	"	ret\n"
	"1:\n"
	"remember_restored:\n"
	"	.cfi_restore_state\n"
	"	mov %rbp, %r9\n"
	"remember_moved:\n"
	"	.cfi_register %rbp, %r9\n"
	"	add $24, %rsp\n"
	"	.cfi_adjust_cfa_offset -24\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"\n"
	"	.globl drap\n"
	"drap:\n"
	"	.cfi_startproc\n"
	"	/* DW_CFA_def_cfa_expression: DW_OP_breg6 -8; DW_OP_deref (gcc's realigned stack) */\n"
	"	.cfi_escape 0x0f, 0x03, 0x76, 0x78, 0x06\n"
	"	nop\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"\n"
	"	.globl gap\n"
	"gap:\n"
	"	nop\n"
	"	nop\n"
	"	nop\n"
	"\n"
	"	.globl outermost\n"
	"outermost:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined %rip\n"
	"	xor %ebp, %ebp\n"
	"	hlt\n"
	"	.cfi_endproc\n"
	"\n"
	"	nop\n"
	"	.globl restorer\n"
	"restorer:\n"
	"	.cfi_startproc simple\n"
	"	.cfi_signal_frame\n"
	"	.cfi_def_cfa %rsp, 8\n"
	"	mov $15, %eax\n"
	"	syscall\n"
	"	.cfi_endproc\n"
	"\n"
	"	.globl plt_like\n"
	"plt_like:\n"
	"	.cfi_startproc\n"
	"	/* GNU ld's lazy .plt CFA: breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus */\n"
	"	.cfi_escape 0x0f, 0x0b, 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22\n"
	"	jmp *0(%rip)\n"
	"	.cfi_endproc\n"
	"\n"
	"	.globl plt_ibt\n"
	"plt_ibt:\n"
	"	.cfi_startproc\n"
	"	/* The IBT variant (lit9): CPROF_CFA_PLT's threshold is 11 */\n"
	"	.cfi_escape 0x0f, 0x0b, 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x39, 0x2a, 0x33, 0x24, 0x22\n"
	"	jmp *0(%rip)\n"
	"	.cfi_endproc\n"
	"\n"
	"	.globl odd, odd_far_rbp, odd_huge_cfa, odd_ra_elsewhere\n"
	"odd:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	.cfi_offset %rbp, -40000\n"
	"odd_far_rbp:\n"
	"	nop\n"
	"	/* DW_CFA_def_cfa_offset 1 << 33 */\n"
	"	.cfi_escape 0x0e, 0x80, 0x80, 0x80, 0x80, 0x20\n"
	"odd_huge_cfa:\n"
	"	nop\n"
	"	.cfi_def_cfa_offset 16\n"
	"	.cfi_offset %rip, -16\n"
	"odd_ra_elsewhere:\n"
	"	nop\n"
	"	ret\n"
	"	.cfi_endproc\n";

/* The value of the symbol name in elf's .symtab, or false. */
static bool symbol_value(Elf *elf, const char *name, uint64_t *ret)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB ||
		    !(data = elf_getdata(scn, NULL)) || !shdr.sh_entsize)
			continue;
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (gelf_getsym(data, (int)i, &sym) &&
			    (n = elf_strptr(elf, shdr.sh_link, sym.st_name)) && !strcmp(n, name)) {
				*ret = sym.st_value;
				return true;
			}
		}
	}
	return false;
}

struct shape {
	const char *label;
	struct cprof_unwind_rule rule;
};

static void test_shapes(void)
{
	static const struct shape shapes[] = {
		{ "frame_start", { 8, 0, CPROF_CFA_SP, CPROF_FP_SAME } },
		{ "frame_pushed", { 16, -16, CPROF_CFA_SP, CPROF_FP_AT_CFA } },
		{ "frame_set", { 16, -16, CPROF_CFA_FP, CPROF_FP_AT_CFA } },
		{ "frame_popped", { 8, 0, CPROF_CFA_SP, CPROF_FP_SAME } },
		{ "remember", { 8, 0, CPROF_CFA_SP, CPROF_FP_SAME } },
		{ "remember_restored", { 32, 0, CPROF_CFA_SP, CPROF_FP_SAME } },
		{ "remember_moved", { 32, 0, CPROF_CFA_SP, CPROF_FP_UNSUPPORTED } },
		{ "drap", { 0, 0, CPROF_CFA_UNSUPPORTED, 0 } },
		{ "gap", { 0, 0, CPROF_CFA_NONE, 0 } },
		{ "outermost", { 0, 0, CPROF_CFA_END, 0 } },
		{ "restorer", { 0, 0, CPROF_CFA_SIGNAL, 0 } },
		{ "plt_like", { 0, 0, CPROF_CFA_PLT, CPROF_FP_SAME } },
		{ "plt_ibt", { 0, 0, CPROF_CFA_UNSUPPORTED, 0 } },
		{ "odd_far_rbp", { 16, 0, CPROF_CFA_SP, CPROF_FP_UNSUPPORTED } },
		{ "odd_huge_cfa", { 0, 0, CPROF_CFA_UNSUPPORTED, 0 } },
		{ "odd_ra_elsewhere", { 0, 0, CPROF_CFA_UNSUPPORTED, 0 } },
	};
	static const struct cprof_unwind_rule none = { 0 };
	char src[PATH_MAX], so[PATH_MAX];
	struct elf_file f = { -1, NULL };
	struct readelf_cfi readelf = { 0 };
	struct cfi_table *t = NULL;
	struct range segs[16], text;
	struct checker k = { .name = "shapes.so" };
	Dwarf_CFI *cfi = NULL;
	size_t n_segs;

	if (run("command -v gcc >/dev/null && command -v readelf >/dev/null"))
		TEST_SKIP("needs gcc and readelf (packages gcc, binutils)");
	snprintf(src, sizeof(src), "%s/shapes.S", dir);
	snprintf(so, sizeof(so), "%s/shapes.so", dir);
	if (!ASSERT_TRUE(write_file(src, shapes_source)) ||
	    !ASSERT_OK(
		    run("gcc -nostdlib -shared -fPIC -Wl,--build-id=none '%s' -o '%s'", src, so)) ||
	    !ASSERT_TRUE(elf_file__open(&f, so)) || !ASSERT_OK(cfi_table__build(f.elf, NULL, &t)))
		goto out;
	check_invariants(t);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct cprof_unwind_rule *got;
		uint64_t vaddr;

		if (!ASSERT_TRUE(symbol_value(f.elf, shapes[i].label, &vaddr)))
			continue;
		got = cfi_table__find(t, vaddr);
		if (!same_rule(got, &shapes[i].rule)) {
			char want[64], have[64];

			format_rule(&shapes[i].rule, want, sizeof(want));
			format_rule(got, have, sizeof(have));
			TEST_FAIL_AT("%s: want %s, table has %s", shapes[i].label, want, have);
		}
	}
	/* Every byte of the text and the .plt against libdw; rule 0 past them. */
	n_segs = exec_segments(f.elf, segs, 16);
	cfi = dwarf_getcfi_elf(f.elf);
	if (!ASSERT_NOT_NULL(cfi) || !ASSERT_TRUE(section_range(f.elf, ".text", &text)) ||
	    !ASSERT_TRUE(readelf_cfi__read(&readelf, so, ".eh_frame", segs, n_segs, NULL)))
		goto out;
	k.table = t;
	k.cfi = cfi;
	k.readelf = &readelf;
	for (uint64_t a = t->base_vaddr; a < text.end + 64; a++)
		check_address(&k, a, "bytewise");
	ASSERT_TRUE(same_rule(cfi_table__find(t, text.end), &none));
	ASSERT_EQ(k.mismatches, 0);
	printf("# shapes.so: %u rows, %u rules, %zu addresses checked\n", t->n_rows, t->n_rules,
	       k.checked);
out:
	readelf_cfi__free(&readelf);
	if (cfi)
		dwarf_cfi_end(cfi);
	cfi_table__free(t);
	elf_file__close(&f);
}

/*
 * Bounds: one FDE of many rows (each a DW_CFA_advance_loc and a
 * DW_CFA_def_cfa_offset) costs libdw the whole FDE per row. A few
 * hundred rows are built and right; tens of thousands pass the work
 * bound and the file is refused quickly.
 */
static bool write_many_rows(const char *path, int rows)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	fprintf(f, "\t.text\n\t.globl many\nmany:\n\t.cfi_startproc\n");
	fprintf(f,
		"\t.rept %d\n\tnop\n\t.cfi_adjust_cfa_offset 8\n\tnop\n"
		"\t.cfi_adjust_cfa_offset -8\n\t.endr\n\tret\n\t.cfi_endproc\n",
		rows / 2);
	ok = !ferror(f);
	return fclose(f) == 0 && ok;
}

static void test_bounds(void)
{
	char src[PATH_MAX], so[PATH_MAX];
	struct elf_file f = { -1, NULL };
	struct cfi_table *t = NULL;
	uint64_t start_ns, many;
	int err;

	if (run("command -v gcc >/dev/null"))
		TEST_SKIP("needs gcc");
	snprintf(src, sizeof(src), "%s/many.S", dir);
	snprintf(so, sizeof(so), "%s/many.so", dir);

	if (!ASSERT_TRUE(write_many_rows(src, 600)) ||
	    !ASSERT_OK(run("gcc -nostdlib -shared '%s' -o '%s'", src, so)) ||
	    !ASSERT_TRUE(elf_file__open(&f, so)))
		return;
	if (ASSERT_OK(cfi_table__build(f.elf, NULL, &t)) &&
	    ASSERT_TRUE(symbol_value(f.elf, "many", &many))) {
		/* 600 rows alternating sp+8, sp+16, then the final ret at sp+8 and the end. */
		ASSERT_GE(t->n_rows, 600);
		for (int i = 0; i < 600; i++)
			ASSERT_EQ(cfi_table__find(t, many + i)->cfa_offset, i % 2 ? 16 : 8);
		check_invariants(t);
	}
	cfi_table__free(t);
	t = NULL;
	elf_file__close(&f);

	if (!ASSERT_TRUE(write_many_rows(src, 200000)) ||
	    !ASSERT_OK(run("gcc -nostdlib -shared '%s' -o '%s'", src, so)) ||
	    !ASSERT_TRUE(elf_file__open(&f, so)))
		return;
	start_ns = now_ns();
	err = cfi_table__build(f.elf, NULL, &t);
	printf("# 200000 rows in one FDE: %d (%s) in %.1f ms\n", err, strerror(-err),
	       (now_ns() - start_ns) / 1e6);
	ASSERT_EQ(err, -E2BIG);
	ASSERT_TRUE(t == NULL);
	ASSERT_TRUE(now_ns() - start_ns < 5000000000ull);
	elf_file__close(&f);
}

/* Files the builder must refuse, with the errno its header promises; *ret_table untouched. */
static void test_refusals(void)
{
	struct cfi_table *t = (struct cfi_table *)&t;
	char src[PATH_MAX], obj[PATH_MAX];
	struct elf_file f = { -1, NULL };
	char *copy = NULL;
	size_t size = 0;
	FILE *in;
	Elf *elf;

	ASSERT_EQ(cfi_table__build(NULL, NULL, &t), -EINVAL);
	cfi_table__free(NULL);
	ASSERT_TRUE(cfi_table__find(NULL, 0) == NULL);
	ASSERT_EQ(cfi_table__memory(NULL), 0);

	/* Another machine: libc with e_machine patched to aarch64, read from memory. */
	in = fopen(LIBC, "rb");
	if (in) {
		copy = malloc(4 << 20);
		size = copy ? fread(copy, 1, 4 << 20, in) : 0;
		fclose(in);
	}
	if (copy && size > sizeof(Elf64_Ehdr)) {
		((Elf64_Ehdr *)copy)->e_machine = EM_AARCH64;
		elf = elf_memory(copy, size);
		if (ASSERT_NOT_NULL(elf)) {
			ASSERT_EQ(cfi_table__build(elf, NULL, &t), -ENOTSUP);
			elf_end(elf);
		}
		/* Not an ELF file at all. */
		memcpy(copy,
		       "\x7f"
		       "ELG",
		       4);
		elf = elf_memory(copy, size);
		if (elf) {
			ASSERT_EQ(cfi_table__build(elf, NULL, &t), -EINVAL);
			elf_end(elf);
		}
	}
	free(copy);

	/* An object file: relocatable, its FDE addresses are not addresses yet. */
	snprintf(src, sizeof(src), "%s/object.c", dir);
	snprintf(obj, sizeof(obj), "%s/object.o", dir);
	if (write_file(src, "int f(int x) { return x + 1; }\n") &&
	    run("gcc -O2 -c '%s' -o '%s'", src, obj) == 0 && elf_file__open(&f, obj)) {
		ASSERT_EQ(cfi_table__build(f.elf, NULL, &t), -EINVAL);
		elf_file__close(&f);
	}
	ASSERT_TRUE(t == (struct cfi_table *)&t);
}

int main(void)
{
	elf_version(EV_CURRENT);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(test_libc);
	RUN_TEST(test_python);
	RUN_TEST(test_liblzma);
	RUN_TEST(test_cxx_omit_frame_pointer);
	RUN_TEST(test_debug_frame);
	RUN_TEST(test_shapes);
	RUN_TEST(test_bounds);
	RUN_TEST(test_refusals);
	if (run("rm -rf '%s'", dir))
		printf("# %s\n", why);
	return TEST_SUMMARY();
}
