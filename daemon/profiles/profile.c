// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "pprof.h"
#include "session.h"
#include "stack_table.h"
#include "procs/process_table.h"
#include "symbols/jitdump.h"
#include "symbols/perf_map.h"
#include "symbols/symbolizer.h"
#include "util/clock.h"

/* Kernel text lives in the top half of the address space on every 64-bit arch we run on. */
#define KERNEL_START 0xffff800000000000ull
#define KERNEL_NAME "[kernel.kallsyms]"
#define NAME_MAX_LEN 512
/* Processes in one profile whose JIT names are read; a session has one. */
#define MAX_PERF_MAPS 16

/* A process's JIT names, read once per profile. */
struct perf_map_slot {
	uint32_t tgid;
	struct perf_map *map; /* /tmp/perf-PID.map; NULL: none, unreadable or refused */
	struct perf_map *jitdump; /* the jit-PID.dump it maps; NULL likewise */
};

/* The pprof mapping made for one process mapping. */
struct mapping_slot {
	uint32_t tgid;
	uint64_t start, end, offset, inode;
	uint64_t id; /* 0: free slot */
};

struct profile_ctx {
	const struct session *session;
	struct pprof_builder *pprof;
	struct process_table *processes;
	struct symbolizer *symbols;
	uint64_t kernel_mapping;
	struct mapping_slot *mappings; /* open addressing */
	size_t mappings_capacity; /* power of two */
	size_t n_mappings;
	uint64_t *frames; /* location ids of the stack being built, and a marker */
	uint64_t unmapped; /* samples under PROFILE_UNMAPPED */
	struct perf_map_slot perf_maps[MAX_PERF_MAPS];
	size_t n_perf_maps;
	const struct profile_labels *labels; /* more labels per process, or NULL */
};

/* Labels of a sample: its pid, tid and thread name, then its process's. */
#define SAMPLE_LABELS (3 + PROFILE_MAX_PROCESS_LABELS)

static size_t mapping_hash(uint32_t tgid, const struct proc_map *m, size_t capacity)
{
	uint64_t h = (m->start ^ ((uint64_t)tgid << 40) ^ m->inode) * 0x9e3779b97f4a7c15ull;

	return (h >> 32) & (capacity - 1);
}

static int grow_mappings(struct profile_ctx *ctx)
{
	size_t capacity = ctx->mappings_capacity ? ctx->mappings_capacity * 2 : 64;
	struct mapping_slot *slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < ctx->mappings_capacity; i++) {
		struct mapping_slot *old = &ctx->mappings[i];
		struct proc_map m = { .start = old->start, .inode = old->inode };
		size_t j;

		if (!old->id)
			continue;
		for (j = mapping_hash(old->tgid, &m, capacity); slots[j].id;
		     j = (j + 1) & (capacity - 1))
			;
		slots[j] = *old;
	}
	free(ctx->mappings);
	ctx->mappings = slots;
	ctx->mappings_capacity = capacity;
	return 0;
}

static bool is_vdso(const struct proc_map *m)
{
	return m->path && strcmp(m->path, "[vdso]") == 0;
}

/* Names the file of m as the symbolizer wants it: path, identity, and how to reach it. */
static void symbolizer_file_of(struct symbolizer_file *file, uint32_t tgid,
			       const struct proc_map *m)
{
	bool vdso = is_vdso(m);

	*file = (struct symbolizer_file){
		.path = m->path,
		.dev = vdso ? 0 : makedev(m->dev_major, m->dev_minor),
		/* The vdso has no inode: its size tells a 32-bit process's from ours. */
		.inode = vdso ? m->end - m->start : m->inode,
		.pid = (pid_t)tgid,
		.map_start = m->start,
		.map_end = m->end,
	};
}

/* Whether the symbolizer can read m's code: a file, or the vdso. */
static bool has_symbols(const struct proc_map *m)
{
	return m->path && (m->path[0] == '/' || is_vdso(m));
}

/* Returns the pprof mapping id for m of process tgid, adding it once. 0 on failure. */
static uint64_t mapping_id(struct profile_ctx *ctx, uint32_t tgid, const struct proc_map *m)
{
	const char *build_id = NULL;
	struct mapping_slot *slot;
	size_t i;

	if (ctx->n_mappings * 2 >= ctx->mappings_capacity && grow_mappings(ctx))
		return 0;
	for (i = mapping_hash(tgid, m, ctx->mappings_capacity);;
	     i = (i + 1) & (ctx->mappings_capacity - 1)) {
		slot = &ctx->mappings[i];
		if (!slot->id)
			break;
		if (slot->tgid == tgid && slot->start == m->start && slot->end == m->end &&
		    slot->offset == m->offset && slot->inode == m->inode)
			return slot->id;
	}
	if (has_symbols(m)) {
		struct symbolizer_file file;

		symbolizer_file_of(&file, tgid, m);
		if (symbolizer__file_build_id(ctx->symbols, &file, &build_id))
			build_id = NULL;
	}
	slot->id = pprof_builder__add_mapping(ctx->pprof, m->start, m->end, m->offset,
					      m->path ? m->path : "", build_id, true);
	if (!slot->id)
		return 0;
	slot->tgid = tgid;
	slot->start = m->start;
	slot->end = m->end;
	slot->offset = m->offset;
	slot->inode = m->inode;
	ctx->n_mappings++;
	return slot->id;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * A location for a kernel address. lookup is the address to symbolize
 * (address - 1 for a return address).
 */
static uint64_t kernel_location(struct profile_ctx *ctx, uint64_t address, uint64_t lookup)
{
	struct pprof_line line = {};
	char name[NAME_MAX_LEN];
	struct symbol sym;
	uint64_t id;

	id = pprof_builder__find_location(ctx->pprof, ctx->kernel_mapping, address);
	if (id)
		return id;
	if (symbolizer__lookup_kernel(ctx->symbols, lookup, &sym) == 0) {
		if (sym.module)
			snprintf(name, sizeof(name), "%s [%s]", sym.name, sym.module);
		else
			snprintf(name, sizeof(name), "%s", sym.name);
	} else {
		snprintf(name, sizeof(name), "[kernel]+0x%" PRIx64, address);
	}
	line.function_name = name;
	return pprof_builder__location(ctx->pprof, ctx->kernel_mapping, address, &line, 1);
}

/* A mapping of a jitdump named after the pid in arg, or any when arg is NULL. */
static bool is_jitdump(const struct proc_map *m, void *arg)
{
	uint32_t pid;

	return jitdump__is_dump_name(m->path, &pid) && (!arg || pid == *(uint32_t *)arg);
}

/* The JIT names of tgid, its perf map and its jitdump, read on first use; NULL past the bound. */
static const struct perf_map_slot *perf_map_of(struct profile_ctx *ctx, uint32_t tgid)
{
	struct perf_map_slot *slot;
	const struct proc_map *m;
	char path[64];
	uid_t owner;
	size_t i;

	for (i = 0; i < ctx->n_perf_maps; i++)
		if (ctx->perf_maps[i].tgid == tgid)
			return &ctx->perf_maps[i];
	if (ctx->n_perf_maps == MAX_PERF_MAPS)
		return NULL;
	slot = &ctx->perf_maps[ctx->n_perf_maps++];
	*slot = (struct perf_map_slot){ .tgid = tgid };
	/* As perf does: only a file of the process's owner or root is believed. */
	if (process_table__owner(ctx->processes, (pid_t)tgid, &owner))
		owner = 0;
	/*
	 * The process's own /tmp first: the daemon's is another under PrivateTmp=
	 * or when the process runs in a container. Ours after it, for a process
	 * already gone.
	 */
	snprintf(path, sizeof(path), "/proc/%u/root/tmp/perf-%u.map", tgid, tgid);
	if (perf_map__read(path, owner, &slot->map) && tgid == (uint32_t)ctx->session->pid &&
	    ctx->session->root_fd >= 0) {
		/* The target exited: its root, kept open by the session, still leads there. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d/tmp/perf-%u.map",
			 ctx->session->root_fd, tgid);
		perf_map__read(path, owner, &slot->map);
	}
	if (!slot->map) {
		snprintf(path, sizeof(path), "/tmp/perf-%u.map", tgid);
		if (perf_map__read(path, owner, &slot->map))
			slot->map = NULL;
	}
	/* Its own pid's dump first; in a PID namespace the name has the pid it sees there. */
	m = process_table__find_file(ctx->processes, (pid_t)tgid, is_jitdump, &tgid);
	if (!m)
		m = process_table__find_file(ctx->processes, (pid_t)tgid, is_jitdump, NULL);
	if (!m || jitdump__read_mapped((pid_t)tgid, m, owner, &slot->jitdump))
		slot->jitdump = NULL;
	return slot;
}

/* The JIT's name for lookup in tgid: the jitdump's, richer, else the perf map's. */
static const char *jit_name_of(struct profile_ctx *ctx, uint32_t tgid, uint64_t lookup)
{
	const struct perf_map_slot *slot = perf_map_of(ctx, tgid);
	const char *name;

	if (!slot)
		return NULL;
	name = perf_map__find(slot->jitdump, lookup, NULL);
	return name ? name : perf_map__find(slot->map, lookup, NULL);
}

/*
 * Whether code at an address of m may be a JIT's: anonymous memory, or a
 * mapping of no real file (memfd, "[anon:...]"), but not the kernel's vdso.
 */
static bool may_be_jit(const struct proc_map *m)
{
	if (!m || !m->path)
		return true;
	if (strncmp(m->path, "/memfd:", 7) == 0)
		return true;
	return m->path[0] != '/' && strcmp(m->path, "[vdso]") != 0 &&
	       strcmp(m->path, "[vsyscall]") != 0;
}

/*
 * A location for a user address of process tgid; see kernel_location().
 * *ret_mapped tells whether the address was in a known mapping.
 */
static uint64_t user_location(struct profile_ctx *ctx, uint32_t tgid, uint64_t address,
			      uint64_t lookup, bool *ret_mapped)
{
	const struct proc_map *m = process_table__find(ctx->processes, tgid, lookup);
	struct pprof_line lines[SYMBOLIZER_MAX_FRAMES];
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	struct pprof_line line = {};
	char name[NAME_MAX_LEN];
	uint64_t map_id = 0, id;
	const char *jit_name;
	size_t n_frames, i;

	*ret_mapped = m != NULL;
	if (m) {
		map_id = mapping_id(ctx, tgid, m);
		if (!map_id)
			return 0;
	}
	id = pprof_builder__find_location(ctx->pprof, map_id, address);
	if (id)
		return id;

	if (may_be_jit(m) && (jit_name = jit_name_of(ctx, tgid, lookup))) {
		line.function_name = jit_name;
		return pprof_builder__location(ctx->pprof, map_id, address, &line, 1);
	}
	if (!m) {
		snprintf(name, sizeof(name), "[unknown]+0x%" PRIx64, address);
	} else {
		uint64_t file_offset = m->offset + (lookup - m->start);
		struct symbolizer_file file;

		symbolizer_file_of(&file, tgid, m);
		if (has_symbols(m) &&
		    symbolizer__lookup_frames(ctx->symbols, &file, file_offset, frames,
					      SYMBOLIZER_MAX_FRAMES, &n_frames) == 0) {
			for (i = 0; i < n_frames; i++) {
				const struct symbol_frame *f = &frames[i];

				lines[i] = (struct pprof_line){
					.function_name = f->function,
					.system_name = f->system_name != f->function
							       ? f->system_name
							       : NULL,
					.file_name = f->file,
					.line = f->line,
				};
			}
			return pprof_builder__location(ctx->pprof, map_id, address, lines,
						       n_frames);
		}
		snprintf(name, sizeof(name), "%s+0x%" PRIx64,
			 m->path ? base_name(m->path) : "[anon]", file_offset);
	}
	line.function_name = name;
	return pprof_builder__location(ctx->pprof, map_id, address, &line, 1);
}

/* The location of a marker frame (no mapping, no address). 0 when out of memory. */
static uint64_t marker_location(struct profile_ctx *ctx, const char *name)
{
	struct pprof_line line = { .function_name = name };

	return pprof_builder__location(ctx->pprof, 0, 0, &line, 1);
}

/* The name of a stop marker's frame. */
static const char *stop_marker_name(uint64_t ip)
{
	if (ip == CPROF_STOP_MARKER_NO_TABLE)
		return PROFILE_UNWIND_NO_TABLE;
	switch (ip - CPROF_STOP_MARKER_BASE) {
	case CPROF_UNWIND_STOP_READ_FAULT:
		return PROFILE_UNWIND_READ_FAULT;
	case CPROF_UNWIND_STOP_UNSUPPORTED:
		return PROFILE_UNWIND_UNSUPPORTED;
	default:
		return PROFILE_UNWIND_TRUNCATED;
	}
}

static int add_count(struct profile_ctx *ctx, const struct session *s,
		     const struct stack_table *stacks, const struct session_count *c)
{
	const struct stack *stack = stack_table__get(stacks, c->stack_id);
	struct pprof_label labels[SAMPLE_LABELS];
	size_t n_labels = 3;
	bool leaf_mapped = true, mapped;
	size_t n = 0;

	if (!stack)
		return -EINVAL;
	for (unsigned int f = 0; f < stack->kernel_depth; f++) {
		uint64_t ip = stack->ips[f];

		/* Only the interrupted instruction is exact; callers are return addresses. */
		ctx->frames[n] = kernel_location(ctx, ip, f == 0 ? ip : ip - 1);
		if (!ctx->frames[n++])
			return -ENOMEM;
	}
	for (unsigned int f = 0; f < stack->user_depth; f++) {
		uint64_t ip = stack->ips[stack->kernel_depth + f];

		if (ip >= CPROF_STOP_MARKER_BASE) {
			ctx->frames[n] = marker_location(ctx, stop_marker_name(ip));
			if (!ctx->frames[n++])
				return -ENOMEM;
			continue;
		}
		/* The first user frame is where user code resumes: exact too. */
		ctx->frames[n] = user_location(ctx, stack->tgid, ip, f == 0 ? ip : ip - 1, &mapped);
		if (!ctx->frames[n++])
			return -ENOMEM;
		if (f == 0)
			leaf_mapped = mapped;
	}
	/* A leaf's address is exact: in no mapping, the process's maps were lost. */
	if (!leaf_mapped) {
		ctx->frames[n] = marker_location(ctx, PROFILE_UNMAPPED);
		if (!ctx->frames[n++])
			return -ENOMEM;
		ctx->unmapped += c->count;
	}
	labels[0] = (struct pprof_label){ .key = "pid", .num = stack->tgid };
	labels[1] = (struct pprof_label){ .key = "tid", .num = c->tid };
	labels[2] = (struct pprof_label){ .key = "thread_name", .str = c->comm };
	if (ctx->labels)
		n_labels += ctx->labels->of_process(ctx->labels->ctx, (pid_t)stack->tgid,
						    labels + 3, PROFILE_MAX_PROCESS_LABELS);
	return pprof_builder__add_sample(ctx->pprof, ctx->frames, n, c->count, labels, n_labels);
}

static int add_marker(struct profile_ctx *ctx, const struct session *s, const char *name,
		      uint64_t count)
{
	struct pprof_label label = { .key = "pid", .num = s->pid };
	uint64_t id;

	if (!count)
		return 0;
	id = marker_location(ctx, name);
	if (!id)
		return -ENOMEM;
	return pprof_builder__add_sample(ctx->pprof, &id, 1, count, &label, 1);
}

int profile__prepare(const struct session *s, const struct stack_table *stacks,
		     struct process_table *processes, struct symbolizer *symbols,
		     struct profile_prepare *p, uint64_t budget_ns)
{
	uint64_t deadline = monotonic_ns() + budget_ns;
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	const struct session_count *c;
	struct symbolizer_file file;
	struct symbol sym;
	size_t n_frames;
	int err;

	/*
	 * What this profile uses stays until it is built (profile__build()
	 * thaws): else, with more binaries than the cache holds, each pass would
	 * evict what the last one loaded, and never end.
	 */
	symbolizer__freeze(symbols, true);
	if (!p->started) {
		const struct proc_map *m = process_table__main_mapping(processes, s->pid);

		p->started = true;
		if (m && has_symbols(m)) {
			symbolizer_file_of(&file, s->pid, m);
			p->loading |= symbolizer__request(symbols, &file) == -EAGAIN;
		}
		/* kallsyms is read once, on first use: here rather than in the build. */
		p->loading |= symbolizer__lookup_kernel(symbols, KERNEL_START, &sym) == -EAGAIN;
	}
	while ((c = session__next_count(s, &p->cursor))) {
		const struct stack *stack = stack_table__get(stacks, c->stack_id);

		if (!stack)
			continue;
		for (unsigned int f = 0; f < stack->user_depth; f++) {
			uint64_t ip = stack->ips[stack->kernel_depth + f];
			uint64_t lookup = f == 0 ? ip : ip - 1;
			const struct proc_map *m =
				ip < CPROF_STOP_MARKER_BASE
					? process_table__find(processes, stack->tgid, lookup)
					: NULL;

			if (!m || !has_symbols(m))
				continue;
			/* The build asks the same: then it finds the frames cached. */
			symbolizer_file_of(&file, stack->tgid, m);
			err = symbolizer__lookup_frames(symbols, &file,
							m->offset + (lookup - m->start), frames,
							SYMBOLIZER_MAX_FRAMES, &n_frames);
			p->loading |= err == -EAGAIN;
		}
		if (monotonic_ns() >= deadline)
			return -EINPROGRESS;
	}
	if (p->loading) {
		*p = (struct profile_prepare){};
		return -EAGAIN;
	}
	return 0;
}

int profile__build(const struct session *s, const struct stack_table *stacks,
		   struct process_table *processes, struct symbolizer *symbols, void **ret_data,
		   size_t *ret_size, uint64_t *ret_unmapped)
{
	return profile__build_labelled(s, stacks, processes, symbols, NULL, ret_data, ret_size,
				       ret_unmapped);
}

int profile__build_labelled(const struct session *s, const struct stack_table *stacks,
			    struct process_table *processes, struct symbolizer *symbols,
			    const struct profile_labels *labels, void **ret_data, size_t *ret_size,
			    uint64_t *ret_unmapped)
{
	struct pprof_profile_info info = {
		.period_ns = 1000000000ll / s->hz,
		.time_ns = s->start_wall_ns,
		.duration_ns = session__duration_ns(s),
	};
	struct profile_ctx ctx = { .session = s, .processes = processes, .symbols = symbols,
				   .labels = labels };
	const struct session_count *c;
	const struct proc_map *main_map;
	size_t cursor = 0;
	int err;

	/* Tables found in this build stay until its end, whatever else it loads. */
	symbolizer__freeze(symbols, true);
	ctx.frames = malloc((CPROF_MAX_FRAMES + 2) * sizeof(*ctx.frames));
	ctx.pprof = pprof_builder__new(&info);
	if (!ctx.frames || !ctx.pprof) {
		err = -ENOMEM;
		goto out;
	}
	/* pprof takes the first mapping for the profiled program: make it so. */
	main_map = process_table__main_mapping(processes, s->pid);
	if (main_map && !mapping_id(&ctx, s->pid, main_map)) {
		err = -ENOMEM;
		goto out;
	}
	ctx.kernel_mapping = pprof_builder__add_mapping(ctx.pprof, KERNEL_START, UINT64_MAX, 0,
							KERNEL_NAME, NULL, true);
	if (!ctx.kernel_mapping) {
		err = -ENOMEM;
		goto out;
	}
	while ((c = session__next_count(s, &cursor))) {
		err = add_count(&ctx, s, stacks, c);
		if (err)
			goto out;
	}
	err = add_marker(&ctx, s, PROFILE_LOST_RING_FULL, s->kernel.lost_ring_full);
	if (!err)
		err = add_marker(&ctx, s, PROFILE_LOST_STACK_TABLE_FULL, s->lost_stack_table_full);
	if (!err)
		err = pprof_builder__encode(ctx.pprof, ret_data, ret_size);
	if (!err)
		*ret_unmapped = ctx.unmapped;
out:
	pprof_builder__free(ctx.pprof);
	for (size_t i = 0; i < ctx.n_perf_maps; i++) {
		perf_map__free(ctx.perf_maps[i].map);
		perf_map__free(ctx.perf_maps[i].jitdump);
	}
	free(ctx.mappings);
	free(ctx.frames);
	symbolizer__freeze(symbols, false);
	return err;
}
