/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Internals of the symbolizer, shared by its files: only the .c files of
 * daemon/symbols/ include this; everyone else uses symbolizer.h. It holds
 * the limits more than one file checks, the structs of the cache (struct
 * symbolizer, struct binary and what a binary holds: segments, symbols,
 * DWARF units, the frame cache; the kernel table), what a load carries
 * (struct load_request, struct elf_file), and the functions one file calls
 * in another, grouped by the file that defines them:
 *
 *   elf.c           ELF access (open, vdso, sections, segments, build ID)
 *                   and the ELF symbol tables
 *   debug_files.c   separate debug files: by build ID, by .gnu_debuglink
 *   debuginfod.c    the debuginfod fetcher (worker thread only)
 *   dwarf.c         DWARF units: the compile-unit index, and each unit's
 *                   function index, built when it is first used
 *   inlines.c       the scopes at an address: inlined frames
 *   names.c         demangled and qualified names
 *   frame_cache.c   a binary's cache of the frames found per address
 *   binary_cache.c  the cache of binaries: load, LRU, bounds and eviction,
 *                   loads on the worker and their collection
 *   kallsyms.c      the kernel's table
 *   symbolizer.c    the public API: lifetime, lookups, stats, freeze
 */
#ifndef CPROF_SYMBOLIZER_IMPL_H
#define CPROF_SYMBOLIZER_IMPL_H

#include <elfutils/libdw.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "symbolizer.h"

struct fetcher;
struct kernel_job;
struct worker;
struct worker_job;

/* Caps on what one hostile binary can make us hold or read. */
#define MAX_NAMES_BYTES (256u << 20)
#define MAX_NAME_LEN 4096
#define MAX_SECTIONS (1u << 20)
#define MAX_BUILD_ID_BYTES 64

/* The kernel's vdso, named so in the maps; one or two pages in practice. */
#define VDSO_PATH "[vdso]"
#define MAX_VDSO_BYTES (1u << 20)

/* Debug sections of one binary, decompressed; libc's are ~4 MB, big C++ programs' ~1 GB. */
#define MAX_DWARF_BYTES (256ull << 20)
/* Namespaces and classes nested around a function definition, as the index looks for them. */
#define MAX_NAMING_DEPTH 64
/* Names made for the last lookup (demangled, qualified), kept until the next. */
#define MAX_SCRATCH (2 * SYMBOLIZER_MAX_FRAMES + 2)

#define NO_MODULE UINT32_MAX

/* How far back to look for a sized symbol (or unit) enclosing a smaller one that ended. */
#define MAX_ENCLOSING_LOOKBACK 8

/* A function of a user binary. */
struct func_sym {
	uint64_t start; /* link-time virtual address */
	uint64_t size; /* from st_size; for a zero-sized symbol, up to the next one */
	uint32_t name; /* offset of the name in the binary's arena */
	bool exact; /* size came from the symbol table, not guessed */
};

/* A PT_LOAD segment of the main binary. */
struct segment {
	uint64_t offset; /* p_offset */
	uint64_t file_size; /* p_filesz */
	uint64_t vaddr; /* p_vaddr */
	uint64_t mem_size; /* p_memsz */
};

/* What stat() said about a path, to notice it changed. */
struct file_identity {
	int error; /* positive errno of stat(), 0 when the fields are valid */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime; /* also moves on chmod, which may make a file readable */
};

/* The address range of a compile unit. */
struct cu_range {
	uint64_t low; /* first address */
	uint64_t high; /* one past the last */
	uint32_t unit; /* index in dwarf_units */
};

/* The code range of a function of a compile unit (one per range when it has several). */
struct function_range {
	uint64_t low; /* first address */
	uint64_t high; /* one past the last */
	uint64_t die_offset; /* of its DW_TAG_subprogram */
};

/*
 * A function's DIE, or a namespace's, class's or structure's around such,
 * and the scope it sits in: what naming a function needs of its parents.
 */
struct scoped_die {
	uint64_t die_offset;
	uint32_t parent; /* index of the scope's entry, NO_PARENT at unit level */
};

#define NO_PARENT UINT32_MAX

/* A compile unit of a binary's DWARF. */
struct dwarf_unit {
	uint64_t die_offset; /* of the unit's DIE, for dwarf_offdie() */
	bool counted; /* libdw has parsed it; its cost is in the entry's memory */
	bool unusable; /* its DWARF would make libdw read out of bounds: not looked at */
	struct function_range *functions; /* sorted by low; NULL when the unit has no index */
	size_t n_functions;
	struct scoped_die *scoped; /* sorted by die_offset; NULL when the unit has no index */
	size_t n_scoped;
};

/* The frames found at one address, kept so the next lookup there is a hash probe. */
struct address_slot {
	uint64_t vaddr;
	uint32_t first; /* index in frame_cache.frames */
	uint8_t n; /* frames; 0 for an address nothing names */
	bool used;
};

/* A frame of the address cache: offsets in frame_cache.strings, NO_STRING for none. */
struct cached_frame {
	uint32_t function;
	uint32_t system_name;
	uint32_t file;
	uint32_t line;
};

#define NO_STRING UINT32_MAX

struct frame_cache {
	struct address_slot *slots; /* open addressing on vaddr */
	size_t capacity; /* a power of two, or 0 */
	size_t n_addresses;
	struct cached_frame *frames;
	size_t n_frames, frames_capacity;
	char *strings;
	size_t strings_size, strings_capacity;
};

/* One cached binary, loaded or known bad. */
struct binary {
	struct binary *hash_next; /* bucket chain */
	struct binary *lru_prev; /* towards the most recently used */
	struct binary *lru_next; /* towards the least recently used */
	uint64_t hash; /* of path, dev and inode */
	char *path; /* as the maps name it */
	uint64_t dev; /* from the maps line; with inode, 0 when only the path is known */
	uint64_t inode;
	struct file_identity identity; /* of path when loaded */
	uint64_t checked_ns; /* monotonic time identity was last confirmed */
	int error; /* negative errno when the file is unusable */
	char *build_id_hex; /* NULL when the binary has none */
	struct segment *segments;
	size_t n_segments;
	struct func_sym *syms; /* sorted by start, one per address */
	size_t n_syms;
	char *names; /* arena of NUL-terminated names */
	size_t names_size; /* bytes in names */
	Dwarf *dwarf; /* NULL when there is none, or too much */
	Elf *dwarf_elf; /* the ELF handle dwarf reads, its file already let go */
	size_t dwarf_bytes; /* debug section bytes read */
	struct cu_range *cu_ranges; /* sorted by low */
	size_t n_cu_ranges;
	struct dwarf_unit *dwarf_units;
	size_t n_dwarf_units;
	size_t dwarf_parsed_bytes; /* estimate of what libdw built for the units used */
	size_t memory; /* bytes this entry holds, for symbolizer__memory() */
	struct frame_cache frame_cache; /* what symbolizer__lookup_frames() found */
	bool loading; /* a background load is on its way: no tables yet, not evictable */
	uint64_t retry_ns; /* non-zero: load again from this time (a debuginfod fetch failed) */
	uint64_t freeze_epoch; /* the freeze it was last used in */
};

/* A kernel text symbol. */
struct kernel_sym {
	uint64_t address;
	uint32_t name; /* offset in the kernel arena */
	uint32_t module; /* offset in the kernel arena, NO_MODULE for vmlinux */
};

struct kernel_table {
	bool loaded; /* tried once; error tells how it went */
	bool loading; /* background mode: the worker reads it */
	int error; /* negative errno when the table is unusable */
	struct kernel_sym *syms; /* sorted by address, one per address */
	size_t n_syms;
	char *names; /* arena of names and module names */
	size_t names_size;
};

struct symbolizer {
	char *debug_root;
	char *kallsyms_path;
	size_t max_binaries;
	size_t n_binaries;
	struct binary **buckets;
	size_t n_buckets; /* a power of two */
	struct binary *lru_head; /* most recently used */
	struct binary *lru_tail; /* next to evict */
	size_t binaries_memory; /* sum of binary->memory */
	size_t max_memory; /* bound on binaries_memory, but for the entry in use */
	uint64_t evictions; /* entries evicted to keep within the bounds */
	struct kernel_table kernel;
	char *scratch[MAX_SCRATCH]; /* demangled names of the last lookup */
	size_t n_scratch;
	struct worker *worker; /* background mode: runs the loads */
	struct fetcher *fetcher; /* debuginfod state, only ever touched on the worker thread */
	bool frozen; /* entries used now are kept (symbolizer__freeze()) */
	uint64_t frozen_ns; /* when the freeze began, for its lease */
	uint64_t freeze_epoch; /* counts freezes, to know which entries were used in this one */
	uint64_t loads_done;
	uint64_t loads_failed;
	uint64_t debuginfod_fetched;
	uint64_t debuginfod_failed;
	uint64_t debuginfod_backed_off;
	bool dwarf_walk_only; /* no unit indexes: see struct symbolizer_options */
};

/* What a debuginfod fetch came to. */
enum fetch_outcome {
	FETCH_NONE, /* not asked: a local debug file, own DWARF, no build ID, or no debuginfod */
	FETCH_OK,
	FETCH_FAILED,
	FETCH_BACKED_OFF, /* the build ID failed recently: not asked */
};

/* What a load needs to know beyond the entry: how to reach the file. */
struct load_request {
	const struct symbolizer_file *file;
	char root[64]; /* "/proc/PID/root" when the file was reached through the process */
	char debug_path[PATH_MAX]; /* the debug file the symbols came from, "" if none */
	struct fetcher *fetcher; /* NULL: no debuginfod (not on the worker, or not enabled) */
	enum fetch_outcome fetched;
	uint64_t retry_ns; /* when a failed fetch may be tried again */
};

/* An open ELF file. */
struct elf_file {
	int fd; /* -1 for an image read from memory */
	Elf *elf;
	void *image; /* the bytes elf reads, when not from fd */
	GElf_Ehdr ehdr;
	struct stat st;
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- elf.c ---- */

/* Closes f: its ELF handle, file and image. A closed f may be closed again. */
void elf_file__close(struct elf_file *f);
/* Opens path, a regular file, as an executable or shared object. Returns 0 or a negative errno. */
int elf_file__open(struct elf_file *f, const char *path);
/* Opens the vdso process pid maps at [start, end), from its memory. 0 or a negative errno. */
int elf_file__open_vdso(struct elf_file *f, pid_t pid, uint64_t start, uint64_t end);
/* A section's data, decompressed; NULL when it has no usable bytes or too many. */
Elf_Data *elf_section__data(Elf_Scn *scn, const GElf_Shdr *shdr);
/* The first section named name, its header in *ret_shdr; NULL when there is none. */
Elf_Scn *elf_section__find_by_name(Elf *elf, const char *name, GElf_Shdr *ret_shdr);
/* Copies f's PT_LOAD segments into b. Returns 0, -ENOEXEC or -ENOMEM. */
int elf_file__read_segments(struct elf_file *f, struct binary *b);
/* f's GNU build ID, up to MAX_BUILD_ID_BYTES, into ret_id. Returns 0 or -ENODATA. */
int elf_file__read_build_id(struct elf_file *f, uint8_t *ret_id, size_t *ret_len);
/* bytes as lowercase hex, malloc'd (the caller frees it); NULL when out of memory. */
char *build_id__hex(const uint8_t *bytes, size_t len);
/*
 * Copies the functions of f's .symtab, else (allow_dynsym) .dynsym, into b's
 * table and arena. Returns 0, -ENOENT when there are none, or a negative errno.
 */
int elf_file__load_symbols(struct elf_file *f, struct binary *b, bool allow_dynsym);

/* ---- debug_files.c ---- */

/*
 * Loads b's symbols from the debug file at path if it belongs to main_file
 * (same build ID, else the CRC *link_crc when not NULL). Returns 0 when it
 * did, req->debug_path then naming it, or a negative errno.
 */
int debug_file__try(struct binary *b, const char *path, const struct elf_file *main_file,
		    const uint8_t *build_id, size_t build_id_len, const uint32_t *link_crc,
		    struct load_request *req);
/*
 * Loads b's symbols from a separate debug file found by build ID or by
 * .gnu_debuglink. Returns 0 when it did, -ENOENT when none fits, or -ENOMEM.
 */
int debug_file__load_symbols(const struct symbolizer *s, struct binary *b,
			     struct elf_file *main_file, const uint8_t *build_id,
			     size_t build_id_len, struct load_request *req);

/* ---- debuginfod.c (the fetcher is the worker thread's alone) ---- */

/* A fetcher that asks no build ID again within backoff_ns of a failure; NULL if out of memory. */
struct fetcher *fetcher__new(uint64_t backoff_ns);
/* The worker whose stopping gives up a transfer; set before any load is queued. */
void fetcher__set_worker(struct fetcher *fetcher, struct worker *worker);
/* Ends its debuginfod client, if it made one, and frees it; NULL is a no-op. */
void fetcher__free(struct fetcher *fetcher);
/*
 * Asks debuginfod for the debug file of build ID id. Returns 0 and in
 * *ret_path the file in libdebuginfod's cache (malloc'd), -EAGAIN within the
 * backoff of a failure, or a negative errno; sets req->fetched and, when it
 * did not work, req->retry_ns.
 */
int fetcher__fetch(struct fetcher *fetcher, const uint8_t *id, size_t len, struct load_request *req,
		   char **ret_path);

/* ---- dwarf.c ---- */

/*
 * Bytes of f's debug sections decompressed, and whether it has a
 * .debug_info. Returns 0, -EFBIG past MAX_DWARF_BYTES, or -ENOEXEC.
 */
int elf_file__dwarf_bytes(struct elf_file *f, uint64_t *ret_bytes, bool *ret_has_info);
/* Frees b's DWARF: libdw's handle, its ELF handle, the units and their indexes. */
void binary__clear_dwarf(struct binary *b);
/*
 * Reads f's DWARF into b, up to max_bytes, taking f's ELF handle and closing
 * f. Returns 0 (also when b is left without DWARF) or -ENOMEM.
 */
int binary__load_dwarf(struct binary *b, struct elf_file *f, size_t max_bytes);
/* The compile unit of b covering vaddr, or NULL. */
struct dwarf_unit *binary__find_unit(const struct binary *b, uint64_t vaddr);
/*
 * The first time unit is used: charges b in s's cache for what libdw builds
 * of it and indexes it, or marks it unusable. May evict other entries, never b.
 */
void binary__count_unit(struct symbolizer *s, struct binary *b, struct dwarf_unit *unit,
			Dwarf_Die *cudie);

/* ---- inlines.c ---- */

/*
 * Appends to frames (*ret_n of them) the functions inlined at vaddr, and
 * gives the outermost function's file, line and DIE (when
 * *ret_has_subprogram). b must have DWARF; with no usable unit at vaddr,
 * nothing is written.
 */
void binary__inlined_frames(struct symbolizer *s, struct binary *b, uint64_t vaddr,
			    struct symbol_frame *frames, size_t *ret_n, const char **ret_file,
			    uint32_t *ret_line, Dwarf_Die *ret_subprogram,
			    bool *ret_has_subprogram);

/* ---- names.c ---- */

/* Frees the names made for the last lookup. Inline: every lookup starts with it. */
static inline void names__reset(struct symbolizer *s)
{
	while (s->n_scratch)
		free(s->scratch[--s->n_scratch]);
}
/* name demangled for display, or name itself; valid until names__reset(). */
const char *names__demangle(struct symbolizer *s, const char *name);
/*
 * The display name of the function die is, *ret_system_name its linkage or
 * DWARF name; NULL when it has none. Valid until names__reset().
 */
const char *names__die_function(struct symbolizer *s, const struct binary *b, Dwarf_Die *die,
				const char **ret_system_name);

/* ---- frame_cache.c ---- */

/* Frees what c holds and empties it. */
void frame_cache__clear(struct frame_cache *c);
/* Bytes c holds. */
size_t frame_cache__memory(const struct frame_cache *c);
/* Where vaddr's slot is looked for first (capacity: a power of two). */
static inline size_t frame_cache__hash(uint64_t vaddr, size_t capacity)
{
	return (size_t)((vaddr * 0x9e3779b97f4a7c15ull) >> 20) & (capacity - 1);
}

/*
 * The slot of vaddr, or NULL when c does not remember it. Inline: a warm
 * lookup is this and little else.
 */
static inline const struct address_slot *frame_cache__find(const struct frame_cache *c,
							   uint64_t vaddr)
{
	size_t i;

	if (!c->capacity)
		return NULL;
	for (i = frame_cache__hash(vaddr, c->capacity); c->slots[i].used;
	     i = (i + 1) & (c->capacity - 1))
		if (c->slots[i].vaddr == vaddr)
			return &c->slots[i];
	return NULL;
}
/* Copies in the n frames found at vaddr; past c's bounds, quietly does not. */
void frame_cache__add(struct frame_cache *c, uint64_t vaddr, const struct symbol_frame *frames,
		      size_t n);

/* ---- binary_cache.c ---- */

/*
 * Gives s's entry of file, loading it on a miss. Returns 0 (the entry's
 * error may be set: bad files are cached too), -EAGAIN while it loads in the
 * background, or a negative errno that may pass (-ENOMEM).
 */
int binary_cache__get(struct symbolizer *s, const struct symbolizer_file *file,
		      struct binary **ret_binary);
/* Takes b out of s's cache and frees it. */
void binary_cache__evict(struct symbolizer *s, struct binary *b);
/* Evicts least recently used entries past either bound, but keep and those that must stay. */
void binary_cache__enforce_bounds(struct symbolizer *s, const struct binary *keep);
/* Redoes b's accounting after it grew or shrank. */
void binary_cache__account(struct symbolizer *s, struct binary *b);
/* Charges b for what its frame cache grew by, evicting others (never b) if need be. */
void binary_cache__account_growth(struct symbolizer *s, struct binary *b);

/* ---- kallsyms.c ---- */

/*
 * Reads the kallsyms file at path into table's symbols and arena. Returns 0,
 * -ENOENT when it gives no symbol with an address, or a negative errno.
 */
int kernel_table__load(struct kernel_table *table, const char *path);
/* Queues the read of kallsyms on s's worker. -EAGAIN (queued, or the queue is full) or -ENOMEM. */
int kernel_job__start(struct symbolizer *s);
/* job as the kernel job it is, or NULL when it is another (a binary's load). */
struct kernel_job *kernel_job__of(struct worker_job *job);
/* Puts the table kj read in place in s; kj is still the caller's to release. */
void kernel_job__install(struct kernel_job *kj, struct symbolizer *s);

#endif /* CPROF_SYMBOLIZER_IMPL_H */
