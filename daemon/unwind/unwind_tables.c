// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tables are written keyed by file offset, not ELF address: a row's ELF
 * address goes through the exec segment that holds it (p_vaddr -> p_offset,
 * file_rows.h) at install time, so that a mapping's bias is start - offset,
 * straight from /proc/PID/maps or an mmap record, and a process's entry
 * can be written before any of its files' tables is built, and never needs
 * rewriting when one comes.
 */
#include "unwind_tables.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cfi_table.h"
#include "file_rows.h"
#include "procs/process_table.h"
#include "util/clock.h"
#include "util/worker.h"

#define N_BUCKETS 1024
/* A freed range of rows or pages waits this long: a walk may still read it. */
#define QUARANTINE_NS 1000000000ull
/* An evicted table is built again only this long after, if still wanted. */
#define REBUILD_AFTER_NS (10ull * 1000000000ull)
#define MAX_RANGES 4096
#define DEBUG_ROOT "/usr/lib/debug/.build-id"

enum file_state {
	FILE_NEW, /* not built yet */
	FILE_BUILDING,
	FILE_LOADED,
	FILE_NO_CFI, /* nothing to build: no CFI, unreadable, or too big */
	FILE_EVICTED,
};

struct unwind_file {
	struct unwind_file *hash_next;
	uint32_t index; /* in the files map */
	enum file_state state;
	uint64_t dev, inode;
	char *path;
	uint32_t first_row, n_rows, first_page, n_pages;
	uint64_t last_used_ns, evicted_ns;
};

/* A free range of rows or pages; in quarantine until usable_ns. */
struct range {
	uint32_t start, length;
	uint64_t usable_ns;
};

struct range_pool {
	struct range ranges[MAX_RANGES];
	size_t n;
	size_t used; /* entries handed out */
	size_t capacity;
};

struct build_job {
	struct worker_job job;
	struct unwind_tables *owner;
	uint32_t file;
	uint64_t inode;
	bool vdso; /* the [vdso]: built from the daemon's own, the kernel's one image */
	char open_path[96]; /* /proc/PID/map_files/START-END */
	char root_path[4200]; /* /proc/PID/root + path */
	/* The result, once run. */
	int err;
	struct cprof_unwind_row *rows; /* keyed by file offset, sorted */
	size_t n_rows;
	struct cprof_unwind_rule *rules; /* the table's own; rows index them */
	size_t n_rules;
	uint64_t ns;
};

struct tracked {
	struct tracked *next;
	pid_t tgid;
};

struct unwind_tables {
	struct unwind_maps maps;
	struct process_table *processes;
	struct worker *worker;
	struct unwind_file **files; /* by index; NULL: free */
	struct unwind_file *buckets[N_BUCKETS];
	size_t n_files;
	struct range_pool rows, pages;
	/* The rules in the map, for dedup: open addressing on their 8 bytes. */
	uint64_t *rule_keys; /* rule bytes + 1 (0: empty slot) */
	uint32_t *rule_index;
	size_t rule_slots, n_rules;
	struct tracked *tracked[N_BUCKETS];
	size_t n_tracked;
	struct unwind_tables_stats stats;
	struct cprof_unwind_proc entry; /* being built; too big for the stack */
};

/* ---- ranges ---- */

static void pool_init(struct range_pool *p, size_t capacity)
{
	p->capacity = capacity;
	p->n = capacity ? 1 : 0;
	p->ranges[0] = (struct range){ .start = 0, .length = (uint32_t)capacity };
}

/* First fit among the ranges out of quarantine. Returns 0 and *ret_start, or -ENOSPC. */
static int pool_take(struct range_pool *p, uint32_t length, uint64_t now, uint32_t *ret_start)
{
	for (size_t i = 0; i < p->n; i++) {
		struct range *r = &p->ranges[i];

		if (r->length < length || r->usable_ns > now)
			continue;
		*ret_start = r->start;
		r->start += length;
		r->length -= length;
		if (!r->length)
			p->ranges[i] = p->ranges[--p->n];
		p->used += length;
		return 0;
	}
	return -ENOSPC;
}

/* Gives a range back, usable after the quarantine; merges neighbours that are usable. */
static void pool_give(struct range_pool *p, uint32_t start, uint32_t length, uint64_t now)
{
	if (!length)
		return;
	p->used -= length;
	for (size_t i = 0; i < p->n; i++) {
		struct range *r = &p->ranges[i];

		if (r->start + r->length == start || start + length == r->start) {
			if (r->start + r->length != start)
				r->start = start;
			r->length += length;
			if (r->usable_ns < now + QUARANTINE_NS)
				r->usable_ns = now + QUARANTINE_NS;
			return;
		}
	}
	if (p->n < MAX_RANGES)
		p->ranges[p->n++] = (struct range){ start, length, now + QUARANTINE_NS };
	/* else: lost to fragmentation, until the daemon restarts; counted as used */
	else
		p->used += length;
}

/* ---- files ---- */

static size_t file_bucket(uint64_t dev, uint64_t inode, const char *path)
{
	uint64_t h = dev * 0x9e3779b97f4a7c15ull ^ inode * 0xc2b2ae3d27d4eb4full;

	for (const unsigned char *c = (const unsigned char *)path; *c; c++)
		h = (h ^ *c) * 0x100000001b3ull;
	return (size_t)(h >> 40) & (N_BUCKETS - 1);
}

static struct unwind_file *find_file(struct unwind_tables *t, uint64_t dev, uint64_t inode,
				     const char *path)
{
	struct unwind_file *f = t->buckets[file_bucket(dev, inode, path)];

	for (; f; f = f->hash_next)
		if (f->dev == dev && f->inode == inode && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

static void publish_file(struct unwind_tables *t, const struct unwind_file *f)
{
	struct cprof_unwind_file *slot = &t->maps.files[f->index];

	/* Readers take n_rows first: 0 while the rest changes, the new count last. */
	__atomic_store_n(&slot->n_rows, 0, __ATOMIC_RELEASE);
	if (f->state != FILE_LOADED)
		return;
	slot->first_row = f->first_row;
	slot->first_page = f->first_page;
	slot->n_pages = f->n_pages;
	slot->base = 0;
	__atomic_store_n(&slot->n_rows, f->n_rows, __ATOMIC_RELEASE);
}

static void evict(struct unwind_tables *t, struct unwind_file *f)
{
	uint64_t now = monotonic_ns();

	f->state = FILE_EVICTED;
	f->evicted_ns = now;
	publish_file(t, f);
	pool_give(&t->rows, f->first_row, f->n_rows, now);
	pool_give(&t->pages, f->first_page, f->n_pages, now);
	f->n_rows = f->n_pages = 0;
	t->stats.evictions++;
}

/* The least recently used loaded table but keep, or NULL. */
static struct unwind_file *lru_loaded(struct unwind_tables *t, const struct unwind_file *keep)
{
	struct unwind_file *oldest = NULL;

	for (size_t i = 0; i < t->maps.max_files; i++) {
		struct unwind_file *f = t->files[i];

		if (f && f != keep && f->state == FILE_LOADED &&
		    (!oldest || f->last_used_ns < oldest->last_used_ns))
			oldest = f;
	}
	return oldest;
}

/* ---- building, on the worker ---- */

static int open_checked(const char *path, uint64_t inode)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (inode && st.st_ino != inode)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* The path of the debug file named by elf's GNU build ID, or -ENOENT. */
static int debug_file_path(Elf *elf, char *path, size_t size)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		GElf_Nhdr note;
		size_t offset = 0, name_offset, desc_offset;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (offset = gelf_getnote(data, offset, &note, &name_offset,
						      &desc_offset)) > 0) {
			const unsigned char *id = (const unsigned char *)data->d_buf + desc_offset;
			int n;

			if (note.n_type != NT_GNU_BUILD_ID || note.n_namesz != 4 ||
			    memcmp((const char *)data->d_buf + name_offset, "GNU", 4) ||
			    note.n_descsz < 2 || note.n_descsz > 64)
				continue;
			n = snprintf(path, size, "%s/%02x/", DEBUG_ROOT, id[0]);
			for (size_t i = 1; i < note.n_descsz && n > 0 && (size_t)n + 3 < size; i++)
				n += snprintf(path + n, size - n, "%02x", id[i]);
			if (n <= 0 || (size_t)n + 7 >= size)
				return -ENAMETOOLONG;
			strcpy(path + n, ".debug");
			return 0;
		}
	}
	return -ENOENT;
}

/* The largest vDSO image taken: today's are 8 KiB. */
#define MAX_VDSO_BYTES (1u << 20)

/*
 * A copy of this process's vDSO, which the kernel maps whole into every
 * 64-bit process: the same image, CFI included, as a target's [vdso].
 * NULL when there is none or its headers make no sense.
 */
static char *copy_own_vdso(size_t *ret_size)
{
	const unsigned char *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *eh = (const void *)base;
	size_t end;
	char *copy;

	if (!base || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > MAX_VDSO_BYTES ||
	    eh->e_phnum > 64 || eh->e_shoff > MAX_VDSO_BYTES || eh->e_shnum > 256)
		return NULL;
	end = (size_t)eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	for (size_t i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const void *)(base + eh->e_phoff + i * sizeof(*ph));

		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > end)
			end = ph->p_offset + ph->p_filesz;
	}
	if (end > MAX_VDSO_BYTES || !(copy = malloc(end)))
		return NULL;
	memcpy(copy, base, end);
	*ret_size = end;
	return copy;
}

static int build(struct build_job *job)
{
	struct file_segment segs[FILE_ROWS_MAX_SEGMENTS];
	struct cfi_table *table = NULL;
	Elf *elf = NULL, *debug = NULL;
	char debug_path[160], *image = NULL;
	int fd = -1, debug_fd = -1, err;
	size_t n_segs, image_size = 0;

	if (job->vdso) {
		image = copy_own_vdso(&image_size);
		if (!image)
			return -ENOENT;
		elf = elf_memory(image, image_size);
	} else {
		fd = open_checked(job->open_path, job->inode);
		if (fd < 0)
			fd = open_checked(job->root_path, job->inode);
		if (fd < 0)
			return fd;
		/* Read, never mmap: a target may truncate a file it maps; SIGBUS ends the daemon. */
		elf = elf_begin(fd, ELF_C_READ, NULL);
	}
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	n_segs = file_rows__exec_segments(elf, segs);
	err = cfi_table__build(elf, NULL, &table);
	/* No CFI in the binary: the debug file's .debug_frame, if there is one. */
	if (err == -ENOENT && debug_file_path(elf, debug_path, sizeof(debug_path)) == 0) {
		debug_fd = open_checked(debug_path, 0);
		if (debug_fd >= 0)
			debug = elf_begin(debug_fd, ELF_C_READ, NULL);
		if (debug)
			err = cfi_table__build(elf, debug, &table);
	}
	if (err)
		goto out;
	err = file_rows__by_offset(table, segs, n_segs, &job->rows, &job->n_rows);
	if (err)
		goto out;
	job->n_rules = table->n_rules;
	job->rules = malloc(job->n_rules * sizeof(*job->rules));
	if (!job->rules) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(job->rules, table->rules, job->n_rules * sizeof(*job->rules));
out:
	cfi_table__free(table);
	if (debug)
		elf_end(debug);
	if (debug_fd >= 0)
		close(debug_fd);
	if (elf)
		elf_end(elf);
	free(image);
	if (fd >= 0)
		close(fd);
	return err;
}

static void build_job__run(struct worker_job *job, struct worker *w)
{
	struct build_job *b = (struct build_job *)job;
	uint64_t start = monotonic_ns();

	b->err = build(b);
	b->ns = monotonic_ns() - start;
}

static void build_job__release(struct worker_job *job)
{
	struct build_job *b = (struct build_job *)job;

	free(b->rows);
	free(b->rules);
	free(b);
}

/* Asks the worker for f's table, opened through tgid's mapping m. */
static void request_build(struct unwind_tables *t, struct unwind_file *f, pid_t tgid,
			  const struct proc_map *m)
{
	struct build_job *job = calloc(1, sizeof(*job));

	if (!job)
		return;
	job->job.run = build_job__run;
	job->job.release = build_job__release;
	job->owner = t;
	job->file = f->index;
	job->inode = f->inode;
	job->vdso = strcmp(m->path, "[vdso]") == 0;
	snprintf(job->open_path, sizeof(job->open_path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 (int)tgid, m->start, m->end);
	snprintf(job->root_path, sizeof(job->root_path), "/proc/%d/root%s", (int)tgid, m->path);
	if (worker__submit(t->worker, &job->job)) {
		free(job);
		return;
	}
	f->state = FILE_BUILDING;
}

/* ---- rules ---- */

static uint64_t rule_key(const struct cprof_unwind_rule *r)
{
	uint64_t key;

	memcpy(&key, r, sizeof(key));
	return key + 1;
}

/* The index of rule in the map, adding it; 0 for "no CFI" or when the map is full. */
static uint32_t global_rule(struct unwind_tables *t, const struct cprof_unwind_rule *r)
{
	uint64_t key;
	size_t i;

	if (r->cfa_kind == CPROF_CFA_NONE)
		return 0;
	key = rule_key(r);
	for (i = (size_t)(key * 0x9e3779b97f4a7c15ull >> 40) & (t->rule_slots - 1);
	     t->rule_keys[i]; i = (i + 1) & (t->rule_slots - 1))
		if (t->rule_keys[i] == key)
			return t->rule_index[i];
	/* Index 0 is "no CFI": the first real rule is 1. Keep the table half empty. */
	if (t->n_rules + 1 >= t->maps.max_rules || (t->n_rules + 1) * 2 > t->rule_slots)
		return 0;
	t->n_rules++;
	t->maps.rules[t->n_rules] = *r;
	t->rule_keys[i] = key;
	t->rule_index[i] = (uint32_t)t->n_rules;
	return (uint32_t)t->n_rules;
}

/* ---- installing ---- */

static int install(struct unwind_tables *t, struct unwind_file *f, struct build_job *job)
{
	uint64_t now = monotonic_ns();
	uint32_t n_pages, first_row, first_page;
	struct unwind_file *victim;

	if (job->n_rows > t->rows.capacity)
		return -E2BIG;
	n_pages = cfi_table__n_pages(job->rows, (uint32_t)job->n_rows);
	/* What could never fit evicts nothing. */
	if (n_pages > t->pages.capacity)
		return -E2BIG;
	for (;;) {
		if (pool_take(&t->rows, (uint32_t)job->n_rows, now, &first_row) == 0) {
			if (pool_take(&t->pages, n_pages, now, &first_page) == 0)
				break;
			pool_give(&t->rows, first_row, (uint32_t)job->n_rows, now);
		}
		victim = lru_loaded(t, f);
		if (!victim)
			return -ENOSPC;
		evict(t, victim);
	}
	for (size_t i = 0; i < job->n_rows; i++) {
		uint32_t local = job->rows[i].rule;

		t->maps.rows[first_row + i] = (struct cprof_unwind_row){
			.address = job->rows[i].address,
			.rule = local < job->n_rules ? global_rule(t, &job->rules[local]) : 0,
		};
	}
	cfi_table__page_index(&t->maps.rows[first_row], (uint32_t)job->n_rows,
			      &t->maps.pages[first_page], n_pages);
	f->first_row = first_row;
	f->n_rows = (uint32_t)job->n_rows;
	f->first_page = first_page;
	f->n_pages = n_pages;
	f->state = FILE_LOADED;
	f->last_used_ns = now;
	publish_file(t, f);
	return 0;
}

int unwind_tables__fd(const struct unwind_tables *t)
{
	return worker__fd(t->worker);
}

int unwind_tables__collect(struct unwind_tables *t)
{
	struct worker_job *done = worker__take_done(t->worker), *next;
	int installed = 0;

	for (; done; done = next) {
		struct build_job *job = (struct build_job *)done;
		struct unwind_file *f = job->file < t->maps.max_files ? t->files[job->file] : NULL;

		next = done->next;
		t->stats.build_ns += job->ns;
		if (f && f->state == FILE_BUILDING) {
			int err = job->err ?: install(t, f, job);

			t->stats.builds++;
			if (!err) {
				installed++;
			} else if (!job->err && err == -ENOSPC) {
				/* Room is in quarantine or held by newer tables: try again later. */
				f->state = FILE_EVICTED;
				f->evicted_ns = monotonic_ns();
				t->stats.no_room++;
			} else {
				if (job->err != -ENOENT)
					t->stats.build_failures++;
				if (!job->err)
					t->stats.too_big++;
				f->state = FILE_NO_CFI;
			}
		}
		done->release(done);
	}
	return installed;
}

/* ---- processes ---- */

/* The file entry for m, made (and its build asked for) the first time. NULL when full. */
static struct unwind_file *file_of(struct unwind_tables *t, pid_t tgid, const struct proc_map *m)
{
	uint64_t dev = ((uint64_t)m->dev_major << 32) | m->dev_minor, now = monotonic_ns();
	struct unwind_file *f = find_file(t, dev, m->inode, m->path);
	size_t b, index;

	if (!f) {
		for (index = 0; index < t->maps.max_files && t->files[index]; index++)
			;
		if (index == t->maps.max_files)
			return NULL;
		f = calloc(1, sizeof(*f));
		if (!f || !(f->path = strdup(m->path))) {
			free(f);
			return NULL;
		}
		f->index = (uint32_t)index;
		f->dev = dev;
		f->inode = m->inode;
		b = file_bucket(dev, m->inode, m->path);
		f->hash_next = t->buckets[b];
		t->buckets[b] = f;
		t->files[index] = f;
		t->n_files++;
	}
	f->last_used_ns = now;
	if (f->state == FILE_NEW ||
	    (f->state == FILE_EVICTED && now - f->evicted_ns >= REBUILD_AFTER_NS))
		request_build(t, f, tgid, m);
	return f;
}

struct collect_ctx {
	struct unwind_tables *t;
	pid_t tgid;
	struct cprof_unwind_proc *entry;
	uint64_t dropped;
};

static bool overlaps_taken(const struct cprof_unwind_proc *e, const struct proc_map *m)
{
	for (__u32 i = 0; i < e->n_mappings; i++)
		if (m->start < e->mappings[i].end && e->mappings[i].start < m->end)
			return true;
	return false;
}

static void collect_mapping(const struct proc_map *m, void *arg)
{
	struct collect_ctx *c = arg;
	struct cprof_unwind_proc *e = c->entry;
	struct unwind_file *f;

	/* Files and the vDSO have tables; JIT code is walked by frame pointers. */
	if (!m->path || overlaps_taken(e, m))
		return;
	if ((m->path[0] != '/' || !m->inode) && strcmp(m->path, "[vdso]") != 0)
		return;
	if (e->n_mappings == CPROF_UNWIND_MAX_MAPPINGS) {
		c->dropped++;
		return;
	}
	f = file_of(c->t, c->tgid, m);
	e->mappings[e->n_mappings++] = (struct cprof_unwind_mapping){
		.start = m->start,
		.end = m->end,
		.bias = m->start - m->offset,
		.file = f ? f->index : CPROF_UNWIND_NO_FILE,
	};
}

static int mapping_by_start(const void *a, const void *b)
{
	const struct cprof_unwind_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static struct tracked **tracked_link(struct unwind_tables *t, pid_t tgid)
{
	struct tracked **link = &t->tracked[((uint32_t)tgid * 2654435761u) >> 22 & (N_BUCKETS - 1)];

	while (*link && (*link)->tgid != tgid)
		link = &(*link)->next;
	return link;
}

int unwind_tables__track(struct unwind_tables *t, pid_t tgid)
{
	struct collect_ctx c = { .t = t, .tgid = tgid, .entry = &t->entry };
	struct tracked **link, *tr;
	__u32 key = (__u32)tgid;
	int n;

	memset(&t->entry, 0, sizeof(t->entry));
	n = process_table__for_each_code(t->processes, tgid, collect_mapping, &c);
	if (n < 0)
		return n;
	t->stats.mappings_dropped += c.dropped;
	qsort(t->entry.mappings, t->entry.n_mappings, sizeof(t->entry.mappings[0]),
	      mapping_by_start);
	if (bpf_map_update_elem(t->maps.procs_fd, &key, &t->entry, BPF_ANY)) {
		t->stats.processes_untracked++;
		return -errno;
	}
	link = tracked_link(t, tgid);
	if (!*link) {
		tr = calloc(1, sizeof(*tr));
		if (!tr)
			return 0; /* the entry is in; only forget() will not find it */
		tr->tgid = tgid;
		*link = tr;
		t->n_tracked++;
	}
	return 0;
}

void unwind_tables__forget(struct unwind_tables *t, pid_t tgid)
{
	struct tracked **link = tracked_link(t, tgid), *tr = *link;
	__u32 key = (__u32)tgid;

	bpf_map_delete_elem(t->maps.procs_fd, &key);
	if (!tr)
		return;
	*link = tr->next;
	free(tr);
	t->n_tracked--;
}

bool unwind_tables__tracks(const struct unwind_tables *t, pid_t tgid)
{
	return *tracked_link((struct unwind_tables *)t, tgid) != NULL;
}

/* ---- lifetime ---- */

struct unwind_tables *unwind_tables__new(const struct unwind_maps *maps,
					 struct process_table *processes)
{
	struct unwind_tables *t;

	if (!maps->files || !maps->rows || !maps->pages || !maps->rules || maps->max_rules < 2 ||
	    maps->procs_fd < 0 || maps->max_rows > UINT32_MAX || maps->max_pages > UINT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOTSUP;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->maps = *maps;
	t->processes = processes;
	t->files = calloc(maps->max_files, sizeof(*t->files));
	for (t->rule_slots = 16; t->rule_slots < 2 * maps->max_rules; t->rule_slots *= 2)
		;
	t->rule_keys = calloc(t->rule_slots, sizeof(*t->rule_keys));
	t->rule_index = calloc(t->rule_slots, sizeof(*t->rule_index));
	t->worker = worker__new(256);
	if (!t->files || !t->rule_keys || !t->rule_index || !t->worker) {
		unwind_tables__free(t);
		errno = ENOMEM;
		return NULL;
	}
	pool_init(&t->rows, maps->max_rows);
	pool_init(&t->pages, maps->max_pages);
	memset(maps->files, 0, maps->max_files * sizeof(*maps->files));
	memset(&maps->rules[0], 0, sizeof(maps->rules[0]));
	t->stats.kernel_bytes = maps->max_files * sizeof(*maps->files) +
				maps->max_rows * sizeof(*maps->rows) +
				maps->max_pages * sizeof(*maps->pages) +
				maps->max_rules * sizeof(*maps->rules);
	return t;
}

void unwind_tables__free(struct unwind_tables *t)
{
	if (!t)
		return;
	worker__free(t->worker);
	for (size_t i = 0; t->files && i < t->maps.max_files; i++) {
		if (t->files[i]) {
			free(t->files[i]->path);
			free(t->files[i]);
		}
	}
	for (size_t b = 0; b < N_BUCKETS; b++) {
		struct tracked *tr = t->tracked[b], *next;

		for (; tr; tr = next) {
			next = tr->next;
			free(tr);
		}
	}
	free(t->files);
	free(t->rule_keys);
	free(t->rule_index);
	free(t);
}

void unwind_tables__stats(const struct unwind_tables *t, struct unwind_tables_stats *ret)
{
	*ret = t->stats;
	ret->files = t->n_files;
	ret->files_loaded = ret->files_building = ret->files_without_cfi = 0;
	for (size_t i = 0; i < t->maps.max_files; i++) {
		const struct unwind_file *f = t->files[i];

		if (!f)
			continue;
		ret->files_loaded += f->state == FILE_LOADED;
		ret->files_building += f->state == FILE_BUILDING;
		ret->files_without_cfi += f->state == FILE_NO_CFI;
	}
	ret->rows_used = t->rows.used;
	ret->rows_capacity = t->rows.capacity;
	ret->pages_used = t->pages.used;
	ret->pages_capacity = t->pages.capacity;
	ret->rules_used = t->n_rules;
	ret->rules_capacity = t->maps.max_rules;
	ret->processes = t->n_tracked;
	/* The procs hash allocates an entry per process it holds. */
	ret->kernel_bytes += t->n_tracked * sizeof(struct cprof_unwind_proc);
}
