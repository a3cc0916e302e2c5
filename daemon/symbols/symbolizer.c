/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbolizer for user binaries (libelf, libdw) and the kernel (kallsyms).
 *
 * A binary is loaded once: its PT_LOAD segments (to turn a file offset into
 * a link-time address), its build ID, and its function symbols, copied out of
 * libelf into a sorted array plus one string arena, so that nothing of libelf
 * or the file stays open. The ELF files are treated as hostile: a process can
 * map anything, so every libelf result and every index is checked, counts and
 * sizes are capped, and files are read with pread (ELF_C_READ), never mmap,
 * so that a file truncated under us gives an error rather than SIGBUS.
 *
 * DWARF is read when the binary is: all its debug sections, through libdw on
 * that same pread-backed ELF handle, which then lets the file go
 * (ELF_C_FDDONE). An index of compile-unit ranges is built up front; a
 * unit's line table and DIEs are parsed by libdw the first time an address
 * falls in it, and an estimate of that cost is added to the entry's memory.
 * DWARF bigger than MAX_DWARF_BYTES (or half the memory bound) is not read:
 * such a binary gets names only.
 *
 * Not thread-safe: one symbolizer per thread. In background mode, loads
 * run on a worker thread into a struct binary of their own that no one else
 * sees (binary__load() reads only the symbolizer's fixed settings, and the
 * debuginfod state, which only the worker touches); the caller's thread
 * moves the result into the cache entry waiting for it.
 *
 * The work is in files by source of symbols, which symbolizer_impl.h lists:
 * ELF symbol tables, separate debug files, debuginfod, DWARF units, inlined
 * frames, names, the cache of binaries, kallsyms. This file is the public
 * API on top of them: lifetime, lookups, stats, freeze.
 */
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer.h"
#include "symbolizer_impl.h"
#include "util/worker.h"

#define DEFAULT_DEBUG_ROOT "/usr/lib/debug"
#define DEFAULT_KALLSYMS_PATH "/proc/kallsyms"
#define DEFAULT_MAX_BINARIES 256
#define DEFAULT_MAX_MEMORY (1ull << 30)

/* Hash buckets are sized for max_binaries, up to this many. */
#define MAX_BUCKETS 65536

/* A build ID whose debuginfod fetch failed is not asked again for this long. */
#define DEFAULT_DEBUGINFOD_BACKOFF_NS (60ull * 1000000000ull)

/* Turns a file offset into a link-time address through the PT_LOAD holding it. */
static int offset_to_vaddr(const struct binary *b, uint64_t file_offset, uint64_t *ret_vaddr)
{
	size_t i;

	for (i = 0; i < b->n_segments; i++) {
		const struct segment *seg = &b->segments[i];

		if (file_offset >= seg->offset && file_offset - seg->offset < seg->file_size) {
			*ret_vaddr = file_offset - seg->offset + seg->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

static const struct func_sym *find_function(const struct binary *b, uint64_t vaddr)
{
	size_t low = 0, high = b->n_syms, i, last;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (b->syms[mid].start <= vaddr)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0)
		return NULL;
	last = low - 1;
	/* A symbol whose own size covers vaddr beats a guessed extent. */
	for (i = last + 1; i-- > 0 && last - i <= MAX_ENCLOSING_LOOKBACK;) {
		const struct func_sym *sym = &b->syms[i];

		if (sym->exact && vaddr - sym->start < sym->size)
			return sym;
	}
	if (!b->syms[last].exact && vaddr - b->syms[last].start < b->syms[last].size)
		return &b->syms[last];
	return NULL;
}

static bool path_ok(const char *path)
{
	return path && strnlen(path, PATH_MAX) < PATH_MAX;
}

/* The entry of file and the link-time address of file_offset in it. */
static int resolve(struct symbolizer *s, const struct symbolizer_file *file, uint64_t file_offset,
		   struct binary **ret_binary, uint64_t *ret_vaddr)
{
	struct binary *b;
	int err;

	err = binary_cache__get(s, file, &b);
	if (err)
		return err;
	if (b->error)
		return b->error;
	if (offset_to_vaddr(b, file_offset, ret_vaddr))
		return -ENOENT;
	*ret_binary = b;
	return 0;
}

int symbolizer__lookup_user(struct symbolizer *s, const char *path, uint64_t file_offset,
			    struct symbol *ret_sym)
{
	const struct symbolizer_file file = { .path = path };
	const struct func_sym *sym;
	struct binary *b;
	uint64_t vaddr;
	int err;

	if (!s || !path || !ret_sym)
		return -EINVAL;
	if (!path_ok(path))
		return -ENAMETOOLONG;
	names__reset(s);
	err = resolve(s, &file, file_offset, &b, &vaddr);
	if (err)
		return err;
	sym = find_function(b, vaddr);
	if (!sym)
		return -ENOENT;
	*ret_sym = (struct symbol){
		.name = names__demangle(s, b->names + sym->name),
		.system_name = b->names + sym->name,
		.module = NULL,
		.offset = vaddr - sym->start,
	};
	return 0;
}

int symbolizer__lookup_frames(struct symbolizer *s, const struct symbolizer_file *file,
			      uint64_t file_offset, struct symbol_frame *ret_frames,
			      size_t max_frames, size_t *ret_n)
{
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	const char *outer_file = NULL, *outer_name = NULL, *outer_system_name = NULL;
	const struct address_slot *cached;
	bool has_subprogram = false;
	Dwarf_Die subprogram;
	const struct func_sym *sym;
	uint32_t outer_line = 0;
	struct binary *b;
	uint64_t vaddr;
	size_t n = 0, i;
	int err;

	if (!s || !file || !path_ok(file->path) || !ret_frames || !ret_n || max_frames == 0)
		return file && file->path && !path_ok(file->path) ? -ENAMETOOLONG : -EINVAL;
	names__reset(s);
	err = resolve(s, file, file_offset, &b, &vaddr);
	if (err)
		return err;
	cached = frame_cache__find(&b->frame_cache, vaddr);
	if (cached) {
		const struct frame_cache *c = &b->frame_cache;

		if (!cached->n)
			return -ENOENT;
		for (i = 0; i < cached->n; i++) {
			const struct cached_frame *f = &c->frames[cached->first + i];

			frames[i] = (struct symbol_frame){
				.function = c->strings + f->function,
				.system_name =
					c->strings + (f->system_name == NO_STRING ? f->function
										  : f->system_name),
				.file = f->file == NO_STRING ? NULL : c->strings + f->file,
				.line = f->line,
			};
		}
		n = cached->n;
		goto out;
	}
	if (b->dwarf)
		binary__inlined_frames(s, b, vaddr, frames, &n, &outer_file, &outer_line,
				       &subprogram, &has_subprogram);
	/* binary__count_unit() may have evicted others, never b. */
	sym = find_function(b, vaddr);
	if (sym) {
		outer_system_name = b->names + sym->name;
		outer_name = names__demangle(s, outer_system_name);
	} else if (has_subprogram) {
		outer_name = names__die_function(s, b, &subprogram, &outer_system_name);
	}
	if (!outer_name) {
		frame_cache__add(&b->frame_cache, vaddr, frames, 0);
		binary_cache__account_growth(s, b);
		return -ENOENT;
	}
	frames[n++] = (struct symbol_frame){
		.function = outer_name,
		.system_name = outer_system_name,
		.file = outer_file,
		.line = outer_line,
	};
	frame_cache__add(&b->frame_cache, vaddr, frames, n);
	binary_cache__account_growth(s, b);
out:
	/* Too deep for the caller: keep the innermost frames and the real function. */
	if (n > max_frames) {
		frames[max_frames - 1] = frames[n - 1];
		n = max_frames;
	}
	for (i = 0; i < n; i++)
		ret_frames[i] = frames[i];
	*ret_n = n;
	return 0;
}

int symbolizer__file_build_id(struct symbolizer *s, const struct symbolizer_file *file,
			      const char **ret_hex)
{
	struct binary *b;
	int err;

	if (!s || !file || !file->path || !ret_hex)
		return -EINVAL;
	if (!path_ok(file->path))
		return -ENAMETOOLONG;
	err = binary_cache__get(s, file, &b);
	if (err)
		return err;
	if (b->error)
		return b->error;
	if (!b->build_id_hex)
		return -ENODATA;
	*ret_hex = b->build_id_hex;
	return 0;
}

int symbolizer__build_id(struct symbolizer *s, const char *path, const char **ret_hex)
{
	const struct symbolizer_file file = { .path = path };

	if (!path)
		return -EINVAL;
	return symbolizer__file_build_id(s, &file, ret_hex);
}

int symbolizer__request(struct symbolizer *s, const struct symbolizer_file *file)
{
	struct binary *b;

	if (!s || !file || !file->path)
		return -EINVAL;
	if (!path_ok(file->path))
		return -ENAMETOOLONG;
	return binary_cache__get(s, file, &b);
}

int symbolizer__fd(const struct symbolizer *s)
{
	return s && s->worker ? worker__fd(s->worker) : -1;
}

void symbolizer__freeze(struct symbolizer *s, bool frozen)
{
	if (frozen && !s->frozen) {
		s->freeze_epoch++;
		s->frozen_ns = now_ns();
	}
	s->frozen = frozen;
	if (!frozen)
		binary_cache__enforce_bounds(s, NULL);
}

/* ---- kernel ---- */

int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t address, struct symbol *ret_sym)
{
	struct kernel_table *table;
	size_t low = 0, high;
	const struct kernel_sym *sym;

	if (!s || !ret_sym)
		return -EINVAL;
	table = &s->kernel;
	if (!table->loaded && s->worker)
		return table->loading ? -EAGAIN : kernel_job__start(s);
	if (!table->loaded) {
		int err = kernel_table__load(table, s->kallsyms_path);

		/* Out of memory may pass; anything else is the table's state for good. */
		if (err == -ENOMEM)
			return err;
		table->loaded = true;
		table->error = err;
	}
	if (table->error)
		return -ENOENT;

	high = table->n_syms;
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (table->syms[mid].address <= address)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0)
		return -ENOENT;
	sym = &table->syms[low - 1];
	*ret_sym = (struct symbol){
		.name = table->names + sym->name,
		.system_name = table->names + sym->name,
		.module = sym->module == NO_MODULE ? NULL : table->names + sym->module,
		.offset = address - sym->address,
	};
	return 0;
}

/* ---- lifetime ---- */

struct symbolizer *symbolizer__new(const struct symbolizer_options *opts)
{
	const char *debug_root = opts && opts->debug_root ? opts->debug_root : DEFAULT_DEBUG_ROOT;
	const char *kallsyms_path =
		opts && opts->kallsyms_path ? opts->kallsyms_path : DEFAULT_KALLSYMS_PATH;
	size_t max_binaries =
		opts && opts->max_binaries ? opts->max_binaries : DEFAULT_MAX_BINARIES;
	struct symbolizer *s;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOTSUP;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max_binaries = max_binaries;
	s->max_memory = opts && opts->max_memory ? opts->max_memory : DEFAULT_MAX_MEMORY;
	s->dwarf_walk_only = opts && opts->dwarf_walk_only;
	s->n_buckets = 16;
	while (s->n_buckets < max_binaries && s->n_buckets < MAX_BUCKETS)
		s->n_buckets *= 2;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	s->debug_root = strdup(debug_root);
	s->kallsyms_path = strdup(kallsyms_path);
	if (!s->buckets || !s->debug_root || !s->kallsyms_path) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	if (opts && opts->background) {
		if (opts->debuginfod) {
			s->fetcher =
				fetcher__new(opts->debuginfod_backoff_s
						     ? opts->debuginfod_backoff_s * 1000000000ull
						     : DEFAULT_DEBUGINFOD_BACKOFF_NS);
			if (!s->fetcher) {
				symbolizer__free(s);
				errno = ENOMEM;
				return NULL;
			}
		}
		/* Set up before the thread exists: it reads them from then on. */
		s->worker = worker__new(0);
		if (!s->worker) {
			int err = errno;

			symbolizer__free(s);
			errno = err;
			return NULL;
		}
		if (s->fetcher)
			fetcher__set_worker(s->fetcher, s->worker);
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	/* Loads in flight end first: their entries are freed with the cache. */
	worker__free(s->worker);
	fetcher__free(s->fetcher);
	while (s->lru_head)
		binary_cache__evict(s, s->lru_head);
	names__reset(s);
	free(s->kernel.syms);
	free(s->kernel.names);
	free(s->buckets);
	free(s->debug_root);
	free(s->kallsyms_path);
	free(s);
}

size_t symbolizer__memory(const struct symbolizer *s)
{
	if (!s)
		return 0;
	return sizeof(*s) + s->n_buckets * sizeof(*s->buckets) + strlen(s->debug_root) + 1 +
	       strlen(s->kallsyms_path) + 1 + s->binaries_memory +
	       s->kernel.n_syms * sizeof(*s->kernel.syms) + s->kernel.names_size;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret)
{
	*ret = (struct symbolizer_stats){
		.cache_bytes = s->binaries_memory,
		.cache_limit_bytes = s->max_memory,
		.binaries = s->n_binaries,
		.evictions = s->evictions,
		.kernel_bytes = s->kernel.n_syms * sizeof(*s->kernel.syms) + s->kernel.names_size,
		.loads_pending = s->worker ? worker__pending(s->worker) : 0,
		.loads_done = s->loads_done,
		.loads_failed = s->loads_failed,
		.debuginfod_fetched = s->debuginfod_fetched,
		.debuginfod_failed = s->debuginfod_failed,
		.debuginfod_backed_off = s->debuginfod_backed_off,
	};
}
