/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of daemon/profiles/stack_table.c: identity of interned stacks, reference
 * counts and id reuse, memory accounting, the memory bound, growth to many
 * stacks, and stacks without frames.
 */
#include <errno.h>
#include <stdint.h>

#include "test.h"
#include "profiles/stack_table.h"

#define BIG_TABLE_BYTES ((size_t)1 << 30)

/* Whether the stack named by id is exactly (tgid, ips, kernel_depth, user_depth). */
static bool stack_is(const struct stack_table *t, uint32_t id, uint32_t tgid, const uint64_t *ips,
		     uint16_t kernel_depth, uint16_t user_depth)
{
	const struct stack *s = stack_table__get(t, id);
	size_t n = (size_t)kernel_depth + user_depth;

	if (!s || s->tgid != tgid || s->kernel_depth != kernel_depth || s->user_depth != user_depth)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s->ips[i] != ips[i])
			return false;
	return true;
}

static void test_new_and_free(void)
{
	struct stack_table *t = stack_table__new(12345);

	if (!ASSERT_NOT_NULL(t))
		return;
	ASSERT_EQ(stack_table__count(t), 0);
	ASSERT_EQ(stack_table__limit(t), 12345);
	ASSERT_TRUE(stack_table__memory(t) > 0);
	ASSERT_TRUE(stack_table__get(t, 0) == NULL);
	ASSERT_TRUE(stack_table__get(t, UINT32_MAX) == NULL);
	/* Unknown ids are ignored, not a crash. */
	stack_table__ref(t, 7);
	stack_table__unref(t, 7);
	ASSERT_EQ(stack_table__count(t), 0);
	stack_table__free(t);
	stack_table__free(NULL);
}

static void test_same_stack_same_id(void)
{
	uint64_t a[] = { 0xffffffff81000010ull, 0x401000, 0x401100, 0x401200 };
	uint64_t copy[] = { 0xffffffff81000010ull, 0x401000, 0x401100, 0x401200 };
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	uint32_t id1 = 1111, id2 = 2222;
	size_t memory;

	if (!ASSERT_NOT_NULL(t))
		return;
	ASSERT_OK(stack_table__intern(t, 42, a, 1, 3, &id1));
	memory = stack_table__memory(t);
	/* Equal contents in another buffer: the same stack. */
	ASSERT_OK(stack_table__intern(t, 42, copy, 1, 3, &id2));
	ASSERT_EQ(id1, id2);
	ASSERT_EQ(stack_table__count(t), 1);
	/* A second reference costs no memory. */
	ASSERT_EQ(stack_table__memory(t), memory);
	ASSERT_TRUE(stack_is(t, id1, 42, a, 1, 3));
	/* The table copied the addresses: changing the caller's buffer changes nothing. */
	a[2] = 0xdead;
	ASSERT_TRUE(stack_is(t, id1, 42, copy, 1, 3));
	stack_table__free(t);
}

static void test_any_difference_new_id(void)
{
	const uint64_t base[] = { 0xffffffff81000010ull, 0xffffffff81000020ull, 0x401000,
				  0x401100 };
	const uint64_t first_differs[] = { 0xffffffff81000011ull, 0xffffffff81000020ull, 0x401000,
					   0x401100 };
	const uint64_t last_differs[] = { 0xffffffff81000010ull, 0xffffffff81000020ull, 0x401000,
					  0x401101 };
	const uint64_t swapped[] = { 0xffffffff81000020ull, 0xffffffff81000010ull, 0x401000,
				     0x401100 };
	struct {
		uint32_t tgid;
		const uint64_t *ips;
		uint16_t kernel_depth, user_depth;
	} cases[] = {
		{ 100, base, 2, 2 },	      { 101, base, 2, 2 }, /* another process */
		{ 100, first_differs, 2, 2 }, /* the leaf address */
		{ 100, last_differs, 2, 2 }, /* the root address */
		{ 100, swapped, 2, 2 }, /* the same addresses in another order */
		{ 100, base, 1, 3 }, /* the same addresses split otherwise */
		{ 100, base, 3, 1 },	      { 100, base, 4, 0 },
		{ 100, base, 0, 4 },	      { 100, base, 2, 1 }, /* a prefix */
		{ 100, base, 0, 0 },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	uint32_t ids[sizeof(cases) / sizeof(cases[0])];

	if (!ASSERT_NOT_NULL(t))
		return;
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(stack_table__intern(t, cases[i].tgid, cases[i].ips, cases[i].kernel_depth,
					      cases[i].user_depth, &ids[i]));
	ASSERT_EQ(stack_table__count(t), n);
	for (size_t i = 0; i < n; i++) {
		uint32_t again = UINT32_MAX;

		for (size_t j = 0; j < i; j++)
			if (!ASSERT_NE(ids[i], ids[j]))
				printf("#   cases %zu and %zu share id %u\n", i, j, ids[i]);
		/* Each still finds its own entry, and holds what it was given. */
		ASSERT_OK(stack_table__intern(t, cases[i].tgid, cases[i].ips, cases[i].kernel_depth,
					      cases[i].user_depth, &again));
		ASSERT_EQ(again, ids[i]);
		ASSERT_TRUE(stack_is(t, ids[i], cases[i].tgid, cases[i].ips, cases[i].kernel_depth,
				     cases[i].user_depth));
	}
	ASSERT_EQ(stack_table__count(t), n);
	stack_table__free(t);
}

/*
 * White box: a copy of hash_stack() in stack_table.c, used only to build
 * stacks whose hashes collide, so that the full comparison behind the hash
 * is tested. If the table's hash changes, change this copy with it (the
 * test then still passes, but no longer collides).
 */
static uint64_t hash_seed(uint32_t tgid, uint16_t kernel_depth, uint16_t user_depth)
{
	return (((uint64_t)tgid << 32) ^ ((uint64_t)kernel_depth << 16) ^ user_depth) *
	       0x9e3779b97f4a7c15ull;
}

static uint64_t hash_step(uint64_t h, uint64_t ip)
{
	h ^= ip;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

/* The state after the first n addresses are mixed in. */
static uint64_t hash_state(uint32_t tgid, const uint64_t *ips, uint16_t kernel_depth,
			   uint16_t user_depth, size_t n)
{
	uint64_t h = hash_seed(tgid, kernel_depth, user_depth);

	for (size_t i = 0; i < n; i++)
		h = hash_step(h, ips[i]);
	return h;
}

static uint64_t hash_of(uint32_t tgid, const uint64_t *ips, uint16_t kernel_depth,
			uint16_t user_depth)
{
	uint64_t h =
		hash_state(tgid, ips, kernel_depth, user_depth, (size_t)kernel_depth + user_depth);

	return h ^ (h >> 29);
}

/*
 * Stacks with equal hashes are still told apart: by each address, by the
 * tgid, and by the kernel/user split.
 */
static void test_hash_collisions(void)
{
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	uint64_t a[3] = { 0x401000, 0x402000, 0x403000 }, b[3];
	uint64_t one[1] = { 0x401000 }, other_process[1], other_split[1];
	uint32_t id_a, id_b, id;

	if (!ASSERT_NOT_NULL(t))
		return;

	/* Same process and depths; the second address differs, the third makes up for it. */
	b[0] = a[0];
	b[1] = a[1] ^ 0x10;
	b[2] = a[2] ^ hash_state(9, a, 0, 3, 2) ^ hash_state(9, b, 0, 3, 2);
	ASSERT_TRUE(hash_of(9, a, 0, 3) == hash_of(9, b, 0, 3));
	ASSERT_OK(stack_table__intern(t, 9, a, 0, 3, &id_a));
	ASSERT_OK(stack_table__intern(t, 9, b, 0, 3, &id_b));
	ASSERT_NE(id_a, id_b);
	ASSERT_TRUE(stack_is(t, id_a, 9, a, 0, 3));
	ASSERT_TRUE(stack_is(t, id_b, 9, b, 0, 3));

	/* The same, differing in the first address. */
	b[0] = a[0] ^ 0x20;
	b[1] = a[1] ^ hash_state(9, a, 0, 3, 1) ^ hash_state(9, b, 0, 3, 1);
	b[2] = a[2];
	ASSERT_TRUE(hash_of(9, a, 0, 3) == hash_of(9, b, 0, 3));
	ASSERT_OK(stack_table__intern(t, 9, b, 0, 3, &id));
	ASSERT_NE(id, id_a);
	ASSERT_NE(id, id_b);
	ASSERT_TRUE(stack_is(t, id, 9, b, 0, 3));

	/* Another process, its one address chosen to collide. */
	other_process[0] = one[0] ^ hash_seed(1, 0, 1) ^ hash_seed(2, 0, 1);
	ASSERT_TRUE(hash_of(1, one, 0, 1) == hash_of(2, other_process, 0, 1));
	ASSERT_OK(stack_table__intern(t, 1, one, 0, 1, &id_a));
	ASSERT_OK(stack_table__intern(t, 2, other_process, 0, 1, &id_b));
	ASSERT_NE(id_a, id_b);
	ASSERT_TRUE(stack_is(t, id_b, 2, other_process, 0, 1));

	/* The same process and address count, split otherwise. */
	other_split[0] = one[0] ^ hash_seed(1, 0, 1) ^ hash_seed(1, 1, 0);
	ASSERT_TRUE(hash_of(1, one, 0, 1) == hash_of(1, other_split, 1, 0));
	ASSERT_OK(stack_table__intern(t, 1, other_split, 1, 0, &id));
	ASSERT_NE(id, id_a);
	ASSERT_NE(id, id_b);
	ASSERT_TRUE(stack_is(t, id, 1, other_split, 1, 0));

	ASSERT_EQ(stack_table__count(t), 6);
	/* Dropping one of a colliding pair unlinks it alone. */
	stack_table__unref(t, id_a);
	ASSERT_TRUE(stack_table__get(t, id_a) == NULL);
	ASSERT_OK(stack_table__intern(t, 2, other_process, 0, 1, &id));
	ASSERT_EQ(id, id_b);
	ASSERT_OK(stack_table__intern(t, 1, other_split, 1, 0, &id));
	ASSERT_TRUE(stack_is(t, id, 1, other_split, 1, 0));
	ASSERT_EQ(stack_table__count(t), 5);
	stack_table__free(t);
}

static void test_refcount_and_id_reuse(void)
{
	const uint64_t a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 }, c[] = { 7, 8, 9 };
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	uint32_t id_a, id_a2, id_b, id_c, id;

	if (!ASSERT_NOT_NULL(t))
		return;
	ASSERT_OK(stack_table__intern(t, 1, a, 0, 3, &id_a));
	ASSERT_OK(stack_table__intern(t, 1, a, 0, 3, &id_a2));
	ASSERT_EQ(id_a, id_a2);
	ASSERT_OK(stack_table__intern(t, 1, b, 0, 3, &id_b));
	ASSERT_EQ(stack_table__count(t), 2);

	/* Two references: one drop keeps it. */
	stack_table__unref(t, id_a);
	ASSERT_TRUE(stack_is(t, id_a, 1, a, 0, 3));
	ASSERT_EQ(stack_table__count(t), 2);
	/* The last drop frees it. */
	stack_table__unref(t, id_a);
	ASSERT_TRUE(stack_table__get(t, id_a) == NULL);
	ASSERT_EQ(stack_table__count(t), 1);
	/* The other stack is untouched, and still found by content. */
	ASSERT_TRUE(stack_is(t, id_b, 1, b, 0, 3));
	ASSERT_OK(stack_table__intern(t, 1, b, 0, 3, &id));
	ASSERT_EQ(id, id_b);
	stack_table__unref(t, id_b);

	/* Dropping a freed id again changes nothing. */
	stack_table__unref(t, id_a);
	stack_table__ref(t, id_a);
	ASSERT_TRUE(stack_table__get(t, id_a) == NULL);
	ASSERT_EQ(stack_table__count(t), 1);

	/* The freed id is reused for the next new stack. */
	ASSERT_OK(stack_table__intern(t, 1, c, 0, 3, &id_c));
	ASSERT_EQ(id_c, id_a);
	ASSERT_TRUE(stack_is(t, id_c, 1, c, 0, 3));
	ASSERT_EQ(stack_table__count(t), 2);

	/* The freed stack is not found any more: interning it makes a new entry. */
	ASSERT_OK(stack_table__intern(t, 1, a, 0, 3, &id));
	ASSERT_NE(id, id_c);
	ASSERT_NE(id, id_b);
	ASSERT_EQ(stack_table__count(t), 3);
	/* ...with one reference, and ref() adds one. */
	stack_table__ref(t, id);
	stack_table__unref(t, id);
	ASSERT_TRUE(stack_is(t, id, 1, a, 0, 3));
	stack_table__unref(t, id);
	ASSERT_TRUE(stack_table__get(t, id) == NULL);
	ASSERT_EQ(stack_table__count(t), 2);
	stack_table__free(t);
}

static void test_memory_accounting(void)
{
	enum { N = 100, DEPTH = 16 };
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	size_t initial, base, previous;
	uint64_t ips[DEPTH];
	uint32_t ids[N], id;

	if (!ASSERT_NOT_NULL(t))
		return;
	initial = stack_table__memory(t);
	for (int i = 0; i < DEPTH; i++)
		ips[i] = 0x400000 + i;

	/*
	 * The first stack also allocates the id arrays, which the table keeps
	 * (and counts) once made; after it is dropped the table holds no
	 * stack, but is not back to its initial size.
	 */
	ASSERT_OK(stack_table__intern(t, 1, ips, 0, DEPTH, &id));
	ASSERT_TRUE(stack_table__memory(t) >= initial + DEPTH * sizeof(uint64_t));
	stack_table__unref(t, id);
	ASSERT_EQ(stack_table__count(t), 0);
	base = stack_table__memory(t);
	ASSERT_GE(base, initial);

	/* Each new stack costs at least its addresses; a second reference costs nothing. */
	previous = base;
	for (int i = 0; i < N; i++) {
		ips[0] = 0x500000 + i;
		if (!ASSERT_OK(stack_table__intern(t, 1, ips, 0, DEPTH, &ids[i])))
			goto out;
		ASSERT_GE(stack_table__memory(t), previous + DEPTH * sizeof(uint64_t));
		previous = stack_table__memory(t);
		ASSERT_OK(stack_table__intern(t, 1, ips, 0, DEPTH, &id));
		ASSERT_EQ(stack_table__memory(t), previous);
	}
	ASSERT_TRUE(stack_table__memory(t) <= stack_table__limit(t));

	/* Dropping all references returns every byte the stacks took. */
	for (int i = 0; i < N; i++) {
		stack_table__unref(t, ids[i]);
		ASSERT_EQ(stack_table__memory(t), previous);
		stack_table__unref(t, ids[i]);
		ASSERT_TRUE(stack_table__memory(t) < previous);
		previous = stack_table__memory(t);
	}
	ASSERT_EQ(stack_table__count(t), 0);
	ASSERT_EQ(stack_table__memory(t), base);
out:
	stack_table__free(t);
}

/*
 * Fills a table bounded to limit with distinct stacks of depth frames; returns
 * how many went in before the first -ENOSPC (0 on another failure).
 */
static size_t fill(struct stack_table *t, uint16_t depth, uint32_t *ids, size_t max_ids)
{
	uint64_t ips[8] = { 0 };
	size_t n;

	for (n = 0; n < max_ids; n++) {
		int err;

		ips[0] = 0x1000 + n;
		err = stack_table__intern(t, 7, ips, 0, depth, &ids[n]);
		if (err == -ENOSPC)
			return n;
		if (!ASSERT_OK(err))
			return 0;
		/* The bound holds at every step, whatever the table allocates. */
		if (!ASSERT_TRUE(stack_table__memory(t) <= stack_table__limit(t))) {
			printf("#   %zu stacks: %zu bytes held, limit %zu\n", n + 1,
			       stack_table__memory(t), stack_table__limit(t));
			return 0;
		}
	}
	TEST_FAIL_AT("%zu stacks and no -ENOSPC", max_ids);
	return 0;
}

static void test_bound(void)
{
	enum { MAX_IDS = 100000 };
	/* Room for about a thousand small stacks, with the table's own arrays. */
	struct stack_table *t = stack_table__new(64 * 1024);
	uint32_t *ids = calloc(MAX_IDS, sizeof(*ids));
	uint64_t ips[8] = { 0 };
	size_t n, count, memory;
	uint32_t id;

	if (!ASSERT_NOT_NULL(t) || !ASSERT_NOT_NULL(ids))
		goto out;
	n = fill(t, 4, ids, MAX_IDS);
	if (!ASSERT_TRUE(n > 0))
		goto out;
	count = stack_table__count(t);
	memory = stack_table__memory(t);
	ASSERT_EQ(count, n);

	/* Full: a new stack is refused, and refusing changes nothing. */
	ips[0] = 0x999999;
	ASSERT_EQ(stack_table__intern(t, 7, ips, 0, 4, &id), -ENOSPC);
	ASSERT_EQ(stack_table__intern(t, 7, ips, 0, 8, &id), -ENOSPC);
	ASSERT_EQ(stack_table__count(t), count);
	ASSERT_EQ(stack_table__memory(t), memory);
	/* Stacks already held still intern, to their ids, at no cost. */
	for (size_t i = 0; i < n; i += 97) {
		ips[0] = 0x1000 + i;
		id = UINT32_MAX;
		ASSERT_OK(stack_table__intern(t, 7, ips, 0, 4, &id));
		ASSERT_EQ(id, ids[i]);
		stack_table__unref(t, ids[i]);
	}
	ips[0] = 0x1000 + n - 1;
	ASSERT_OK(stack_table__intern(t, 7, ips, 0, 4, &id));
	ASSERT_EQ(id, ids[n - 1]);
	stack_table__unref(t, id);

	/* Freeing a stack makes room for a new one. */
	stack_table__unref(t, ids[0]);
	ASSERT_EQ(stack_table__count(t), count - 1);
	ASSERT_TRUE(stack_table__memory(t) < memory);
	ips[0] = 0x999999;
	ASSERT_OK(stack_table__intern(t, 7, ips, 0, 4, &id));
	ASSERT_EQ(id, ids[0]);
	ASSERT_TRUE(stack_table__memory(t) <= stack_table__limit(t));
out:
	free(ids);
	stack_table__free(t);
}

/* Past a thousand stacks the table grows its arrays: the bound must count them too. */
static void test_bound_counts_growth(void)
{
	enum { MAX_IDS = 100000 };
	size_t limits[] = { 128 * 1024, 192 * 1024, 256 * 1024, 1024 * 1024 };
	uint32_t *ids = calloc(MAX_IDS, sizeof(*ids));

	if (!ASSERT_NOT_NULL(ids))
		return;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct stack_table *t = stack_table__new(limits[i]);
		size_t n;

		if (!ASSERT_NOT_NULL(t))
			break;
		/* fill() reports its own failures; then n is 0. */
		n = fill(t, 1, ids, MAX_IDS);
		if (n && !ASSERT_TRUE(n > 1024))
			printf("#   limit %zu: only %zu stacks, no growth tested\n", limits[i], n);
		stack_table__free(t);
	}
	free(ids);
}

/* A stack of a process built from i: its tgid, depths and addresses all vary. */
static void make_stack(uint32_t i, uint32_t *tgid, uint64_t *ips, uint16_t *kernel_depth,
		       uint16_t *user_depth)
{
	*tgid = 1000 + i % 7;
	*kernel_depth = i % 3;
	*user_depth = 1 + i % 5;
	for (int k = 0; k < *kernel_depth + *user_depth; k++)
		ips[k] = (k < *kernel_depth ? 0xffffffff81000000ull : 0x400000ull) +
			 (uint64_t)i * 16 + k;
}

static void test_many_stacks(void)
{
	enum { N = 200000 };
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	uint32_t *ids = calloc(N, sizeof(*ids));
	uint64_t ips[8];
	uint16_t kernel_depth, user_depth;
	uint32_t tgid, id;
	size_t bad = 0, n_bytes = 0;

	if (!ASSERT_NOT_NULL(t) || !ASSERT_NOT_NULL(ids))
		goto out;
	for (uint32_t i = 0; i < N; i++) {
		make_stack(i, &tgid, ips, &kernel_depth, &user_depth);
		if (!ASSERT_OK(
			    stack_table__intern(t, tgid, ips, kernel_depth, user_depth, &ids[i])))
			goto out;
		n_bytes += sizeof(struct stack) + (kernel_depth + user_depth) * sizeof(uint64_t);
	}
	ASSERT_EQ(stack_table__count(t), N);
	ASSERT_TRUE(stack_table__memory(t) <= stack_table__limit(t));
	/* Every stack is counted, at least its header and its addresses. */
	ASSERT_GE(stack_table__memory(t), n_bytes);

	/* After every rehash, each stack is found by content and holds its own addresses. */
	for (uint32_t i = 0; i < N; i++) {
		make_stack(i, &tgid, ips, &kernel_depth, &user_depth);
		if (!stack_is(t, ids[i], tgid, ips, kernel_depth, user_depth) ||
		    stack_table__intern(t, tgid, ips, kernel_depth, user_depth, &id) ||
		    id != ids[i])
			bad++;
		else
			stack_table__unref(t, id);
	}
	ASSERT_EQ(bad, 0);
	ASSERT_EQ(stack_table__count(t), N);

	/* Drop every other stack: the rest are still found, the dropped ones are gone. */
	for (uint32_t i = 0; i < N; i += 2)
		stack_table__unref(t, ids[i]);
	ASSERT_EQ(stack_table__count(t), N / 2);
	for (uint32_t i = 0; i < N; i++) {
		bool held = i % 2;

		make_stack(i, &tgid, ips, &kernel_depth, &user_depth);
		if (held != stack_is(t, ids[i], tgid, ips, kernel_depth, user_depth))
			bad++;
		if (!held && stack_table__get(t, ids[i]) != NULL)
			bad++;
	}
	ASSERT_EQ(bad, 0);

	/* Then drop the rest: the table is empty. */
	for (uint32_t i = 1; i < N; i += 2)
		stack_table__unref(t, ids[i]);
	ASSERT_EQ(stack_table__count(t), 0);
	for (uint32_t i = 0; i < N; i++)
		if (stack_table__get(t, ids[i]) != NULL)
			bad++;
	ASSERT_EQ(bad, 0);
out:
	free(ids);
	stack_table__free(t);
}

static void test_depth_zero(void)
{
	const uint64_t unused[] = { 0x1234 };
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	uint32_t id1, id2, id3, id4;
	const struct stack *s;

	if (!ASSERT_NOT_NULL(t))
		return;
	/* No frames at all (both stack reads failed): still a stack of its process. */
	ASSERT_OK(stack_table__intern(t, 5, unused, 0, 0, &id1));
	ASSERT_OK(stack_table__intern(t, 5, unused, 0, 0, &id2));
	ASSERT_EQ(id1, id2);
	ASSERT_OK(stack_table__intern(t, 6, unused, 0, 0, &id3));
	ASSERT_NE(id1, id3);
	/* One frame is another stack. */
	ASSERT_OK(stack_table__intern(t, 5, unused, 0, 1, &id4));
	ASSERT_NE(id1, id4);
	ASSERT_EQ(stack_table__count(t), 3);

	s = stack_table__get(t, id1);
	if (ASSERT_NOT_NULL(s)) {
		ASSERT_EQ(s->tgid, 5);
		ASSERT_EQ(s->kernel_depth, 0);
		ASSERT_EQ(s->user_depth, 0);
	}
	stack_table__unref(t, id1);
	ASSERT_NOT_NULL(stack_table__get(t, id1));
	stack_table__unref(t, id1);
	ASSERT_TRUE(stack_table__get(t, id1) == NULL);
	ASSERT_EQ(stack_table__count(t), 2);
	stack_table__unref(t, id3);
	stack_table__unref(t, id4);
	ASSERT_EQ(stack_table__count(t), 0);
	stack_table__free(t);
}

/* Frees a table that still holds references: nothing leaks (under ASan). */
static void test_free_with_references(void)
{
	const uint64_t ips[] = { 1, 2, 3, 4 };
	struct stack_table *t = stack_table__new(BIG_TABLE_BYTES);
	uint32_t id;

	if (!ASSERT_NOT_NULL(t))
		return;
	for (uint32_t tgid = 1; tgid <= 3000; tgid++)
		ASSERT_OK(stack_table__intern(t, tgid, ips, 2, 2, &id));
	ASSERT_OK(stack_table__intern(t, 1, ips, 2, 2, &id));
	ASSERT_EQ(stack_table__count(t), 3000);
	stack_table__free(t);
}

int main(void)
{
	RUN_TEST(test_new_and_free);
	RUN_TEST(test_same_stack_same_id);
	RUN_TEST(test_any_difference_new_id);
	RUN_TEST(test_hash_collisions);
	RUN_TEST(test_refcount_and_id_reuse);
	RUN_TEST(test_memory_accounting);
	RUN_TEST(test_bound);
	RUN_TEST(test_bound_counts_growth);
	RUN_TEST(test_many_stacks);
	RUN_TEST(test_depth_zero);
	RUN_TEST(test_free_with_references);
	return TEST_SUMMARY();
}
