// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the CFI table builder (daemon/unwind/cfi_table.c): the input is
 * written to a scratch file and opened as an ELF file, as the daemon opens
 * a binary a target maps (any file at all), and a table is built from it;
 * then again with a second Elf of the same file as its separate debug
 * file, so the .debug_frame paths run when there is no .eh_frame. A table
 * built must keep the header's promises: rows sorted from 0, rule indices
 * in range, rule 0 "no CFI" and the last row's, every lookup a rule of the
 * table, and a page index that points at the right rows.
 *
 * Seeds (corpus/cfi/): the assembly of tests/unit/test_cfi_table.c (one
 * shape of CFI per function, a .plt) built small as a stripped shared
 * object, once with .eh_frame and once with .debug_frame; and the
 * .eh_frame and .debug_frame seeds of corpus/leaf_unwind/.
 */
#include <gelf.h>

#include "fuzz.h"
#include "unwind/cfi_table.h"

static char *binary_path;

static void remove_scratch(void)
{
	fuzz__remove_scratch(binary_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	binary_path = fuzz__scratch_path("binary");
	atexit(remove_scratch);
	elf_version(EV_CURRENT);
	return 0;
}

static void check_table(const struct cfi_table *t)
{
	struct cprof_unwind_page *pages;
	uint32_t n_pages, last;

	FUZZ_CHECK(t->n_rows >= 2 && t->n_rows <= CFI_TABLE_MAX_ROWS);
	FUZZ_CHECK(t->n_rules >= 2 && t->n_rules <= CFI_TABLE_MAX_RULES);
	FUZZ_CHECK(t->rules[0].cfa_kind == CPROF_CFA_NONE && t->rules[0].cfa_offset == 0 &&
		   t->rules[0].fp_kind == 0 && t->rules[0].fp_offset == 0);
	FUZZ_CHECK(t->rows[0].address == 0 && t->rows[t->n_rows - 1].rule == 0);
	for (uint32_t i = 0; i < t->n_rows; i++) {
		FUZZ_CHECK(t->rows[i].rule < t->n_rules);
		if (i)
			FUZZ_CHECK(t->rows[i].address > t->rows[i - 1].address &&
				   t->rows[i].rule != t->rows[i - 1].rule);
	}
	for (uint32_t i = 1; i < t->n_rules; i++)
		FUZZ_CHECK(t->rules[i].cfa_kind > CPROF_CFA_NONE &&
			   t->rules[i].cfa_kind <= CPROF_CFA_UNSUPPORTED &&
			   t->rules[i].fp_kind <= CPROF_FP_UNSUPPORTED);
	/* Lookups at each row's first byte find its rule; outside, rule 0. */
	for (uint32_t i = 0; i < t->n_rows && i < 4096; i++)
		FUZZ_CHECK(cfi_table__find(t, t->base_vaddr + t->rows[i].address) ==
			   &t->rules[t->rows[i].rule]);
	FUZZ_CHECK(cfi_table__find(t, t->base_vaddr - 1) == &t->rules[0] || t->base_vaddr == 0);
	FUZZ_CHECK(cfi_table__find(t, UINT64_MAX) == &t->rules[0]);
	FUZZ_CHECK(cfi_table__memory(t) >= (size_t)t->n_rows * sizeof(t->rows[0]));

	n_pages = cfi_table__n_pages(t->rows, t->n_rows);
	last = t->rows[t->n_rows - 1].address;
	FUZZ_CHECK(n_pages == (last >> CPROF_UNWIND_PAGE_SHIFT) + 1);
	pages = calloc(n_pages, sizeof(*pages));
	if (!pages)
		return;
	cfi_table__page_index(t->rows, t->n_rows, pages, n_pages);
	for (uint32_t k = 0; k < n_pages; k++) {
		uint64_t page_start = (uint64_t)k << CPROF_UNWIND_PAGE_SHIFT;
		uint32_t first = pages[k].first_row, end = pages[k].end_row;

		FUZZ_CHECK(first <= end && end <= t->n_rows);
		/* The first row covers the page's start; the end is the next page's first row. */
		FUZZ_CHECK(first == 0 || t->rows[first].address <= page_start);
		FUZZ_CHECK(first + 1 >= t->n_rows || t->rows[first + 1].address > page_start);
		FUZZ_CHECK(end == t->n_rows ||
			   t->rows[end].address >= page_start + (1u << CPROF_UNWIND_PAGE_SHIFT));
		FUZZ_CHECK(end == 0 ||
			   t->rows[end - 1].address < page_start + (1u << CPROF_UNWIND_PAGE_SHIFT));
	}
	free(pages);
}

static void build(Elf *elf, Elf *debug_elf)
{
	struct cfi_table *t = NULL;
	int err = cfi_table__build(elf, debug_elf, &t);

	FUZZ_CHECK(err == 0 || err == -ENOENT || err == -EINVAL || err == -ENOTSUP ||
		   err == -E2BIG || err == -ENOMEM);
	if (err) {
		FUZZ_CHECK(t == NULL);
		return;
	}
	FUZZ_CHECK(t != NULL);
	check_table(t);
	cfi_table__free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd, debug_fd;
	Elf *elf, *debug_elf;

	fuzz__write_file(binary_path, data, size);
	fd = open(binary_path, O_RDONLY | O_CLOEXEC);
	debug_fd = open(binary_path, O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && debug_fd >= 0);
	/* Read, not mmap, as the daemon's loader may read files a target can truncate. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	debug_elf = elf_begin(debug_fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		build(elf, NULL);
		if (debug_elf)
			build(elf, debug_elf);
	}
	if (debug_elf)
		elf_end(debug_elf);
	if (elf)
		elf_end(elf);
	close(debug_fd);
	close(fd);
	return 0;
}
