/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Inlined frames: the scopes at an address, through the unit's index of
 * functions when it has one, else by walking the unit as libdw does, and
 * from them the functions inlined there, each with its file and line.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "symbolizer_impl.h"

/* Scopes looked at for one address (inlining rarely nests past 10). */
#define MAX_SCOPES 256

/* Scopes libdw's walk of a unit enters in search of an address (its may_have_scopes()). */
static bool may_hold_scopes(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_module:
	case DW_TAG_lexical_block:
	case DW_TAG_with_stmt:
	case DW_TAG_catch_block:
	case DW_TAG_try_block:
	case DW_TAG_entry_point:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
		return true;
	default:
		return false;
	}
}

/*
 * From the scope in scopes[0] down to the innermost holding vaddr: at each
 * level the first child whose code holds it, as libdw's walk picks them
 * (it prunes DIEs without the address and takes the first left, deepest).
 * Writes the chain into scopes innermost first, scopes[0] last; returns its
 * length, at most MAX_SCOPES.
 */
static int descend_scopes(Dwarf_Die *scopes, uint64_t vaddr)
{
	int n, i;

	/* Outermost first for now. */
	for (n = 1; n < MAX_SCOPES && may_hold_scopes(dwarf_tag(&scopes[n - 1])); n++) {
		Dwarf_Die child;
		int ret;

		for (ret = dwarf_child(&scopes[n - 1], &child); ret == 0;
		     ret = dwarf_siblingof(&child, &child)) {
			if (dwarf_haspc(&child, vaddr) > 0)
				break;
		}
		if (ret != 0)
			break;
		scopes[n] = child;
	}
	for (i = 0; i < n / 2; i++) {
		Dwarf_Die outer = scopes[i];

		scopes[i] = scopes[n - 1 - i];
		scopes[n - 1 - i] = outer;
	}
	return n;
}

/*
 * The scopes at vaddr, through unit's index: the function whose code holds
 * it, then at each level down the first child whose code holds it, as
 * libdw's walk of the whole unit picks them. Writes them into scopes
 * innermost first, the function last, and returns their number: what
 * dwarf_getscopes_die() gives for the innermost, up to the function. 0 when
 * the index has no function there.
 */
static int indexed_scopes(const struct binary *b, const struct dwarf_unit *unit, uint64_t vaddr,
			  Dwarf_Die *scopes)
{
	const struct function_range *function = NULL;
	size_t low = 0, high = unit->n_functions, i;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (unit->functions[mid].low <= vaddr)
			low = mid + 1;
		else
			high = mid;
	}
	/* Of overlapping functions (odd, but seen), the walk meets the first in the unit. */
	for (i = low; i-- > 0 && low - i <= MAX_ENCLOSING_LOOKBACK;) {
		const struct function_range *range = &unit->functions[i];

		if (vaddr >= range->low && vaddr < range->high &&
		    (!function || range->die_offset < function->die_offset))
			function = range;
	}
	if (!function || !dwarf_offdie(b->dwarf, function->die_offset, &scopes[0]))
		return 0;
	return descend_scopes(scopes, vaddr);
}

/* Appends a frame, keeping the last slot for the outermost function. */
static void push_frame(struct symbol_frame *frames, size_t *n, const struct symbol_frame *frame)
{
	if (*n < SYMBOLIZER_MAX_FRAMES - 1)
		frames[(*n)++] = *frame;
}

/* The inlined frames at vaddr and the outermost function's file, line and DWARF name. */
void binary__inlined_frames(struct symbolizer *s, struct binary *b, uint64_t vaddr,
			    struct symbol_frame *frames, size_t *ret_n, const char **ret_file,
			    uint32_t *ret_line, Dwarf_Die *ret_subprogram, bool *ret_has_subprogram)
{
	struct dwarf_unit *unit = binary__find_unit(b, vaddr);
	Dwarf_Die cudie, indexed[MAX_SCOPES], *scopes, *walked = NULL;
	Dwarf_Files *files = NULL;
	const char *file = NULL;
	size_t n_files = 0;
	uint32_t line = 0;
	Dwarf_Line *row;
	int n_scopes, i;
	int line_number;

	if (!unit || !dwarf_offdie(b->dwarf, unit->die_offset, &cudie))
		return;
	binary__count_unit(s, b, unit, &cudie);
	if (unit->unusable)
		return;
	row = dwarf_getsrc_die(&cudie, vaddr);
	if (row) {
		file = dwarf_linesrc(row, NULL, NULL);
		if (file && dwarf_lineno(row, &line_number) == 0 && line_number > 0)
			line = (uint32_t)line_number;
	}
	if (dwarf_getsrcfiles(&cudie, &files, &n_files) != 0)
		files = NULL;

	n_scopes = unit->functions ? indexed_scopes(b, unit, vaddr, indexed) : 0;
	if (n_scopes == 0 && !s->dwarf_walk_only) {
		/*
		 * No index, or no function of it here: the same descent from
		 * the unit's root. (libdw's walk below leaks its result when an
		 * inlined instance has a bad abstract origin.)
		 */
		indexed[0] = cudie;
		n_scopes = descend_scopes(indexed, vaddr);
		if (n_scopes == 1)
			n_scopes = 0;
	}
	scopes = indexed;
	if (n_scopes == 0) {
		/*
		 * Nothing in the unit itself holds vaddr: walk it as libdw
		 * does, into the units it imports too (dwz). dwarf_getscopes()
		 * goes from an inlined instance into its abstract definition;
		 * the chain of concrete instances, each inlined into the next,
		 * is what dwarf_getscopes_die() gives for the innermost scope.
		 */
		n_scopes = dwarf_getscopes(&cudie, vaddr, &walked);
		if (n_scopes > 0) {
			Dwarf_Die innermost = walked[0];

			free(walked);
			walked = NULL;
			n_scopes = dwarf_getscopes_die(&innermost, &walked);
		}
		scopes = walked;
	}
	for (i = 0; i < n_scopes && i < MAX_SCOPES; i++) {
		Dwarf_Die *scope = &scopes[i];
		const char *name, *system_name = NULL;
		Dwarf_Attribute attr;
		Dwarf_Word call_file = 0, call_line = 0;

		switch (dwarf_tag(scope)) {
		case DW_TAG_inlined_subroutine:
			name = names__die_function(s, b, scope, &system_name);
			if (name) {
				push_frame(frames, ret_n,
					   &(struct symbol_frame){
						   .function = name,
						   .system_name = system_name,
						   .file = file,
						   .line = line,
					   });
			}
			/* Where it was inlined is where the caller's frame is. */
			file = NULL;
			line = 0;
			if (files && dwarf_attr(scope, DW_AT_call_file, &attr) &&
			    dwarf_formudata(&attr, &call_file) == 0 && call_file < n_files)
				file = dwarf_filesrc(files, call_file, NULL, NULL);
			if (dwarf_attr(scope, DW_AT_call_line, &attr) &&
			    dwarf_formudata(&attr, &call_line) == 0 && call_line <= UINT32_MAX)
				line = (uint32_t)call_line;
			break;
		case DW_TAG_subprogram:
			/* Named by the caller only if the ELF symbols do not name it. */
			*ret_subprogram = *scope;
			*ret_has_subprogram = true;
			i = n_scopes; /* the outermost function: done */
			break;
		default:
			break;
		}
	}
	free(walked);
	*ret_file = file;
	*ret_line = line;
}
