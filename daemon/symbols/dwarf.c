/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DWARF units: reading a binary's debug sections through libdw, the index
 * of its compile units' address ranges built up front, and each unit's
 * index of functions (and of the scopes that name them), built, with an
 * estimate of what libdw parsed, the first time an address falls in it.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolizer_impl.h"
#include "util/array.h"

#define MAX_CU_RANGES (4u << 20)
/*
 * Code ranges of one unit's functions in its index; a big C++ unit has tens
 * of thousands. Past this the unit goes without an index.
 */
#define MAX_UNIT_FUNCTION_RANGES (1u << 20)
/*
 * What libdw builds for a unit the first time it is used, per line-table row
 * and per file (struct Dwarf_Line_s and Dwarf_Fileinfo_s in libdw 0.188 are
 * 40 and 24 bytes, plus malloc overhead), and per unit (abbreviations, unit
 * structure).
 */
#define DWARF_BYTES_PER_LINE 48
#define DWARF_BYTES_PER_FILE 48
#define DWARF_BYTES_PER_UNIT 2048

static bool is_debug_section(const char *name)
{
	return strncmp(name, ".debug_", 7) == 0 || strncmp(name, ".zdebug_", 8) == 0;
}

/*
 * Bytes libdw would read for f's debug sections, decompressed; sets
 * *ret_has_info when there is a .debug_info with bytes in the file.
 */
int elf_file__dwarf_bytes(struct elf_file *f, uint64_t *ret_bytes, bool *ret_has_info)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, count = 0;
	uint64_t total = 0;
	bool has_info = false;

	if (elf_getshdrstrndx(f->elf, &shstrndx) < 0)
		return -ENOEXEC;
	while ((scn = elf_nextscn(f->elf, scn)) && count++ < MAX_SECTIONS) {
		GElf_Shdr shdr;
		const char *name;
		uint64_t size;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(f->elf, shstrndx, shdr.sh_name);
		if (!name || !is_debug_section(name))
			continue;
		size = shdr.sh_size;
		if (shdr.sh_flags & SHF_COMPRESSED) {
			GElf_Chdr chdr;

			if (!gelf_getchdr(scn, &chdr))
				return -ENOEXEC;
			size += chdr.ch_size;
		} else if (name[1] == 'z') {
			/* Old-style .zdebug: the size is in the data; assume a 4x ratio. */
			size *= 5;
		}
		if (size > MAX_DWARF_BYTES || total + size > MAX_DWARF_BYTES)
			return -EFBIG;
		total += size;
		if (strcmp(name, ".debug_info") == 0 && shdr.sh_size > 0)
			has_info = true;
	}
	*ret_bytes = total;
	*ret_has_info = has_info;
	return 0;
}

static int cu_range_compare(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	if (x->low != y->low)
		return x->low < y->low ? -1 : 1;
	return x->high < y->high ? -1 : x->high > y->high;
}

/* Indexes the address ranges of every compile unit of b->dwarf. */
static int build_cu_index(struct binary *b)
{
	size_t ranges_capacity = 0, units_capacity = 0;
	Dwarf_CU *cu = NULL;
	void *grown;
	int err;
	Dwarf_Die cudie, subdie;
	uint8_t unit_type;
	Dwarf_Half version;

	while (dwarf_get_units(b->dwarf, cu, &cu, &version, &unit_type, &cudie, &subdie) == 0) {
		Dwarf_Addr base, low, high;
		ptrdiff_t offset = 0;

		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		err = array__reserve(b->dwarf_units, sizeof(*b->dwarf_units), &units_capacity,
				     b->n_dwarf_units, 1, 64, MAX_CU_RANGES, &grown);
		if (err)
			return err;
		b->dwarf_units = grown;
		b->dwarf_units[b->n_dwarf_units] = (struct dwarf_unit){
			.die_offset = dwarf_dieoffset(&cudie),
		};
		while ((offset = dwarf_ranges(&cudie, offset, &base, &low, &high)) > 0) {
			if (high <= low)
				continue;
			err = array__reserve(b->cu_ranges, sizeof(*b->cu_ranges), &ranges_capacity,
					     b->n_cu_ranges, 1, 256, MAX_CU_RANGES, &grown);
			if (err)
				return err;
			b->cu_ranges = grown;
			b->cu_ranges[b->n_cu_ranges++] = (struct cu_range){
				.low = low,
				.high = high,
				.unit = (uint32_t)b->n_dwarf_units,
			};
		}
		b->n_dwarf_units++;
	}
	if (b->n_cu_ranges == 0)
		return -ENOENT;
	qsort(b->cu_ranges, b->n_cu_ranges, sizeof(*b->cu_ranges), cu_range_compare);
	return 0;
}

void binary__clear_dwarf(struct binary *b)
{
	size_t i;

	for (i = 0; i < b->n_dwarf_units; i++) {
		free(b->dwarf_units[i].functions);
		free(b->dwarf_units[i].scoped);
	}
	if (b->dwarf)
		dwarf_end(b->dwarf);
	if (b->dwarf_elf)
		elf_end(b->dwarf_elf);
	free(b->cu_ranges);
	free(b->dwarf_units);
	b->dwarf = NULL;
	b->dwarf_elf = NULL;
	b->dwarf_bytes = 0;
	b->cu_ranges = NULL;
	b->n_cu_ranges = 0;
	b->dwarf_units = NULL;
	b->n_dwarf_units = 0;
	b->dwarf_parsed_bytes = 0;
}

/*
 * Reads the DWARF of f (its own, or its debug file's) into b, taking f's ELF
 * handle; f's file is let go once libdw has read the sections. Without
 * usable DWARF b is left without, and f is closed: not an error.
 */
int binary__load_dwarf(struct binary *b, struct elf_file *f, size_t max_bytes)
{
	uint64_t bytes;
	bool has_info;
	int err;

	if (elf_file__dwarf_bytes(f, &bytes, &has_info) || !has_info || bytes > max_bytes) {
		elf_file__close(f);
		return 0;
	}
	b->dwarf = dwarf_begin_elf(f->elf, DWARF_C_READ, NULL);
	if (!b->dwarf) {
		elf_file__close(f);
		return 0;
	}
	/* Every debug section is in memory now: the file is no longer needed. */
	b->dwarf_elf = f->elf;
	elf_cntl(f->elf, ELF_C_FDDONE);
	close(f->fd);
	f->elf = NULL;
	f->fd = -1;
	b->dwarf_bytes = bytes;
	err = build_cu_index(b);
	if (err) {
		binary__clear_dwarf(b);
		return err == -ENOMEM ? err : 0;
	}
	return 0;
}

/* The compile unit covering vaddr, or NULL. */
struct dwarf_unit *binary__find_unit(const struct binary *b, uint64_t vaddr)
{
	size_t low = 0, high = b->n_cu_ranges, i;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (b->cu_ranges[mid].low <= vaddr)
			low = mid + 1;
		else
			high = mid;
	}
	/* Ranges of different units rarely overlap; look back a little in case. */
	for (i = low; i-- > 0 && low - i <= MAX_ENCLOSING_LOOKBACK;) {
		if (vaddr >= b->cu_ranges[i].low && vaddr < b->cu_ranges[i].high)
			return &b->dwarf_units[b->cu_ranges[i].unit];
	}
	return NULL;
}

static int function_range_compare(const void *a, const void *b)
{
	const struct function_range *x = a, *y = b;

	if (x->low != y->low)
		return x->low < y->low ? -1 : 1;
	return x->die_offset < y->die_offset ? -1 : x->die_offset > y->die_offset;
}

/* A unit's function index on its way. */
struct function_index {
	struct function_range *ranges;
	size_t n_ranges;
	size_t capacity;
	struct scoped_die *scoped;
	size_t n_scoped;
	size_t scoped_capacity;
};

/* Adds die, in the scope of entry parent, to the index's scoped DIEs. */
static int add_scoped(struct function_index *index, Dwarf_Die *die, uint32_t parent)
{
	void *grown;
	int err;

	err = array__reserve(index->scoped, sizeof(*index->scoped), &index->scoped_capacity,
			     index->n_scoped, 1, 64, MAX_UNIT_FUNCTION_RANGES, &grown);
	if (err)
		return err;
	index->scoped = grown;
	index->scoped[index->n_scoped++] = (struct scoped_die){
		.die_offset = dwarf_dieoffset(die),
		.parent = parent,
	};
	return 0;
}

/*
 * Adds the code ranges of the functions defined among parent's children, and
 * among those of the namespaces, classes, structures and unions there (C++
 * may put definitions inside them). Function bodies are not entered. With
 * scoped, also the functions and scopes found, in the scope of entry
 * parent_entry, for naming: as dwarf_getscopes_die() does, not in unions.
 */
static int index_functions(Dwarf_Die *parent, struct function_index *index, unsigned int depth,
			   bool scoped, uint32_t parent_entry)
{
	Dwarf_Die child;
	void *grown;
	int ret, err;

	if (depth >= MAX_NAMING_DEPTH)
		return -E2BIG;
	for (ret = dwarf_child(parent, &child); ret == 0; ret = dwarf_siblingof(&child, &child)) {
		Dwarf_Addr base, low, high;
		ptrdiff_t offset = 0;

		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
			if (scoped) {
				err = add_scoped(index, &child, parent_entry);
				if (err)
					return err;
			}
			while ((offset = dwarf_ranges(&child, offset, &base, &low, &high)) > 0) {
				if (high <= low)
					continue;
				err = array__reserve(index->ranges, sizeof(*index->ranges),
						     &index->capacity, index->n_ranges, 1, 64,
						     MAX_UNIT_FUNCTION_RANGES, &grown);
				if (err)
					return err;
				index->ranges = grown;
				index->ranges[index->n_ranges++] = (struct function_range){
					.low = low,
					.high = high,
					.die_offset = dwarf_dieoffset(&child),
				};
			}
			break;
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
			if (scoped) {
				err = add_scoped(index, &child, parent_entry);
				if (err)
					return err;
			}
			err = index_functions(&child, index, depth + 1, scoped,
					      (uint32_t)(index->n_scoped - 1));
			if (err)
				return err;
			break;
		case DW_TAG_union_type:
			err = index_functions(&child, index, depth + 1, false, NO_PARENT);
			if (err)
				return err;
			break;
		default:
			break;
		}
	}
	return ret < 0 ? -EINVAL : 0;
}

/*
 * Builds unit's index of functions, so that a lookup need not walk the whole
 * unit. A unit with no function found, or bad or too many, is left without
 * one: its lookups walk the unit as libdw does.
 */
static void index_unit(struct dwarf_unit *unit, Dwarf_Die *cudie)
{
	struct function_index index = {};
	void *shrunk;
	size_t i;

	if (index_functions(cudie, &index, 0, true, NO_PARENT) != 0 || index.n_ranges == 0) {
		free(index.ranges);
		free(index.scoped);
		return;
	}
	qsort(index.ranges, index.n_ranges, sizeof(*index.ranges), function_range_compare);
	shrunk = realloc(index.ranges, index.n_ranges * sizeof(*index.ranges));
	unit->functions = shrunk ? shrunk : index.ranges;
	unit->n_functions = index.n_ranges;
	/* Found in the order of the unit, so of offsets, but for odd DWARF: then none. */
	for (i = 1; i < index.n_scoped; i++) {
		if (index.scoped[i].die_offset <= index.scoped[i - 1].die_offset)
			break;
	}
	if (i < index.n_scoped || index.n_scoped == 0) {
		free(index.scoped);
		return;
	}
	shrunk = realloc(index.scoped, index.n_scoped * sizeof(*index.scoped));
	unit->scoped = shrunk ? shrunk : index.scoped;
	unit->n_scoped = index.n_scoped;
}

/*
 * Whether the string sections of dwarf end in a NUL: libdw 0.188 reads the
 * names in them with strlen(), past the end of one that does not, and so
 * would the callers of dwarf_formstring().
 */
static bool dwarf_strings_terminated(Dwarf *dwarf)
{
	static const char *const names[] = { ".debug_str", ".zdebug_str", ".debug_line_str",
					     ".zdebug_line_str" };
	Elf *elf = dwarf_getelf(dwarf);
	Elf_Scn *scn = NULL;
	size_t shstrndx, i;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *data;
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr) || !(name = elf_strptr(elf, shstrndx, shdr.sh_name)))
			continue;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcmp(name, names[i]) == 0)
				break;
		}
		if (i == sizeof(names) / sizeof(names[0]))
			continue;
		/* What libdw reads: the section's data, decompressed when it loaded it. */
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf && data->d_size > 0 &&
		    ((const char *)data->d_buf)[data->d_size - 1] != '\0')
			return false;
	}
	return true;
}

/*
 * Charges b for the libdw state of unit, and indexes it, the first time it is
 * used; a unit of DWARF libdw cannot read safely is marked unusable instead.
 */
void binary__count_unit(struct symbolizer *s, struct binary *b, struct dwarf_unit *unit,
			Dwarf_Die *cudie)
{
	Dwarf_Lines *lines;
	Dwarf_Files *files;
	size_t n_lines = 0, n_files = 0;

	if (unit->counted)
		return;
	unit->counted = true;
	if (!dwarf_strings_terminated(b->dwarf)) {
		unit->unusable = true;
		return;
	}
	if (dwarf_getsrclines(cudie, &lines, &n_lines) != 0)
		n_lines = 0;
	if (dwarf_getsrcfiles(cudie, &files, &n_files) != 0)
		n_files = 0;
	if (!s->dwarf_walk_only)
		index_unit(unit, cudie);
	b->dwarf_parsed_bytes += DWARF_BYTES_PER_UNIT + n_lines * DWARF_BYTES_PER_LINE +
				 n_files * DWARF_BYTES_PER_FILE +
				 unit->n_functions * sizeof(*unit->functions) +
				 unit->n_scoped * sizeof(*unit->scoped);
	binary_cache__account(s, b);
	binary_cache__enforce_bounds(s, b);
}
