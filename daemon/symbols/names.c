/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names for display: ELF and DWARF linkage names demangled (libiberty),
 * DWARF names of functions without one qualified by the namespaces and
 * classes around them. Names made are kept in the symbolizer's scratch
 * until the next lookup.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <libiberty/demangle.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer_impl.h"

/*
 * The display name of a symbol: Itanium C++ and Rust (legacy, without its
 * hash, and v0) names demangled, without parameter lists, as perf and pprof
 * show them; anything else as it is. The result lives until the next lookup.
 */
const char *names__demangle(struct symbolizer *s, const char *name)
{
	char *demangled;

	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return name;
	if (s->n_scratch == MAX_SCRATCH || strnlen(name, MAX_NAME_LEN) >= MAX_NAME_LEN)
		return name;
	demangled = cplus_demangle(name, DMGL_ANSI | DMGL_AUTO);
	if (!demangled)
		return name;
	if (!*demangled) {
		free(demangled);
		return name;
	}
	s->scratch[s->n_scratch++] = demangled;
	return demangled;
}

/* Scopes whose names qualify what they contain, as C++ and Rust spell them. */
static bool is_naming_scope(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
	       tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_module;
}

/*
 * The scopes from die up to its unit, as dwarf_getscopes_die() gives them
 * but with only the namespaces, classes and structures, through the index
 * of die's unit: die itself first, then the scopes it sits in, innermost
 * first. Returns their number, or -1 when the index does not know die.
 */
static int indexed_naming_scopes(const struct binary *b, Dwarf_Die *die, Dwarf_Die *scopes)
{
	const struct dwarf_unit *unit;
	uint64_t offset = dwarf_dieoffset(die), unit_offset;
	size_t low = 0, high = b->n_dwarf_units;
	uint32_t at;
	Dwarf_Die cudie;
	int n = 1;

	if (!dwarf_diecu(die, &cudie, NULL, NULL))
		return -1;
	unit_offset = dwarf_dieoffset(&cudie);
	/* Units are in the order of their offsets. */
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (b->dwarf_units[mid].die_offset < unit_offset)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == b->n_dwarf_units || b->dwarf_units[low].die_offset != unit_offset)
		return -1;
	unit = &b->dwarf_units[low];
	low = 0;
	high = unit->n_scoped;
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (unit->scoped[mid].die_offset < offset)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == unit->n_scoped || unit->scoped[low].die_offset != offset)
		return -1;
	scopes[0] = *die;
	/* Parents come before their children: the chain ends. */
	for (at = unit->scoped[low].parent; at != NO_PARENT && n <= MAX_NAMING_DEPTH;
	     at = unit->scoped[at].parent) {
		if (!dwarf_offdie(b->dwarf, unit->scoped[at].die_offset, &scopes[n++]))
			return -1;
	}
	return n;
}

/*
 * The name of a function without a linkage name (a static or inline C++
 * function often has none): its DW_AT_name qualified by the namespaces and
 * classes its declaration sits in, "ns::klass::name". Plain name when it
 * sits in none. The result lives until the next lookup.
 */
static const char *qualified_name(struct symbolizer *s, const struct binary *b, Dwarf_Die *die,
				  const char *name)
{
	Dwarf_Die target = *die, indexed[1 + MAX_NAMING_DEPTH], *scopes = NULL, *walked = NULL;
	Dwarf_Attribute attr;
	char buf[MAX_NAME_LEN], *copy;
	size_t len = 0;
	int n, i, hops;

	/* From an inlined instance to its abstract function, to its declaration. */
	for (hops = 0; hops < 4; hops++) {
		if (!(dwarf_attr(&target, DW_AT_abstract_origin, &attr) ||
		      dwarf_attr(&target, DW_AT_specification, &attr)) ||
		    !dwarf_formref_die(&attr, &target))
			break;
	}
	if (s->n_scratch == MAX_SCRATCH)
		return name;
	n = indexed_naming_scopes(b, &target, indexed);
	scopes = indexed;
	if (n < 0) {
		/* Not in an index: walk its unit from the root to it. */
		n = dwarf_getscopes_die(&target, &walked);
		scopes = walked;
	}
	/* scopes[0] is target itself, the last is the unit. */
	for (i = n - 1; i >= 1; i--) {
		const char *scope_name;
		int written;

		if (!is_naming_scope(dwarf_tag(&scopes[i])))
			continue;
		scope_name = dwarf_diename(&scopes[i]);
		written = snprintf(buf + len, sizeof(buf) - len,
				   "%s::", scope_name ? scope_name : "(anonymous namespace)");
		if (written < 0 || (size_t)written >= sizeof(buf) - len) {
			free(walked);
			return name;
		}
		len += (size_t)written;
	}
	free(walked);
	if (len == 0 ||
	    snprintf(buf + len, sizeof(buf) - len, "%s", name) >= (int)(sizeof(buf) - len))
		return name;
	copy = strdup(buf);
	if (!copy)
		return name;
	s->scratch[s->n_scratch++] = copy;
	return copy;
}

/*
 * The function a DIE names: *ret_system_name is its linkage name (following
 * abstract origins and declarations) or else its DWARF name; the display
 * name returned is that demangled, or qualified. NULL if it has no name.
 */
const char *names__die_function(struct symbolizer *s, const struct binary *b, Dwarf_Die *die,
				const char **ret_system_name)
{
	Dwarf_Attribute attr;
	const char *name;

	if ((dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	     dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) &&
	    (name = dwarf_formstring(&attr)) && *name) {
		*ret_system_name = name;
		return names__demangle(s, name);
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &attr) && (name = dwarf_formstring(&attr)) &&
	    *name) {
		*ret_system_name = name;
		return qualified_name(s, b, die, name);
	}
	return NULL;
}
