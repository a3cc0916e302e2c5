// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "file_rows.h"

#include <errno.h>
#include <stdlib.h>

size_t file_rows__exec_segments(Elf *elf, struct file_segment *segs)
{
	size_t n_phdrs, n = 0;

	if (elf_getphdrnum(elf, &n_phdrs))
		return 0;
	for (size_t i = 0; i < n_phdrs && n < FILE_ROWS_MAX_SEGMENTS; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			segs[n++] = (struct file_segment){ ph.p_vaddr, ph.p_offset, ph.p_filesz };
	}
	return n;
}

static int row_by_address(const void *a, const void *b)
{
	const struct cprof_unwind_row *x = a, *y = b;

	return x->address < y->address ? -1 : x->address > y->address;
}

int file_rows__by_offset(const struct cfi_table *table, const struct file_segment *segs,
			 size_t n_segs, struct cprof_unwind_row **ret_rows, size_t *ret_n_rows)
{
	const struct cprof_unwind_row *rows = table->rows;
	size_t n = table->n_rows, out = 0;
	uint64_t base = table->base_vaddr;
	struct cprof_unwind_row *keyed;

	*ret_rows = NULL;
	*ret_n_rows = 0;
	keyed = malloc((n ? n : 1) * sizeof(*keyed));
	if (!keyed)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t vaddr = base + rows[i].address, offset = UINT64_MAX;

		for (size_t s = 0; s < n_segs; s++)
			if (vaddr >= segs[s].vaddr && vaddr < segs[s].vaddr + segs[s].size)
				offset = vaddr - segs[s].vaddr + segs[s].offset;
		if (offset > UINT32_MAX)
			continue;
		keyed[out++] = (struct cprof_unwind_row){ (uint32_t)offset, rows[i].rule };
	}
	if (!out) {
		free(keyed);
		return -ENOENT;
	}
	/* Segments need not be in address order of their offsets: sort once keyed. */
	qsort(keyed, out, sizeof(*keyed), row_by_address);
	*ret_rows = keyed;
	*ret_n_rows = out;
	return 0;
}
