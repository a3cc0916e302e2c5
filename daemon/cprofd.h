/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's state and its operations, independent of how requests
 * arrive: sessions by target pid, the shared stack and process tables, the
 * symbolizer and the BPF sampler. The HTTP layer (api.h) calls these; the
 * event loop (main.c) drains records through cprofd__drain().
 */
#ifndef CPROF_CPROFD_H
#define CPROF_CPROFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cprofd;
struct session;
struct json_writer;

struct cprofd_options {
	size_t ring_buffer_bytes; /* power of two */
	size_t wakeup_bytes; /* 0: half the ring buffer */
	size_t stack_table_bytes; /* bound of the stack table */
	size_t max_processes; /* bound of the process table */
	unsigned int default_hz;
	bool no_sampler; /* no BPF: for tests of request handling only */
	const char *debug_root; /* NULL: /usr/lib/debug */
	size_t symbol_cache_bytes; /* bound of the symbolizer's caches; 0: its default (1 GiB) */
};

/* The summary of a stopped session, as sent with its profile. */
struct cprofd_summary {
	uint64_t samples;
	uint64_t lost;
	uint64_t duration_ns;
	uint64_t stacks;
};

/* Loads the sampler (unless no_sampler). NULL with errno set on failure. */
struct cprofd *cprofd__new(const struct cprofd_options *opts);
/* Ends every session, detaches and unloads. NULL is a no-op. */
void cprofd__free(struct cprofd *d);

unsigned int cprofd__default_hz(const struct cprofd *d);

/*
 * Starts sampling process pid at hz. Returns 0, or -ESRCH (no such
 * process), -EEXIST (already profiled), -EBUSY (sampling runs at another
 * rate), -ENOSPC (too many sessions), -ENODEV (no sampler), -ERANGE (hz).
 */
int cprofd__start_session(struct cprofd *d, pid_t pid, unsigned int hz);

/*
 * Stops the session of pid and builds its profile: *ret_data (malloc'd,
 * gzipped pprof) and *ret_summary. Returns 0, -ENOENT when pid has no
 * session, or another negative errno; on an error building the profile the
 * session stays (stopped) so a retry can still get its data.
 */
int cprofd__stop_session(struct cprofd *d, pid_t pid, void **ret_data, size_t *ret_size,
			 struct cprofd_summary *ret_summary);

/* Whether pid has a session. */
bool cprofd__has_session(const struct cprofd *d, pid_t pid);

/* Writes {"sessions":[...]} or, with daemon, {"daemon":{...},"sessions":[...]}. */
void cprofd__write_status(struct cprofd *d, struct json_writer *w, bool daemon);
/* Writes one session object (for the reply to a start). */
int cprofd__write_session(struct cprofd *d, pid_t pid, struct json_writer *w);

/* The fd to poll for records (-1 without a sampler). */
int cprofd__ring_fd(const struct cprofd *d);
/*
 * Drains the ring buffer and refreshes each session's kernel counters and
 * target state. Returns records drained or a negative errno.
 */
int cprofd__drain(struct cprofd *d);

/* Number of running sessions. */
size_t cprofd__n_sessions(const struct cprofd *d);
/* Samples counted by all sessions since start (for STATUS lines). */
uint64_t cprofd__total_samples(const struct cprofd *d);

#endif /* CPROF_CPROFD_H */
