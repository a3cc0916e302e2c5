/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbolizer: turns (binary, file offset) into a function name using the
 * ELF .symtab or .dynsym (libelf), preferring a separate debug file found by
 * build ID (DEBUG_ROOT/.build-id/xx/yyyy.debug) or .gnu_debuglink; and a
 * kernel address into a name from kallsyms. Loaded tables are cached per
 * binary, bounded in number, least recently used evicted.
 *
 * Library-like: does not log. Names returned stay valid until the next call
 * that may load or evict (any symbolizer__* call except __free): copy them
 * before asking again.
 */
#ifndef CPROF_SYMBOLIZER_H
#define CPROF_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

struct symbolizer;

struct symbolizer_options {
	const char *debug_root; /* NULL: "/usr/lib/debug" */
	const char *kallsyms_path; /* NULL: "/proc/kallsyms" */
	size_t max_binaries; /* 0: a default; cached binaries before eviction */
};

struct symbol {
	const char *name; /* function name */
	const char *module; /* kernel module name, NULL for vmlinux and user code */
	uint64_t offset; /* from the start of the function */
};

/* Returns a symbolizer, or NULL with errno set. opts may be NULL. */
struct symbolizer *symbolizer__new(const struct symbolizer_options *opts);
void symbolizer__free(struct symbolizer *s);

/*
 * Finds the function containing file_offset of the ELF file at path
 * (an offset as /proc/PID/maps gives it: map.offset + addr - map.start).
 * Returns 0, -ENOENT when no symbol covers it, or a negative errno when the
 * file cannot be read or is not a valid ELF file.
 */
int symbolizer__lookup_user(struct symbolizer *s, const char *path, uint64_t file_offset,
			    struct symbol *ret_sym);

/*
 * Gives the GNU build ID of the ELF file at path as lowercase hex.
 * Returns 0, -ENODATA when it has none, or a negative errno.
 */
int symbolizer__build_id(struct symbolizer *s, const char *path, const char **ret_hex);

/* Finds the kernel function containing address. Returns 0 or -ENOENT. */
int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t address, struct symbol *ret_sym);

/* Memory held by cached tables, in bytes (for status). */
size_t symbolizer__memory(const struct symbolizer *s);

#endif /* CPROF_SYMBOLIZER_H */
