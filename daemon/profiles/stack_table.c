// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "stack_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NO_ID UINT32_MAX
#define MIN_BUCKETS 1024

struct stack_entry {
	uint64_t hash;
	uint32_t next; /* next id in the bucket's chain, NO_ID at the end */
	uint32_t refs;
	struct stack stack; /* must stay last: ips[] follows */
};

struct stack_table {
	struct stack_entry **entries; /* by id; NULL for a free id */
	uint32_t n_entries; /* ids handed out so far */
	uint32_t entries_capacity;
	uint32_t *free_ids; /* ids to reuse, a stack */
	uint32_t n_free;
	uint32_t *buckets; /* head id per bucket */
	uint32_t n_buckets; /* power of two */
	size_t count;
	size_t memory; /* bytes of entries and arrays */
	size_t max_bytes;
};

static uint64_t hash_stack(uint32_t tgid, const uint64_t *ips, uint16_t kernel_depth,
			   uint16_t user_depth)
{
	uint64_t h = ((uint64_t)tgid << 32) ^ ((uint64_t)kernel_depth << 16) ^ user_depth;
	size_t n = (size_t)kernel_depth + user_depth;

	h *= 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		h ^= ips[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h ^ (h >> 29);
}

static size_t entry_bytes(size_t n_ips)
{
	return sizeof(struct stack_entry) + n_ips * sizeof(uint64_t);
}

struct stack_table *stack_table__new(size_t max_bytes)
{
	struct stack_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->n_buckets = MIN_BUCKETS;
	t->buckets = malloc(t->n_buckets * sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	memset(t->buckets, 0xff, t->n_buckets * sizeof(*t->buckets));
	t->max_bytes = max_bytes;
	t->memory = sizeof(*t) + t->n_buckets * sizeof(*t->buckets);
	return t;
}

void stack_table__free(struct stack_table *t)
{
	if (!t)
		return;
	for (uint32_t id = 0; id < t->n_entries; id++)
		free(t->entries[id]);
	free(t->entries);
	free(t->free_ids);
	free(t->buckets);
	free(t);
}

/* Doubles the buckets when chains would average more than one entry. */
static int maybe_grow_buckets(struct stack_table *t)
{
	uint32_t n = t->n_buckets * 2, *buckets;

	if (t->count < t->n_buckets || n < t->n_buckets)
		return 0;
	buckets = malloc(n * sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	memset(buckets, 0xff, n * sizeof(*buckets));
	for (uint32_t id = 0; id < t->n_entries; id++) {
		struct stack_entry *e = t->entries[id];

		if (!e)
			continue;
		e->next = buckets[e->hash & (n - 1)];
		buckets[e->hash & (n - 1)] = id;
	}
	free(t->buckets);
	t->memory += (size_t)(n - t->n_buckets) * sizeof(*buckets);
	t->buckets = buckets;
	t->n_buckets = n;
	return 0;
}

/* Returns a free id, growing the entry and free-id arrays together. */
static int take_id(struct stack_table *t, uint32_t *ret_id)
{
	if (t->n_free) {
		*ret_id = t->free_ids[--t->n_free];
		return 0;
	}
	if (t->n_entries == NO_ID)
		return -ENOSPC;
	if (t->n_entries == t->entries_capacity) {
		uint32_t cap = t->entries_capacity ? t->entries_capacity * 2 : 1024;
		struct stack_entry **entries;
		uint32_t *free_ids;

		entries = realloc(t->entries, cap * sizeof(*entries));
		if (!entries)
			return -ENOMEM;
		t->entries = entries;
		free_ids = realloc(t->free_ids, cap * sizeof(*free_ids));
		if (!free_ids)
			return -ENOMEM;
		t->free_ids = free_ids;
		t->memory += (size_t)(cap - t->entries_capacity) *
			     (sizeof(*entries) + sizeof(*free_ids));
		t->entries_capacity = cap;
	}
	*ret_id = t->n_entries++;
	t->entries[*ret_id] = NULL;
	return 0;
}

/* What the arrays grow by if one more stack is added now: it counts against the bound too. */
static size_t growth_bytes(const struct stack_table *t)
{
	size_t bytes = 0;

	if (t->count >= t->n_buckets)
		bytes += (size_t)t->n_buckets * sizeof(*t->buckets);
	if (!t->n_free && t->n_entries == t->entries_capacity)
		bytes += (size_t)(t->entries_capacity ? t->entries_capacity : 1024) *
			 (sizeof(*t->entries) + sizeof(*t->free_ids));
	return bytes;
}

int stack_table__intern(struct stack_table *t, uint32_t tgid, const uint64_t *ips,
			uint16_t kernel_depth, uint16_t user_depth, uint32_t *ret_id)
{
	size_t n_ips = (size_t)kernel_depth + user_depth, bytes = entry_bytes(n_ips);
	uint64_t hash = hash_stack(tgid, ips, kernel_depth, user_depth);
	struct stack_entry *e;
	uint32_t id;
	int err;

	for (id = t->buckets[hash & (t->n_buckets - 1)]; id != NO_ID; id = e->next) {
		e = t->entries[id];
		if (e->hash == hash && e->stack.tgid == tgid &&
		    e->stack.kernel_depth == kernel_depth && e->stack.user_depth == user_depth &&
		    memcmp(e->stack.ips, ips, n_ips * sizeof(*ips)) == 0) {
			e->refs++;
			*ret_id = id;
			return 0;
		}
	}

	if (t->memory + bytes + growth_bytes(t) > t->max_bytes)
		return -ENOSPC;
	err = maybe_grow_buckets(t);
	if (err)
		return err;
	e = malloc(bytes);
	if (!e)
		return -ENOMEM;
	err = take_id(t, &id);
	if (err) {
		free(e);
		return err;
	}
	e->hash = hash;
	e->refs = 1;
	e->stack.tgid = tgid;
	e->stack.kernel_depth = kernel_depth;
	e->stack.user_depth = user_depth;
	memcpy(e->stack.ips, ips, n_ips * sizeof(*ips));
	e->next = t->buckets[hash & (t->n_buckets - 1)];
	t->buckets[hash & (t->n_buckets - 1)] = id;
	t->entries[id] = e;
	t->count++;
	t->memory += bytes;
	*ret_id = id;
	return 0;
}

void stack_table__ref(struct stack_table *t, uint32_t id)
{
	if (id < t->n_entries && t->entries[id])
		t->entries[id]->refs++;
}

void stack_table__unref(struct stack_table *t, uint32_t id)
{
	struct stack_entry *e;
	uint32_t *link;

	if (id >= t->n_entries || !(e = t->entries[id]) || --e->refs)
		return;
	for (link = &t->buckets[e->hash & (t->n_buckets - 1)]; *link != id;
	     link = &t->entries[*link]->next)
		;
	*link = e->next;
	t->memory -= entry_bytes((size_t)e->stack.kernel_depth + e->stack.user_depth);
	t->count--;
	free(e);
	t->entries[id] = NULL;
	t->free_ids[t->n_free++] = id;
}

const struct stack *stack_table__get(const struct stack_table *t, uint32_t id)
{
	if (id >= t->n_entries || !t->entries[id])
		return NULL;
	return &t->entries[id]->stack;
}

size_t stack_table__count(const struct stack_table *t)
{
	return t->count;
}

size_t stack_table__memory(const struct stack_table *t)
{
	return t->memory;
}

size_t stack_table__limit(const struct stack_table *t)
{
	return t->max_bytes;
}
