/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The window store's index in memory (daemon/store/window_store.h): a fixed
 * record per window, sorted by (start_ns, seq), and the process lists of the
 * newest windows, as many as fit a bound in bytes, their strings shared
 * among them. An older window's list is in its file only; the store reads
 * it from there when it needs it. So the index grows by a record per window
 * (sizeof(struct window_record)) and no more, whatever the windows hold.
 *
 * The windows whose lists are in memory are always the newest ones (a
 * suffix of the sorted records): a window put among older ones whose lists
 * were let go has none either, and a list let go is not loaded again.
 *
 * Not thread-safe: the store calls it under its lock. Does no I/O; does not
 * log.
 */
#ifndef CPROF_WINDOW_INDEX_H
#define CPROF_WINDOW_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "window_file.h"
#include "window_store.h"

/*
 * A window's processes in memory, with references counted: the index holds
 * one while the list is its window's, and each() one more while its
 * callback may look at it, so that a list the index lets go meanwhile stays
 * whole until then.
 */
struct process_list;

/* One indexed window: what it takes to answer each() and to find its file again. */
struct window_record {
	uint64_t id; /* unique in this index, never reused */
	int64_t start_ns, end_ns;
	uint64_t samples, lost;
	uint32_t hz;
	uint32_t seq; /* the file is window_file__name(start_ns, seq) */
	uint32_t head_size; /* the file's head; the profile follows it */
	uint32_t profile_size; /* the file is head_size + profile_size + its CRC */
	uint32_t n_processes;
	struct process_list *processes; /* NULL: the list is in the file only */
};

_Static_assert(WINDOW_FILE_MAX_HEADER <=
		       UINT32_MAX - WINDOW_FILE_PREAMBLE_SIZE - WINDOW_FILE_CRC_SIZE,
	       "a head's size fits a record");
_Static_assert(WINDOW_FILE_MAX_PROFILE <= UINT32_MAX, "a profile's size fits a record");
_Static_assert(sizeof(struct window_record) <= 72, "a few dozen bytes a window, whatever it holds");

static inline uint64_t window_record__file_size(const struct window_record *r)
{
	return (uint64_t)r->head_size + r->profile_size + WINDOW_FILE_CRC_SIZE;
}

/* The processes of a list, as many as its record says; valid while the list is held. */
const struct store_process *process_list__processes(const struct process_list *l);

/* One more reference to l, for as long as the caller needs it (window_index__release()). */
void process_list__hold(struct process_list *l);

/*
 * An empty index that keeps at most max_list_bytes of process lists and
 * their strings in memory (0 keeps none). Returns NULL with errno ENOMEM.
 */
struct window_index *window_index__new(uint64_t max_list_bytes);

/* Frees the index and every list it holds (no list may be held then). NULL is a no-op. */
void window_index__free(struct window_index *ix);

/* How many windows it indexes, and the i-th oldest of them (i < count). */
size_t window_index__count(const struct window_index *ix);
const struct window_record *window_index__at(const struct window_index *ix, size_t i);

/* The first position whose window sorts after (start_ns, seq). */
size_t window_index__upper_bound(const struct window_index *ix, int64_t start_ns, uint32_t seq);

/* The sequence a new window starting at start_ns gets: one past the last such. */
uint32_t window_index__next_seq(const struct window_index *ix, int64_t start_ns);

/*
 * Copies into batch, at most max, the windows overlapping [since_ns,
 * until_ns) (as window_store__each() says) that sort after *after's place
 * (NULL: from the first), oldest first, holding their lists
 * (window_index__release() each). Returns how many.
 */
size_t window_index__take(struct window_index *ix, int64_t since_ns, int64_t until_ns,
			  const struct window_record *after, struct window_record *batch,
			  size_t max);

/* Window id and its position (*ret_at), or NULL when it is not indexed. */
const struct window_record *window_index__find(const struct window_index *ix, uint64_t id,
					       size_t *ret_at);

/*
 * Window r->id, found by its place (r->start_ns, r->seq), which a window
 * keeps while indexed, in O(log n) even when ids are out of order; NULL
 * when it is no longer indexed.
 */
const struct window_record *window_index__find_again(const struct window_index *ix,
						     const struct window_record *r, size_t *ret_at);

/*
 * Makes room for one more record (up to WINDOW_STORE_MAX_WINDOWS + 1: an
 * insert comes before the retention that restores the bound), so that the
 * next insert cannot fail for it. 0 or -ENOMEM.
 */
int window_index__reserve(struct window_index *ix);

/*
 * Indexes the window whose head h gives, under file name seq, and gives it
 * an id (*ret_id). With keep_list, its list is kept (the strings shared)
 * when it is among the newest, then the oldest lists go until those kept
 * fit the bound - maybe this one's too. h is the caller's still. Returns 0,
 * or -ENOMEM with nothing changed.
 */
int window_index__insert(struct window_index *ix, const struct window_file_header *h, uint32_t seq,
			 bool keep_list, uint64_t *ret_id);

/*
 * Gives the window at position at - the newest without a list - its list
 * from h (the head of its file), if it fits the bound beside the lists
 * there are: how the store's open() loads the newest lists, newest first,
 * without sharing strings for windows whose lists would go at once.
 * Returns 0, -E2BIG (it does not fit: nothing kept), -EINVAL (at is not
 * that window, or h not its head) or -ENOMEM.
 */
int window_index__attach(struct window_index *ix, size_t at, const struct window_file_header *h);

/*
 * For open()'s scan, after inserting window id without its list: keeps h
 * (taking over what it holds, h emptied) among the newest heads scanned,
 * as many as fit max_list_bytes as parsed; older ones are let go. Then
 * window_index__attach_staged() gives the newest windows their lists from
 * them, without reading those files twice.
 */
void window_index__stage(struct window_index *ix, uint64_t id, struct window_file_header *h);

/*
 * Attaches the staged heads' lists, newest first, while they fit (see
 * window_index__attach()), and lets go of every staged head. The store
 * reads the heads of older windows for what room is left. 0 or -ENOMEM.
 */
int window_index__attach_staged(struct window_index *ix);

/* Takes the window at position at out of the index; its list goes when no one holds it. */
void window_index__remove(struct window_index *ix, size_t at);

/* Takes the n oldest windows out of the index (n <= count). */
void window_index__remove_oldest(struct window_index *ix, size_t n);

/* Lets go of a reference to l that process_list__hold() took; under the store's lock. */
void window_index__release(struct window_index *ix, struct process_list *l);

/*
 * Fills what the index knows of ret: windows, bytes, index_bytes (the
 * records' array and every list and string alive, held by each() or not),
 * index_windows_in_memory, oldest_ns and newest_ns.
 */
void window_index__stats(const struct window_index *ix, struct window_store_stats *ret);

#endif /* CPROF_WINDOW_INDEX_H */
