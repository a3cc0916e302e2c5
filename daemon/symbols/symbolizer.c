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
 */
#include <dwarf.h>
#include <elfutils/debuginfod.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libiberty/demangle.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "symbolizer.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/worker.h"

#define DEFAULT_DEBUG_ROOT "/usr/lib/debug"
#define DEFAULT_KALLSYMS_PATH "/proc/kallsyms"
#define DEFAULT_MAX_BINARIES 256
#define DEFAULT_MAX_MEMORY (1ull << 30)

/* Hash buckets are sized for max_binaries, up to this many. */
#define MAX_BUCKETS 65536

/*
 * A cached result is trusted for this long before the file is stat()ed again,
 * so a binary that is rebuilt or upgraded, or a file that appears or becomes
 * readable, is picked up without paying a stat() per frame.
 */
#define REVALIDATE_NS 1000000000ull
/*
 * A freeze that nobody ends (a client gone while its profile waited for
 * symbols) ends by itself after this: longer than a profile waits.
 */
#define FREEZE_LEASE_NS (60ull * 1000000000ull)

/* Caps on what one hostile binary can make us hold or read. */
#define MAX_SEGMENTS 256
#define MAX_SYMBOLS (4u << 20)
#define MAX_NAMES_BYTES (256u << 20)
#define MAX_NAME_LEN 4096
#define MAX_SECTIONS (1u << 20)
#define MAX_NOTE_BYTES (1u << 20)
/* Symbol and string tables are read whole; real ones are a few MB, Chromium's ~100 MB. */
#define MAX_TABLE_BYTES (256ull << 20)
#define MAX_BUILD_ID_BYTES 64
/*
 * A .gnu_debuglink CRC means reading the whole debug file; past this size the
 * file is not used (unless its build ID matched, which needs no CRC).
 */
#define MAX_CRC_FILE_BYTES (128ull << 20)

/* The kernel's vdso, named so in the maps; one or two pages in practice. */
#define VDSO_PATH "[vdso]"
#define MAX_VDSO_BYTES (1u << 20)

/* Debug sections of one binary, decompressed; libc's are ~4 MB, big C++ programs' ~1 GB. */
#define MAX_DWARF_BYTES (256ull << 20)
#define MAX_CU_RANGES (4u << 20)
/* Scopes looked at for one address (inlining rarely nests past 10). */
#define MAX_SCOPES 256
/*
 * Code ranges of one unit's functions in its index; a big C++ unit has tens
 * of thousands. Past this the unit goes without an index.
 */
#define MAX_UNIT_FUNCTION_RANGES (1u << 20)
/* Namespaces and classes nested around a function definition, as the index looks for them. */
#define MAX_NAMING_DEPTH 64
/*
 * What libdw builds for a unit the first time it is used, per line-table row
 * and per file (struct Dwarf_Line_s and Dwarf_Fileinfo_s in libdw 0.188 are
 * 40 and 24 bytes, plus malloc overhead), and per unit (abbreviations, unit
 * structure).
 */
#define DWARF_BYTES_PER_LINE 48
#define DWARF_BYTES_PER_FILE 48
#define DWARF_BYTES_PER_UNIT 2048
/* Names made for the last lookup (demangled, qualified), kept until the next. */
#define MAX_SCRATCH (2 * SYMBOLIZER_MAX_FRAMES + 2)

/* Caps on the kallsyms file: a few MB in practice. */
#define MAX_KALLSYMS_LINE 1024
#define MAX_KALLSYMS_SYMBOLS (8u << 20)

#define NO_MODULE UINT32_MAX

/* Addresses whose frames one binary keeps; past it, lookups are not remembered. */
#define MAX_CACHED_ADDRESSES (1u << 20)
#define MAX_CACHED_FRAME_BYTES (256u << 20)

/* A build ID whose debuginfod fetch failed is not asked again for this long. */
#define DEFAULT_DEBUGINFOD_BACKOFF_NS (60ull * 1000000000ull)
/* Failed build IDs remembered; beyond, the oldest is forgotten (and may be asked again). */
#define MAX_FETCH_FAILURES 256
/*
 * A build ID the servers answered they do not have waits this many backoffs:
 * as libdebuginfod's own negative cache (10 minutes), and without reloading
 * its binary every minute for nothing.
 */
#define NOT_FOUND_BACKOFFS 10

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

/* A build ID debuginfod did not give, and when. */
struct fetch_failure {
	uint8_t id[MAX_BUILD_ID_BYTES];
	size_t len;
	uint64_t retry_ns; /* monotonic time from which it may be asked again */
};

/* The worker's debuginfod client and what failed; no other thread touches it. */
struct fetcher {
	debuginfod_client *client; /* made on first use */
	struct worker *worker; /* to give up a transfer when the worker stops */
	uint64_t backoff_ns;
	struct fetch_failure failures[MAX_FETCH_FAILURES]; /* a ring */
	size_t next_failure;
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

/* A symbol on its way into a table; name points into libelf's data. */
struct raw_sym {
	uint64_t start;
	uint64_t size;
	const char *name;
	uint32_t name_len;
	uint8_t rank; /* lower is preferred among aliases */
};

struct raw_syms {
	struct raw_sym *v;
	size_t n;
	size_t capacity;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t hash_file(const char *path, uint64_t dev, uint64_t inode)
{
	uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *path; path++) {
		hash ^= (unsigned char)*path;
		hash *= 0x100000001b3ull;
	}
	hash ^= dev * 0x9e3779b97f4a7c15ull;
	hash *= 0x100000001b3ull;
	hash ^= inode * 0xc2b2ae3d27d4eb4full;
	return hash * 0x100000001b3ull;
}

static void file_identity__from_stat(struct file_identity *id, const struct stat *st)
{
	*id = (struct file_identity){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = st->st_size,
		.mtime = st->st_mtim,
		.ctime = st->st_ctim,
	};
}

static void file_identity__get(struct file_identity *id, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		*id = (struct file_identity){ .error = errno };
		return;
	}
	file_identity__from_stat(id, &st);
}

static bool file_identity__equal(const struct file_identity *a, const struct file_identity *b)
{
	if (a->error || b->error)
		return a->error == b->error;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Errors that say nothing about the file, so are not worth remembering. */
static bool error_is_transient(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE || err == -EINTR ||
	       err == -EAGAIN;
}

/* ---- ELF access ---- */

static void elf_file__close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->image);
	f->elf = NULL;
	f->fd = -1;
	f->image = NULL;
}

/*
 * Opens path as an executable or shared object. O_NONBLOCK because a hostile
 * path may name a FIFO, which would block open() until a writer comes.
 */
static int elf_file__open(struct elf_file *f, const char *path)
{
	int err;

	f->elf = NULL;
	f->image = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &f->st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(f->st.st_mode)) {
		err = -EINVAL;
		goto err_close;
	}
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &f->ehdr)) {
		err = -ENOEXEC;
		goto err_close;
	}
	if (f->ehdr.e_type != ET_EXEC && f->ehdr.e_type != ET_DYN) {
		err = -ENOEXEC;
		goto err_close;
	}
	return 0;
err_close:
	elf_file__close(f);
	return err;
}

/*
 * The bytes of cprofd's own vdso, if it is size bytes long: the kernel gives
 * every process of our kind the same image, so it stands in for that of a
 * process that is gone (a short-lived child) or whose memory cannot be read.
 * A 32-bit process's vdso has another size. NULL if it does not match.
 */
static const void *own_vdso(size_t size)
{
	const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), end = 0;
	const ElfW(Ehdr) *ehdr = (const ElfW(Ehdr) *)base;

	if (!base || memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0)
		return NULL;
	for (unsigned int i = 0; i < ehdr->e_phnum; i++) {
		const ElfW(Phdr) *ph =
			(const ElfW(Phdr) *)(base + ehdr->e_phoff + (size_t)i * ehdr->e_phentsize);

		if (ph->p_type == PT_LOAD && ph->p_vaddr + ph->p_memsz > end)
			end = ph->p_vaddr + ph->p_memsz;
	}
	end = (end + page - 1) & ~(page - 1);
	return end == size ? base : NULL;
}

/*
 * Opens the vdso of process pid, mapped at [start, end): it is no file, so
 * its bytes are read from /proc/PID/mem (a page or two) and parsed in memory;
 * if the process is gone, from our own vdso when it is the same size.
 */
static int elf_file__open_vdso(struct elf_file *f, pid_t pid, uint64_t start, uint64_t end)
{
	char path[64];
	size_t size = (size_t)(end - start);
	ssize_t n;
	int fd, err;

	*f = (struct elf_file){ .fd = -1 };
	if (pid <= 0 || end <= start || end - start > MAX_VDSO_BYTES || start > INT64_MAX)
		return -ENOENT;
	f->image = malloc(size);
	if (!f->image)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, f->image, size, (off_t)start);
		err = n < 0 ? -errno : (size_t)n != size ? -EIO : 0;
		close(fd);
	} else {
		err = -errno;
	}
	if (err) {
		const void *own = own_vdso(size);

		if (!own)
			goto err_close;
		memcpy(f->image, own, size);
	}
	f->elf = elf_memory(f->image, size);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &f->ehdr) ||
	    f->ehdr.e_type != ET_DYN) {
		err = -ENOEXEC;
		goto err_close;
	}
	return 0;
err_close:
	elf_file__close(f);
	return err;
}

/*
 * Gives a section's data, decompressing it if needed. NULL when the section
 * has no usable bytes in the file or is bigger than we care to read.
 */
static Elf_Data *section_data(Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data;

	if (shdr->sh_type == SHT_NOBITS || shdr->sh_size > MAX_TABLE_BYTES)
		return NULL;
	if (shdr->sh_flags & SHF_COMPRESSED) {
		GElf_Chdr chdr;

		/* The decompressed size is the file's word: cap it before allocating. */
		if (!gelf_getchdr(scn, &chdr) || chdr.ch_size > MAX_TABLE_BYTES)
			return NULL;
		if (elf_compress(scn, 0, 0) < 0)
			return NULL;
	}
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || data->d_size == 0)
		return NULL;
	return data;
}

/* Finds the first section of the given type, or NULL. */
static Elf_Scn *find_section_by_type(Elf *elf, uint32_t type, GElf_Shdr *ret_shdr)
{
	Elf_Scn *scn = NULL;
	size_t count = 0;

	while ((scn = elf_nextscn(elf, scn)) && count++ < MAX_SECTIONS) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == type) {
			*ret_shdr = shdr;
			return scn;
		}
	}
	return NULL;
}

static Elf_Scn *find_section_by_name(Elf *elf, const char *name, GElf_Shdr *ret_shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, count = 0;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn)) && count++ < MAX_SECTIONS) {
		GElf_Shdr shdr;
		const char *scn_name;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		scn_name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (scn_name && strcmp(scn_name, name) == 0) {
			*ret_shdr = shdr;
			return scn;
		}
	}
	return NULL;
}

static int read_segments(struct elf_file *f, struct binary *b)
{
	struct segment *segments;
	size_t phnum, i, n = 0;

	if (elf_getphdrnum(f->elf, &phnum) < 0)
		return -ENOEXEC;
	if (phnum > MAX_SEGMENTS * 4)
		return -ENOEXEC;
	segments = calloc(MAX_SEGMENTS, sizeof(*segments));
	if (!segments)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(f->elf, (int)i, &phdr)) {
			free(segments);
			return -ENOEXEC;
		}
		if (phdr.p_type != PT_LOAD || phdr.p_filesz == 0)
			continue;
		if (phdr.p_offset + phdr.p_filesz < phdr.p_offset ||
		    phdr.p_vaddr + phdr.p_memsz < phdr.p_vaddr || phdr.p_memsz < phdr.p_filesz ||
		    n == MAX_SEGMENTS) {
			free(segments);
			return -ENOEXEC;
		}
		segments[n++] = (struct segment){
			.offset = phdr.p_offset,
			.file_size = phdr.p_filesz,
			.vaddr = phdr.p_vaddr,
			.mem_size = phdr.p_memsz,
		};
	}
	if (n == 0) {
		free(segments);
		return -ENOEXEC;
	}
	b->segments = realloc(segments, n * sizeof(*segments)) ?: segments;
	b->n_segments = n;
	return 0;
}

/* Looks for an NT_GNU_BUILD_ID note in a block of notes. */
static int find_build_id_note(Elf_Data *data, uint8_t *ret_id, size_t *ret_len)
{
	size_t offset = 0, next, name_offset, desc_offset;
	GElf_Nhdr nhdr;

	while (offset < data->d_size &&
	       (next = gelf_getnote(data, offset, &nhdr, &name_offset, &desc_offset)) > 0) {
		/* gelf_getnote() has checked both offsets and sizes against d_size. */
		if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
		    memcmp((const char *)data->d_buf + name_offset, "GNU", 4) == 0 &&
		    nhdr.n_descsz > 0 && nhdr.n_descsz <= MAX_BUILD_ID_BYTES) {
			memcpy(ret_id, (const char *)data->d_buf + desc_offset, nhdr.n_descsz);
			*ret_len = nhdr.n_descsz;
			return 0;
		}
		if (next <= offset)
			break;
		offset = next;
	}
	return -ENODATA;
}

/* Reads the GNU build ID from the PT_NOTE segments, else from SHT_NOTE sections. */
static int read_build_id(struct elf_file *f, uint8_t *ret_id, size_t *ret_len)
{
	Elf_Scn *scn = NULL;
	size_t phnum, i, count = 0;

	if (elf_getphdrnum(f->elf, &phnum) == 0 && phnum <= MAX_SEGMENTS * 4) {
		for (i = 0; i < phnum; i++) {
			GElf_Phdr phdr;
			Elf_Data *data;

			if (!gelf_getphdr(f->elf, (int)i, &phdr) || phdr.p_type != PT_NOTE)
				continue;
			if (phdr.p_filesz == 0 || phdr.p_filesz > MAX_NOTE_BYTES)
				continue;
			data = elf_getdata_rawchunk(f->elf, (int64_t)phdr.p_offset, phdr.p_filesz,
						    phdr.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (data && find_build_id_note(data, ret_id, ret_len) == 0)
				return 0;
		}
	}
	while ((scn = elf_nextscn(f->elf, scn)) && count++ < MAX_SECTIONS) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		if (shdr.sh_size > MAX_NOTE_BYTES)
			continue;
		data = section_data(scn, &shdr);
		if (data && find_build_id_note(data, ret_id, ret_len) == 0)
			return 0;
	}
	return -ENODATA;
}

static char *hex_string(const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(len * 2 + 1);
	size_t i;

	if (!hex)
		return NULL;
	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	hex[2 * len] = '\0';
	return hex;
}

/* ---- symbol tables ---- */

static uint8_t binding_rank(unsigned char binding)
{
	switch (binding) {
	case STB_GLOBAL:
	case STB_GNU_UNIQUE:
		return 0;
	case STB_WEAK:
		return 1;
	case STB_LOCAL:
		return 2;
	default:
		return 3;
	}
}

static int raw_syms__push(struct raw_syms *raw, const struct raw_sym *sym)
{
	void *grown;
	int err = array__reserve(raw->v, sizeof(*raw->v), &raw->capacity, raw->n, 1, 256,
				 MAX_SYMBOLS, &grown);

	if (err)
		return err;
	raw->v = grown;
	raw->v[raw->n++] = *sym;
	return 0;
}

/* Orders by address, then the alias to keep first: global, short name. */
static int raw_sym_compare(const void *a, const void *b)
{
	const struct raw_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Collects the function symbols of one symbol table section. */
static int collect_functions(struct elf_file *f, Elf_Scn *scn, const GElf_Shdr *shdr,
			     struct raw_syms *raw)
{
	size_t entry_size = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Data *data = section_data(scn, shdr);
	GElf_Shdr strings_shdr;
	Elf_Scn *strings_scn;
	size_t count, i;
	int err;

	if (!data || entry_size == 0)
		return -ENOENT;
	strings_scn = elf_getscn(f->elf, shdr->sh_link);
	if (!strings_scn || !gelf_getshdr(strings_scn, &strings_shdr) ||
	    strings_shdr.sh_type != SHT_STRTAB || strings_shdr.sh_size > MAX_TABLE_BYTES)
		return -ENOENT;
	/* elf_strptr() reads the section as it is; a compressed one must be inflated first. */
	if ((strings_shdr.sh_flags & SHF_COMPRESSED) && !section_data(strings_scn, &strings_shdr))
		return -ENOENT;
	count = data->d_size / entry_size;
	if (count > MAX_SYMBOLS * 4)
		return -E2BIG;
	/* Entry 0 is the reserved null symbol. */
	for (i = 1; i < count; i++) {
		GElf_Sym sym;
		unsigned char type;
		const char *name;
		size_t name_len;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(f->elf, shdr->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		/* Long C++ and Rust names are truncated, not dropped: a name beats none. */
		name_len = strnlen(name, MAX_NAME_LEN);
		/* Thumb functions have bit 0 set; the code starts at the even address. */
		if (f->ehdr.e_machine == EM_ARM)
			sym.st_value &= ~1ull;
		if (sym.st_value + sym.st_size < sym.st_value)
			continue;
		err = raw_syms__push(raw, &(struct raw_sym){
						  .start = sym.st_value,
						  .size = sym.st_size,
						  .name = name,
						  .name_len = (uint32_t)name_len,
						  .rank = binding_rank(GELF_ST_BIND(sym.st_info)),
					  });
		if (err)
			return err;
	}
	return raw->n ? 0 : -ENOENT;
}

/* The end of the segment holding vaddr, or vaddr itself when none does. */
static uint64_t segment_end(const struct binary *b, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < b->n_segments; i++) {
		const struct segment *seg = &b->segments[i];

		if (vaddr >= seg->vaddr && vaddr - seg->vaddr < seg->mem_size)
			return seg->vaddr + seg->mem_size;
	}
	return vaddr;
}

/*
 * Turns the collected symbols into b's sorted table and arena, one symbol per
 * address. Must run while the ELF file the names point into is open.
 */
static int build_table(struct binary *b, struct raw_syms *raw)
{
	size_t i, n = 0, names_size = 0, names_used = 0;
	struct func_sym *syms;
	char *names;

	if (raw->n > 1)
		qsort(raw->v, raw->n, sizeof(*raw->v), raw_sym_compare);

	/* Keep the first, preferred alias of each address, with the largest size any has. */
	for (i = 0; i < raw->n; i++) {
		if (n > 0 && raw->v[i].start == raw->v[n - 1].start) {
			if (raw->v[i].size > raw->v[n - 1].size)
				raw->v[n - 1].size = raw->v[i].size;
			continue;
		}
		raw->v[n++] = raw->v[i];
		names_size += raw->v[i].name_len + 1;
		if (names_size > MAX_NAMES_BYTES)
			return -E2BIG;
	}

	syms = malloc(n * sizeof(*syms));
	names = malloc(names_size);
	if (!syms || !names) {
		free(syms);
		free(names);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct raw_sym *r = &raw->v[i];
		struct func_sym *sym = &syms[i];

		sym->start = r->start;
		sym->size = r->size;
		sym->exact = r->size > 0;
		if (!sym->exact) {
			/* Stands until the next symbol, but never past its own segment. */
			uint64_t end = segment_end(b, r->start);

			if (i + 1 < n && raw->v[i + 1].start < end)
				end = raw->v[i + 1].start;
			sym->size = end - r->start;
		}
		sym->name = (uint32_t)names_used;
		memcpy(names + names_used, r->name, r->name_len);
		names[names_used + r->name_len] = '\0';
		names_used += r->name_len + 1;
	}
	b->syms = syms;
	b->n_syms = n;
	b->names = names;
	b->names_size = names_size;
	return 0;
}

/* Loads the functions of f's .symtab (or also .dynsym when allow_dynsym) into b. */
static int load_symbols(struct elf_file *f, struct binary *b, bool allow_dynsym)
{
	struct raw_syms raw = {};
	GElf_Shdr shdr;
	Elf_Scn *scn;
	int err = -ENOENT;

	scn = find_section_by_type(f->elf, SHT_SYMTAB, &shdr);
	if (scn)
		err = collect_functions(f, scn, &shdr, &raw);
	if (err == -ENOENT && allow_dynsym) {
		scn = find_section_by_type(f->elf, SHT_DYNSYM, &shdr);
		if (scn)
			err = collect_functions(f, scn, &shdr, &raw);
	}
	if (!err)
		err = build_table(b, &raw);
	free(raw.v);
	return err;
}

/* ---- separate debug files ---- */

/* CRC-32 of a whole file, as .gnu_debuglink records it (zlib's polynomial). */
static int file_crc32(int fd, uint64_t size, uint32_t *ret_crc)
{
	unsigned char buf[16384];
	uLong crc = crc32(0, Z_NULL, 0);
	uint64_t offset = 0;

	if (size > MAX_CRC_FILE_BYTES)
		return -EFBIG;
	while (offset < size) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)offset);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		crc = crc32(crc, buf, (uInt)n);
		offset += (uint64_t)n;
	}
	*ret_crc = (uint32_t)crc;
	return 0;
}

/*
 * Opens a candidate debug file for main and says whether it belongs to it:
 * same machine, and the same build ID when both have one, else (for a
 * debuglink) the CRC the link recorded.
 */
static int open_debug_candidate(struct elf_file *debug, const char *path,
				const struct elf_file *main_file, const uint8_t *build_id,
				size_t build_id_len, const uint32_t *link_crc)
{
	uint8_t debug_id[MAX_BUILD_ID_BYTES];
	size_t debug_id_len;
	int err;

	err = elf_file__open(debug, path);
	if (err)
		return err;
	err = -ENOENT;
	if (debug->st.st_dev == main_file->st.st_dev && debug->st.st_ino == main_file->st.st_ino)
		goto err_close;
	if (debug->ehdr.e_machine != main_file->ehdr.e_machine ||
	    debug->ehdr.e_ident[EI_CLASS] != main_file->ehdr.e_ident[EI_CLASS])
		goto err_close;
	if (build_id_len && read_build_id(debug, debug_id, &debug_id_len) == 0) {
		if (debug_id_len != build_id_len || memcmp(debug_id, build_id, build_id_len) != 0)
			goto err_close;
		return 0;
	}
	if (link_crc) {
		uint32_t crc;

		if (file_crc32(debug->fd, (uint64_t)debug->st.st_size, &crc) || crc != *link_crc)
			goto err_close;
	}
	return 0;
err_close:
	elf_file__close(debug);
	return err;
}

/* Tries one candidate; 0 when b got its symbols from it (then req->debug_path names it). */
static int try_debug_file(struct binary *b, const char *path, const struct elf_file *main_file,
			  const uint8_t *build_id, size_t build_id_len, const uint32_t *link_crc,
			  struct load_request *req)
{
	struct elf_file debug;
	int err;

	err = open_debug_candidate(&debug, path, main_file, build_id, build_id_len, link_crc);
	if (err)
		return err;
	/* Only a .symtab is worth it; the binary's own .dynsym is as good as a debug one. */
	err = load_symbols(&debug, b, false);
	elf_file__close(&debug);
	if (!err)
		snprintf(req->debug_path, sizeof(req->debug_path), "%s", path);
	return err;
}

/* Reads .gnu_debuglink: a plain file name, padding to 4, then a CRC-32. */
static int read_debuglink(struct elf_file *f, char *ret_name, size_t name_size, uint32_t *ret_crc)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;
	Elf_Data *data;
	const unsigned char *bytes;
	size_t name_len, crc_offset;
	uint32_t crc;

	scn = find_section_by_name(f->elf, ".gnu_debuglink", &shdr);
	if (!scn)
		return -ENOENT;
	data = section_data(scn, &shdr);
	if (!data)
		return -ENOENT;
	bytes = data->d_buf;
	name_len = strnlen((const char *)bytes, data->d_size);
	if (name_len == 0 || name_len >= data->d_size || name_len >= name_size)
		return -EINVAL;
	/* A name, not a path: a link must not send us elsewhere in the file system. */
	if (memchr(bytes, '/', name_len) || strcmp((const char *)bytes, ".") == 0 ||
	    strcmp((const char *)bytes, "..") == 0)
		return -EINVAL;
	crc_offset = (name_len + 1 + 3) & ~(size_t)3;
	if (crc_offset > data->d_size || data->d_size - crc_offset < 4)
		return -EINVAL;
	/* Stored in the file's byte order. */
	bytes += crc_offset;
	if (f->ehdr.e_ident[EI_DATA] == ELFDATA2MSB)
		crc = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 |
		      (uint32_t)bytes[2] << 8 | bytes[3];
	else
		crc = (uint32_t)bytes[3] << 24 | (uint32_t)bytes[2] << 16 |
		      (uint32_t)bytes[1] << 8 | bytes[0];
	memcpy(ret_name, data->d_buf, name_len + 1);
	*ret_crc = crc;
	return 0;
}

/*
 * Loads symbols from a separate debug file if one is found: by build ID under
 * the debug root (ours, then the process's when it has another root), else
 * by .gnu_debuglink next to the binary, in its .debug/, or under the debug
 * root. Returns 0 when b got its symbols so.
 */
static int load_debug_symbols(const struct symbolizer *s, struct binary *b,
			      struct elf_file *main_file, const uint8_t *build_id,
			      size_t build_id_len, struct load_request *req)
{
	char path[PATH_MAX], link_name[NAME_MAX + 1], dir[PATH_MAX];
	const char *slash, *root = req->root;
	uint32_t crc;
	size_t dir_len;
	int n;

	if (build_id_len >= 2) {
		char *hex = hex_string(build_id, build_id_len);
		bool found = false;

		if (!hex)
			return -ENOMEM;
		n = snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", s->debug_root, hex,
			     hex + 2);
		if (n > 0 && (size_t)n < sizeof(path) &&
		    try_debug_file(b, path, main_file, build_id, build_id_len, NULL, req) == 0)
			found = true;
		n = snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug", root,
			     s->debug_root, hex, hex + 2);
		if (!found && root[0] && n > 0 && (size_t)n < sizeof(path) &&
		    try_debug_file(b, path, main_file, build_id, build_id_len, NULL, req) == 0)
			found = true;
		free(hex);
		if (found)
			return 0;
	}

	if (read_debuglink(main_file, link_name, sizeof(link_name), &crc))
		return -ENOENT;
	slash = strrchr(b->path, '/');
	if (slash) {
		dir_len = (size_t)(slash - b->path);
		memcpy(dir, b->path, dir_len);
		dir[dir_len] = '\0';
	} else {
		strcpy(dir, ".");
	}

	/* The binary's directory as the process sees it. */
	n = snprintf(path, sizeof(path), "%s%s/%s", dir[0] == '/' ? root : "", dir, link_name);
	if (n > 0 && (size_t)n < sizeof(path) &&
	    try_debug_file(b, path, main_file, build_id, build_id_len, &crc, req) == 0)
		return 0;
	n = snprintf(path, sizeof(path), "%s%s/.debug/%s", dir[0] == '/' ? root : "", dir,
		     link_name);
	if (n > 0 && (size_t)n < sizeof(path) &&
	    try_debug_file(b, path, main_file, build_id, build_id_len, &crc, req) == 0)
		return 0;
	if (dir[0] == '/') {
		n = snprintf(path, sizeof(path), "%s%s/%s", s->debug_root, dir, link_name);
		if (n > 0 && (size_t)n < sizeof(path) &&
		    try_debug_file(b, path, main_file, build_id, build_id_len, &crc, req) == 0)
			return 0;
	}
	return -ENOENT;
}

/* ---- debuginfod (worker thread only) ---- */

/* libdebuginfod calls this while it transfers: non-zero gives up. */
static int fetch_progress(debuginfod_client *client, long done, long total)
{
	struct fetcher *fetcher = debuginfod_get_user_data(client);

	return worker__stopping(fetcher->worker) ? 1 : 0;
}

static struct fetch_failure *fetch_failure_of(struct fetcher *fetcher, const uint8_t *id,
					      size_t len)
{
	for (size_t i = 0; i < MAX_FETCH_FAILURES; i++) {
		struct fetch_failure *f = &fetcher->failures[i];

		if (f->len == len && memcmp(f->id, id, len) == 0)
			return f;
	}
	return NULL;
}

/*
 * Asks debuginfod for the debug file of a build ID, unless it failed within
 * the backoff. On success *ret_path is the file in libdebuginfod's cache
 * (malloc'd). Sets req->fetched, and req->retry_ns when it did not work.
 */
static int fetch_debuginfo(struct fetcher *fetcher, const uint8_t *id, size_t len,
			   struct load_request *req, char **ret_path)
{
	struct fetch_failure *failure = fetch_failure_of(fetcher, id, len);
	uint64_t now = monotonic_ns();
	char *path = NULL;
	int fd;

	if (failure && now < failure->retry_ns) {
		req->fetched = FETCH_BACKED_OFF;
		req->retry_ns = failure->retry_ns;
		return -EAGAIN;
	}
	if (!fetcher->client) {
		fetcher->client = debuginfod_begin();
		if (!fetcher->client)
			return -ENOMEM;
		debuginfod_set_user_data(fetcher->client, fetcher);
		debuginfod_set_progressfn(fetcher->client, fetch_progress);
	}
	fd = debuginfod_find_debuginfo(fetcher->client, id, (int)len, &path);
	if (fd >= 0) {
		close(fd);
		if (failure)
			failure->len = 0;
		req->fetched = FETCH_OK;
		*ret_path = path;
		return 0;
	}
	free(path);
	if (!failure) {
		failure = &fetcher->failures[fetcher->next_failure];
		fetcher->next_failure = (fetcher->next_failure + 1) % MAX_FETCH_FAILURES;
		memcpy(failure->id, id, len);
		failure->len = len;
	}
	failure->retry_ns = now + fetcher->backoff_ns * (fd == -ENOENT ? NOT_FOUND_BACKOFFS : 1);
	req->fetched = FETCH_FAILED;
	req->retry_ns = failure->retry_ns;
	return fd;
}

/* ---- DWARF ---- */

static bool is_debug_section(const char *name)
{
	return strncmp(name, ".debug_", 7) == 0 || strncmp(name, ".zdebug_", 8) == 0;
}

/*
 * Bytes libdw would read for f's debug sections, decompressed; sets
 * *ret_has_info when there is a .debug_info with bytes in the file.
 */
static int dwarf_section_bytes(struct elf_file *f, uint64_t *ret_bytes, bool *ret_has_info)
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

static void binary__clear_dwarf(struct binary *b)
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
static int load_dwarf(struct binary *b, struct elf_file *f, size_t max_bytes)
{
	uint64_t bytes;
	bool has_info;
	int err;

	if (dwarf_section_bytes(f, &bytes, &has_info) || !has_info || bytes > max_bytes) {
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
static struct dwarf_unit *find_unit(const struct binary *b, uint64_t vaddr)
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

/* ---- names ---- */

static void scratch_reset(struct symbolizer *s)
{
	while (s->n_scratch)
		free(s->scratch[--s->n_scratch]);
}

/*
 * The display name of a symbol: Itanium C++ and Rust (legacy, without its
 * hash, and v0) names demangled, without parameter lists, as perf and pprof
 * show them; anything else as it is. The result lives until the next lookup.
 */
static const char *demangle(struct symbolizer *s, const char *name)
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
static const char *die_function_name(struct symbolizer *s, const struct binary *b, Dwarf_Die *die,
				     const char **ret_system_name)
{
	Dwarf_Attribute attr;
	const char *name;

	if ((dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	     dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) &&
	    (name = dwarf_formstring(&attr)) && *name) {
		*ret_system_name = name;
		return demangle(s, name);
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &attr) && (name = dwarf_formstring(&attr)) &&
	    *name) {
		*ret_system_name = name;
		return qualified_name(s, b, die, name);
	}
	return NULL;
}

/* ---- binary cache ---- */

static void frame_cache__clear(struct frame_cache *c)
{
	free(c->slots);
	free(c->frames);
	free(c->strings);
	*c = (struct frame_cache){};
}

static size_t frame_cache__memory(const struct frame_cache *c)
{
	return c->capacity * sizeof(*c->slots) + c->frames_capacity * sizeof(*c->frames) +
	       c->strings_capacity;
}

static size_t address_hash(uint64_t vaddr, size_t capacity)
{
	return (size_t)((vaddr * 0x9e3779b97f4a7c15ull) >> 20) & (capacity - 1);
}

/* The slot of vaddr, or the free slot where it would go (capacity must be non-zero). */
static struct address_slot *frame_cache__slot(const struct frame_cache *c, uint64_t vaddr)
{
	size_t i;

	for (i = address_hash(vaddr, c->capacity); c->slots[i].used && c->slots[i].vaddr != vaddr;
	     i = (i + 1) & (c->capacity - 1))
		;
	return &c->slots[i];
}

static const struct address_slot *frame_cache__find(const struct frame_cache *c, uint64_t vaddr)
{
	const struct address_slot *slot;

	if (!c->capacity)
		return NULL;
	slot = frame_cache__slot(c, vaddr);
	return slot->used ? slot : NULL;
}

static int frame_cache__grow_slots(struct frame_cache *c)
{
	size_t capacity = c->capacity ? c->capacity * 2 : 256;
	struct frame_cache bigger = { .capacity = capacity };

	bigger.slots = calloc(capacity, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->capacity; i++)
		if (c->slots[i].used)
			*frame_cache__slot(&bigger, c->slots[i].vaddr) = c->slots[i];
	free(c->slots);
	c->slots = bigger.slots;
	c->capacity = capacity;
	return 0;
}

static int frame_cache__add_string(struct frame_cache *c, const char *str, uint32_t *ret_offset)
{
	size_t len;
	void *grown;
	int err;

	if (!str) {
		*ret_offset = NO_STRING;
		return 0;
	}
	len = strnlen(str, MAX_NAME_LEN);
	err = array__reserve(c->strings, 1, &c->strings_capacity, c->strings_size, len + 1, 4096,
			     MAX_CACHED_FRAME_BYTES, &grown);
	if (err)
		return err;
	c->strings = grown;
	memcpy(c->strings + c->strings_size, str, len);
	c->strings[c->strings_size + len] = '\0';
	*ret_offset = (uint32_t)c->strings_size;
	c->strings_size += len + 1;
	return 0;
}

/*
 * Remembers the n frames found at vaddr (none: nothing names it). Fails
 * quietly past the bounds: the address is then looked up again next time.
 */
static void frame_cache__add(struct frame_cache *c, uint64_t vaddr,
			     const struct symbol_frame *frames, size_t n)
{
	struct address_slot *slot;
	void *grown;

	if (c->n_addresses >= MAX_CACHED_ADDRESSES)
		return;
	if ((c->n_addresses + 1) * 2 > c->capacity && frame_cache__grow_slots(c))
		return;
	if (array__reserve(c->frames, sizeof(*c->frames), &c->frames_capacity, c->n_frames, n,
			   256, MAX_CACHED_FRAME_BYTES / sizeof(*c->frames), &grown))
		return;
	c->frames = grown;
	for (size_t i = 0; i < n; i++) {
		struct cached_frame *f = &c->frames[c->n_frames + i];

		if (frame_cache__add_string(c, frames[i].function, &f->function) ||
		    frame_cache__add_string(c, frames[i].system_name == frames[i].function
						       ? NULL
						       : frames[i].system_name,
					    &f->system_name) ||
		    frame_cache__add_string(c, frames[i].file, &f->file))
			return;
		f->line = frames[i].line;
	}
	slot = frame_cache__slot(c, vaddr);
	*slot = (struct address_slot){
		.vaddr = vaddr,
		.first = (uint32_t)c->n_frames,
		.n = (uint8_t)n,
		.used = true,
	};
	c->n_frames += n;
	c->n_addresses++;
}

static void binary__clear(struct binary *b)
{
	frame_cache__clear(&b->frame_cache);
	binary__clear_dwarf(b);
	free(b->build_id_hex);
	free(b->segments);
	free(b->syms);
	free(b->names);
	b->build_id_hex = NULL;
	b->segments = NULL;
	b->n_segments = 0;
	b->syms = NULL;
	b->n_syms = 0;
	b->names = NULL;
	b->names_size = 0;
	b->error = 0;
}

static size_t binary__memory(const struct binary *b)
{
	size_t memory = sizeof(*b) + strlen(b->path) + 1;

	if (b->build_id_hex)
		memory += strlen(b->build_id_hex) + 1;
	memory += b->n_segments * sizeof(*b->segments);
	memory += b->n_syms * sizeof(*b->syms);
	memory += b->names_size;
	memory += b->dwarf_bytes + b->dwarf_parsed_bytes;
	memory += b->n_cu_ranges * sizeof(*b->cu_ranges);
	memory += b->n_dwarf_units * sizeof(*b->dwarf_units);
	memory += frame_cache__memory(&b->frame_cache);
	return memory;
}

/* Whether an opened file is the one the maps line named (inode only: see open_binary). */
static bool same_inode(const struct binary *b, const struct elf_file *f)
{
	return b->inode == 0 || (uint64_t)f->st.st_ino == b->inode;
}

/*
 * Opens the file of b: through the process that maps it when there is one
 * (/proc/PID/map_files/START-END is the mapped file itself, even deleted,
 * replaced or in another mount namespace; /proc/PID/root/PATH sees its
 * mounts), else by its path. Only the inode is compared with the maps line:
 * on overlayfs and btrfs the device stat() gives is not the one maps shows.
 * A file by the path with another inode is another file: -ESTALE.
 */
static int open_binary(struct binary *b, struct elf_file *f, struct load_request *req)
{
	const struct symbolizer_file *file = req->file;
	char path[PATH_MAX];
	int err, n;

	req->root[0] = '\0';
	if (strcmp(b->path, VDSO_PATH) == 0)
		return file ? elf_file__open_vdso(f, file->pid, file->map_start, file->map_end)
			    : -ENOENT;
	if (file && file->pid > 0) {
		snprintf(req->root, sizeof(req->root), "/proc/%d/root", (int)file->pid);
		if (file->map_end > file->map_start) {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
				 (int)file->pid, file->map_start, file->map_end);
			if (elf_file__open(f, path) == 0) {
				if (same_inode(b, f))
					return 0;
				elf_file__close(f);
			}
		}
		n = snprintf(path, sizeof(path), "%s%s", req->root, b->path);
		if (b->path[0] == '/' && n > 0 && (size_t)n < sizeof(path) &&
		    elf_file__open(f, path) == 0) {
			if (same_inode(b, f))
				return 0;
			elf_file__close(f);
		}
		req->root[0] = '\0';
	}
	err = elf_file__open(f, b->path);
	if (err)
		return err;
	if (!same_inode(b, f)) {
		elf_file__close(f);
		return -ESTALE;
	}
	return 0;
}

/* Fills b from its file; on failure b holds nothing. */
static int binary__load(const struct symbolizer *s, struct binary *b, struct load_request *req)
{
	uint8_t build_id[MAX_BUILD_ID_BYTES];
	size_t build_id_len = 0, max_dwarf;
	struct elf_file main_file, dwarf_file = { .fd = -1 };
	bool own_dwarf;
	uint64_t dwarf_bytes;
	int err;

	req->debug_path[0] = '\0';
	err = open_binary(b, &main_file, req);
	if (err) {
		file_identity__get(&b->identity, b->path);
		return err;
	}
	file_identity__from_stat(&b->identity, &main_file.st);

	err = read_segments(&main_file, b);
	if (err)
		goto err_clear;
	if (read_build_id(&main_file, build_id, &build_id_len) == 0) {
		b->build_id_hex = hex_string(build_id, build_id_len);
		if (!b->build_id_hex) {
			err = -ENOMEM;
			goto err_clear;
		}
	}
	own_dwarf = main_file.fd >= 0 &&
		    dwarf_section_bytes(&main_file, &dwarf_bytes, &(bool){ false }) == 0 &&
		    dwarf_bytes > 0;
	err = load_debug_symbols(s, b, &main_file, build_id, build_id_len, req);
	if (err == -ENOMEM)
		goto err_clear;
	/* No local debug file: debuginfod may have one, if the binary has no DWARF of its own. */
	if (err && req->fetcher && build_id_len && !own_dwarf) {
		char *fetched = NULL;

		if (fetch_debuginfo(req->fetcher, build_id, build_id_len, req, &fetched) == 0) {
			err = try_debug_file(b, fetched, &main_file, build_id, build_id_len, NULL,
					     req);
			free(fetched);
		}
	}
	if (err) {
		err = load_symbols(&main_file, b, true);
		/* A binary without function symbols still has a build ID to report. */
		if (err && err != -ENOENT)
			goto err_clear;
	}

	/* DWARF: the binary's own if it has some, else its debug file's. */
	max_dwarf = s->max_memory / 2 < MAX_DWARF_BYTES ? s->max_memory / 2 : MAX_DWARF_BYTES;
	if (own_dwarf) {
		/* Again on the same open file: the path may be gone or another file by now. */
		dwarf_file.fd = fcntl(main_file.fd, F_DUPFD_CLOEXEC, 0);
		dwarf_file.st = main_file.st;
		dwarf_file.elf =
			dwarf_file.fd < 0 ? NULL : elf_begin(dwarf_file.fd, ELF_C_READ, NULL);
		if (!dwarf_file.elf)
			elf_file__close(&dwarf_file);
	} else if (req->debug_path[0] && elf_file__open(&dwarf_file, req->debug_path) != 0) {
		dwarf_file.fd = -1;
		dwarf_file.elf = NULL;
	}
	if (dwarf_file.elf) {
		err = load_dwarf(b, &dwarf_file, max_dwarf);
		if (err)
			goto err_clear;
	}
	elf_file__close(&main_file);
	return 0;
err_clear:
	elf_file__close(&main_file);
	binary__clear(b);
	return err;
}

static void binary__free(struct binary *b)
{
	binary__clear(b);
	free(b->path);
	free(b);
}

static void lru_unlink(struct symbolizer *s, struct binary *b)
{
	if (b->lru_prev)
		b->lru_prev->lru_next = b->lru_next;
	else
		s->lru_head = b->lru_next;
	if (b->lru_next)
		b->lru_next->lru_prev = b->lru_prev;
	else
		s->lru_tail = b->lru_prev;
	b->lru_prev = b->lru_next = NULL;
}

static void lru_push_head(struct symbolizer *s, struct binary *b)
{
	b->lru_prev = NULL;
	b->lru_next = s->lru_head;
	if (s->lru_head)
		s->lru_head->lru_prev = b;
	else
		s->lru_tail = b;
	s->lru_head = b;
}

static void evict(struct symbolizer *s, struct binary *b)
{
	struct binary **link = &s->buckets[b->hash & (s->n_buckets - 1)];

	while (*link != b)
		link = &(*link)->hash_next;
	*link = b->hash_next;
	lru_unlink(s, b);
	s->n_binaries--;
	s->binaries_memory -= b->memory;
	binary__free(b);
}

/* Whether b must stay: the one in use, one being loaded, or one used while frozen. */
static bool must_stay(const struct symbolizer *s, const struct binary *b,
		      const struct binary *keep)
{
	return b == keep || b->loading || (s->frozen && b->freeze_epoch == s->freeze_epoch);
}

/* Evicts least recently used entries, but those that must stay, past either bound. */
static void enforce_bounds(struct symbolizer *s, const struct binary *keep)
{
	struct binary *b = s->lru_tail;

	if (s->frozen && now_ns() - s->frozen_ns > FREEZE_LEASE_NS)
		s->frozen = false;
	while (b && (s->n_binaries > s->max_binaries || s->binaries_memory > s->max_memory)) {
		struct binary *prev = b->lru_prev;

		if (!must_stay(s, b, keep)) {
			evict(s, b);
			s->evictions++;
		}
		b = prev;
	}
}

/* Redoes b's accounting after it grew or shrank. */
static void account(struct symbolizer *s, struct binary *b)
{
	s->binaries_memory -= b->memory;
	b->memory = binary__memory(b);
	s->binaries_memory += b->memory;
}

/* (Re)loads b and updates the accounting; transient failures are the caller's to drop. */
static int reload(struct symbolizer *s, struct binary *b, const struct symbolizer_file *file)
{
	struct load_request *req = calloc(1, sizeof(*req));
	int err;

	binary__clear(b);
	if (!req) {
		err = -ENOMEM;
	} else {
		req->file = file;
		err = binary__load(s, b, req);
		free(req);
	}
	b->error = err;
	b->checked_ns = now_ns();
	account(s, b);
	return err;
}

/* Errors after which a file named by its inode may still become readable. */
static bool error_may_pass(int err)
{
	return err == -ENOENT || err == -EACCES || err == -EPERM || err == -ESTALE || err == -ESRCH;
}

/* A background load of one binary: what it needs, and what it made. */
struct load_job {
	struct worker_job job;
	const struct symbolizer *s; /* only its fixed settings and fetcher are read */
	struct binary *entry; /* the cache entry waiting; the caller's thread's */
	struct binary *result; /* the worker's until taken back */
	struct symbolizer_file file; /* a copy; path is result->path */
	struct load_request req;
	int err;
};

static void load_job__run(struct worker_job *job, struct worker *w)
{
	struct load_job *lj = (struct load_job *)job;

	lj->req.file = &lj->file;
	lj->req.fetcher = lj->s->fetcher;
	lj->err = binary__load(lj->s, lj->result, &lj->req);
	lj->result->error = lj->err;
}

static void load_job__release(struct worker_job *job)
{
	struct load_job *lj = (struct load_job *)job;

	binary__free(lj->result);
	free(lj);
}

/*
 * Queues the load of b (cleared, marked loading) on the worker. On failure
 * (queue full, no memory) b is evicted: the next lookup asks again.
 */
static int start_load(struct symbolizer *s, struct binary *b, const struct symbolizer_file *file)
{
	struct load_job *lj = calloc(1, sizeof(*lj));
	int err = -ENOMEM;

	if (!lj)
		goto err_evict;
	lj->result = calloc(1, sizeof(*lj->result));
	if (!lj->result)
		goto err_free;
	lj->result->path = strdup(b->path);
	if (!lj->result->path)
		goto err_free;
	lj->result->dev = b->dev;
	lj->result->inode = b->inode;
	lj->job.run = load_job__run;
	lj->job.release = load_job__release;
	lj->s = s;
	lj->entry = b;
	lj->file = *file;
	lj->file.path = lj->result->path;
	err = worker__submit(s->worker, &lj->job);
	if (err)
		goto err_free;
	binary__clear(b);
	b->loading = true;
	b->retry_ns = 0;
	account(s, b);
	return -EAGAIN;
err_free:
	if (lj->result)
		binary__free(lj->result);
	free(lj);
err_evict:
	evict(s, b);
	/* The queue is full of loads: one of them finishing is when to ask again. */
	return err == -EBUSY ? -EAGAIN : err;
}

static void kernel_job__run(struct worker_job *job, struct worker *w);
struct kernel_job;
static void install_kernel(struct symbolizer *s, struct kernel_job *kj);

/* Moves the tables a load made into the cache entry waiting for them. */
static void binary__take_tables(struct binary *dst, struct binary *src)
{
	struct binary keep = *dst;

	binary__clear(dst);
	*dst = *src;
	dst->hash_next = keep.hash_next;
	dst->lru_prev = keep.lru_prev;
	dst->lru_next = keep.lru_next;
	dst->hash = keep.hash;
	dst->path = keep.path;
	dst->dev = keep.dev;
	dst->inode = keep.inode;
	dst->memory = keep.memory;
	dst->freeze_epoch = keep.freeze_epoch;
	/* src keeps only its path, for binary__free(). */
	*src = (struct binary){ .path = src->path };
}

int symbolizer__collect(struct symbolizer *s)
{
	struct worker_job *job, *next;
	int n = 0;

	if (!s || !s->worker)
		return 0;
	for (job = worker__take_done(s->worker); job; job = next) {
		struct load_job *lj = (struct load_job *)job;
		struct binary *b = lj->entry;

		next = job->next;
		if (job->run == kernel_job__run) {
			install_kernel(s, (struct kernel_job *)job);
			job->release(job);
			n++;
			continue;
		}
		binary__take_tables(b, lj->result);
		b->loading = false;
		b->checked_ns = now_ns();
		b->retry_ns = lj->req.fetched == FETCH_FAILED || lj->req.fetched == FETCH_BACKED_OFF
				      ? lj->req.retry_ns
				      : 0;
		s->loads_done++;
		if (lj->err)
			s->loads_failed++;
		if (lj->req.fetched == FETCH_OK)
			s->debuginfod_fetched++;
		else if (lj->req.fetched == FETCH_FAILED)
			s->debuginfod_failed++;
		else if (lj->req.fetched == FETCH_BACKED_OFF)
			s->debuginfod_backed_off++;
		account(s, b);
		job->release(job);
		n++;
		if (error_is_transient(b->error))
			evict(s, b);
		else
			enforce_bounds(s, b);
	}
	return n;
}

/* Gives the cache entry of file, loading it on a miss; negative results included. */
static int get_binary(struct symbolizer *s, const struct symbolizer_file *file,
		      struct binary **ret_binary)
{
	uint64_t dev = file->inode ? file->dev : 0, inode = file->inode;
	uint64_t hash = hash_file(file->path, dev, inode);
	size_t bucket = hash & (s->n_buckets - 1);
	struct binary *b;
	int err;

	for (b = s->buckets[bucket]; b; b = b->hash_next) {
		if (b->hash == hash && b->dev == dev && b->inode == inode &&
		    strcmp(b->path, file->path) == 0)
			break;
	}
	if (b) {
		lru_unlink(s, b);
		lru_push_head(s, b);
		if (b->loading)
			return -EAGAIN;
		if (s->frozen && b->freeze_epoch == s->freeze_epoch) {
			/* Found already in this freeze: as it is until the thaw. */
		} else if (s->worker && b->retry_ns && now_ns() >= b->retry_ns) {
			/* A debuginfod fetch failed a while ago: try again. */
			return start_load(s, b, file);
		} else if (now_ns() - b->checked_ns >= REVALIDATE_NS) {
			struct file_identity current;
			bool stale;

			/*
			 * A file named by its inode keeps its contents; only a failure
			 * to reach it is worth another try. A file named by its path
			 * alone is reloaded when the path names another file.
			 */
			if (inode) {
				stale = error_may_pass(b->error);
			} else {
				file_identity__get(&current, file->path);
				stale = !file_identity__equal(&current, &b->identity);
			}
			if (!stale) {
				b->checked_ns = now_ns();
			} else if (s->worker) {
				return start_load(s, b, file);
			} else {
				err = reload(s, b, file);
				if (error_is_transient(err)) {
					evict(s, b);
					return err;
				}
				enforce_bounds(s, b);
			}
		}
		if (s->frozen) /* in use until the thaw: not evicted, not reloaded */
			b->freeze_epoch = s->freeze_epoch;
		*ret_binary = b;
		return 0;
	}

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->path = strdup(file->path);
	if (!b->path) {
		free(b);
		return -ENOMEM;
	}
	b->hash = hash;
	b->dev = dev;
	b->inode = inode;
	b->hash_next = s->buckets[bucket];
	s->buckets[bucket] = b;
	lru_push_head(s, b);
	s->n_binaries++;
	b->freeze_epoch = s->frozen ? s->freeze_epoch : 0;
	if (s->worker) {
		err = start_load(s, b, file);
		if (err == -EAGAIN)
			enforce_bounds(s, NULL);
		return err;
	}
	err = reload(s, b, file);
	if (error_is_transient(err)) {
		evict(s, b);
		return err;
	}
	/* b is at the head, so it is not the one evicted. */
	enforce_bounds(s, b);
	*ret_binary = b;
	return 0;
}

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

	err = get_binary(s, file, &b);
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
	scratch_reset(s);
	err = resolve(s, &file, file_offset, &b, &vaddr);
	if (err)
		return err;
	sym = find_function(b, vaddr);
	if (!sym)
		return -ENOENT;
	*ret_sym = (struct symbol){
		.name = demangle(s, b->names + sym->name),
		.system_name = b->names + sym->name,
		.module = NULL,
		.offset = vaddr - sym->start,
	};
	return 0;
}

/* Charges b for what its frame cache grew by, evicting others if need be. */
static void account_growth(struct symbolizer *s, struct binary *b)
{
	if (binary__memory(b) == b->memory)
		return;
	account(s, b);
	enforce_bounds(s, b);
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
static void count_unit(struct symbolizer *s, struct binary *b, struct dwarf_unit *unit,
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
	account(s, b);
	enforce_bounds(s, b);
}

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
static void dwarf_frames(struct symbolizer *s, struct binary *b, uint64_t vaddr,
			 struct symbol_frame *frames, size_t *ret_n, const char **ret_file,
			 uint32_t *ret_line, Dwarf_Die *ret_subprogram, bool *ret_has_subprogram)
{
	struct dwarf_unit *unit = find_unit(b, vaddr);
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
	count_unit(s, b, unit, &cudie);
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
			name = die_function_name(s, b, scope, &system_name);
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
	scratch_reset(s);
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
				.system_name = c->strings + (f->system_name == NO_STRING
								     ? f->function
								     : f->system_name),
				.file = f->file == NO_STRING ? NULL : c->strings + f->file,
				.line = f->line,
			};
		}
		n = cached->n;
		goto out;
	}
	if (b->dwarf)
		dwarf_frames(s, b, vaddr, frames, &n, &outer_file, &outer_line, &subprogram,
			     &has_subprogram);
	/* count_unit() may have evicted others, never b. */
	sym = find_function(b, vaddr);
	if (sym) {
		outer_system_name = b->names + sym->name;
		outer_name = demangle(s, outer_system_name);
	} else if (has_subprogram) {
		outer_name = die_function_name(s, b, &subprogram, &outer_system_name);
	}
	if (!outer_name) {
		frame_cache__add(&b->frame_cache, vaddr, frames, 0);
		account_growth(s, b);
		return -ENOENT;
	}
	frames[n++] = (struct symbol_frame){
		.function = outer_name,
		.system_name = outer_system_name,
		.file = outer_file,
		.line = outer_line,
	};
	frame_cache__add(&b->frame_cache, vaddr, frames, n);
	account_growth(s, b);
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
	err = get_binary(s, file, &b);
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
	return get_binary(s, file, &b);
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
		enforce_bounds(s, NULL);
}

/* ---- kernel ---- */

struct kernel_raw_sym {
	uint64_t address;
	uint32_t name;
	uint32_t module;
	uint8_t rank;
	uint16_t name_len;
};

/* For sorting: qsort() gives no context pointer and names live in a growing arena. */
struct kernel_builder {
	struct kernel_raw_sym *v;
	size_t n, capacity;
	char *names;
	size_t names_size, names_capacity;
};

static int kernel_builder__add_string(struct kernel_builder *kb, const char *str, size_t len,
				      uint32_t *ret_offset)
{
	void *grown;
	int err = array__reserve(kb->names, 1, &kb->names_capacity, kb->names_size, len + 1, 65536,
				 MAX_NAMES_BYTES, &grown);

	if (err)
		return err;
	kb->names = grown;
	memcpy(kb->names + kb->names_size, str, len);
	kb->names[kb->names_size + len] = '\0';
	*ret_offset = (uint32_t)kb->names_size;
	kb->names_size += len + 1;
	return 0;
}

static int kernel_raw_compare(const void *a, const void *b)
{
	const struct kernel_raw_sym *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	/* Keep the file's order otherwise, for a stable choice. */
	return x->name < y->name ? -1 : x->name > y->name;
}

/*
 * Parses one kallsyms line: "address type name[\t[module]]". Returns 1 for a
 * text symbol, 0 for a line to skip.
 */
static int parse_kallsyms_line(char *line, uint64_t *ret_address, char *ret_type, char **ret_name,
			       size_t *ret_name_len, char **ret_module, size_t *ret_module_len)
{
	char *p = line, *name, *module = NULL, *end;
	size_t digits = 0, module_len = 0;
	uint64_t address = 0;
	char type;

	for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F');
	     p++, digits++) {
		int digit = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;

		address = address << 4 | (uint64_t)digit;
	}
	if (digits == 0 || digits > 16 || *p++ != ' ')
		return 0;
	type = *p++;
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return 0;
	if (*p++ != ' ')
		return 0;
	name = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	if (p == name)
		return 0;
	end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		module = ++p;
		while (*p && *p != ']' && *p != '\n')
			p++;
		if (*p != ']' || p == module)
			return 0;
		module_len = (size_t)(p - module);
	}
	*ret_address = address;
	*ret_type = type;
	*ret_name = name;
	*ret_name_len = (size_t)(end - name);
	*ret_module = module;
	*ret_module_len = module_len;
	return 1;
}

static uint8_t kernel_type_rank(char type)
{
	switch (type) {
	case 'T':
		return 0;
	case 'W':
		return 1;
	case 't':
		return 2;
	default:
		return 3;
	}
}

static int kernel_builder__read(struct kernel_builder *kb, FILE *file)
{
	char *line = NULL, last_module[MAX_KALLSYMS_LINE] = "";
	uint32_t last_module_offset = NO_MODULE;
	size_t line_capacity = 0;
	ssize_t line_bytes;
	int err = 0;

	/* getline() counts every byte, so a NUL inside a line cannot hide its end. */
	while ((line_bytes = getline(&line, &line_capacity, file)) > 0) {
		size_t name_len, module_len;
		struct kernel_raw_sym raw = { .module = NO_MODULE };
		char *name, *module, type;
		void *grown;

		if ((size_t)line_bytes >= MAX_KALLSYMS_LINE || strlen(line) != (size_t)line_bytes)
			continue;
		if (!parse_kallsyms_line(line, &raw.address, &type, &name, &name_len, &module,
					 &module_len))
			continue;
		if (kb->n >= MAX_KALLSYMS_SYMBOLS) {
			err = -E2BIG;
			goto out;
		}
		if (module) {
			/* Module symbols come in runs; store each module's name once per run. */
			if (last_module_offset == NO_MODULE || strlen(last_module) != module_len ||
			    memcmp(last_module, module, module_len) != 0) {
				err = kernel_builder__add_string(kb, module, module_len,
								 &last_module_offset);
				if (err)
					goto out;
				memcpy(last_module, module, module_len);
				last_module[module_len] = '\0';
			}
			raw.module = last_module_offset;
		}
		err = kernel_builder__add_string(kb, name, name_len, &raw.name);
		if (err)
			goto out;
		raw.rank = kernel_type_rank(type);
		raw.name_len = (uint16_t)name_len;
		err = array__reserve(kb->v, sizeof(*kb->v), &kb->capacity, kb->n, 1, 4096,
				     MAX_KALLSYMS_SYMBOLS, &grown);
		if (err)
			goto out;
		kb->v = grown;
		kb->v[kb->n++] = raw;
	}
	err = ferror(file) ? -EIO : 0;
out:
	free(line);
	return err;
}

static int kernel_table__load(struct kernel_table *table, const char *path)
{
	struct kernel_builder kb = {};
	struct kernel_sym *syms = NULL;
	bool any_address = false;
	size_t i, n = 0;
	FILE *file;
	int err;

	file = fopen(path, "re");
	if (!file)
		return -errno;
	err = kernel_builder__read(&kb, file);
	fclose(file);
	if (err)
		goto out;

	for (i = 0; i < kb.n && !any_address; i++)
		any_address = kb.v[i].address != 0;
	/* With kptr_restrict every address reads 0: nothing can be told apart. */
	if (kb.n == 0 || !any_address) {
		err = -ENOENT;
		goto out;
	}
	qsort(kb.v, kb.n, sizeof(*kb.v), kernel_raw_compare);
	syms = malloc(kb.n * sizeof(*syms));
	if (!syms) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < kb.n; i++) {
		if (n > 0 && syms[n - 1].address == kb.v[i].address)
			continue;
		syms[n++] = (struct kernel_sym){
			.address = kb.v[i].address,
			.name = kb.v[i].name,
			.module = kb.v[i].module,
		};
	}
	table->syms = realloc(syms, n * sizeof(*syms)) ?: syms;
	table->n_syms = n;
	/* Aliases dropped above keep their bytes in the arena; it is not worth compacting. */
	table->names = realloc(kb.names, kb.names_size) ?: kb.names;
	table->names_size = kb.names_size;
	kb.names = NULL;
	err = 0;
out:
	free(kb.v);
	free(kb.names);
	return err;
}

/* The background read of kallsyms (some 100 ms for 120,000 symbols). */
struct kernel_job {
	struct worker_job job;
	const char *path; /* the symbolizer's kallsyms_path, fixed */
	struct kernel_table table;
	int err;
};

static void kernel_job__run(struct worker_job *job, struct worker *w)
{
	struct kernel_job *kj = (struct kernel_job *)job;

	kj->err = kernel_table__load(&kj->table, kj->path);
}

static void kernel_job__release(struct worker_job *job)
{
	struct kernel_job *kj = (struct kernel_job *)job;

	free(kj->table.syms);
	free(kj->table.names);
	free(kj);
}

/* Queues the read of kallsyms. Returns -EAGAIN (queued, or the queue is full) or -ENOMEM. */
static int start_kernel_load(struct symbolizer *s)
{
	struct kernel_job *kj = calloc(1, sizeof(*kj));
	int err;

	if (!kj)
		return -ENOMEM;
	kj->job.run = kernel_job__run;
	kj->job.release = kernel_job__release;
	kj->path = s->kallsyms_path;
	err = worker__submit(s->worker, &kj->job);
	if (err) {
		free(kj);
		return err == -EBUSY ? -EAGAIN : err;
	}
	s->kernel.loading = true;
	return -EAGAIN;
}

/* Puts a finished read of kallsyms in place. */
static void install_kernel(struct symbolizer *s, struct kernel_job *kj)
{
	struct kernel_table *table = &s->kernel;

	table->loading = false;
	s->loads_done++;
	if (kj->err)
		s->loads_failed++;
	/* Out of memory may pass: the next lookup reads it again. */
	if (kj->err == -ENOMEM)
		return;
	table->loaded = true;
	table->error = kj->err;
	table->syms = kj->table.syms;
	table->n_syms = kj->table.n_syms;
	table->names = kj->table.names;
	table->names_size = kj->table.names_size;
	kj->table = (struct kernel_table){};
}

int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t address, struct symbol *ret_sym)
{
	struct kernel_table *table;
	size_t low = 0, high;
	const struct kernel_sym *sym;

	if (!s || !ret_sym)
		return -EINVAL;
	table = &s->kernel;
	if (!table->loaded && s->worker)
		return table->loading ? -EAGAIN : start_kernel_load(s);
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
			s->fetcher = calloc(1, sizeof(*s->fetcher));
			if (!s->fetcher) {
				symbolizer__free(s);
				errno = ENOMEM;
				return NULL;
			}
			s->fetcher->backoff_ns =
				opts->debuginfod_backoff_s
					? opts->debuginfod_backoff_s * 1000000000ull
					: DEFAULT_DEBUGINFOD_BACKOFF_NS;
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
			s->fetcher->worker = s->worker;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	/* Loads in flight end first: their entries are freed with the cache. */
	worker__free(s->worker);
	if (s->fetcher && s->fetcher->client)
		debuginfod_end(s->fetcher->client);
	free(s->fetcher);
	while (s->lru_head)
		evict(s, s->lru_head);
	scratch_reset(s);
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
