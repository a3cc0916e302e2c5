// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * history_fill SRC DST N: makes a history of N windows in DST from the
 * newest window of the history in SRC, copied back in time (each a window
 * length earlier than the last, ending at the copied one's end), so the
 * time to query an hour of a busy machine can be measured without waiting
 * an hour. Uses the store's own API, so the files are exactly the
 * daemon's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/window_store.h"

struct newest {
	struct store_window_info info;
	struct store_process *procs;
	char **strings;
	size_t n_strings;
};

static char *keep(struct newest *n, const char *s)
{
	char *copy = s ? strdup(s) : NULL;

	if (copy)
		n->strings[n->n_strings++] = copy;
	return copy;
}

/* Keeps a copy of the last window each() shows: the newest. */
static int take(void *ctx, const struct store_window_info *w)
{
	struct newest *n = ctx;

	for (size_t i = 0; i < n->n_strings; i++)
		free(n->strings[i]);
	free(n->strings);
	free(n->procs);
	n->info = *w;
	n->n_strings = 0;
	n->procs = calloc(w->n_processes ? w->n_processes : 1, sizeof(*n->procs));
	n->strings = calloc(w->n_processes * 5 + 1, sizeof(*n->strings));
	if (!n->procs || !n->strings)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_processes; i++) {
		n->procs[i] = w->processes[i];
		n->procs[i].exe = keep(n, w->processes[i].exe);
		n->procs[i].build_id = keep(n, w->processes[i].build_id);
		n->procs[i].cgroup = keep(n, w->processes[i].cgroup);
		n->procs[i].unit = keep(n, w->processes[i].unit);
		n->procs[i].container = keep(n, w->processes[i].container);
	}
	n->info.processes = n->procs;
	return 0;
}

int main(int argc, char **argv)
{
	struct window_store_options src_opts = { 0 }, dst_opts = { 0 };
	struct window_store *src, *dst;
	struct newest n = { 0 };
	void *profile;
	size_t size;
	long count;
	int err;

	if (argc != 4 || (count = strtol(argv[3], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: %s SRC DST N\n", argv[0]);
		return 2;
	}
	src_opts.dir = argv[1];
	dst_opts.dir = argv[2];
	src = window_store__open(&src_opts);
	if (!src) {
		fprintf(stderr, "history_fill: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = window_store__each(src, 0, INT64_MAX, take, &n);
	if (!err && !n.info.end_ns)
		err = -ENOENT;
	if (!err)
		err = window_store__read_profile(src, n.info.id, &profile, &size);
	window_store__free(src);
	if (err) {
		fprintf(stderr, "history_fill: the newest window of %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	dst = window_store__open(&dst_opts);
	if (!dst) {
		fprintf(stderr, "history_fill: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (long i = 0; i < count && !err; i++) {
		int64_t length = n.info.end_ns - n.info.start_ns;
		struct store_window w = {
			.start_ns = n.info.start_ns - i * length,
			.end_ns = n.info.end_ns - i * length,
			.hz = n.info.hz,
			.samples = n.info.samples,
			.lost = n.info.lost,
			.processes = n.procs,
			.n_processes = n.info.n_processes,
			.profile = profile,
			.profile_size = size,
		};

		err = window_store__put(dst, &w, n.info.end_ns);
	}
	window_store__free(dst);
	if (err) {
		fprintf(stderr, "history_fill: writing %s: %s\n", argv[2], strerror(-err));
		return 1;
	}
	printf("%ld windows of %zu processes, %zu bytes of profile each\n", count,
	       n.info.n_processes, size);
	return 0;
}
