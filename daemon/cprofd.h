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
	bool background_symbols; /* load symbols on a worker thread (symbolizer.h) */
	bool debuginfod; /* with background_symbols: ask debuginfod for missing debug files */
	unsigned int debuginfod_backoff_s; /* after a failed fetch; 0: the symbolizer's default */
	size_t unwind_rows; /* rows of the BPF unwind tables; 0: frame pointers only */
};

/* The summary of a stopped session, as sent with its profile. */
struct cprofd_summary {
	uint64_t samples;
	uint64_t lost;
	uint64_t duration_ns;
	uint64_t stacks;
	uint64_t unmapped; /* samples whose leaf was in no known mapping */
};

/* Loads the sampler (unless no_sampler). NULL with errno set on failure. */
struct cprofd *cprofd__new(const struct cprofd_options *opts);
/* Ends every session, detaches and unloads. NULL is a no-op. */
void cprofd__free(struct cprofd *d);

unsigned int cprofd__default_hz(const struct cprofd *d);
/* Sets the rate of sessions started without one (on a configuration reload). */
void cprofd__set_default_hz(struct cprofd *d, unsigned int hz);

/*
 * Starts sampling process pid at hz for owner (whose right to do so the
 * caller has checked); with children, the processes it forks from now on,
 * and theirs, are sampled into the same session (not those that exec a
 * setuid program). Returns 0, or -ESRCH (no such process), -EEXIST
 * (already profiled), -EBUSY (sampling runs at another rate), -ENOSPC (too
 * many sessions), -ENODEV (no sampler), -ERANGE (hz).
 */
int cprofd__start_session(struct cprofd *d, pid_t pid, unsigned int hz, bool children,
			  uid_t owner);

/* The owner of pid's session. Returns 0 or -ENOENT. */
int cprofd__session_owner(const struct cprofd *d, pid_t pid, uid_t *ret_owner);

/*
 * Ends sampling for pid's session and collects what is in flight; the
 * session and its data stay until cprofd__forget_session(). Idempotent.
 * Returns 0 or -ENOENT.
 */
int cprofd__end_sampling(struct cprofd *d, pid_t pid);

/* How far a profile's preparation went; zero it to begin. */
struct cprofd_prepare {
	size_t cursor;
	bool loading;
	bool started;
};

/*
 * Makes ready what a profile of pid's session needs, in a slice of bounded
 * time: queues the loads of the binaries its frames are in (background
 * symbols) and looks up its frames, so that the build finds them cached.
 * Returns 0 when a build would find them all, -EINPROGRESS when the slice
 * ended first (call again soon, from the loop), -EAGAIN while binaries load
 * (call again once the symbols callback has run), -ENOENT, or another
 * negative errno (then build anyway: unknown frames are binary+0xOFFSET).
 */
int cprofd__prepare_profile(struct cprofd *d, pid_t pid, struct cprofd_prepare *p);

/*
 * As cprofd__prepare_profile(), but waits, at most timeout_ms, for the loads
 * to finish: for the end of the daemon, when no loop runs any more. Returns
 * 0, -ETIMEDOUT, -ENOENT or another negative errno.
 */
int cprofd__wait_symbols(struct cprofd *d, pid_t pid, int timeout_ms);

/*
 * Sets the function called (from cprofd__drain()) after background symbol
 * loads finished, for requests waiting on cprofd__prepare_profile().
 */
void cprofd__set_symbols_callback(struct cprofd *d, void (*fn)(void *ctx), void *ctx);

/*
 * Builds the profile of pid's session, running (a snapshot) or ended:
 * *ret_data (malloc'd, gzipped pprof) and *ret_summary. Returns 0, -ENOENT,
 * or another negative errno (the session is untouched).
 */
int cprofd__build_profile(struct cprofd *d, pid_t pid, void **ret_data, size_t *ret_size,
			  struct cprofd_summary *ret_summary);

/* Ends pid's session, if running, and drops it with its data. Returns 0 or -ENOENT. */
int cprofd__forget_session(struct cprofd *d, pid_t pid);

/*
 * End, build and forget in one: the profile of pid's session. On an error
 * building the profile the session stays (ended) so a retry can still get
 * its data. Returns as cprofd__build_profile().
 */
int cprofd__stop_session(struct cprofd *d, pid_t pid, void **ret_data, size_t *ret_size,
			 struct cprofd_summary *ret_summary);

/* Whether pid has a session. */
bool cprofd__has_session(const struct cprofd *d, pid_t pid);

/*
 * Writes the members "sessions":[...] or, with daemon, "daemon":{...},
 * "sessions":[...] into an object the caller opened (and closes, after
 * members of its own), listing every session for root (viewer 0) and only
 * their own for others.
 */
void cprofd__write_status(struct cprofd *d, struct json_writer *w, bool daemon, uid_t viewer);
/* Writes one session object (for the reply to a start). */
int cprofd__write_session(struct cprofd *d, pid_t pid, struct json_writer *w);

/* The fd to poll for records, task events and finished symbol loads (-1 for none). */
int cprofd__ring_fd(const struct cprofd *d);
/*
 * Installs finished symbol loads (then calls the symbols callback), drains
 * the ring buffer and refreshes each session's kernel counters and target
 * state. Returns records drained or a negative errno.
 */
int cprofd__drain(struct cprofd *d);

/* Continuous mode (continuous.h): every process, at a low rate, into a history on disk. */
struct cprofd_continuous {
	unsigned int hz;
	uint64_t window_ns;
	const char *history_dir;
	uint64_t history_max_bytes; /* 0: no bound */
	uint64_t history_max_age_ns; /* 0: no bound */
};

/*
 * Starts continuous mode (restarts it with the new settings if it runs).
 * Returns 0 or a negative errno with *ret_what naming the step that failed.
 */
int cprofd__start_continuous(struct cprofd *d, const struct cprofd_continuous *opts,
			     const char **ret_what);
struct config;
/*
 * Starts, restarts (with other settings) or stops continuous mode as the
 * configuration says, the history by default in $STATE_DIRECTORY/history
 * (else /var/lib/cprofd/history); *ret_message says what it did or what
 * failed. Returns 0 or a negative errno.
 */
int cprofd__configure_continuous(struct cprofd *d, const struct config *c, char *ret_message,
				 size_t message_size);
/* Stops it, writing the window in progress. */
void cprofd__stop_continuous(struct cprofd *d);
bool cprofd__continuous_on(const struct cprofd *d);

/* A query of the history: every field given must match. */
struct cprofd_query {
	int64_t since_ns, until_ns; /* CLOCK_REALTIME ns, [since, until) */
	pid_t pid; /* 0: any */
	const char *comm, *unit, *container; /* NULL: any */
};

/*
 * The query's processes (of those viewer may see) merged from the history
 * into one gzipped pprof, and its summary (lost: 0; what was lost is
 * in the profile, as marker samples). Returns 0, -ENOENT (nothing matched), -ENODEV
 * (continuous mode is off), or a negative errno.
 */
int cprofd__query(struct cprofd *d, const struct cprofd_query *q, uid_t viewer,
		  void **ret_data, size_t *ret_size, struct cprofd_summary *ret_summary);
/* What the history keeps for the query, as members of an object the caller opened. */
int cprofd__query_list(struct cprofd *d, const struct cprofd_query *q, uid_t viewer,
		       struct json_writer *w);

/* Number of sessions, running or ended. */
size_t cprofd__n_sessions(const struct cprofd *d);
/*
 * Writes the pids of up to max sessions to ret_pids (for saving them at
 * shutdown). Returns how many it wrote.
 */
size_t cprofd__session_pids(const struct cprofd *d, pid_t *ret_pids, size_t max);
/* Samples counted by all sessions since start (for STATUS lines). */
uint64_t cprofd__total_samples(const struct cprofd *d);

#endif /* CPROF_CPROFD_H */
