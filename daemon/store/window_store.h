/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Continuous mode's history on disk: one file per finished window (the
 * machine's gzipped pprof and the processes in it, daemon/store/window_file.h),
 * in a directory of the store's own under the state directory, kept within
 * an age and a size, and indexed in memory so that a query can ask which
 * windows overlap a time range. The index's memory is bounded whatever the
 * retention: a small fixed record per window, and the process lists of the
 * newest windows only, as many as fit index_max_bytes; an older window's
 * list is read back from its file's head when each() needs it.
 *
 * Crash safety: a window is written to a file with no name (O_TMPFILE) or
 * under "<name>.tmp", fsync()ed, then linked to its final name (never over
 * an existing file) and the directory fsync()ed; so a kill -9 or a power cut
 * at any instant leaves each window either whole under its name or absent.
 * Open removes the temporary files of interrupted writes and moves aside
 * files that fail their checks; nothing written earlier is touched by a
 * failed write. On a full disk the oldest windows make room for the new one.
 *
 * Threading: put() may run on a worker thread (it writes and fsync()s with
 * no lock held) while each(), read_profile(), stats() and expire() run on
 * the event loop; the index is behind one mutex, held for short, bounded
 * steps only: files are read, and unlinked, outside it, and each()'s
 * callback runs outside it too. A reader that finds its file gone gets
 * -ENOENT (each() skips the window).
 *
 * Library-like: does not log.
 */
#ifndef CPROF_WINDOW_STORE_H
#define CPROF_WINDOW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A process seen in a window. Strings may be NULL (unknown). */
struct store_process {
	int32_t pid;
	uint32_t uid;
	uint64_t start_ticks; /* /proc/PID/stat field 22: pid + this name the process */
	uint64_t samples;
	uint64_t lost;
	char comm[16]; /* NUL-terminated (15 bytes kept) */
	const char *exe;
	const char *build_id;
	const char *cgroup;
	const char *unit;
	const char *container;
};

/* A finished window, as put() takes it; the store copies what it keeps. */
struct store_window {
	int64_t start_ns, end_ns; /* CLOCK_REALTIME ns since the epoch, [start, end) */
	uint32_t hz;
	uint64_t samples, lost; /* machine-wide, incl. lost that no process could be blamed for */
	const struct store_process *processes;
	size_t n_processes; /* at most WINDOW_FILE_MAX_PROCESSES (65536) */
	const void *profile; /* gzipped pprof, opaque to the store */
	size_t profile_size;
};

struct window_store_options {
	const char *dir;     /* created (0750) if missing; its parent must exist */
	uint64_t max_bytes;  /* the windows' files together, in bytes; 0: no bound */
	uint64_t max_age_ns; /* a window goes once its end is this old; 0: no bound */
	/*
	 * The process lists (and their strings, shared among them) kept in
	 * memory, in bytes: the newest windows' lists, as many as fit; older
	 * windows' are read from their files when asked for. 0: the default,
	 * WINDOW_STORE_DEFAULT_INDEX_MAX_BYTES. Beside it the index holds a
	 * fixed record per window (a few dozen bytes).
	 */
	uint64_t index_max_bytes;
	/*
	 * Write through "<name>.tmp" even where O_TMPFILE works (the tests take
	 * both paths; filesystems without O_TMPFILE take this one by themselves).
	 */
	bool named_temporary;
};

#define WINDOW_STORE_DEFAULT_INDEX_MAX_BYTES (8ull << 20)

/*
 * The index's own bound on windows, whatever the options say: past it the
 * oldest windows are removed (dropped_for_index). With index_max_bytes, it
 * bounds the index's memory: at most this many fixed records (~18 MiB at
 * 72 bytes each) and index_max_bytes of lists.
 */
#define WINDOW_STORE_MAX_WINDOWS 262144
/* Files moved aside as *.corrupt that are kept (the newest windows'); older ones are removed. */
#define WINDOW_STORE_MAX_CORRUPT 8

struct window_store_stats {
	uint64_t windows, bytes;      /* indexed now; bytes: their files' sizes */
	/*
	 * Memory the index holds for them: its records' array, and the process
	 * lists and strings in memory (each() may hold a few past
	 * index_max_bytes for as long as it runs).
	 */
	uint64_t index_bytes;
	uint64_t index_windows_in_memory; /* windows whose process list is in memory: the newest */
	int64_t oldest_ns, newest_ns; /* the oldest window's start, the newest's end; 0: none */
	uint64_t written, write_errors;
	uint64_t dropped_for_age, dropped_for_size;
	uint64_t dropped_for_space; /* ENOSPC/EDQUOT: oldest removed to make room */
	uint64_t dropped_for_index; /* past WINDOW_STORE_MAX_WINDOWS */
	uint64_t corrupt_files;     /* found at open, each() or read, moved aside as *.corrupt */
	uint64_t temporary_removed; /* *.tmp of interrupted writes, removed at open */
	/*
	 * Window files left alone: at open, another format version's or
	 * unreadable; in each(), a head that could not be read (an I/O error:
	 * that window skipped, counted each time).
	 */
	uint64_t skipped_files;
	uint64_t open_ms, open_us;  /* time of the startup scan */
};

struct window_store;

/*
 * Creates opts->dir (0750, parents must exist) if missing, takes an
 * exclusive lock on it (flock: one store per directory), and scans it:
 * every valid window file is indexed (reading only its head; the newest
 * windows' process lists are kept, up to index_max_bytes), leftover
 * temporary files of interrupted writes are removed, invalid or corrupt
 * window files are counted and renamed to *.corrupt (the newest
 * WINDOW_STORE_MAX_CORRUPT kept, older ones removed) - never fatal. Files
 * of another format version, and names not the store's, are left alone.
 * Size retention applies at once (age needs a time: call expire()).
 * Returns NULL with errno on failure: EINVAL (no dir), EBUSY (another store
 * has the directory), ENOMEM, or why the directory is unusable.
 */
struct window_store *window_store__open(const struct window_store_options *opts);

/* Frees the index and releases the directory. No put() may be running. NULL is a no-op. */
void window_store__free(struct window_store *s);

/*
 * Writes one window, crash-safe (see above), then applies retention: age
 * relative to now_ns, then size, then the index's bounds; oldest windows
 * go first, the new one too if it is the oldest. On ENOSPC/EDQUOT it
 * removes the oldest window (if it is no newer than w) and retries, until
 * w fits or nothing older is left, counting dropped_for_space. Returns 0 or
 * a negative errno: -EINVAL or -E2BIG (w out of the file format's bounds:
 * window_file__encode_head()), -EFBIG (w alone is over max_bytes), -ENOSPC
 * or -EDQUOT (w does not fit; when it is larger than the whole filesystem,
 * nothing is removed for it), -ENOMEM, or the I/O error. On error nothing
 * of w is left behind and nothing else was changed, but for the windows
 * removed to make room.
 */
int window_store__put(struct window_store *s, const struct store_window *w, int64_t now_ns);

/* Retention by age alone (the daemon calls it on a timer); unlinks files, as put() does. */
void window_store__expire(struct window_store *s, int64_t now_ns);

/*
 * A window as indexed: its metadata; processes and their strings are the
 * store's (from memory, or read from the window's file for this call),
 * valid while fn runs (see each()). id names the window in this store for
 * as long as it is open (not across restarts).
 */
struct store_window_info {
	uint64_t id;
	int64_t start_ns, end_ns;
	uint32_t hz;
	uint64_t samples, lost;
	uint64_t bytes; /* its file's size */
	const struct store_process *processes;
	size_t n_processes;
};

/*
 * Calls fn for every window overlapping [since_ns, until_ns): a window
 * [s, e) overlaps it iff s < until_ns && since_ns < e (taken literally: an
 * empty range [t, t) finds the windows with t strictly inside), oldest (by
 * start) first, each at most once. fn returns 0 to go on, non-zero to stop:
 * each() returns that value; else -ENOMEM if a list could not be read for
 * want of memory (each() stops there), else 0.
 *
 * A window whose process list is not in memory has its file's head read
 * (bounded by its size as indexed, on the caller's thread, with no lock
 * held) for the call; a file found gone meanwhile is skipped (and leaves
 * the index, as read_profile() says), one found corrupt is skipped,
 * counted and moved aside, one that cannot be read (EIO) is skipped and
 * counted in skipped_files. fn is called with no lock held, so put() goes
 * on meanwhile: windows put or removed while each() runs may or may not be
 * seen. fn must copy what it keeps of w and must not call the store.
 */
int window_store__each(struct window_store *s, int64_t since_ns, int64_t until_ns,
		       int (*fn)(void *ctx, const struct store_window_info *w), void *ctx);

/*
 * Reads window id's profile into a malloc'd copy (*ret_data, the caller
 * frees; *ret_size bytes; never NULL on success, even when empty), checking
 * the file's size and CRC (the whole file is read, on the caller's thread,
 * with no lock held). Returns 0, -ENOENT (no such window, or its file was
 * removed meanwhile: by retention, or by hand, then it leaves the index),
 * -EIO (corrupt: counted, moved aside, gone from the index; or an I/O error)
 * or -ENOMEM.
 */
int window_store__read_profile(struct window_store *s, uint64_t id, void **ret_data,
			       size_t *ret_size);

void window_store__stats(struct window_store *s, struct window_store_stats *ret);

#endif /* CPROF_WINDOW_STORE_H */
