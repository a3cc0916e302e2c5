// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "window_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/array.h"

/*
 * A string shared by the lists in memory: the same exe, build ID, cgroup,
 * unit and container come back in window after window, so each is kept
 * once. A process's pointers point at text; the node is found from them.
 */
struct shared_string {
	uint32_t refs; /* the string fields of lists in memory that point at it */
	uint32_t hash;
	char text[]; /* NUL-terminated */
};

/* The shared strings: open addressing, linear probing, at most 3/4 full. */
struct string_table {
	struct shared_string **slots; /* NULL: free */
	size_t capacity; /* 0, or a power of two */
	size_t count;
	uint64_t seed; /* random: a stranger's process names cannot aim at one chain */
};

struct process_list {
	uint32_t refs;
	uint32_t n;
	uint64_t memory; /* this block's bytes, malloc's too (the strings are the table's) */
	struct store_process processes[];
};

/* A head as open()'s scan parsed it, kept in case its window is among the newest. */
struct staged {
	uint64_t id;
	uint64_t bytes; /* what it holds: this, its processes and strings */
	struct window_file_header h;
};

struct window_index {
	struct window_record *records; /* sorted by (start_ns, seq) */
	size_t n, capacity;
	/* The last n_resident records (the newest) have their lists; no other record has one. */
	size_t n_resident;
	bool ids_sorted; /* records[] is in id order too: every insert was at the end */
	uint64_t next_id;
	int64_t max_duration_ns;
	uint64_t file_bytes; /* the indexed windows' files together */
	uint64_t list_bytes; /* lists alive (held by each() too), strings and the table */
	uint64_t max_list_bytes; /* what list_bytes may be after an insert, lists permitting */
	struct string_table strings;
	/* The scan's newest heads, oldest first from staged_first; at most max_list_bytes. */
	struct staged *staged;
	size_t n_staged, staged_first, staged_capacity;
	uint64_t staged_bytes;
};

#define STRINGS_PER_PROCESS 5
#define TABLE_MIN_CAPACITY 64
/* What malloc() adds to a block, about (glibc: a header, 16-byte steps): counted too. */
#define BLOCK_OVERHEAD 16

static const char **string_field(struct store_process *p, int i)
{
	const char **const fields[STRINGS_PER_PROCESS] = { &p->exe, &p->build_id, &p->cgroup,
							   &p->unit, &p->container };

	return fields[i];
}

static uint32_t hash_string(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ull), w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static size_t shared_string_bytes(size_t len)
{
	return BLOCK_OVERHEAD + sizeof(struct shared_string) + len + 1;
}

/* Places node in a table with room for it (no equal string there). */
static void table_place(struct shared_string **slots, size_t capacity, struct shared_string *node)
{
	size_t i = node->hash & (capacity - 1);

	while (slots[i])
		i = (i + 1) & (capacity - 1);
	slots[i] = node;
}

/* Moves the strings into a table of capacity slots (a power of two, room for them all). */
static int table_resize(struct window_index *ix, size_t capacity)
{
	struct string_table *t = &ix->strings;
	struct shared_string **slots;

	if (capacity > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->capacity; i++)
		if (t->slots[i])
			table_place(slots, capacity, t->slots[i]);
	free(t->slots);
	ix->list_bytes += capacity * sizeof(*slots);
	ix->list_bytes -= t->capacity * sizeof(*slots);
	t->slots = slots;
	t->capacity = capacity;
	return 0;
}

/* The shared copy of s, one more reference to it (*ret). 0 or -ENOMEM. */
static int string_share(struct window_index *ix, const char *s, const char **ret)
{
	struct string_table *t = &ix->strings;
	size_t len = strlen(s), i;
	uint32_t hash = hash_string(t->seed, s, len);
	struct shared_string *node;

	if ((t->count + 1) * 4 > t->capacity * 3 &&
	    table_resize(ix, t->capacity ? t->capacity * 2 : TABLE_MIN_CAPACITY))
		return -ENOMEM;
	for (i = hash & (t->capacity - 1); t->slots[i]; i = (i + 1) & (t->capacity - 1)) {
		node = t->slots[i];
		if (node->hash == hash && strcmp(node->text, s) == 0) {
			if (node->refs == UINT32_MAX)
				return -ENOMEM;
			node->refs++;
			*ret = node->text;
			return 0;
		}
	}
	node = malloc(shared_string_bytes(len));
	if (!node)
		return -ENOMEM;
	node->refs = 1;
	node->hash = hash;
	memcpy(node->text, s, len + 1);
	t->slots[i] = node;
	t->count++;
	ix->list_bytes += shared_string_bytes(len);
	*ret = node->text;
	return 0;
}

/* Lets go of one reference to the shared string text (NULL: none). */
static void string_release(struct window_index *ix, const char *text)
{
	struct string_table *t = &ix->strings;
	struct shared_string *node;
	size_t mask = t->capacity - 1, i, j;

	if (!text)
		return;
	node = (struct shared_string *)(text - offsetof(struct shared_string, text));
	if (--node->refs)
		return;
	for (i = node->hash & mask; t->slots[i] != node; i = (i + 1) & mask)
		;
	/* Backward shift: a later node of the run moves up unless its home is in (i, j]. */
	t->slots[i] = NULL;
	for (j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		size_t home = t->slots[j]->hash & mask;
		bool stays = i < j ? (home > i && home <= j) : (home > i || home <= j);

		if (!stays) {
			t->slots[i] = t->slots[j];
			t->slots[j] = NULL;
			i = j;
		}
	}
	t->count--;
	ix->list_bytes -= shared_string_bytes(strlen(node->text));
	free(node);
	/* Its slots count against the bound too: a table 1/8 full halves (if it can). */
	if (t->capacity > TABLE_MIN_CAPACITY && t->count * 8 < t->capacity)
		table_resize(ix, t->capacity / 2);
}

static void list_free(struct window_index *ix, struct process_list *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		for (int j = 0; j < STRINGS_PER_PROCESS; j++)
			string_release(ix, *string_field(&l->processes[i], j));
	ix->list_bytes -= l->memory;
	free(l);
}

/* A list in memory of h's processes, its strings shared; NULL for ENOMEM (nothing kept). */
static struct process_list *list_new(struct window_index *ix, const struct window_file_header *h)
{
	size_t size = sizeof(struct process_list) + h->n_processes * sizeof(struct store_process);
	struct process_list *l = calloc(1, size);

	if (!l)
		return NULL;
	l->refs = 1;
	l->memory = BLOCK_OVERHEAD + size;
	ix->list_bytes += l->memory;
	/* n counts the processes whose strings are shared: list_free() lets go of those. */
	for (; l->n < h->n_processes; l->n++) {
		struct store_process *p = &l->processes[l->n];
		struct store_process from = h->processes[l->n];

		*p = from;
		for (int j = 0; j < STRINGS_PER_PROCESS; j++)
			*string_field(p, j) = NULL;
		for (int j = 0; j < STRINGS_PER_PROCESS; j++) {
			const char *s = *string_field(&from, j);

			if (s && string_share(ix, s, string_field(p, j))) {
				l->n++; /* the fields shared so far; the rest are NULL */
				list_free(ix, l);
				return NULL;
			}
		}
	}
	return l;
}

const struct store_process *process_list__processes(const struct process_list *l)
{
	return l->processes;
}

void process_list__hold(struct process_list *l)
{
	l->refs++;
}

void window_index__release(struct window_index *ix, struct process_list *l)
{
	if (l && --l->refs == 0)
		list_free(ix, l);
}

static uint64_t random_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&seed;
}

struct window_index *window_index__new(uint64_t max_list_bytes)
{
	struct window_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return NULL;
	ix->ids_sorted = true;
	ix->next_id = 1;
	ix->max_list_bytes = max_list_bytes;
	ix->strings.seed = random_seed();
	return ix;
}

static void drop_staged(struct window_index *ix)
{
	for (size_t i = ix->staged_first; i < ix->n_staged; i++)
		window_file_header__release(&ix->staged[i].h);
	free(ix->staged);
	ix->staged = NULL;
	ix->n_staged = ix->staged_first = ix->staged_capacity = 0;
	ix->staged_bytes = 0;
}

void window_index__free(struct window_index *ix)
{
	if (!ix)
		return;
	drop_staged(ix);
	for (size_t i = 0; i < ix->n; i++)
		window_index__release(ix, ix->records[i].processes);
	free(ix->records);
	free(ix->strings.slots);
	free(ix);
}

size_t window_index__count(const struct window_index *ix)
{
	return ix->n;
}

const struct window_record *window_index__at(const struct window_index *ix, size_t i)
{
	return &ix->records[i];
}

static int record_cmp(const struct window_record *r, int64_t start_ns, uint32_t seq)
{
	if (r->start_ns != start_ns)
		return r->start_ns < start_ns ? -1 : 1;
	return r->seq < seq ? -1 : r->seq > seq;
}

size_t window_index__upper_bound(const struct window_index *ix, int64_t start_ns, uint32_t seq)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (record_cmp(&ix->records[mid], start_ns, seq) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t window_index__next_seq(const struct window_index *ix, int64_t start_ns)
{
	size_t i = window_index__upper_bound(ix, start_ns, UINT32_MAX);

	if (i > 0 && ix->records[i - 1].start_ns == start_ns && ix->records[i - 1].seq < UINT32_MAX)
		return ix->records[i - 1].seq + 1;
	return 0;
}

size_t window_index__take(struct window_index *ix, int64_t since_ns, int64_t until_ns,
			  const struct window_record *after, struct window_record *batch,
			  size_t max)
{
	size_t i, k = 0;
	int64_t lowest;

	if (after)
		i = window_index__upper_bound(ix, after->start_ns, after->seq);
	else if (__builtin_sub_overflow(since_ns, ix->max_duration_ns, &lowest))
		i = 0;
	else /* A window starting at or before since - longest ends by since: skip those. */
		i = window_index__upper_bound(ix, lowest, UINT32_MAX);
	for (; i < ix->n && k < max; i++) {
		struct window_record *r = &ix->records[i];

		if (r->start_ns >= until_ns)
			break;
		if (r->end_ns <= since_ns)
			continue;
		batch[k++] = *r;
		if (r->processes)
			process_list__hold(r->processes);
	}
	return k;
}

const struct window_record *window_index__find(const struct window_index *ix, uint64_t id,
					       size_t *ret_at)
{
	if (ix->ids_sorted) {
		size_t lo = 0, hi = ix->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (ix->records[mid].id < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < ix->n && ix->records[lo].id == id) {
			*ret_at = lo;
			return &ix->records[lo];
		}
		return NULL;
	}
	for (size_t i = 0; i < ix->n; i++) {
		if (ix->records[i].id == id) {
			*ret_at = i;
			return &ix->records[i];
		}
	}
	return NULL;
}

const struct window_record *window_index__find_again(const struct window_index *ix,
						     const struct window_record *r, size_t *ret_at)
{
	size_t i = window_index__upper_bound(ix, r->start_ns, r->seq);

	/* The place is unique and an id is never reused: another id there is another window. */
	if (i == 0 || ix->records[i - 1].id != r->id)
		return NULL;
	*ret_at = i - 1;
	return &ix->records[i - 1];
}

int window_index__reserve(struct window_index *ix)
{
	void *grown;
	int err;

	err = array__reserve(ix->records, sizeof(*ix->records), &ix->capacity, ix->n, 1, 64,
			     (size_t)WINDOW_STORE_MAX_WINDOWS + 1, &grown);
	if (!err)
		ix->records = grown;
	return err ? -ENOMEM : 0;
}

/* Lets the oldest lists in memory go until those left fit the bound, or none is left. */
static void trim_lists(struct window_index *ix)
{
	while (ix->list_bytes > ix->max_list_bytes && ix->n_resident > 0) {
		struct window_record *r = &ix->records[ix->n - ix->n_resident];

		window_index__release(ix, r->processes);
		r->processes = NULL;
		ix->n_resident--;
	}
}

int window_index__insert(struct window_index *ix, const struct window_file_header *h, uint32_t seq,
			 bool keep_list, uint64_t *ret_id)
{
	struct process_list *list = NULL;
	struct window_record *r;
	size_t at;

	if (window_index__reserve(ix))
		return -ENOMEM;
	at = window_index__upper_bound(ix, h->start_ns, seq);
	/* Among the newest, or it would break the suffix the lists in memory are. */
	if (keep_list && at >= ix->n - ix->n_resident) {
		list = list_new(ix, h);
		if (!list)
			return -ENOMEM;
		ix->n_resident++;
	}
	memmove(&ix->records[at + 1], &ix->records[at], (ix->n - at) * sizeof(*ix->records));
	r = &ix->records[at];
	*r = (struct window_record){
		.id = ix->next_id++,
		.start_ns = h->start_ns,
		.end_ns = h->end_ns,
		.samples = h->samples,
		.lost = h->lost,
		.hz = h->hz,
		.seq = seq,
		.head_size = (uint32_t)h->head_size,
		.profile_size = (uint32_t)h->profile_size,
		.n_processes = (uint32_t)h->n_processes,
		.processes = list,
	};
	ix->ids_sorted = ix->ids_sorted && at == ix->n;
	ix->n++;
	ix->file_bytes += window_record__file_size(r);
	if (r->end_ns - r->start_ns > ix->max_duration_ns)
		ix->max_duration_ns = r->end_ns - r->start_ns;
	*ret_id = r->id;
	trim_lists(ix);
	return 0;
}

int window_index__attach(struct window_index *ix, size_t at, const struct window_file_header *h)
{
	struct window_record *r = &ix->records[at];
	struct process_list *list;

	if (ix->n_resident >= ix->n || at != ix->n - ix->n_resident - 1 || r->processes ||
	    r->n_processes != h->n_processes)
		return -EINVAL;
	list = list_new(ix, h);
	if (!list)
		return -ENOMEM;
	if (ix->list_bytes > ix->max_list_bytes) {
		window_index__release(ix, list);
		return -E2BIG;
	}
	r->processes = list;
	ix->n_resident++;
	return 0;
}

void window_index__stage(struct window_index *ix, uint64_t id, struct window_file_header *h)
{
	struct staged st = { .id = id, .h = *h };
	void *grown;

	memset(h, 0, sizeof(*h));
	st.bytes = sizeof(st) + st.h.n_processes * sizeof(*st.h.processes) + st.h.strings_size;
	ix->staged_bytes += st.bytes;
	/* The oldest make way: the newest heads are the ones that may fit. */
	while (ix->staged_first < ix->n_staged &&
	       (ix->staged_bytes > ix->max_list_bytes ||
		ix->n_staged - ix->staged_first >= WINDOW_STORE_MAX_WINDOWS)) {
		ix->staged_bytes -= ix->staged[ix->staged_first].bytes;
		window_file_header__release(&ix->staged[ix->staged_first++].h);
	}
	if (st.bytes > ix->max_list_bytes) {
		ix->staged_bytes -= st.bytes;
		window_file_header__release(&st.h);
		return;
	}
	if (ix->n_staged == ix->staged_capacity && ix->staged_first > 0) {
		ix->n_staged -= ix->staged_first;
		memmove(ix->staged, &ix->staged[ix->staged_first], ix->n_staged * sizeof(st));
		ix->staged_first = 0;
	}
	if (array__reserve(ix->staged, sizeof(st), &ix->staged_capacity, ix->n_staged, 1, 64,
			   WINDOW_STORE_MAX_WINDOWS, &grown)) {
		/* No room to keep it: the scan's heads are a shortcut only (see the header). */
		window_file_header__release(&st.h);
		drop_staged(ix);
		return;
	}
	ix->staged = grown;
	ix->staged[ix->n_staged++] = st;
}

int window_index__attach_staged(struct window_index *ix)
{
	int err = 0;

	for (size_t i = ix->n_staged; i > ix->staged_first && !err; i--) {
		size_t at;

		/* Gone to retention meanwhile, as all older ones then: the rest is the store's. */
		if (!window_index__find(ix, ix->staged[i - 1].id, &at))
			break;
		err = window_index__attach(ix, at, &ix->staged[i - 1].h);
	}
	drop_staged(ix);
	return err == -ENOMEM ? err : 0;
}

/* Lets go of the index's hold on the records [at, at + n) and their bytes. */
static void forget(struct window_index *ix, size_t at, size_t n)
{
	for (size_t i = at; i < at + n; i++) {
		struct window_record *r = &ix->records[i];

		ix->file_bytes -= window_record__file_size(r);
		if (r->processes) {
			window_index__release(ix, r->processes);
			ix->n_resident--;
		}
	}
	memmove(&ix->records[at], &ix->records[at + n], (ix->n - at - n) * sizeof(*ix->records));
	ix->n -= n;
}

void window_index__remove(struct window_index *ix, size_t at)
{
	forget(ix, at, 1);
}

void window_index__remove_oldest(struct window_index *ix, size_t n)
{
	if (n)
		forget(ix, 0, n);
}

void window_index__stats(const struct window_index *ix, struct window_store_stats *ret)
{
	ret->windows = ix->n;
	ret->bytes = ix->file_bytes;
	ret->index_bytes = sizeof(*ix) + ix->capacity * sizeof(*ix->records) + ix->list_bytes;
	ret->index_windows_in_memory = ix->n_resident;
	ret->oldest_ns = ix->n ? ix->records[0].start_ns : 0;
	ret->newest_ns = ix->n ? ix->records[ix->n - 1].end_ns : 0;
}
