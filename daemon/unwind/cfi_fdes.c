// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cfi_fdes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdw.h>

#include "cfi_table.h"
#include "util/array.h"

/* DW_EH_PE_* pointer encodings (LSB 3.0, .eh_frame), as far as FDE addresses use them. */
#define PE_OMIT 0xff
#define PE_FORMAT_MASK 0x0f
#define PE_APPLICATION_MASK 0x70
#define PE_INDIRECT 0x80
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10

/* The CIE the last FDE referred to: FDEs of a file share a few. */
struct cie_cache {
	Dwarf_Off offset;
	bool valid; /* offset holds a CIE whose encoding was understood */
	bool known; /* offset was looked at */
	uint8_t encoding; /* of the FDEs' initial location and range */
	uint64_t initial_bytes;
};

/*
 * Reads a LEB128 of at most 10 bytes, sign-extended if sign; bits past 64
 * are dropped.
 */
static int read_leb(const uint8_t **p, const uint8_t *end, bool sign, uint64_t *ret)
{
	uint64_t value = 0;

	for (unsigned int shift = 0; *p < end && shift < 70; shift += 7) {
		uint8_t byte = *(*p)++;

		if (shift < 64)
			value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			if (sign && shift + 7 < 64 && (byte & 0x40))
				value |= ~0ull << (shift + 7);
			*ret = value;
			return 0;
		}
	}
	return -EINVAL;
}

/* Reads n little-endian bytes as an unsigned value, sign-extended if sign. */
static int read_fixed(const uint8_t **p, const uint8_t *end, size_t n, bool sign, uint64_t *ret)
{
	uint64_t value = 0;

	if ((size_t)(end - *p) < n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		value |= (uint64_t)(*p)[i] << (8 * i);
	if (sign && n < 8 && (value >> (8 * n - 1)) & 1)
		value |= ~0ull << (8 * n);
	*p += n;
	*ret = value;
	return 0;
}

/*
 * Reads a pointer in DW_EH_PE encoding at *p, which is at vaddr field_vaddr.
 * Only absolute and pc-relative pointers occur in FDE headers of x86-64
 * files; others (text-, data-, function-relative, aligned, indirect) are
 * refused.
 */
static int read_encoded(const uint8_t **p, const uint8_t *end, uint8_t encoding,
			uint64_t field_vaddr, uint64_t *ret)
{
	uint64_t value;
	int err;

	if (encoding == PE_OMIT || (encoding & PE_INDIRECT))
		return -EINVAL;
	switch (encoding & PE_FORMAT_MASK) {
	case PE_ABSPTR:
	case PE_UDATA8:
	case PE_SDATA8:
		err = read_fixed(p, end, 8, false, &value);
		break;
	case PE_UDATA2:
	case PE_SDATA2:
		err = read_fixed(p, end, 2, (encoding & PE_FORMAT_MASK) == PE_SDATA2, &value);
		break;
	case PE_UDATA4:
	case PE_SDATA4:
		err = read_fixed(p, end, 4, (encoding & PE_FORMAT_MASK) == PE_SDATA4, &value);
		break;
	case PE_ULEB128:
		err = read_leb(p, end, false, &value);
		break;
	case PE_SLEB128:
		err = read_leb(p, end, true, &value);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	switch (encoding & PE_APPLICATION_MASK) {
	case 0:
		break;
	case PE_PCREL:
		value += field_vaddr;
		break;
	default:
		return -EINVAL;
	}
	*ret = value;
	return 0;
}

/*
 * The encoding of the FDE addresses of cie: from its 'R' augmentation, else
 * absolute. 'P' (personality pointer) and 'L' (LSDA encoding) come before
 * it and are skipped; an augmentation this does not know ends the walk.
 */
static int cie_fde_encoding(const Dwarf_CIE *cie, uint8_t *ret_encoding)
{
	const char *aug = cie->augmentation ? cie->augmentation : "";
	const uint8_t *p = cie->augmentation_data;
	const uint8_t *end = p ? p + cie->augmentation_data_size : NULL;

	if (aug[0] == '\0') {
		*ret_encoding = PE_ABSPTR;
		return 0;
	}
	if (aug[0] != 'z' || !p)
		return -EINVAL;
	for (const char *c = aug + 1; *c; c++) {
		uint8_t encoding;
		uint64_t ignored;

		switch (*c) {
		case 'R':
			if (p >= end)
				return -EINVAL;
			*ret_encoding = *p;
			return 0;
		case 'L':
			if (p >= end)
				return -EINVAL;
			p++;
			break;
		case 'P':
			if (p >= end)
				return -EINVAL;
			encoding = *p++;
			/* The personality may be indirect; only its size matters here. */
			if (read_encoded(&p, end, encoding & ~PE_INDIRECT & ~PE_APPLICATION_MASK, 0,
					 &ignored))
				return -EINVAL;
			break;
		case 'S':
		case 'B':
		case 'G':
			break; /* no data */
		default:
			return -EINVAL;
		}
	}
	*ret_encoding = PE_ABSPTR;
	return 0;
}

/* What reading one section needs beside the entry at hand. */
struct reader {
	struct cfi_fdes *list;
	const struct cfi_segment *segments;
	size_t n_segments;
};

static bool inside_segments(const struct reader *r, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < r->n_segments; i++)
		if (start >= r->segments[i].start && end <= r->segments[i].end)
			return true;
	return false;
}

/* Looks up the CIE at offset for the FDE being read, through the one-entry cache. */
static const struct cie_cache *lookup_cie(const unsigned char *ident, Elf_Data *data, bool eh_frame,
					  Dwarf_Off offset, struct cie_cache *cache)
{
	Dwarf_CFI_Entry entry;
	Dwarf_Off next;

	if (cache->known && cache->offset == offset)
		return cache;
	cache->known = true;
	cache->offset = offset;
	cache->valid = false;
	if (offset >= data->d_size ||
	    dwarf_next_cfi(ident, data, eh_frame, offset, &next, &entry) != 0 ||
	    !dwarf_cfi_cie_p(&entry) || cie_fde_encoding(&entry.cie, &cache->encoding))
		return cache;
	cache->initial_bytes =
		(uint64_t)(entry.cie.initial_instructions_end - entry.cie.initial_instructions);
	cache->valid = true;
	return cache;
}

/* Decodes one FDE's range and keeps it if it lies inside an executable segment. */
static int add_fde(struct reader *r, const Dwarf_FDE *fde, const struct cie_cache *cie,
		   uint64_t field_vaddr)
{
	struct cfi_fdes *list = r->list;
	const uint8_t *p = fde->start;
	uint64_t start, range, end;
	int err;

	if (!cie->valid || fde->end < fde->start ||
	    read_encoded(&p, fde->end, cie->encoding, field_vaddr, &start) ||
	    read_encoded(&p, fde->end, cie->encoding & PE_FORMAT_MASK, 0, &range) || !range ||
	    __builtin_add_overflow(start, range, &end) || !inside_segments(r, start, end)) {
		r->list->skipped++;
		return 0;
	}
	err = array__reserve(list->fdes, sizeof(*list->fdes), &list->capacity, list->n_fdes, 1,
			     1024, CFI_TABLE_MAX_FDES, (void **)&list->fdes);
	if (err)
		return err;
	list->fdes[list->n_fdes++] = (struct cfi_fde){
		.start = start,
		.end = end,
		.cost = cie->initial_bytes + (uint64_t)(fde->end - fde->start),
	};
	return 0;
}

/* The data of the first section of elf named one of names (not NOBITS, not compressed). */
static Elf_Data *section_data(Elf *elf, const char *const *names, uint64_t *ret_vaddr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS ||
		    (shdr.sh_flags & SHF_COMPRESSED) ||
		    !(name = elf_strptr(elf, shstrndx, shdr.sh_name)))
			continue;
		for (const char *const *n = names; *n; n++) {
			if (strcmp(name, *n))
				continue;
			data = elf_getdata(scn, NULL);
			if (!data || !data->d_buf || !data->d_size)
				return NULL;
			*ret_vaddr = shdr.sh_addr;
			return data;
		}
	}
	return NULL;
}

static int compare_fdes(const void *a, const void *b)
{
	const struct cfi_fde *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1; /* the longer first: it wins */
	return 0;
}

int cfi_fdes__read(struct cfi_fdes *list, Elf *elf, const char *const *names, bool eh_frame,
		   const struct cfi_segment *segments, size_t n_segments)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	struct reader r = { .list = list, .segments = segments, .n_segments = n_segments };
	struct cie_cache cie = { 0 };
	uint64_t section_vaddr = 0;
	Elf_Data *data = section_data(elf, names, &section_vaddr);
	Dwarf_Off offset = 0;

	list->n_fdes = 0;
	list->skipped = 0;
	list->section_bytes = 0;
	if (!ident || !data)
		return 0;
	list->section_bytes = data->d_size;
	while (offset < data->d_size) {
		Dwarf_CFI_Entry entry;
		Dwarf_Off next = offset;
		uint64_t field_vaddr;
		int err, ret = dwarf_next_cfi(ident, data, eh_frame, offset, &next, &entry);

		if (ret > 0)
			break;
		if (ret < 0) {
			/* libdw moves next past an entry it could not read only if it is safe. */
			if (next == (Dwarf_Off)-1 || next <= offset)
				break;
			list->skipped++;
			offset = next;
			continue;
		}
		if (next <= offset)
			break;
		offset = next;
		if (dwarf_cfi_cie_p(&entry))
			continue;
		field_vaddr = section_vaddr + (uint64_t)(entry.fde.start - (uint8_t *)data->d_buf);
		err = add_fde(&r, &entry.fde,
			      lookup_cie(ident, data, eh_frame, entry.fde.CIE_pointer, &cie),
			      field_vaddr);
		if (err)
			return err;
	}
	if (list->n_fdes) /* fdes is NULL until the first one */
		qsort(list->fdes, list->n_fdes, sizeof(*list->fdes), compare_fdes);
	return 0;
}

void cfi_fdes__release(struct cfi_fdes *list)
{
	free(list->fdes);
	memset(list, 0, sizeof(*list));
}
