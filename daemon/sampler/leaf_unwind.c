// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "leaf_unwind.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "procs/process_table.h"
#include "util/clock.h"

/* DWARF register number of %rsp on x86-64 (System V psABI). */
#define X86_64_DWARF_RSP 7

/* Rules cached, direct-mapped: a power of two. 4096 leaf addresses cover a busy process. */
#define RULE_CACHE_SIZE 4096
/* A file that could not be opened is tried again after this long. */
#define RETRY_OPEN_NS (10ull * 1000000000ull)
/* Bounds on a rule we believe: the return address lies within a sane frame. */
#define MAX_SP_OFFSET (1u << 20)
/* .debug_frame is read only from files whose debug sections are at most this big. */
#define MAX_DEBUG_BYTES (64u << 20)

#define NO_RULE (-1)

struct rule_entry {
	uint64_t dev, inode, file_offset;
	int32_t sp_offset; /* bytes above sp of the return address, or NO_RULE */
	bool used;
};

struct unwind_file {
	uint64_t dev, inode;
	int fd; /* -1 while the file could not be opened */
	Elf *elf;
	Dwarf_CFI *eh_cfi; /* .eh_frame, NULL if none */
	Dwarf *dwarf; /* for .debug_frame, opened on the first address .eh_frame misses */
	bool dwarf_tried;
	uint64_t open_failed_ns; /* when the last open failed; 0 if open */
	uint64_t last_used; /* lu->clock at the last use, for eviction */
};

struct leaf_unwind {
	struct rule_entry rules[RULE_CACHE_SIZE];
	struct unwind_file *files;
	size_t n_files, max_files;
	uint64_t clock;
	struct leaf_unwind_stats stats;
	/* The record with its leaf's caller added, returned by __apply(). */
	uint64_t copy[(sizeof(struct cprof_sample_record) + CPROF_MAX_FRAMES * sizeof(__u64)) /
		      sizeof(uint64_t)];
};

struct leaf_unwind *leaf_unwind__new(size_t max_files)
{
	struct leaf_unwind *lu;

	if (!max_files) {
		errno = EINVAL;
		return NULL;
	}
	elf_version(EV_CURRENT);
	lu = calloc(1, sizeof(*lu));
	if (!lu)
		return NULL;
	lu->files = calloc(max_files, sizeof(*lu->files));
	if (!lu->files) {
		free(lu);
		errno = ENOMEM;
		return NULL;
	}
	lu->max_files = max_files;
	return lu;
}

static void unwind_file__close(struct unwind_file *f)
{
	if (f->dwarf)
		dwarf_end(f->dwarf);
	if (f->eh_cfi)
		dwarf_cfi_end(f->eh_cfi);
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

void leaf_unwind__free(struct leaf_unwind *lu)
{
	if (!lu)
		return;
	for (size_t i = 0; i < lu->n_files; i++)
		unwind_file__close(&lu->files[i]);
	free(lu->files);
	free(lu);
}

void leaf_unwind__stats(const struct leaf_unwind *lu, struct leaf_unwind_stats *ret)
{
	*ret = lu->stats;
}

/* The ELF virtual address that file_offset is loaded at, from the PT_LOAD segments. */
static int offset_to_vaddr(Elf *elf, uint64_t file_offset, uint64_t *ret_vaddr)
{
	GElf_Ehdr ehdr;
	size_t n;

	if (!gelf_getehdr(elf, &ehdr) || ehdr.e_machine != EM_X86_64 ||
	    ehdr.e_ident[EI_CLASS] != ELFCLASS64 || elf_getphdrnum(elf, &n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		if (file_offset >= phdr.p_offset && file_offset - phdr.p_offset < phdr.p_filesz) {
			*ret_vaddr = phdr.p_vaddr + (file_offset - phdr.p_offset);
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * The rule at vaddr in cfi. The CFA must be DW_OP_breg7/bregx(rsp) N and
 * the return-address column saved at CFA + K (libdw spells that
 * call_frame_cfa, then optionally plus_uconst K or consts K, plus).
 */
static int cfi_rule(Dwarf_CFI *cfi, uint64_t vaddr, uint32_t *ret_sp_offset)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op *ops, ops_mem[3];
	size_t nops;
	Dwarf_Addr start, end;
	bool signal_frame;
	int64_t cfa_offset, ra_offset = 0, total;
	int ra_column, err = -ENOENT;

	if (!cfi || dwarf_cfi_addrframe(cfi, vaddr, &frame) != 0)
		return -ENODATA;
	ra_column = dwarf_frame_info(frame, &start, &end, &signal_frame);
	if (ra_column < 0 || signal_frame)
		goto out;
	if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops != 1)
		goto out;
	if (ops[0].atom == DW_OP_breg0 + X86_64_DWARF_RSP)
		cfa_offset = (int64_t)ops[0].number;
	else if (ops[0].atom == DW_OP_bregx && ops[0].number == X86_64_DWARF_RSP)
		cfa_offset = (int64_t)ops[0].number2;
	else
		goto out; /* rbp-based: the frame is set up */

	if (dwarf_frame_register(frame, ra_column, ops_mem, &ops, &nops) != 0 || nops < 1 ||
	    ops[0].atom != DW_OP_call_frame_cfa)
		goto out;
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst)
		ra_offset = (int64_t)ops[1].number;
	else if (nops == 3 && ops[1].atom == DW_OP_consts && ops[2].atom == DW_OP_plus)
		ra_offset = (int64_t)ops[1].number;
	else if (nops != 1)
		goto out; /* a value rule or an expression: not a plain saved slot */

	total = cfa_offset + ra_offset;
	if (total < 0 || total > MAX_SP_OFFSET)
		goto out;
	*ret_sp_offset = (uint32_t)total;
	err = 0;
out:
	free(frame);
	return err;
}

/*
 * Opens the DWARF of elf for its .debug_frame, if the debug sections are
 * small enough: dwarf_begin_elf() reads them all, and this runs on the
 * daemon's event loop. NULL otherwise.
 */
static Dwarf *open_debug_frame(Elf *elf)
{
	uint64_t bytes = 0, found = 0;
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;

		if (!gelf_getshdr(scn, &shdr) || !(name = elf_strptr(elf, shstrndx, shdr.sh_name)))
			continue;
		if (strncmp(name, ".debug_", 7) && strncmp(name, ".zdebug_", 8))
			continue;
		bytes += shdr.sh_type == SHT_NOBITS ? 0 : shdr.sh_size;
		found |= !strcmp(name, ".debug_frame") || !strcmp(name, ".zdebug_frame");
	}
	if (!found || bytes > MAX_DEBUG_BYTES)
		return NULL;
	return dwarf_begin_elf(elf, DWARF_C_READ, NULL);
}

int leaf_unwind__elf_rule(Elf *elf, uint64_t file_offset, uint32_t *ret_sp_offset)
{
	Dwarf_CFI *cfi;
	Dwarf *dwarf;
	uint64_t vaddr;
	int err;

	if (!elf)
		return -EINVAL;
	err = offset_to_vaddr(elf, file_offset, &vaddr);
	if (err)
		return err;
	cfi = dwarf_getcfi_elf(elf);
	err = cfi_rule(cfi, vaddr, ret_sp_offset);
	if (cfi)
		dwarf_cfi_end(cfi);
	if (err != -ENODATA)
		return err;
	dwarf = open_debug_frame(elf);
	if (!dwarf)
		return -ENODATA;
	err = cfi_rule(dwarf_getcfi(dwarf), vaddr, ret_sp_offset);
	dwarf_end(dwarf);
	return err;
}

static int unwind_file__rule(struct unwind_file *f, uint64_t file_offset, uint32_t *ret_sp_offset)
{
	uint64_t vaddr;
	int err;

	err = offset_to_vaddr(f->elf, file_offset, &vaddr);
	if (err)
		return err;
	err = cfi_rule(f->eh_cfi, vaddr, ret_sp_offset);
	if (err != -ENODATA)
		return err;
	if (!f->dwarf_tried) {
		f->dwarf_tried = true;
		f->dwarf = open_debug_frame(f->elf);
	}
	if (!f->dwarf)
		return -ENODATA;
	return cfi_rule(dwarf_getcfi(f->dwarf), vaddr, ret_sp_offset);
}

/* Opens path if it is a regular file with the inode of the maps line; or a negative errno. */
static int open_checked(const char *path, uint64_t inode)
{
	struct stat st;
	/* O_NONBLOCK: a path in the target's root may name a FIFO, which must not block us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != inode) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/*
 * Opens the file of mapping m of tgid: the mapped file itself through
 * map_files, else the path in the process's root. Only the inode is
 * compared with the maps line: on overlayfs and btrfs the device stat()
 * gives is not the one maps shows.
 */
static int open_mapped_file(pid_t tgid, const struct proc_map *m)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, tgid, m->start,
		 m->end);
	fd = open_checked(path, m->inode);
	if (fd >= 0)
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "/proc/%d/root%s", tgid, m->path) >= sizeof(path))
		return -ENAMETOOLONG;
	return open_checked(path, m->inode);
}

static int unwind_file__open(struct unwind_file *f, pid_t tgid, const struct proc_map *m)
{
	int fd = open_mapped_file(tgid, m);

	if (fd < 0)
		return fd;
	f->fd = fd;
	/*
	 * Read, not mmap: the target may truncate a file it maps, and touching
	 * a mapping past the end of its file would kill the daemon with SIGBUS.
	 */
	f->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF)
		return -EINVAL;
	f->eh_cfi = dwarf_getcfi_elf(f->elf);
	return 0;
}

/* The cached file of mapping m, opening it (evicting the least used) if needed; or NULL. */
static struct unwind_file *get_file(struct leaf_unwind *lu, pid_t tgid, const struct proc_map *m,
				    uint64_t dev)
{
	struct unwind_file *f = NULL;
	size_t i;

	lu->clock++;
	for (i = 0; i < lu->n_files; i++) {
		if (lu->files[i].dev == dev && lu->files[i].inode == m->inode) {
			f = &lu->files[i];
			break;
		}
	}
	if (f && !f->open_failed_ns) {
		f->last_used = lu->clock;
		return f;
	}
	if (f && monotonic_ns() - f->open_failed_ns < RETRY_OPEN_NS)
		return NULL;
	if (!f) {
		if (lu->n_files < lu->max_files) {
			f = &lu->files[lu->n_files++];
			f->fd = -1; /* a new slot holds no file: 0 would be stdin's, or whose it is now */
		} else {
			f = &lu->files[0];
			for (i = 1; i < lu->n_files; i++)
				if (lu->files[i].last_used < f->last_used)
					f = &lu->files[i];
		}
	}
	unwind_file__close(f);
	f->dev = dev;
	f->inode = m->inode;
	f->last_used = lu->clock;
	if (unwind_file__open(f, tgid, m)) {
		unwind_file__close(f);
		f->dev = dev;
		f->inode = m->inode;
		f->last_used = lu->clock;
		f->open_failed_ns = monotonic_ns() | 1;
		return NULL;
	}
	return f;
}

static size_t rule_slot(uint64_t dev, uint64_t inode, uint64_t file_offset)
{
	uint64_t h = (inode * 0x9e3779b97f4a7c15ull) ^ (dev * 0xc2b2ae3d27d4eb4full) ^ file_offset;

	h *= 0xff51afd7ed558ccdull;
	return (h >> 40) & (RULE_CACHE_SIZE - 1);
}

/* The rule for the leaf at ip: bytes above sp of its return address, or NO_RULE. */
static int32_t leaf_rule(struct leaf_unwind *lu, pid_t tgid, const struct proc_map *m, uint64_t ip)
{
	uint64_t dev = makedev(m->dev_major, m->dev_minor);
	uint64_t file_offset = m->offset + (ip - m->start);
	struct rule_entry *e = &lu->rules[rule_slot(dev, m->inode, file_offset)];
	struct unwind_file *f;
	uint32_t sp_offset;

	if (e->used && e->file_offset == file_offset && e->inode == m->inode && e->dev == dev)
		return e->sp_offset;
	f = get_file(lu, tgid, m, dev);
	if (!f)
		return NO_RULE; /* not cached: the file may open later */
	lu->stats.rule_lookups++;
	e->used = true;
	e->dev = dev;
	e->inode = m->inode;
	e->file_offset = file_offset;
	e->sp_offset = unwind_file__rule(f, file_offset, &sp_offset) ? NO_RULE : (int32_t)sp_offset;
	return e->sp_offset;
}

const struct cprof_sample_record *leaf_unwind__apply(struct leaf_unwind *lu,
						     struct process_table *processes,
						     const struct cprof_sample_record *r)
{
	struct cprof_sample_record *copy = (void *)lu->copy;
	const struct proc_map *m;
	size_t leaf = r->kernel_depth, user_depth, tail;
	uint64_t ip, caller;
	int32_t sp_offset;

	if (!r->user_depth || !r->leaf_stack_words)
		return r;
	ip = r->ips[leaf];
	m = process_table__find(processes, r->tgid, ip);
	/* Only file-backed code has unwind info we can open ([vdso] and JIT code do not). */
	if (!m || !m->path || m->path[0] != '/' || !(m->perms & PROC_MAP_EXEC) || !m->inode)
		return r;
	sp_offset = leaf_rule(lu, r->tgid, m, ip);
	if (sp_offset == NO_RULE)
		return r;
	if (sp_offset % sizeof(uint64_t) || (uint32_t)sp_offset / 8 >= r->leaf_stack_words) {
		lu->stats.not_captured++;
		return r;
	}
	caller = r->leaf_stack[sp_offset / 8];
	/* A wrong rule or a torn stack must not add a frame outside code. */
	m = process_table__find(processes, r->tgid, caller);
	if (!m || !(m->perms & PROC_MAP_EXEC))
		return r;

	user_depth = r->user_depth + 1;
	if (user_depth > CPROF_MAX_USER_FRAMES)
		user_depth = CPROF_MAX_USER_FRAMES;
	tail = user_depth - 2; /* user frames after the leaf and its caller */
	memcpy(copy, r, sizeof(*r) + (leaf + 1) * sizeof(__u64));
	copy->ips[leaf + 1] = caller;
	memcpy(&copy->ips[leaf + 2], &r->ips[leaf + 1], tail * sizeof(__u64));
	copy->user_depth = user_depth;
	copy->header.size = sizeof(*copy) + (leaf + user_depth) * sizeof(__u64);
	lu->stats.recovered++;
	return copy;
}
