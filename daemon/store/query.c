// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "query.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "pprof_reader.h"
#include "profiles/pprof.h"
#include "util/array.h"
#include "window_store.h"

/* A window's profile, decompressed, at most: a busy machine's window at 997 Hz is ~2 MiB. */
#define WINDOW_PROFILE_MAX_BYTES (32u << 20)
/* Labels a merged sample keeps, at most. */
#define MAX_LABELS 16
/* Processes a listing shows, at most; past it the listing says it is cut. */
#define LIST_MAX_PROCESSES 100000
#define MAX_PICKED (1u << 20)

static bool is_root(uid_t viewer)
{
	return viewer == 0;
}

/* Whether the filter names processes at all (else: the whole machine). */
static bool filter_names_processes(const struct query_filter *f)
{
	return f->pid || f->comm || f->unit || f->container;
}

bool query__matches(const struct query_filter *f, const struct store_process *p, uid_t viewer)
{
	if (!is_root(viewer) && p->uid != viewer)
		return false;
	if (f->pid && p->pid != f->pid)
		return false;
	if (f->comm && strncmp(p->comm, f->comm, sizeof(p->comm)) != 0)
		return false;
	if (f->unit && (!p->unit || strcmp(p->unit, f->unit) != 0))
		return false;
	/* Container ids are shown short (12 digits) as often as whole. */
	if (f->container && (!p->container || strlen(f->container) < 4 ||
			     strncmp(p->container, f->container, strlen(f->container)) != 0))
		return false;
	return true;
}

/* A window the query reads, and the pids in it it keeps. */
struct picked {
	uint64_t id;
	int64_t start_ns, end_ns;
	uint32_t hz;
	bool markers; /* its machine-wide samples (pid 0: lost) too */
	pid_t *pids; /* sorted */
	size_t n_pids;
};

struct pick_ctx {
	const struct query_filter *f;
	uid_t viewer;
	struct picked *picked;
	size_t n, capacity;
	int err;
};

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int pick_window(void *arg, const struct store_window_info *w)
{
	struct pick_ctx *ctx = arg;
	struct picked p = { .id = w->id, .start_ns = w->start_ns, .end_ns = w->end_ns,
			    .hz = w->hz };
	void *grown;

	p.markers = is_root(ctx->viewer) && !filter_names_processes(ctx->f);
	p.pids = malloc((w->n_processes ? w->n_processes : 1) * sizeof(*p.pids));
	if (!p.pids) {
		ctx->err = -ENOMEM;
		return 1;
	}
	for (size_t i = 0; i < w->n_processes; i++)
		if (query__matches(ctx->f, &w->processes[i], ctx->viewer))
			p.pids[p.n_pids++] = w->processes[i].pid;
	if (!p.n_pids && !p.markers) {
		free(p.pids);
		return 0;
	}
	qsort(p.pids, p.n_pids, sizeof(*p.pids), cmp_pid);
	ctx->err = array__reserve(ctx->picked, sizeof(*ctx->picked), &ctx->capacity, ctx->n, 1, 64,
				  MAX_PICKED, &grown);
	if (ctx->err) {
		free(p.pids);
		return 1;
	}
	ctx->picked = grown;
	ctx->picked[ctx->n++] = p;
	return 0;
}

static void free_picked(struct pick_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++)
		free(ctx->picked[i].pids);
	free(ctx->picked);
}

/*
 * A mapping of the merged profile. As go tool pprof merges, mappings of the
 * same file (size, offset and build ID or name) are one, the first one's
 * addresses standing for all: a location's address moves with its mapping.
 */
struct merged_mapping {
	uint64_t size, file_offset;
	char *key; /* build ID, else file name */
	uint64_t id, start;
};

struct merge {
	struct pprof_builder *b;
	struct merged_mapping *mappings;
	size_t n_mappings, mappings_capacity;
	uint64_t samples, n_samples;
};

static int merged_mapping_of(struct merge *m, const struct pprof_reader_mapping *src,
			     uint64_t *ret_id, int64_t *ret_delta)
{
	const char *key = src->build_id && *src->build_id ? src->build_id : src->file;
	uint64_t size = src->limit - src->start;
	struct merged_mapping *mm;
	void *grown;
	int err;

	/* Mappings are few (a few dozen per program): a scan per window mapping is cheap. */
	for (size_t i = 0; i < m->n_mappings; i++) {
		mm = &m->mappings[i];
		if (mm->size == size && mm->file_offset == src->file_offset &&
		    strcmp(mm->key, key) == 0) {
			*ret_id = mm->id;
			*ret_delta = (int64_t)(mm->start - src->start);
			return 0;
		}
	}
	err = array__reserve(m->mappings, sizeof(*m->mappings), &m->mappings_capacity,
			     m->n_mappings, 1, 64, MAX_PICKED, &grown);
	if (err)
		return err;
	m->mappings = grown;
	mm = &m->mappings[m->n_mappings];
	mm->key = strdup(key);
	if (!mm->key)
		return -ENOMEM;
	mm->id = pprof_builder__add_mapping(m->b, src->start, src->limit, src->file_offset,
					    src->file, src->build_id && *src->build_id ? src->build_id : NULL,
					    src->has_functions);
	if (!mm->id) {
		free(mm->key);
		return -ENOMEM;
	}
	mm->size = size;
	mm->file_offset = src->file_offset;
	mm->start = src->start;
	m->n_mappings++;
	*ret_id = mm->id;
	*ret_delta = 0;
	return 0;
}

/* The merged location of src (its lines as they are), or 0 on failure. */
static uint64_t merged_location_of(struct merge *m, const struct pprof_reader_profile *p,
				   const struct pprof_reader_location *src)
{
	struct pprof_line lines[64];
	size_t n = src->n_lines < 64 ? src->n_lines : 64;
	uint64_t mapping_id = 0, address = src->address;
	int64_t delta = 0;

	if (src->mapping_id) {
		const struct pprof_reader_mapping *mapping = pprof_reader__mapping(p, src->mapping_id);

		if (!mapping || merged_mapping_of(m, mapping, &mapping_id, &delta))
			return 0;
		address = (uint64_t)((int64_t)address + delta);
	}
	for (size_t i = 0; i < n; i++) {
		const struct pprof_reader_function *fn =
			pprof_reader__function(p, src->lines[i].function_id);

		lines[i] = (struct pprof_line){
			.function_name = fn && *fn->name ? fn->name : "[unknown]",
			.system_name = fn && *fn->system_name ? fn->system_name : NULL,
			.file_name = fn && *fn->file ? fn->file : NULL,
			.line = src->lines[i].line,
		};
	}
	/* No lines and no address: a marker has a name; keep a frame anyway. */
	if (!n && !address) {
		lines[0] = (struct pprof_line){ .function_name = "[unknown]" };
		n = 1;
	}
	return pprof_builder__location(m->b, mapping_id, address, lines, n);
}

static bool pid_picked(const struct picked *pk, int64_t pid)
{
	pid_t key = (pid_t)pid;

	if (pid == 0)
		return pk->markers;
	return bsearch(&key, pk->pids, pk->n_pids, sizeof(key), cmp_pid) != NULL;
}

/* Adds the picked samples of one window's profile. */
static int merge_window(struct merge *m, const struct picked *pk,
			const struct pprof_reader_profile *p)
{
	uint64_t *ids = calloc(p->n_locations ? p->n_locations : 1, sizeof(*ids));
	uint64_t frames[256];
	struct pprof_label labels[MAX_LABELS];
	int err = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_samples && !err; i++) {
		const struct pprof_reader_sample *s = &p->samples[i];
		size_t n = 0, n_labels = 0;
		int64_t pid;

		if (pprof_reader__label_num(s, "pid", &pid) || !pid_picked(pk, pid))
			continue;
		if (!s->n_values)
			continue;
		for (size_t f = 0; f < s->n_locations && n < 256; f++) {
			const struct pprof_reader_location *loc =
				pprof_reader__location(p, s->location_ids[f]);
			size_t index;

			if (!loc)
				continue;
			/* The window's locations are translated once each. */
			index = (size_t)(loc - p->locations);
			if (!ids[index])
				ids[index] = merged_location_of(m, p, loc);
			if (!ids[index]) {
				err = -ENOMEM;
				break;
			}
			frames[n++] = ids[index];
		}
		for (size_t l = 0; l < s->n_labels && n_labels < MAX_LABELS; l++)
			labels[n_labels++] = (struct pprof_label){
				.key = s->labels[l].key,
				.str = s->labels[l].str,
				.num = s->labels[l].num,
				.num_unit = s->labels[l].num_unit,
			};
		if (!err)
			err = pprof_builder__add_sample(m->b, frames, n, s->values[0], labels,
							n_labels);
		m->samples += s->values[0];
		m->n_samples++;
	}
	free(ids);
	return err;
}

int query__profile(struct window_store *s, const struct query_filter *f, uid_t viewer,
		   void **ret_data, size_t *ret_size, struct query_summary *ret_summary)
{
	uint64_t windows = 0;
	struct pick_ctx pick = { .f = f, .viewer = viewer };
	struct merge m = {};
	struct pprof_profile_info info;
	int err;

	err = window_store__each(s, f->since_ns, f->until_ns, pick_window, &pick);
	if (err < 0 && !pick.err)
		pick.err = err;
	if (pick.err) {
		err = pick.err;
		goto out;
	}
	if (!pick.n) {
		err = -ENOENT;
		goto out;
	}
	info = (struct pprof_profile_info){
		.period_ns = 1000000000ll / (pick.picked[0].hz ? pick.picked[0].hz : 1),
		.time_ns = pick.picked[0].start_ns,
		.duration_ns = pick.picked[pick.n - 1].end_ns - pick.picked[0].start_ns,
	};
	m.b = pprof_builder__new(&info);
	if (!m.b) {
		err = -ENOMEM;
		goto out;
	}
	err = 0;
	for (size_t i = 0; i < pick.n && !err; i++) {
		struct pprof_reader_profile *p = NULL;
		void *data;
		size_t size;

		/* Gone since (retention) or corrupt (counted by the store): the rest still merge. */
		if (window_store__read_profile(s, pick.picked[i].id, &data, &size))
			continue;
		err = pprof_reader__read(data, size, WINDOW_PROFILE_MAX_BYTES, &p);
		free(data);
		if (err) {
			err = err == -ENOMEM ? err : 0;
			continue;
		}
		err = merge_window(&m, &pick.picked[i], p);
		windows++;
		pprof_reader__free(p);
	}
	if (!err)
		err = pprof_builder__encode(m.b, ret_data, ret_size);
	if (!err)
		*ret_summary = (struct query_summary){ .samples = m.samples, .windows = windows,
						       .duration_ns = info.duration_ns,
						       .stacks = m.n_samples };
out:
	pprof_builder__free(m.b);
	for (size_t i = 0; i < m.n_mappings; i++)
		free(m.mappings[i].key);
	free(m.mappings);
	free_picked(&pick);
	return err;
}

/* One process of a listing: a pid and its start time name it across windows. */
struct listed {
	int32_t pid;
	uint32_t uid;
	uint64_t start_ticks;
	uint64_t windows, samples;
	int64_t first_ns, last_ns;
	char comm[16];
	char *exe, *unit, *container;
};

struct list_ctx {
	const struct query_filter *f;
	uid_t viewer;
	struct listed *procs;
	size_t n, capacity;
	size_t *index; /* open addressing over procs, (size_t)-1 empty */
	size_t index_capacity;
	uint64_t windows, bytes;
	int64_t oldest_ns, newest_ns;
	bool cut;
	int err;
};

static size_t listed_slot(int32_t pid, uint64_t start_ticks, size_t capacity)
{
	uint64_t h = ((uint64_t)(uint32_t)pid ^ (start_ticks << 20)) * 0x9e3779b97f4a7c15ull;

	return (h >> 32) & (capacity - 1);
}

static int grow_index(struct list_ctx *ctx)
{
	size_t capacity = ctx->index_capacity ? ctx->index_capacity * 2 : 1024;
	size_t *index;

	if (ctx->n * 2 < ctx->index_capacity)
		return 0;
	index = malloc(capacity * sizeof(*index));
	if (!index)
		return -ENOMEM;
	memset(index, 0xff, capacity * sizeof(*index));
	for (size_t i = 0; i < ctx->n; i++) {
		size_t j = listed_slot(ctx->procs[i].pid, ctx->procs[i].start_ticks, capacity);

		while (index[j] != (size_t)-1)
			j = (j + 1) & (capacity - 1);
		index[j] = i;
	}
	free(ctx->index);
	ctx->index = index;
	ctx->index_capacity = capacity;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct listed *listed_of(struct list_ctx *ctx, const struct store_process *p)
{
	struct listed *l;
	void *grown;
	size_t j;

	if (grow_index(ctx))
		return NULL;
	for (j = listed_slot(p->pid, p->start_ticks, ctx->index_capacity);
	     ctx->index[j] != (size_t)-1; j = (j + 1) & (ctx->index_capacity - 1)) {
		l = &ctx->procs[ctx->index[j]];
		if (l->pid == p->pid && l->start_ticks == p->start_ticks)
			return l;
	}
	if (ctx->n >= LIST_MAX_PROCESSES) {
		ctx->cut = true;
		return NULL;
	}
	if (array__reserve(ctx->procs, sizeof(*ctx->procs), &ctx->capacity, ctx->n, 1, 256,
			   LIST_MAX_PROCESSES, &grown))
		return NULL;
	ctx->procs = grown;
	l = &ctx->procs[ctx->n];
	*l = (struct listed){ .pid = p->pid, .uid = p->uid, .start_ticks = p->start_ticks };
	memcpy(l->comm, p->comm, sizeof(l->comm));
	l->comm[sizeof(l->comm) - 1] = '\0';
	l->exe = dup_or_null(p->exe);
	l->unit = dup_or_null(p->unit);
	l->container = dup_or_null(p->container);
	ctx->index[j] = ctx->n++;
	return l;
}

static int list_window(void *arg, const struct store_window_info *w)
{
	struct list_ctx *ctx = arg;
	bool any = false;

	for (size_t i = 0; i < w->n_processes; i++) {
		const struct store_process *p = &w->processes[i];
		struct listed *l;

		if (!query__matches(ctx->f, p, ctx->viewer))
			continue;
		any = true;
		l = listed_of(ctx, p);
		if (!l)
			continue;
		if (!l->windows)
			l->first_ns = w->start_ns;
		l->windows++;
		l->samples += p->samples;
		l->last_ns = w->end_ns;
	}
	if (any || (is_root(ctx->viewer) && !filter_names_processes(ctx->f))) {
		if (!ctx->windows || w->start_ns < ctx->oldest_ns)
			ctx->oldest_ns = w->start_ns;
		if (w->end_ns > ctx->newest_ns)
			ctx->newest_ns = w->end_ns;
		ctx->windows++;
		ctx->bytes += w->bytes;
	}
	return 0;
}

static void write_string_or_null(struct json_writer *w, const char *key, const char *value)
{
	json_writer__key(w, key);
	if (value)
		json_writer__string(w, value);
	else
		json_writer__null(w);
}

struct group_item {
	const char *label;
	uint64_t samples;
};

static int cmp_group_item(const void *a, const void *b)
{
	return strcmp(((const struct group_item *)a)->label, ((const struct group_item *)b)->label);
}

/* "NAME": [{"name":..., "processes":N, "samples":N}] of a label the processes have. */
static int write_groups(struct json_writer *w, const char *name, const struct list_ctx *ctx,
			size_t label_offset)
{
	struct group_item *items = malloc((ctx->n ? ctx->n : 1) * sizeof(*items));
	size_t n = 0;

	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < ctx->n; i++) {
		const char *label = *(char *const *)((const char *)&ctx->procs[i] + label_offset);

		if (label)
			items[n++] = (struct group_item){ label, ctx->procs[i].samples };
	}
	qsort(items, n, sizeof(*items), cmp_group_item);
	json_writer__key(w, name);
	json_writer__array_begin(w);
	for (size_t i = 0; i < n;) {
		uint64_t processes = 0, samples = 0;
		size_t j = i;

		for (; j < n && strcmp(items[j].label, items[i].label) == 0; j++) {
			processes++;
			samples += items[j].samples;
		}
		json_writer__object_begin(w);
		json_writer__member_string(w, "name", items[i].label);
		json_writer__member_uint(w, "processes", processes);
		json_writer__member_uint(w, "samples", samples);
		json_writer__object_end(w);
		i = j;
	}
	json_writer__array_end(w);
	free(items);
	return 0;
}

int query__list(struct window_store *s, const struct query_filter *f, uid_t viewer,
		struct json_writer *w)
{
	struct list_ctx ctx = { .f = f, .viewer = viewer };
	int err = window_store__each(s, f->since_ns, f->until_ns, list_window, &ctx);

	/* A short listing would pass for the whole: say it failed. */
	if (err < 0) {
		ctx.err = err;
		goto out;
	}
	json_writer__member_uint(w, "windows", ctx.windows);
	json_writer__member_uint(w, "bytes", ctx.bytes);
	json_writer__member_int(w, "oldest_ns", ctx.oldest_ns);
	json_writer__member_int(w, "newest_ns", ctx.newest_ns);
	json_writer__key(w, "cut");
	json_writer__bool(w, ctx.cut);
	json_writer__key(w, "processes");
	json_writer__array_begin(w);
	for (size_t i = 0; i < ctx.n; i++) {
		const struct listed *l = &ctx.procs[i];

		json_writer__object_begin(w);
		json_writer__member_int(w, "pid", l->pid);
		json_writer__member_uint(w, "uid", l->uid);
		json_writer__member_string(w, "comm", l->comm);
		write_string_or_null(w, "exe", l->exe);
		write_string_or_null(w, "unit", l->unit);
		write_string_or_null(w, "container", l->container);
		json_writer__member_uint(w, "windows", l->windows);
		json_writer__member_uint(w, "samples", l->samples);
		json_writer__member_int(w, "first_ns", l->first_ns);
		json_writer__member_int(w, "last_ns", l->last_ns);
		json_writer__object_end(w);
	}
	json_writer__array_end(w);
	if (!ctx.err)
		ctx.err = write_groups(w, "units", &ctx, offsetof(struct listed, unit));
	if (!ctx.err)
		ctx.err = write_groups(w, "containers", &ctx, offsetof(struct listed, container));
out:
	for (size_t i = 0; i < ctx.n; i++) {
		free(ctx.procs[i].exe);
		free(ctx.procs[i].unit);
		free(ctx.procs[i].container);
	}
	free(ctx.procs);
	free(ctx.index);
	return ctx.err;
}
