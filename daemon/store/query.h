/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Queries of the history: which windows and processes a filter picks, one
 * profile merged from their windows (each window's pprof decoded, the
 * picked processes' samples kept, mappings, locations and functions merged
 * as go tool pprof merges them), and the listing of what is kept.
 *
 * Access: root (viewer 0) sees every process; anyone else only the
 * processes that ran as their uid, and not the machine-wide markers.
 */
#ifndef CPROF_QUERY_H
#define CPROF_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct window_store;
struct store_process;
struct json_writer;

/* What to pick; every field given must match. */
struct query_filter {
	int64_t since_ns, until_ns; /* CLOCK_REALTIME, [since, until) */
	pid_t pid; /* 0: any */
	const char *comm; /* NULL: any */
	const char *unit; /* systemd unit */
	const char *container; /* container id, or a prefix of at least 4 hex digits */
};

/* Whether viewer may see process p and f picks it. */
bool query__matches(const struct query_filter *f, const struct store_process *p, uid_t viewer);

/*
 * The picked processes' samples of every window overlapping the filter's
 * span, as one gzipped pprof (*ret_data malloc'd), and what it holds.
 * Returns 0, -ENOENT when
 * no window has a picked process, or a negative errno. A window whose file
 * proved corrupt or vanished is skipped.
 */
struct query_summary {
	uint64_t samples; /* in the profile */
	uint64_t windows; /* read and merged */
	int64_t duration_ns; /* from the first window's start to the last's end */
	uint64_t stacks; /* samples of the merged profile (stack, thread and labels) */
};

int query__profile(struct window_store *s, const struct query_filter *f, uid_t viewer,
		   void **ret_data, size_t *ret_size, struct query_summary *ret_summary);

/*
 * Writes, into an object the caller opened: "windows", "bytes", "oldest_ns",
 * "newest_ns" of the span, and "processes": [...] (one per process, its
 * windows, samples, first and last window), "units" and "containers" with
 * their process and sample counts. Returns 0 or a negative errno.
 */
int query__list(struct window_store *s, const struct query_filter *f, uid_t viewer,
		struct json_writer *w);

#endif /* CPROF_QUERY_H */
