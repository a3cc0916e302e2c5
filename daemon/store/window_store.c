// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "window_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/array.h"
#include "util/clock.h"
#include "window_file.h"
#include "window_index.h"

/* A window taken out of the index whose file is unlinked once the lock is released. */
struct victim {
	int64_t start_ns;
	uint32_t seq;
};

/* Retention unlinks at most this many files per hold of the lock, then takes it again. */
#define VICTIMS_MAX 64
/* Directory entries looked at by open(), at most. */
#define SCAN_MAX_NAMES (4 * (size_t)WINDOW_STORE_MAX_WINDOWS)
/* Windows each() takes from the index per hold of the lock. */
#define EACH_BATCH 64

struct window_store {
	pthread_mutex_t lock; /* guards everything below but dir_fd and the options */
	int dir_fd;           /* also holds the flock that makes the directory ours */
	uint64_t max_bytes, max_age_ns;
	int named_temporary; /* atomic: write through "<name>.tmp", not O_TMPFILE */

	struct window_index *index;

	/* The *.corrupt files kept, by name (so by window time), oldest first. */
	char corrupt[WINDOW_STORE_MAX_CORRUPT][WINDOW_FILE_NAME_SIZE];
	size_t n_corrupt;

	struct window_store_stats counters; /* the counters of stats(); the rest is computed */
};

/* The end at or before which a window is too old at now_ns; false when none is. */
static bool age_cutoff(const struct window_store *s, int64_t now_ns, int64_t *ret_cutoff)
{
	return s->max_age_ns && s->max_age_ns <= (uint64_t)INT64_MAX &&
	       !__builtin_sub_overflow(now_ns, (int64_t)s->max_age_ns, ret_cutoff);
}

/* The rules retention applies. */
#define RETAIN_AGE 1u  /* max_age_ns, against a time */
#define RETAIN_SIZE 2u /* max_bytes, and the index's own bounds */

/*
 * Under the lock: takes out of the index, oldest first, up to VICTIMS_MAX
 * windows that the rules want gone, noting their files in victims, and
 * counts why. Returns how many.
 */
static size_t pick_retention(struct window_store *s, unsigned int rules, int64_t now_ns,
			     struct victim *victims)
{
	size_t n = window_index__count(s->index), k = 0;
	struct window_store_stats now;
	bool by_age = false;
	int64_t cutoff = 0;
	uint64_t bytes;

	window_index__stats(s->index, &now);
	bytes = now.bytes;
	if (rules & RETAIN_AGE)
		by_age = age_cutoff(s, now_ns, &cutoff);
	/* Which of the oldest go, then out of the index at once: one memmove. */
	for (; k < VICTIMS_MAX && k < n; k++) {
		const struct window_record *r = window_index__at(s->index, k);

		if (by_age && r->end_ns <= cutoff)
			s->counters.dropped_for_age++;
		else if (!(rules & RETAIN_SIZE))
			break;
		else if (s->max_bytes && bytes > s->max_bytes)
			s->counters.dropped_for_size++;
		else if (n - k > WINDOW_STORE_MAX_WINDOWS)
			s->counters.dropped_for_index++;
		else
			break;
		bytes -= window_record__file_size(r);
		victims[k] = (struct victim){ r->start_ns, r->seq };
	}
	window_index__remove_oldest(s->index, k);
	return k;
}

static void unlink_victims(struct window_store *s, const struct victim *victims, size_t n)
{
	char name[WINDOW_FILE_NAME_SIZE];

	/*
	 * A failure leaves a valid file the index no longer counts: the next
	 * open indexes it again and retention sees to it then.
	 */
	for (size_t i = 0; i < n; i++) {
		window_file__name(victims[i].start_ns, victims[i].seq, "", name);
		unlinkat(s->dir_fd, name, 0);
	}
}

/* Applies retention until it wants nothing more, unlinking outside the lock. */
static void apply_retention(struct window_store *s, unsigned int rules, int64_t now_ns)
{
	struct victim victims[VICTIMS_MAX];
	size_t n;

	do {
		pthread_mutex_lock(&s->lock);
		n = pick_retention(s, rules, now_ns, victims);
		pthread_mutex_unlock(&s->lock);
		unlink_victims(s, victims, n);
	} while (n == VICTIMS_MAX);
}

/*
 * Remembers a *.corrupt file kept for a person to look at; past
 * WINDOW_STORE_MAX_CORRUPT, the oldest window's goes. Under the lock or in open().
 */
static void keep_corrupt(struct window_store *s, const char *aside)
{
	size_t i;

	for (i = 0; i < s->n_corrupt; i++) {
		int c = strcmp(aside, s->corrupt[i]);

		if (c == 0)
			return;
		if (c < 0)
			break;
	}
	if (s->n_corrupt == WINDOW_STORE_MAX_CORRUPT) {
		if (i == 0) {
			unlinkat(s->dir_fd, aside, 0);
			return;
		}
		unlinkat(s->dir_fd, s->corrupt[0], 0);
		memmove(s->corrupt[0], s->corrupt[1], (s->n_corrupt - 1) * sizeof(s->corrupt[0]));
		s->n_corrupt--;
		i--;
	}
	memmove(s->corrupt[i + 1], s->corrupt[i], (s->n_corrupt - i) * sizeof(s->corrupt[0]));
	snprintf(s->corrupt[i], sizeof(s->corrupt[i]), "%s", aside);
	s->n_corrupt++;
}

/* Moves window file name aside as name.corrupt and counts it. Under the lock or in open(). */
static void quarantine(struct window_store *s, const char *name)
{
	char aside[WINDOW_FILE_NAME_SIZE];

	s->counters.corrupt_files++;
	snprintf(aside, sizeof(aside), "%s.corrupt", name);
	if (renameat(s->dir_fd, name, s->dir_fd, aside) < 0) {
		/* It may not stay under a window's name either way. */
		unlinkat(s->dir_fd, name, 0);
		return;
	}
	keep_corrupt(s, aside);
}

/*
 * What reading window r's file (name) found, seen to under the lock: the
 * file gone (-ENOENT; by retention, then it is out of the index already,
 * or by hand) takes the window out of the index; corrupt (-EINVAL) moves it
 * aside too, and counts it. Returns whether r is indexed still.
 */
static bool settle(struct window_store *s, const struct window_record *r, int err,
		   const char *name)
{
	size_t at;
	bool indexed;

	pthread_mutex_lock(&s->lock);
	/* Still indexed means the name is still that window's file, not a newer one's. */
	indexed = window_index__find_again(s->index, r, &at) != NULL;
	if (indexed && (err == -ENOENT || err == -EINVAL)) {
		window_index__remove(s->index, at);
		if (err == -EINVAL)
			quarantine(s, name);
		indexed = false;
	}
	pthread_mutex_unlock(&s->lock);
	return indexed;
}

/* Whether a head read from r's file is the one that was indexed as r. */
static bool head_is(const struct window_file_header *h, const struct window_record *r)
{
	return h->start_ns == r->start_ns && h->end_ns == r->end_ns && h->hz == r->hz &&
	       h->samples == r->samples && h->lost == r->lost && h->head_size == r->head_size &&
	       h->profile_size == r->profile_size && h->n_processes == r->n_processes;
}

/*
 * With no lock held: reads the head of window r's file, which must still be
 * the one indexed. Returns 0 (*ret to release), -ENOMEM, or -ENOENT when the
 * window is to be skipped: gone, or found corrupt (both seen to by
 * settle()), or unreadable (-EIO: counted in skipped_files, left indexed).
 */
static int read_listed(struct window_store *s, const struct window_record *r,
		       struct window_file_header *ret)
{
	char name[WINDOW_FILE_NAME_SIZE];
	struct stat st;
	int fd, err;

	window_file__name(r->start_ns, r->seq, "", name);
	fd = openat(s->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		/* A symlink or a socket under its name now is not the file we wrote. */
		err = errno == ENOENT ? -ENOENT : errno == ELOOP || errno == ENXIO ? -EINVAL : -EIO;
	} else {
		/* Its size as indexed first: the head read is no bigger than the one indexed. */
		if (fstat(fd, &st) < 0)
			err = -EIO;
		else if (!S_ISREG(st.st_mode) ||
			 (uint64_t)st.st_size != window_record__file_size(r))
			err = -EINVAL;
		else
			err = window_file__read_head(fd, (uint64_t)st.st_size, ret);
		close(fd);
		if (!err && !head_is(ret, r)) {
			window_file_header__release(ret);
			err = -EINVAL;
		}
		/* Another version's file under its name is not the one indexed either. */
		if (err == -EPROTONOSUPPORT)
			err = -EINVAL;
	}
	if (err == -ENOMEM)
		return err;
	if (err == -EIO) {
		pthread_mutex_lock(&s->lock);
		s->counters.skipped_files++;
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	/* Removed meanwhile, even when read whole: then the name may be a newer window's. */
	if (!settle(s, r, err, name) && !err) {
		window_file_header__release(ret);
		err = -ENOENT;
	}
	return err ? -ENOENT : 0;
}

/*
 * In open(): reads the head of window file name (the window (start_ns, seq)
 * by its name) and indexes it; moves it aside if it is not a whole window
 * file. 0, or -ENOMEM (then open fails: nothing was wrong with the file).
 */
static int index_file(struct window_store *s, const char *name, int64_t start_ns, uint32_t seq)
{
	struct window_file_header h;
	struct stat st;
	uint64_t id;
	int fd, err;

	/* O_NONBLOCK: a FIFO under a window's name must not hang the daemon's start. */
	fd = openat(s->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENXIO)
			goto corrupt; /* a symlink or a socket: not a file we wrote */
		if (errno != ENOENT)
			s->counters.skipped_files++;
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		goto corrupt;
	}
	err = window_file__read_head(fd, (uint64_t)st.st_size, &h);
	close(fd);
	if (err == -ENOMEM)
		return err;
	if (err == -EPROTONOSUPPORT || err == -EIO) {
		/* Another version's, or the disk failed us: not ours to judge or remove. */
		s->counters.skipped_files++;
		return 0;
	}
	if (err)
		goto corrupt;
	/* The name must agree with the head: it is how the store finds the file again. */
	if (h.start_ns != start_ns) {
		window_file_header__release(&h);
		goto corrupt;
	}
	/* The lists go in at the end, the newest only: see load_lists(). */
	err = window_index__insert(s->index, &h, seq, false, &id);
	if (!err)
		window_index__stage(s->index, id, &h);
	window_file_header__release(&h);
	return err;
corrupt:
	quarantine(s, name);
	return 0;
}

/* A directory entry open() acts on. */
struct found {
	char name[WINDOW_FILE_NAME_SIZE];
	enum window_file_name_kind kind;
	int64_t start_ns;
	uint32_t seq;
};

static int found_cmp(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->name, ((const struct found *)b)->name);
}

/* Lists the store's names first, then acts: renames and unlinks must not confuse readdir. */
static int list_dir(struct window_store *s, struct found **ret_found, size_t *ret_n)
{
	struct found *found = NULL;
	size_t n = 0, capacity = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

	fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((errno = 0, de = readdir(dir))) {
		struct found f = { 0 };
		void *grown;
		int err;

		f.kind = window_file__parse_name(de->d_name, &f.start_ns, &f.seq);
		if (f.kind == WINDOW_FILE_NAME_OTHER)
			continue;
		err = array__reserve(found, sizeof(*found), &capacity, n, 1, 256, SCAN_MAX_NAMES,
				     &grown);
		if (err == -E2BIG) {
			s->counters.skipped_files++;
			continue;
		}
		if (err) {
			free(found);
			closedir(dir);
			return err;
		}
		found = grown;
		/* The name again from what it says: the same bytes, as parse_name() is strict. */
		window_file__name(f.start_ns, f.seq,
				  f.kind == WINDOW_FILE_NAME_TEMPORARY ? ".tmp"
				  : f.kind == WINDOW_FILE_NAME_CORRUPT ? ".corrupt"
								       : "",
				  f.name);
		found[n++] = f;
	}
	if (errno) {
		int err = -errno;

		free(found);
		closedir(dir);
		return err;
	}
	closedir(dir);
	if (n)
		qsort(found, n, sizeof(*found), found_cmp);
	*ret_found = found;
	*ret_n = n;
	return 0;
}

static int scan(struct window_store *s)
{
	struct victim victims[VICTIMS_MAX];
	struct found *found = NULL;
	size_t n = 0;
	int err;

	err = list_dir(s, &found, &n);
	if (err)
		return err;
	/* Windows come in order, oldest first: each goes at the index's end. */
	for (size_t i = 0; i < n && !err; i++) {
		switch (found[i].kind) {
		case WINDOW_FILE_NAME_TEMPORARY:
			if (unlinkat(s->dir_fd, found[i].name, 0) == 0)
				s->counters.temporary_removed++;
			break;
		case WINDOW_FILE_NAME_CORRUPT:
			keep_corrupt(s, found[i].name);
			break;
		case WINDOW_FILE_NAME_WINDOW:
			err = index_file(s, found[i].name, found[i].start_ns, found[i].seq);
			/* Trimming as we go ends where trimming at the end would. */
			unlink_victims(s, victims, pick_retention(s, RETAIN_SIZE, 0, victims));
			break;
		case WINDOW_FILE_NAME_OTHER:
			break;
		}
	}
	free(found);
	return err;
}

/*
 * In open(), after the scan: the newest windows' lists, newest first, as
 * many as fit index_max_bytes - from the heads the scan kept, then, if
 * room is left (shared strings take less than parsed ones), from heads
 * read again (the scan just left them in the page cache). Sharing the
 * strings of every window scanned, most of whose lists would go at once,
 * would cost more. 0 or -ENOMEM.
 */
static int load_lists(struct window_store *s)
{
	int err = window_index__attach_staged(s->index);

	while (!err) {
		struct window_store_stats now;
		struct window_file_header h;
		struct window_record r;
		size_t at;

		window_index__stats(s->index, &now);
		if (now.index_windows_in_memory == now.windows)
			break;
		r = *window_index__at(s->index, now.windows - now.index_windows_in_memory - 1);
		err = read_listed(s, &r, &h);
		if (err == -ENOENT && !window_index__find_again(s->index, &r, &at)) {
			err = 0; /* gone, or corrupt and moved aside: the next one */
			continue;
		}
		if (!err) {
			err = window_index__find_again(s->index, &r, &at)
				      ? window_index__attach(s->index, at, &h)
				      : -E2BIG;
			window_file_header__release(&h);
		}
	}
	/* Past the bound, or a head unreadable: the older windows' lists stay on disk. */
	return err == -ENOMEM ? err : 0;
}

/* Makes a directory we created durable in its parent. Best effort. */
static void sync_parent(const char *dir)
{
	char *copy = strdup(dir);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

struct window_store *window_store__open(const struct window_store_options *opts)
{
	uint64_t started = monotonic_ns(), took;
	struct window_store *s;
	int err;

	if (!opts || !opts->dir || !*opts->dir) {
		errno = EINVAL;
		return NULL;
	}
	if (mkdir(opts->dir, 0750) == 0)
		sync_parent(opts->dir);
	else if (errno != EEXIST)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dir_fd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0) {
		err = -errno;
		goto fail_free;
	}
	/* Another store over the same files would remove this one's temporaries. */
	if (flock(s->dir_fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail_close;
	}
	err = -pthread_mutex_init(&s->lock, NULL);
	if (err)
		goto fail_close;
	s->max_bytes = opts->max_bytes;
	s->max_age_ns = opts->max_age_ns;
	s->named_temporary = opts->named_temporary;
	s->index = window_index__new(opts->index_max_bytes ? opts->index_max_bytes
							   : WINDOW_STORE_DEFAULT_INDEX_MAX_BYTES);
	err = s->index ? scan(s) : -ENOMEM;
	if (!err)
		err = load_lists(s);
	if (err) {
		window_store__free(s);
		errno = -err;
		return NULL;
	}
	took = monotonic_ns() - started;
	s->counters.open_ms = took / 1000000;
	s->counters.open_us = took / 1000;
	return s;
fail_close:
	close(s->dir_fd);
fail_free:
	free(s);
	errno = -err;
	return NULL;
}

void window_store__free(struct window_store *s)
{
	if (!s)
		return;
	window_index__free(s->index);
	pthread_mutex_destroy(&s->lock);
	close(s->dir_fd);
	free(s);
}

/* A file the whole filesystem could never hold: no use removing windows for it. */
static bool larger_than_filesystem(const struct window_store *s, uint64_t file_size)
{
	struct statvfs st;

	return fstatvfs(s->dir_fd, &st) == 0 && st.f_blocks &&
	       file_size > (uint64_t)st.f_blocks * st.f_frsize;
}

/* For ENOSPC: takes the oldest window out if it is no newer than start_ns. */
static bool pick_for_space(struct window_store *s, int64_t start_ns, struct victim *ret_victim)
{
	bool picked = false;

	pthread_mutex_lock(&s->lock);
	if (window_index__count(s->index) > 0 &&
	    window_index__at(s->index, 0)->start_ns <= start_ns) {
		const struct window_record *r = window_index__at(s->index, 0);

		*ret_victim = (struct victim){ r->start_ns, r->seq };
		window_index__remove(s->index, 0);
		s->counters.dropped_for_space++;
		picked = true;
	}
	pthread_mutex_unlock(&s->lock);
	return picked;
}

int window_store__put(struct window_store *s, const struct store_window *w, int64_t now_ns)
{
	struct window_file_header h = { 0 };
	uint8_t *head = NULL;
	size_t head_size;
	uint32_t seq;
	uint64_t id;
	int err;

	err = window_file__encode_head(w, &head, &head_size);
	if (err)
		goto out;
	/* The index holds what a reader of the file finds: the head parsed back. */
	err = window_file__parse_header(head, head_size, &h);
	if (err)
		goto out;
	if (s->max_bytes && h.file_size > s->max_bytes) {
		err = -EFBIG;
		goto out;
	}
	if (larger_than_filesystem(s, h.file_size)) {
		err = -ENOSPC;
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	err = window_index__reserve(s->index);
	seq = window_index__next_seq(s->index, w->start_ns);
	pthread_mutex_unlock(&s->lock);
	if (err)
		goto out;

	for (;;) {
		bool named = __atomic_load_n(&s->named_temporary, __ATOMIC_RELAXED);
		struct victim victim;

		err = window_file__write(s->dir_fd, named, w->start_ns, seq, head, head_size,
					 w->profile, w->profile_size, &seq);
		if (err == -EOPNOTSUPP && !named) {
			/* The filesystem has no O_TMPFILE: named temporaries from now on. */
			__atomic_store_n(&s->named_temporary, 1, __ATOMIC_RELAXED);
			continue;
		}
		if ((err != -ENOSPC && err != -EDQUOT) || !pick_for_space(s, w->start_ns, &victim))
			break;
		unlink_victims(s, &victim, 1);
	}
	if (err)
		goto out;

	pthread_mutex_lock(&s->lock);
	err = window_index__insert(s->index, &h, seq, true, &id);
	if (!err)
		s->counters.written++;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		char name[WINDOW_FILE_NAME_SIZE];

		window_file__name(w->start_ns, seq, "", name);
		unlinkat(s->dir_fd, name, 0);
		goto out;
	}
	apply_retention(s, RETAIN_AGE | RETAIN_SIZE, now_ns);
out:
	if (err) {
		pthread_mutex_lock(&s->lock);
		s->counters.write_errors++;
		pthread_mutex_unlock(&s->lock);
	}
	window_file_header__release(&h);
	free(head);
	return err;
}

void window_store__expire(struct window_store *s, int64_t now_ns)
{
	apply_retention(s, RETAIN_AGE, now_ns);
}

/* Calls fn for window r (a copy; its list, if any, held), with no lock held. */
static int visit(struct window_store *s, const struct window_record *r,
		 int (*fn)(void *ctx, const struct store_window_info *w), void *ctx)
{
	struct window_file_header h = { 0 };
	struct store_window_info info = {
		.id = r->id,
		.start_ns = r->start_ns,
		.end_ns = r->end_ns,
		.hz = r->hz,
		.samples = r->samples,
		.lost = r->lost,
		.bytes = window_record__file_size(r),
		.n_processes = r->n_processes,
	};
	int ret;

	if (r->processes) {
		info.processes = process_list__processes(r->processes);
		return fn(ctx, &info);
	}
	ret = read_listed(s, r, &h);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	info.processes = h.processes;
	ret = fn(ctx, &info);
	window_file_header__release(&h);
	return ret;
}

int window_store__each(struct window_store *s, int64_t since_ns, int64_t until_ns,
		       int (*fn)(void *ctx, const struct store_window_info *w), void *ctx)
{
	struct window_record batch[EACH_BATCH], last;
	bool first = true;
	size_t n;
	int ret = 0;

	do {
		/* Past the last one seen: the index may have changed meanwhile. */
		pthread_mutex_lock(&s->lock);
		n = window_index__take(s->index, since_ns, until_ns, first ? NULL : &last, batch,
				       EACH_BATCH);
		pthread_mutex_unlock(&s->lock);
		for (size_t i = 0; i < n && !ret; i++)
			ret = visit(s, &batch[i], fn, ctx);
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < n; i++)
			window_index__release(s->index, batch[i].processes);
		pthread_mutex_unlock(&s->lock);
		if (n)
			last = batch[n - 1];
		first = false;
	} while (!ret && n == EACH_BATCH);
	return ret;
}

int window_store__read_profile(struct window_store *s, uint64_t id, void **ret_data,
			       size_t *ret_size)
{
	struct window_file_header h = { 0 };
	char name[WINDOW_FILE_NAME_SIZE];
	const struct window_record *found;
	struct window_record r;
	void *data;
	size_t at;
	int fd, err;

	pthread_mutex_lock(&s->lock);
	found = window_index__find(s->index, id, &at);
	if (found)
		r = *found;
	pthread_mutex_unlock(&s->lock);
	if (!found)
		return -ENOENT;
	window_file__name(r.start_ns, r.seq, "", name);
	h.head_size = r.head_size;
	h.profile_size = r.profile_size;
	h.file_size = window_record__file_size(&r);

	fd = openat(s->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		settle(s, &r, -ENOENT, name);
		return -ENOENT;
	}
	if (fd < 0)
		return -EIO;
	err = window_file__read_profile(fd, &h, &data);
	close(fd);
	if (err == -EINVAL) {
		settle(s, &r, err, name);
		err = -EIO;
	}
	if (err)
		return err;
	*ret_data = data;
	*ret_size = (size_t)h.profile_size;
	return 0;
}

void window_store__stats(struct window_store *s, struct window_store_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	*ret = s->counters;
	window_index__stats(s->index, ret);
	pthread_mutex_unlock(&s->lock);
}
