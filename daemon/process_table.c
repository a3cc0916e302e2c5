// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "process_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Snapshots of a process's maps kept; the oldest is dropped past this. */
#define MAX_SNAPSHOTS 4
#define REREAD_INTERVAL_NS 1000000000ull

struct process {
	struct process *next; /* in the bucket's chain */
	pid_t tgid;
	uint32_t refs;
	int maps_error; /* last read's error, 0 when it succeeded */
	uint64_t last_read_ns;
	bool owner_known;
	uid_t owner; /* owner of /proc/PID when the entry was made */
	/* snapshots[0] is the newest. */
	struct proc_maps snapshots[MAX_SNAPSHOTS];
	unsigned int n_snapshots;
};

struct process_table {
	struct process **buckets;
	size_t n_buckets; /* power of two */
	size_t count;
	size_t max_processes;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

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

/* Reads the maps as a new newest snapshot, dropping the oldest past the bound. */
static void read_maps(struct process *p)
{
	struct proc_maps maps;
	int err;

	p->last_read_ns = now_ns();
	err = proc_maps__read(p->tgid, &maps);
	p->maps_error = err;
	if (err)
		return;
	if (p->n_snapshots == MAX_SNAPSHOTS)
		proc_maps__release(&p->snapshots[--p->n_snapshots]);
	memmove(&p->snapshots[1], &p->snapshots[0], p->n_snapshots * sizeof(p->snapshots[0]));
	p->snapshots[0] = maps;
	p->n_snapshots++;
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

int process_table__acquire(struct process_table *t, pid_t tgid)
{
	struct process *p = lookup(t, tgid);
	char proc_path[32];
	struct stat st;
	size_t b;

	if (p) {
		p->refs++;
		return 0;
	}
	if (t->count >= t->max_processes)
		return -ENOSPC;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->tgid = tgid;
	p->refs = 1;
	read_maps(p);
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
	return 0;
}

void process_table__release(struct process_table *t, pid_t tgid)
{
	struct process **link, *p;

	for (link = &t->buckets[bucket_of(t, tgid)]; (p = *link); link = &p->next) {
		if (p->tgid != tgid)
			continue;
		if (--p->refs)
			return;
		*link = p->next;
		t->count--;
		process_free(p);
		return;
	}
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
	if (m || now_ns() - p->last_read_ns < REREAD_INTERVAL_NS)
		return m;
	read_maps(p);
	return find_in_snapshots(p, addr);
}

const struct proc_map *process_table__main_mapping(struct process_table *t, pid_t tgid)
{
	struct process *p = lookup(t, tgid);

	if (!p || !p->n_snapshots)
		return NULL;
	/* The oldest snapshot is closest to exec. */
	const struct proc_maps *maps = &p->snapshots[p->n_snapshots - 1];

	for (size_t i = 0; i < maps->n; i++)
		if ((maps->maps[i].perms & PROC_MAP_EXEC) && maps->maps[i].path &&
		    maps->maps[i].path[0] == '/')
			return &maps->maps[i];
	return NULL;
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
