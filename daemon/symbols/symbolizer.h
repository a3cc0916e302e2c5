/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbolizer: turns (binary, file offset) into a function name using the
 * ELF .symtab or .dynsym (libelf), preferring a separate debug file found by
 * build ID (DEBUG_ROOT/.build-id/xx/yyyy.debug) or .gnu_debuglink; into
 * frames with source file and line, inlined functions included, from the
 * DWARF of the binary or of its debug file (libdw); and a kernel address
 * into a name from kallsyms. C++ and Rust names are demangled (libiberty),
 * the mangled name kept as the system name. Loaded tables are cached per
 * file, bounded in number and in bytes, least recently used evicted.
 *
 * A file is named by its path and, when known, the device and inode that
 * /proc/PID/maps gives, so that two containers' /usr/bin/app are two files;
 * it is opened through /proc/PID/map_files/START-END (deleted or replaced
 * files, other mount namespaces), else /proc/PID/root/PATH, else PATH.
 * "[vdso]" is read from /proc/PID/mem; give its mapping's size as its
 * inode, so that vdsos of different sizes (32-bit processes) stay apart.
 *
 * Library-like: does not log. Names returned stay valid until the next call
 * that may load or evict (any symbolizer__* call except __free): copy them
 * before asking again.
 *
 * In background mode a binary is loaded on a worker thread (worker.h): a
 * lookup in a binary not loaded yet returns -EAGAIN and queues its load;
 * symbolizer__collect(), called when symbolizer__fd() is readable, puts
 * finished loads in the cache. The cache is only ever touched by the
 * caller's thread; the worker builds standalone tables. Only the worker asks
 * debuginfod (libdebuginfod, configured by DEBUGINFOD_URLS and the other
 * DEBUGINFOD_* variables) for a debug file no local one provides.
 */
#ifndef CPROF_SYMBOLIZER_H
#define CPROF_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

struct symbolizer_options {
	const char *debug_root; /* NULL: "/usr/lib/debug" */
	const char *kallsyms_path; /* NULL: "/proc/kallsyms" */
	size_t max_binaries; /* 0: a default; cached binaries before eviction */
	size_t max_memory; /* 0: a default (1 GiB); bytes of cached tables before eviction */
	bool background; /* load on a worker thread; lookups may return -EAGAIN */
	bool debuginfod; /* background only: fetch missing debug files from debuginfod */
	unsigned int debuginfod_backoff_s; /* 0: 60; no new fetch of a build ID that failed */
	/*
	 * For tests and benchmarks only: find inlined frames by walking the
	 * compile unit's DIEs for every address, without the per-unit index of
	 * functions. The answers are the same, only slower.
	 */
	bool dwarf_walk_only;
};

struct symbol {
	const char *name; /* function name, demangled */
	const char *system_name; /* as the binary spells it (mangled); == name if not mangled */
	const char *module; /* kernel module name, NULL for vmlinux and user code */
	uint64_t offset; /* from the start of the function */
};

/* A mapped file, as a line of /proc/PID/maps describes it. */
struct symbolizer_file {
	const char *path; /* the path in the maps line; required */
	uint64_t dev; /* makedev(major, minor) of the maps line; 0 when unknown */
	uint64_t inode; /* of the maps line; 0 when unknown: then the path alone names it */
	pid_t pid; /* a process mapping it, to open it through /proc/PID; 0 for none */
	uint64_t map_start, map_end; /* that mapping's range, for /proc/PID/map_files */
};

/* Frames one address may expand to: inlined calls, then the real function. */
#define SYMBOLIZER_MAX_FRAMES 16

/* One frame of an address; strings valid as names are (see above). */
struct symbol_frame {
	const char *function; /* display name, demangled */
	const char *system_name; /* as the binary spells it; == function if not mangled */
	const char *file; /* source file, NULL when no DWARF covers the address */
	uint32_t line; /* source line, 0 when unknown */
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
 * Finds the frames at file_offset of file: innermost first, first the
 * functions inlined there (each with the file and line inside it), last the
 * function the code belongs to (its name from the ELF symbols when they
 * cover it, else from DWARF). Without DWARF there is one frame and no file.
 * Writes at most max_frames frames (at most SYMBOLIZER_MAX_FRAMES are ever
 * made; when inlining runs deeper the middle ones are left out) and their
 * number in *ret_n. Returns 0, -ENOENT when nothing names the address, or a
 * negative errno as for symbolizer__lookup_user().
 */
int symbolizer__lookup_frames(struct symbolizer *s, const struct symbolizer_file *file,
			      uint64_t file_offset, struct symbol_frame *ret_frames,
			      size_t max_frames, size_t *ret_n);

/* As symbolizer__build_id(), for a mapped file. */
int symbolizer__file_build_id(struct symbolizer *s, const struct symbolizer_file *file,
			      const char **ret_hex);

/*
 * Gives the GNU build ID of the ELF file at path as lowercase hex.
 * Returns 0, -ENODATA when it has none, or a negative errno.
 */
int symbolizer__build_id(struct symbolizer *s, const char *path, const char **ret_hex);

/*
 * Asks for file's tables without looking anything up: returns 0 when they
 * are loaded (or the file is known to be unusable), -EAGAIN while its load
 * is queued or running (background mode), or another negative errno that
 * may pass (-ENOMEM).
 */
int symbolizer__request(struct symbolizer *s, const struct symbolizer_file *file);

/* The eventfd that becomes readable when background loads finish; -1 when not in background. */
int symbolizer__fd(const struct symbolizer *s);

/*
 * Puts the finished background loads in the cache. Returns how many it
 * installed (0 when none or not in background mode).
 */
int symbolizer__collect(struct symbolizer *s);

/*
 * While frozen, the binaries used are neither evicted nor reloaded, so that
 * tables a profile's preparation and build have found stay until it is
 * built: a profile whose binaries do not all fit the cache's bounds holds
 * them until then (the cache passes its bounds for that while), rather than
 * evicting and loading them again for ever. Unfreezing lets them go, and
 * the cache is trimmed to its bounds; a freeze not ended within a minute
 * (a request given up) ends by itself.
 */
void symbolizer__freeze(struct symbolizer *s, bool frozen);

/*
 * Finds the kernel function containing address. Returns 0 or -ENOENT; in
 * background mode -EAGAIN while kallsyms is read, the first time.
 */
int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t address, struct symbol *ret_sym);

/*
 * Memory held by cached tables, in bytes (for status). DWARF counts as the
 * debug sections read plus an estimate of what libdw builds from them.
 */
size_t symbolizer__memory(const struct symbolizer *s);

/* The caches' state, for status. */
struct symbolizer_stats {
	size_t cache_bytes; /* cached binaries' tables: what max_memory bounds */
	size_t cache_limit_bytes; /* max_memory */
	size_t binaries; /* binaries cached */
	uint64_t evictions; /* binaries evicted to stay within the bounds */
	size_t kernel_bytes; /* kallsyms, loaded once, never evicted */
	size_t loads_pending; /* background loads queued or running */
	uint64_t loads_done; /* background loads finished, failed ones included */
	uint64_t loads_failed; /* of those, the file could not be used */
	uint64_t debuginfod_fetched; /* debug files debuginfod gave */
	uint64_t debuginfod_failed; /* fetches that failed (no server, not found, timeout) */
	uint64_t debuginfod_backed_off; /* fetches not tried: the build ID failed recently */
};

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret);

#endif /* CPROF_SYMBOLIZER_H */
