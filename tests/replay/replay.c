// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * replay [-v] CORE: the BPF program's stack walk (bpf/unwind.h), compiled
 * for user space, over an ELF core file (gcore's) instead of a live
 * process. The core gives the memory (PT_LOAD), the threads' registers
 * (NT_PRSTATUS) and the file mappings (NT_FILE); each executable file
 * mapping's table is built from the file on disk as the daemon builds it
 * (cfi_table__build, then file_rows to key the rows by file offset, rules
 * shared by every file), into arrays shaped like the BPF maps. Each thread
 * is walked as read_user_stack() in bpf/profile.bpf.c walks it, and gets
 * one line:
 *
 *   thread TID stop=REASON frames=N: 0xPC 0xPC ...     (leaf first)
 *
 * -v adds, before each thread's line, a "#" line per step: the registers
 * it starts from, the mapping and the rule the table has there (found by
 * a plain search, not the unwinder's).
 *
 * Unlike the daemon, no separate debug file is tried for a binary without
 * CFI of its own (its mappings then have no table: frame pointers).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>

#include "cprof_record.h"
#include "cprof_unwind.h"
#include "unwind/cfi_table.h"
#include "unwind/file_rows.h"

/* ---- the core ---- */

struct load {
	uint64_t vaddr, size; /* size: the bytes the core holds (p_filesz) */
	const unsigned char *data;
};

struct thread {
	int tid;
	uint64_t rip, rsp, rbp;
};

struct file_map {
	uint64_t start, end, offset; /* offset in bytes */
	const char *path; /* in the core's note */
};

static struct load *loads;
static size_t n_loads;
static struct thread *threads;
static size_t n_threads;
static struct file_map *file_maps;
static size_t n_file_maps;

static void *grow(void *array, size_t n, size_t size)
{
	/* Doubles at powers of two: n is the count before the new element. */
	if (n & (n - 1))
		return array;
	array = realloc(array, (n ? 2 * n : 1) * size);
	if (!array) {
		fprintf(stderr, "replay: out of memory\n");
		exit(2);
	}
	return array;
}

/* Copies [addr, addr + size) of the core's memory to dst: 0, or -EFAULT if any byte is not there. */
static int core_read(void *dst, uint64_t size, uint64_t addr)
{
	unsigned char *out = dst;

	while (size) {
		const struct load *l = NULL;
		uint64_t n;

		for (size_t i = 0; i < n_loads && !l; i++)
			if (addr >= loads[i].vaddr && addr - loads[i].vaddr < loads[i].size)
				l = &loads[i];
		if (!l)
			return -EFAULT;
		n = l->vaddr + l->size - addr;
		if (n > size)
			n = size;
		memcpy(out, l->data + (addr - l->vaddr), n);
		out += n;
		addr += n;
		size -= n;
	}
	return 0;
}

/* The i-th 8-byte word of a note's descriptor, which notes align to 4 bytes only. */
static uint64_t note_word(const unsigned char *desc, uint64_t i)
{
	uint64_t word;

	memcpy(&word, desc + 8 * i, sizeof(word));
	return word;
}

/* NT_FILE: count, page size, count x {start, end, offset in pages}, count paths. */
static int parse_nt_file(const unsigned char *desc, size_t size)
{
	uint64_t count, page_size;
	const char *path, *end = (const char *)desc + size;

	if (size < 16)
		return -EINVAL;
	count = note_word(desc, 0);
	page_size = note_word(desc, 1);
	if (count > (size - 16) / 24)
		return -EINVAL;
	path = (const char *)desc + 8 * (2 + 3 * count);
	for (uint64_t i = 0; i < count; i++) {
		size_t len = strnlen(path, end - path);

		if (path + len >= end)
			return -EINVAL;
		file_maps = grow(file_maps, n_file_maps, sizeof(*file_maps));
		file_maps[n_file_maps++] = (struct file_map){
			.start = note_word(desc, 2 + 3 * i),
			.end = note_word(desc, 3 + 3 * i),
			.offset = note_word(desc, 4 + 3 * i) * page_size,
			.path = path,
		};
		path += len + 1;
	}
	return 0;
}

static int parse_notes(Elf *elf, const GElf_Phdr *ph)
{
	Elf_Data *data = elf_getdata_rawchunk(elf, ph->p_offset, ph->p_filesz, ELF_T_NHDR);
	size_t offset = 0, name_offset, desc_offset;
	GElf_Nhdr note;

	if (!data)
		return -EINVAL;
	while ((offset = gelf_getnote(data, offset, &note, &name_offset, &desc_offset)) > 0) {
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_offset;
		const char *name = (const char *)data->d_buf + name_offset;

		if (note.n_namesz != 5 || memcmp(name, "CORE", 5))
			continue;
		if (note.n_type == NT_PRSTATUS && note.n_descsz >= sizeof(struct elf_prstatus)) {
			struct elf_prstatus st;
			struct user_regs_struct regs;

			_Static_assert(sizeof(st.pr_reg) == sizeof(regs), "x86-64 registers");
			memcpy(&st, desc, sizeof(st));
			memcpy(&regs, &st.pr_reg, sizeof(regs));
			threads = grow(threads, n_threads, sizeof(*threads));
			threads[n_threads++] = (struct thread){
				.tid = st.pr_pid, .rip = regs.rip, .rsp = regs.rsp, .rbp = regs.rbp
			};
		} else if (note.n_type == NT_FILE && parse_nt_file(desc, note.n_descsz)) {
			return -EINVAL;
		}
	}
	return 0;
}

static int read_core(Elf *elf)
{
	size_t n_phdrs, raw_size;
	const unsigned char *raw = (const unsigned char *)elf_rawfile(elf, &raw_size);
	GElf_Ehdr eh;

	if (!raw || !gelf_getehdr(elf, &eh) || eh.e_type != ET_CORE || eh.e_machine != EM_X86_64 ||
	    gelf_getclass(elf) != ELFCLASS64 || elf_getphdrnum(elf, &n_phdrs))
		return -EINVAL;
	for (size_t i = 0; i < n_phdrs; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -EINVAL;
		if (ph.p_type == PT_NOTE && parse_notes(elf, &ph))
			return -EINVAL;
		if (ph.p_type != PT_LOAD || !ph.p_filesz)
			continue;
		if (ph.p_offset > raw_size || ph.p_filesz > raw_size - ph.p_offset)
			return -EINVAL; /* a truncated core */
		loads = grow(loads, n_loads, sizeof(*loads));
		loads[n_loads++] = (struct load){ ph.p_vaddr, ph.p_filesz, raw + ph.p_offset };
	}
	return 0;
}

/* ---- the tables, shaped like the BPF maps ---- */

static struct cprof_unwind_file *files;
static size_t n_files;
static struct cprof_unwind_row *rows;
static size_t n_rows;
static struct cprof_unwind_page *pages;
static size_t n_pages;
static struct cprof_unwind_rule *rules; /* rules[0]: none */
static size_t n_rules;
static struct cprof_unwind_proc proc;
static const char *mapping_path[CPROF_UNWIND_MAX_MAPPINGS];

/* A file seen once: its table's index in files, or CPROF_UNWIND_NO_FILE. */
struct seen_file {
	const char *path;
	uint32_t index;
	struct file_segment segs[FILE_ROWS_MAX_SEGMENTS];
	size_t n_segs;
};

static struct seen_file *seen;
static size_t n_seen;

/* The rule's index among all files' rules, added if new; 0 for "no CFI", as the daemon does. */
static uint32_t global_rule(const struct cprof_unwind_rule *r)
{
	if (r->cfa_kind == CPROF_CFA_NONE)
		return 0;
	for (size_t i = 1; i < n_rules; i++)
		if (!memcmp(&rules[i], r, sizeof(*r)))
			return (uint32_t)i;
	rules = grow(rules, n_rules, sizeof(*rules));
	rules[n_rules] = *r;
	return (uint32_t)n_rules++;
}

/* Appends f's table, keyed by file offset, to the arrays; returns its index or NO_FILE. */
static uint32_t load_table(struct seen_file *f, Elf *elf)
{
	struct cfi_table *table = NULL;
	struct cprof_unwind_row *keyed;
	size_t n_keyed, first = n_rows;
	uint32_t count;
	int err;

	err = cfi_table__build(elf, NULL, &table);
	if (!err)
		err = file_rows__by_offset(table, f->segs, f->n_segs, &keyed, &n_keyed);
	if (err) {
		fprintf(stderr, "replay: %s: no table (%s)\n", f->path, strerror(-err));
		cfi_table__free(table);
		return CPROF_UNWIND_NO_FILE;
	}
	for (size_t i = 0; i < n_keyed; i++) {
		uint32_t local = keyed[i].rule;

		rows = grow(rows, n_rows, sizeof(*rows));
		rows[n_rows++] = (struct cprof_unwind_row){
			.address = keyed[i].address,
			.rule = local < table->n_rules ? global_rule(&table->rules[local]) : 0,
		};
	}
	count = cfi_table__n_pages(&rows[first], (uint32_t)n_keyed);
	pages = realloc(pages, (n_pages + count + 1) * sizeof(*pages));
	if (!pages) {
		fprintf(stderr, "replay: out of memory\n");
		exit(2);
	}
	cfi_table__page_index(&rows[first], (uint32_t)n_keyed, &pages[n_pages], count);
	files = grow(files, n_files, sizeof(*files));
	files[n_files] = (struct cprof_unwind_file){
		.base = 0,
		.first_row = (uint32_t)first,
		.n_rows = (uint32_t)n_keyed,
		.first_page = (uint32_t)n_pages,
		.n_pages = count,
	};
	n_pages += count;
	free(keyed);
	cfi_table__free(table);
	return (uint32_t)n_files++;
}

/* The file at path, its segments read and its table built the first time; NULL if unreadable. */
static struct seen_file *see_file(const char *path)
{
	struct seen_file *f;
	Elf *elf;
	int fd;

	for (size_t i = 0; i < n_seen; i++)
		if (!strcmp(seen[i].path, path))
			return seen[i].index == UINT32_MAX - 1 ? NULL : &seen[i];
	seen = grow(seen, n_seen, sizeof(*seen));
	f = &seen[n_seen++];
	*f = (struct seen_file){ .path = path, .index = UINT32_MAX - 1 };
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		f->n_segs = file_rows__exec_segments(elf, f->segs);
		f->index = f->n_segs ? load_table(f, elf) : CPROF_UNWIND_NO_FILE;
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return f->index == UINT32_MAX - 1 ? NULL : f;
}

/* Whether the mapping's range of the file holds code: it overlaps an executable PT_LOAD. */
static bool maps_code(const struct file_map *m, const struct seen_file *f)
{
	uint64_t length = m->end - m->start;

	for (size_t i = 0; i < f->n_segs; i++)
		if (m->offset < f->segs[i].offset + f->segs[i].size &&
		    f->segs[i].offset < m->offset + length)
			return true;
	return false;
}

static int mapping_by_start(const void *a, const void *b)
{
	const struct cprof_unwind_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void build_proc(void)
{
	rules = grow(rules, 0, sizeof(*rules));
	rules[0] = (struct cprof_unwind_rule){ 0 };
	n_rules = 1;
	for (size_t i = 0; i < n_file_maps; i++) {
		const struct file_map *m = &file_maps[i];
		struct seen_file *f;

		if (m->path[0] != '/' || !(f = see_file(m->path)) || !maps_code(m, f))
			continue;
		if (proc.n_mappings == CPROF_UNWIND_MAX_MAPPINGS) {
			fprintf(stderr,
				"replay: over %d code mappings: the rest by frame pointers\n",
				CPROF_UNWIND_MAX_MAPPINGS);
			break;
		}
		proc.mappings[proc.n_mappings++] = (struct cprof_unwind_mapping){
			.start = m->start,
			.end = m->end,
			.bias = m->start - m->offset,
			.file = f->index,
		};
	}
	qsort(proc.mappings, proc.n_mappings, sizeof(proc.mappings[0]), mapping_by_start);
	/* Paths for -v, found again once sorted. */
	for (size_t i = 0; i < proc.n_mappings; i++)
		for (size_t j = 0; j < n_file_maps; j++)
			if (file_maps[j].start == proc.mappings[i].start)
				mapping_path[i] = file_maps[j].path;
}

/* ---- the walk, as the BPF program has it ---- */

#define UNWIND_WINDOW_BYTES 4096
#define UNWIND_READ_USER(dst, size, addr) core_read(dst, size, addr)
#define UNWIND_FILE(index) ((index) < n_files ? &files[index] : NULL)
#define UNWIND_ROW(index) ((index) < n_rows ? &rows[index] : NULL)
#define UNWIND_PAGE(index) ((index) < n_pages ? &pages[index] : NULL)
#define UNWIND_RULE(index) ((index) < n_rules ? &rules[index] : NULL)
#define UNWIND_BOUND(var) ((void)(var))
#define UNWIND_LOOP(n, fn, ctx)                                                                    \
	do {                                                                                       \
		for (__u32 unwind_i = 0; unwind_i < (n); unwind_i++)                               \
			if ((fn)(unwind_i, (ctx)))                                                 \
				break;                                                             \
	} while (0)
#include "../../bpf/unwind.h"

static const char *const stop_names[CPROF_UNWIND_STOP_KINDS] = {
	[CPROF_UNWIND_STOP_NONE] = "none",
	[CPROF_UNWIND_STOP_FP_END] = "fp_end",
	[CPROF_UNWIND_STOP_END] = "end",
	[CPROF_UNWIND_STOP_READ_FAULT] = "read_fault",
	[CPROF_UNWIND_STOP_UNSUPPORTED] = "unsupported",
	[CPROF_UNWIND_STOP_TRUNCATED] = "truncated",
};

static bool verbose;

/*
 * The mapping and the table's rule of the step about to run, found here by
 * a plain search of the arrays rather than by bpf/unwind.h's, so that a
 * search of the unwinder that goes wrong shows as a step that does not do
 * what its rule says.
 */
static void print_step(const struct stack_walk *s, __u32 index)
{
	__u64 lookup = s->pc_exact ? s->pc : s->pc - 1, relative;
	const struct cprof_unwind_mapping *m = NULL;
	const struct cprof_unwind_file *f = NULL;
	const struct cprof_unwind_row *row = NULL;

	printf("#   step %u: pc 0x%llx%s sp 0x%llx fp 0x%llx", index, (unsigned long long)s->pc,
	       s->pc_exact ? " (exact)" : "", (unsigned long long)s->sp, (unsigned long long)s->fp);
	for (__u32 i = 0; i < proc.n_mappings && !m; i++)
		if (proc.mappings[i].start <= lookup && lookup < proc.mappings[i].end)
			m = &proc.mappings[i];
	if (!m) {
		printf(": no mapping\n");
		return;
	}
	relative = lookup - m->bias;
	printf(": %s+0x%llx", mapping_path[m - proc.mappings], (unsigned long long)relative);
	if (m->file != CPROF_UNWIND_NO_FILE)
		f = &files[m->file];
	for (__u32 i = 0; f && i < f->n_rows && rows[f->first_row + i].address <= relative; i++)
		row = &rows[f->first_row + i];
	if (!f)
		printf(" no table\n");
	else if (!row || !row->rule || row == &rows[f->first_row + f->n_rows - 1])
		printf(" no rule\n");
	else
		printf(" rule %u: cfa_kind %u cfa_offset %d fp_kind %u fp_offset %d\n", row->rule,
		       rules[row->rule].cfa_kind, rules[row->rule].cfa_offset,
		       rules[row->rule].fp_kind, rules[row->rule].fp_offset);
}

static long walk_loop_step(__u32 index, void *ctx)
{
	struct walk_refs *w = ctx;
	long done;

	if (verbose)
		print_step(w->s, index);
	done = walk_step(w);
	/* The first step unwinds the leaf: by a table, its caller is right. */
	if (index == 0)
		w->s->leaf_by_table = w->s->table_frames != 0;
	return done;
}

/* read_user_stack() of bpf/profile.bpf.c, from the thread's registers in the core. */
static void walk_thread(const struct thread *t)
{
	static __u64 window[UNWIND_WINDOW_BYTES / sizeof(__u64)];
	static __u64 ips[CPROF_MAX_USER_FRAMES];
	struct stack_walk walk, *s = &walk;
	struct walk_refs w = { .s = s, .window = window, .ips = ips, .proc = &proc };
	__u64 bytes;
	__u32 depth;

	memset(s, 0, sizeof(*s));
	s->pc = t->rip;
	s->sp = t->rsp;
	s->fp = t->rbp;
	s->pc_exact = 1;
	s->depth = 1;
	s->mapping = CPROF_UNWIND_MAX_MAPPINGS;
	ips[0] = s->pc;
	bytes = UNWIND_WINDOW_BYTES - (s->sp & (UNWIND_WINDOW_BYTES - 1));
	if (!core_read(window, bytes, s->sp)) {
		s->window_base = s->sp;
		s->window_bytes = bytes;
	}
	if (verbose)
		printf("# thread %d\n", t->tid);
	UNWIND_LOOP(CPROF_MAX_USER_FRAMES, walk_loop_step, &w);
	depth = s->depth;
	if (depth > CPROF_MAX_USER_FRAMES)
		depth = CPROF_MAX_USER_FRAMES;
	printf("thread %d stop=%s frames=%u:", t->tid,
	       s->stop < CPROF_UNWIND_STOP_KINDS ? stop_names[s->stop] : "?", depth);
	for (__u32 i = 0; i < depth; i++)
		printf(" 0x%llx", (unsigned long long)ips[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *path;
	Elf *elf;
	int fd;

	if (argc == 3 && !strcmp(argv[1], "-v"))
		verbose = true;
	else if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: replay [-v] CORE\n");
		return 2;
	}
	path = argv[argc - 1];
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || read_core(elf)) {
		fprintf(stderr, "replay: %s: not an x86-64 ELF core file\n", path);
		return 1;
	}
	if (!n_threads) {
		fprintf(stderr, "replay: %s: no NT_PRSTATUS note\n", path);
		return 1;
	}
	build_proc();
	if (verbose)
		printf("# %u code mappings, %zu tables, %zu rows, %zu rules\n", proc.n_mappings,
		       n_files, n_rows, n_rules);
	for (size_t i = 0; i < n_threads; i++)
		walk_thread(&threads[i]);
	free(loads);
	free(threads);
	free(file_maps);
	free(files);
	free(rows);
	free(pages);
	free(rules);
	free(seen);
	elf_end(elf);
	close(fd);
	return 0;
}
