// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "process_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/clock.h"

/* Snapshots of a process's maps kept; the oldest is dropped past this. */
#define MAX_SNAPSHOTS 4
#define REREAD_INTERVAL_NS 1000000000ull

struct process {
	struct process *next; /* in the bucket's chain */
	pid_t tgid;
	uint32_t refs;
	bool exited; /* its exit was seen: no more maps to read */
	int maps_error; /* last read's error, 0 when it succeeded */
	uint64_t last_read_ns;
	bool owner_known;
	uid_t owner; /* owner of /proc/PID when the entry was made */
	/* snapshots[0] is the newest. */
	struct proc_maps snapshots[MAX_SNAPSHOTS];
	unsigned int n_snapshots;
	unsigned int n_since_exec; /* snapshots[0..n) are of the current program */
};

struct process_table {
	struct process **buckets;
	size_t n_buckets; /* power of two */
	size_t count;
	size_t max_processes;
	uint64_t untracked; /* task events not kept: the table was full, or no memory */
};

static size_t bucket_of(const struct process_table *t, pid_t tgid)
{
	return ((uint32_t)tgid * 2654435761u) & (t->n_buckets - 1);
}

struct process_table *process_table__new(size_t max_processes)
{
	struct process_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->n_buckets = 256;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->max_processes = max_processes;
	return t;
}

static void process_free(struct process *p)
{
	for (unsigned int i = 0; i < p->n_snapshots; i++)
		proc_maps__release(&p->snapshots[i]);
	free(p);
}

void process_table__free(struct process_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct process *p = t->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			process_free(p);
		}
	}
	free(t->buckets);
	free(t);
}

static struct process *lookup(const struct process_table *t, pid_t tgid)
{
	struct process *p;

	for (p = t->buckets[bucket_of(t, tgid)]; p; p = p->next)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

/* Makes maps the newest snapshot, dropping the oldest past the bound. */
static void push_snapshot(struct process *p, struct proc_maps maps, bool exec)
{
	if (p->n_snapshots == MAX_SNAPSHOTS)
		proc_maps__release(&p->snapshots[--p->n_snapshots]);
	memmove(&p->snapshots[1], &p->snapshots[0], p->n_snapshots * sizeof(p->snapshots[0]));
	p->snapshots[0] = maps;
	p->n_snapshots++;
	p->n_since_exec = exec ? 1 : p->n_since_exec + 1;
	if (p->n_since_exec > p->n_snapshots)
		p->n_since_exec = p->n_snapshots;
}

/* Puts maps behind every snapshot, as the oldest, if there is room; else drops them. */
static void append_oldest_snapshot(struct process *p, struct proc_maps maps)
{
	if (p->n_snapshots == MAX_SNAPSHOTS) {
		proc_maps__release(&maps);
		return;
	}
	p->snapshots[p->n_snapshots++] = maps;
}

/* Reads the maps as a new newest snapshot. */
static void read_maps(struct process *p)
{
	struct proc_maps maps;
	int err;

	p->last_read_ns = monotonic_ns();
	err = proc_maps__read(p->tgid, &maps);
	p->maps_error = err;
	if (!err)
		push_snapshot(p, maps, false);
}

static void maybe_grow(struct process_table *t)
{
	size_t n = t->n_buckets * 2;
	struct process **buckets;

	if (t->count < t->n_buckets)
		return;
	buckets = calloc(n, sizeof(*buckets));
	if (!buckets)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct process *p = t->buckets[i], *next;

		for (; p; p = next) {
			size_t b = ((uint32_t)p->tgid * 2654435761u) & (n - 1);

			next = p->next;
			p->next = buckets[b];
			buckets[b] = p;
		}
	}
	free(t->buckets);
	t->buckets = buckets;
	t->n_buckets = n;
}

/* Adds an entry for tgid with no reference and no maps. NULL at the bound or on ENOMEM. */
static struct process *add_process(struct process_table *t, pid_t tgid)
{
	struct process *p;
	char proc_path[32];
	struct stat st;
	size_t b;

	if (t->count >= t->max_processes)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->tgid = tgid;
	snprintf(proc_path, sizeof(proc_path), "/proc/%d", (int)tgid);
	if (stat(proc_path, &st) == 0) {
		p->owner = st.st_uid;
		p->owner_known = true;
	}
	maybe_grow(t);
	b = bucket_of(t, tgid);
	p->next = t->buckets[b];
	t->buckets[b] = p;
	t->count++;
	return p;
}

static void remove_process(struct process_table *t, struct process *gone)
{
	struct process **link, *p;

	for (link = &t->buckets[bucket_of(t, gone->tgid)]; (p = *link); link = &p->next) {
		if (p == gone) {
			*link = p->next;
			t->count--;
			process_free(p);
			return;
		}
	}
}

int process_table__acquire(struct process_table *t, pid_t tgid)
{
	struct process *p = lookup(t, tgid);

	if (p) {
		/* Task events may have made it without maps: then read them now. */
		if (!p->n_snapshots && !p->exited)
			read_maps(p);
		p->refs++;
		return 0;
	}
	if (t->count >= t->max_processes)
		return -ENOSPC;
	p = add_process(t, tgid);
	if (!p)
		return -ENOMEM;
	p->refs = 1;
	read_maps(p);
	return 0;
}

void process_table__release(struct process_table *t, pid_t tgid)
{
	struct process *p = lookup(t, tgid);

	if (p && p->refs && --p->refs == 0)
		remove_process(t, p);
}

void process_table__on_fork(struct process_table *t, pid_t parent, pid_t child)
{
	const struct process *from = lookup(t, parent);
	struct proc_maps maps;
	struct process *p;

	if (!from)
		return;
	/* A pid reused while a session holds the old, exited process keeps the old one. */
	p = lookup(t, child);
	if (p && p->exited)
		return;
	if (!p)
		p = add_process(t, child);
	if (!p) {
		t->untracked++;
		return;
	}
	if (!from->n_snapshots || proc_maps__copy(&from->snapshots[0], &maps) != 0)
		return;
	/*
	 * A child starts with its parent's memory. Its first sample may have
	 * been drained before this record and read /proc: by then it may have
	 * run exec, and the maps read are its new program's. The parent's go
	 * behind them, as the oldest snapshot, for the samples taken between
	 * the fork and the exec (the exec itself, in the kernel, among them).
	 */
	if (p->n_snapshots)
		append_oldest_snapshot(p, maps);
	else
		push_snapshot(p, maps, false);
	p->last_read_ns = monotonic_ns();
}

void process_table__on_exec(struct process_table *t, pid_t tgid)
{
	struct process *p = lookup(t, tgid);

	if (!p || p->exited)
		return;
	/*
	 * The new program's maps come as mmaps, into a new snapshot; the old
	 * ones stay behind it for the samples taken before the exec.
	 */
	push_snapshot(p, (struct proc_maps){}, true);
	p->last_read_ns = monotonic_ns();
}

void process_table__on_mmap(struct process_table *t, pid_t tgid, const struct proc_map *m)
{
	struct process *p = lookup(t, tgid);

	if (!p || p->exited)
		return;
	if (!p->n_snapshots)
		push_snapshot(p, (struct proc_maps){}, false);
	if (proc_maps__insert(&p->snapshots[0], m))
		t->untracked++;
}

void process_table__on_exit(struct process_table *t, pid_t tgid)
{
	struct process *p = lookup(t, tgid);

	if (!p)
		return;
	p->exited = true;
	/*
	 * Records are handed over in time order after every sample before them
	 * was drained, so an entry no session took by now never will be.
	 */
	if (!p->refs)
		remove_process(t, p);
}

void process_table__forget_unheld(struct process_table *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct process **link = &t->buckets[i], *p;

		while ((p = *link)) {
			if (p->refs) {
				link = &p->next;
				continue;
			}
			*link = p->next;
			t->count--;
			process_free(p);
		}
	}
}

uint64_t process_table__untracked(const struct process_table *t)
{
	return t->untracked;
}

static const struct proc_map *find_in_snapshots(const struct process *p, uint64_t addr)
{
	for (unsigned int i = 0; i < p->n_snapshots; i++) {
		const struct proc_map *m = proc_maps__find(&p->snapshots[i], addr);

		if (m)
			return m;
	}
	return NULL;
}

const struct proc_map *process_table__find(struct process_table *t, pid_t tgid, uint64_t addr)
{
	struct process *p = lookup(t, tgid);
	const struct proc_map *m;

	if (!p)
		return NULL;
	m = find_in_snapshots(p, addr);
	if (m || p->exited || monotonic_ns() - p->last_read_ns < REREAD_INTERVAL_NS)
		return m;
	read_maps(p);
	return find_in_snapshots(p, addr);
}

const struct proc_map *process_table__main_mapping(struct process_table *t, pid_t tgid)
{
	struct process *p = lookup(t, tgid);

	if (!p || !p->n_snapshots)
		return NULL;
	/* The oldest snapshot of the current program is closest to its exec. */
	const struct proc_maps *maps = &p->snapshots[(p->n_since_exec ? p->n_since_exec
								       : p->n_snapshots) - 1];

	for (size_t i = 0; i < maps->n; i++)
		if ((maps->maps[i].perms & PROC_MAP_EXEC) && maps->maps[i].path &&
		    maps->maps[i].path[0] == '/')
			return &maps->maps[i];
	return NULL;
}

const struct proc_map *process_table__find_file(const struct process_table *t, pid_t tgid,
						bool (*match)(const struct proc_map *m, void *arg),
						void *arg)
{
	const struct process *p = lookup(t, tgid);

	if (!p)
		return NULL;
	for (unsigned int i = 0; i < p->n_snapshots; i++) {
		const struct proc_maps *maps = &p->snapshots[i];

		for (size_t j = 0; j < maps->n; j++)
			if (maps->maps[j].path && match(&maps->maps[j], arg))
				return &maps->maps[j];
	}
	return NULL;
}

int process_table__for_each_code(const struct process_table *t, pid_t tgid,
				 void (*fn)(const struct proc_map *m, void *arg), void *arg)
{
	const struct process *p = lookup(t, tgid);
	unsigned int n;
	int passed = 0;

	if (!p)
		return -ENOENT;
	n = p->n_since_exec ? p->n_since_exec : p->n_snapshots;
	for (unsigned int i = 0; i < n && i < p->n_snapshots; i++) {
		const struct proc_maps *maps = &p->snapshots[i];

		for (size_t j = 0; j < maps->n; j++) {
			if (!(maps->maps[j].perms & PROC_MAP_EXEC))
				continue;
			fn(&maps->maps[j], arg);
			passed++;
		}
	}
	return passed;
}

bool process_table__has(const struct process_table *t, pid_t tgid)
{
	return lookup(t, tgid) != NULL;
}

int process_table__owner(const struct process_table *t, pid_t tgid, uid_t *ret_uid)
{
	const struct process *p = lookup(t, tgid);

	if (!p || !p->owner_known)
		return -ENOENT;
	*ret_uid = p->owner;
	return 0;
}

int process_table__maps_error(const struct process_table *t, pid_t tgid)
{
	const struct process *p = lookup(t, tgid);

	return p ? p->maps_error : 0;
}

size_t process_table__count(const struct process_table *t)
{
	return t->count;
}
