/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The cache of binaries: an entry per file (path, and device and inode when
 * the maps give them), loaded from the file and its debug files (here, or
 * on the worker in background mode, then collected), checked again when
 * old, and evicted least recently used past the bounds on entries and bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "symbolizer_impl.h"
#include "util/worker.h"

/*
 * A cached result is trusted for this long before the file is stat()ed again,
 * so a binary that is rebuilt or upgraded, or a file that appears or becomes
 * readable, is picked up without paying a stat() per frame.
 */
#define REVALIDATE_NS 1000000000ull
/*
 * A freeze that nobody ends (a client gone while its profile waited for
 * symbols) ends by itself after this: longer than a profile waits.
 */
#define FREEZE_LEASE_NS (60ull * 1000000000ull)

static uint64_t hash_file(const char *path, uint64_t dev, uint64_t inode)
{
	uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *path; path++) {
		hash ^= (unsigned char)*path;
		hash *= 0x100000001b3ull;
	}
	hash ^= dev * 0x9e3779b97f4a7c15ull;
	hash *= 0x100000001b3ull;
	hash ^= inode * 0xc2b2ae3d27d4eb4full;
	return hash * 0x100000001b3ull;
}

static void file_identity__from_stat(struct file_identity *id, const struct stat *st)
{
	*id = (struct file_identity){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = st->st_size,
		.mtime = st->st_mtim,
		.ctime = st->st_ctim,
	};
}

static void file_identity__get(struct file_identity *id, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		*id = (struct file_identity){ .error = errno };
		return;
	}
	file_identity__from_stat(id, &st);
}

static bool file_identity__equal(const struct file_identity *a, const struct file_identity *b)
{
	if (a->error || b->error)
		return a->error == b->error;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Errors that say nothing about the file, so are not worth remembering. */
static bool error_is_transient(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE || err == -EINTR ||
	       err == -EAGAIN;
}

static void binary__clear(struct binary *b)
{
	frame_cache__clear(&b->frame_cache);
	binary__clear_dwarf(b);
	free(b->build_id_hex);
	free(b->segments);
	free(b->syms);
	free(b->names);
	b->build_id_hex = NULL;
	b->segments = NULL;
	b->n_segments = 0;
	b->syms = NULL;
	b->n_syms = 0;
	b->names = NULL;
	b->names_size = 0;
	b->error = 0;
}

static size_t binary__memory(const struct binary *b)
{
	size_t memory = sizeof(*b) + strlen(b->path) + 1;

	if (b->build_id_hex)
		memory += strlen(b->build_id_hex) + 1;
	memory += b->n_segments * sizeof(*b->segments);
	memory += b->n_syms * sizeof(*b->syms);
	memory += b->names_size;
	memory += b->dwarf_bytes + b->dwarf_parsed_bytes;
	memory += b->n_cu_ranges * sizeof(*b->cu_ranges);
	memory += b->n_dwarf_units * sizeof(*b->dwarf_units);
	memory += frame_cache__memory(&b->frame_cache);
	return memory;
}

/* Whether an opened file is the one the maps line named (inode only: see open_binary). */
static bool same_inode(const struct binary *b, const struct elf_file *f)
{
	return b->inode == 0 || (uint64_t)f->st.st_ino == b->inode;
}

/*
 * Opens the file of b: through the process that maps it when there is one
 * (/proc/PID/map_files/START-END is the mapped file itself, even deleted,
 * replaced or in another mount namespace; /proc/PID/root/PATH sees its
 * mounts), else by its path. Only the inode is compared with the maps line:
 * on overlayfs and btrfs the device stat() gives is not the one maps shows.
 * A file by the path with another inode is another file: -ESTALE.
 */
static int open_binary(struct binary *b, struct elf_file *f, struct load_request *req)
{
	const struct symbolizer_file *file = req->file;
	char path[PATH_MAX];
	int err, n;

	req->root[0] = '\0';
	if (strcmp(b->path, VDSO_PATH) == 0)
		return file ? elf_file__open_vdso(f, file->pid, file->map_start, file->map_end)
			    : -ENOENT;
	if (file && file->pid > 0) {
		snprintf(req->root, sizeof(req->root), "/proc/%d/root", (int)file->pid);
		if (file->map_end > file->map_start) {
			snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
				 (int)file->pid, file->map_start, file->map_end);
			if (elf_file__open(f, path) == 0) {
				if (same_inode(b, f))
					return 0;
				elf_file__close(f);
			}
		}
		n = snprintf(path, sizeof(path), "%s%s", req->root, b->path);
		if (b->path[0] == '/' && n > 0 && (size_t)n < sizeof(path) &&
		    elf_file__open(f, path) == 0) {
			if (same_inode(b, f))
				return 0;
			elf_file__close(f);
		}
		req->root[0] = '\0';
	}
	err = elf_file__open(f, b->path);
	if (err)
		return err;
	if (!same_inode(b, f)) {
		elf_file__close(f);
		return -ESTALE;
	}
	return 0;
}

/* Fills b from its file; on failure b holds nothing. */
static int binary__load(const struct symbolizer *s, struct binary *b, struct load_request *req)
{
	uint8_t build_id[MAX_BUILD_ID_BYTES];
	size_t build_id_len = 0, max_dwarf;
	struct elf_file main_file, dwarf_file = { .fd = -1 };
	bool own_dwarf;
	uint64_t dwarf_bytes;
	int err;

	req->debug_path[0] = '\0';
	err = open_binary(b, &main_file, req);
	if (err) {
		file_identity__get(&b->identity, b->path);
		return err;
	}
	file_identity__from_stat(&b->identity, &main_file.st);

	err = elf_file__read_segments(&main_file, b);
	if (err)
		goto err_clear;
	if (elf_file__read_build_id(&main_file, build_id, &build_id_len) == 0) {
		b->build_id_hex = build_id__hex(build_id, build_id_len);
		if (!b->build_id_hex) {
			err = -ENOMEM;
			goto err_clear;
		}
	}
	own_dwarf = main_file.fd >= 0 &&
		    elf_file__dwarf_bytes(&main_file, &dwarf_bytes, &(bool){ false }) == 0 &&
		    dwarf_bytes > 0;
	err = debug_file__load_symbols(s, b, &main_file, build_id, build_id_len, req);
	if (err == -ENOMEM)
		goto err_clear;
	/* No local debug file: debuginfod may have one, if the binary has no DWARF of its own. */
	if (err && req->fetcher && build_id_len && !own_dwarf) {
		char *fetched = NULL;

		if (fetcher__fetch(req->fetcher, build_id, build_id_len, req, &fetched) == 0) {
			err = debug_file__try(b, fetched, &main_file, build_id, build_id_len, NULL,
					      req);
			free(fetched);
		}
	}
	if (err) {
		err = elf_file__load_symbols(&main_file, b, true);
		/* A binary without function symbols still has a build ID to report. */
		if (err && err != -ENOENT)
			goto err_clear;
	}

	/* DWARF: the binary's own if it has some, else its debug file's. */
	max_dwarf = s->max_memory / 2 < MAX_DWARF_BYTES ? s->max_memory / 2 : MAX_DWARF_BYTES;
	if (own_dwarf) {
		/* Again on the same open file: the path may be gone or another file by now. */
		dwarf_file.fd = fcntl(main_file.fd, F_DUPFD_CLOEXEC, 0);
		dwarf_file.st = main_file.st;
		dwarf_file.elf =
			dwarf_file.fd < 0 ? NULL : elf_begin(dwarf_file.fd, ELF_C_READ, NULL);
		if (!dwarf_file.elf)
			elf_file__close(&dwarf_file);
	} else if (req->debug_path[0] && elf_file__open(&dwarf_file, req->debug_path) != 0) {
		dwarf_file.fd = -1;
		dwarf_file.elf = NULL;
	}
	if (dwarf_file.elf) {
		err = binary__load_dwarf(b, &dwarf_file, max_dwarf);
		if (err)
			goto err_clear;
	}
	elf_file__close(&main_file);
	return 0;
err_clear:
	elf_file__close(&main_file);
	binary__clear(b);
	return err;
}

static void binary__free(struct binary *b)
{
	binary__clear(b);
	free(b->path);
	free(b);
}

static void lru_unlink(struct symbolizer *s, struct binary *b)
{
	if (b->lru_prev)
		b->lru_prev->lru_next = b->lru_next;
	else
		s->lru_head = b->lru_next;
	if (b->lru_next)
		b->lru_next->lru_prev = b->lru_prev;
	else
		s->lru_tail = b->lru_prev;
	b->lru_prev = b->lru_next = NULL;
}

static void lru_push_head(struct symbolizer *s, struct binary *b)
{
	b->lru_prev = NULL;
	b->lru_next = s->lru_head;
	if (s->lru_head)
		s->lru_head->lru_prev = b;
	else
		s->lru_tail = b;
	s->lru_head = b;
}

void binary_cache__evict(struct symbolizer *s, struct binary *b)
{
	struct binary **link = &s->buckets[b->hash & (s->n_buckets - 1)];

	while (*link != b)
		link = &(*link)->hash_next;
	*link = b->hash_next;
	lru_unlink(s, b);
	s->n_binaries--;
	s->binaries_memory -= b->memory;
	binary__free(b);
}

/* Whether b must stay: the one in use, one being loaded, or one used while frozen. */
static bool must_stay(const struct symbolizer *s, const struct binary *b, const struct binary *keep)
{
	return b == keep || b->loading || (s->frozen && b->freeze_epoch == s->freeze_epoch);
}

/* Evicts least recently used entries, but those that must stay, past either bound. */
void binary_cache__enforce_bounds(struct symbolizer *s, const struct binary *keep)
{
	struct binary *b = s->lru_tail;

	if (s->frozen && now_ns() - s->frozen_ns > FREEZE_LEASE_NS)
		s->frozen = false;
	while (b && (s->n_binaries > s->max_binaries || s->binaries_memory > s->max_memory)) {
		struct binary *prev = b->lru_prev;

		if (!must_stay(s, b, keep)) {
			binary_cache__evict(s, b);
			s->evictions++;
		}
		b = prev;
	}
}

/* Redoes b's accounting after it grew or shrank. */
void binary_cache__account(struct symbolizer *s, struct binary *b)
{
	s->binaries_memory -= b->memory;
	b->memory = binary__memory(b);
	s->binaries_memory += b->memory;
}

/* Charges b for what its frame cache grew by, evicting others if need be. */
void binary_cache__account_growth(struct symbolizer *s, struct binary *b)
{
	if (binary__memory(b) == b->memory)
		return;
	binary_cache__account(s, b);
	binary_cache__enforce_bounds(s, b);
}

/* (Re)loads b and updates the accounting; transient failures are the caller's to drop. */
static int reload(struct symbolizer *s, struct binary *b, const struct symbolizer_file *file)
{
	struct load_request *req = calloc(1, sizeof(*req));
	int err;

	binary__clear(b);
	if (!req) {
		err = -ENOMEM;
	} else {
		req->file = file;
		err = binary__load(s, b, req);
		free(req);
	}
	b->error = err;
	b->checked_ns = now_ns();
	binary_cache__account(s, b);
	return err;
}

/* Errors after which a file named by its inode may still become readable. */
static bool error_may_pass(int err)
{
	return err == -ENOENT || err == -EACCES || err == -EPERM || err == -ESTALE || err == -ESRCH;
}

/* A background load of one binary: what it needs, and what it made. */
struct load_job {
	struct worker_job job;
	const struct symbolizer *s; /* only its fixed settings and fetcher are read */
	struct binary *entry; /* the cache entry waiting; the caller's thread's */
	struct binary *result; /* the worker's until taken back */
	struct symbolizer_file file; /* a copy; path is result->path */
	struct load_request req;
	int err;
};

static void load_job__run(struct worker_job *job, struct worker *w)
{
	struct load_job *lj = (struct load_job *)job;

	lj->req.file = &lj->file;
	lj->req.fetcher = lj->s->fetcher;
	lj->err = binary__load(lj->s, lj->result, &lj->req);
	lj->result->error = lj->err;
}

static void load_job__release(struct worker_job *job)
{
	struct load_job *lj = (struct load_job *)job;

	binary__free(lj->result);
	free(lj);
}

/*
 * Queues the load of b (cleared, marked loading) on the worker. On failure
 * (queue full, no memory) b is evicted: the next lookup asks again.
 */
static int start_load(struct symbolizer *s, struct binary *b, const struct symbolizer_file *file)
{
	struct load_job *lj = calloc(1, sizeof(*lj));
	int err = -ENOMEM;

	if (!lj)
		goto err_evict;
	lj->result = calloc(1, sizeof(*lj->result));
	if (!lj->result)
		goto err_free;
	lj->result->path = strdup(b->path);
	if (!lj->result->path)
		goto err_free;
	lj->result->dev = b->dev;
	lj->result->inode = b->inode;
	lj->job.run = load_job__run;
	lj->job.release = load_job__release;
	lj->s = s;
	lj->entry = b;
	lj->file = *file;
	lj->file.path = lj->result->path;
	err = worker__submit(s->worker, &lj->job);
	if (err)
		goto err_free;
	binary__clear(b);
	b->loading = true;
	b->retry_ns = 0;
	binary_cache__account(s, b);
	return -EAGAIN;
err_free:
	if (lj->result)
		binary__free(lj->result);
	free(lj);
err_evict:
	binary_cache__evict(s, b);
	/* The queue is full of loads: one of them finishing is when to ask again. */
	return err == -EBUSY ? -EAGAIN : err;
}

/* Moves the tables a load made into the cache entry waiting for them. */
static void binary__take_tables(struct binary *dst, struct binary *src)
{
	struct binary keep = *dst;

	binary__clear(dst);
	*dst = *src;
	dst->hash_next = keep.hash_next;
	dst->lru_prev = keep.lru_prev;
	dst->lru_next = keep.lru_next;
	dst->hash = keep.hash;
	dst->path = keep.path;
	dst->dev = keep.dev;
	dst->inode = keep.inode;
	dst->memory = keep.memory;
	dst->freeze_epoch = keep.freeze_epoch;
	/* src keeps only its path, for binary__free(). */
	*src = (struct binary){ .path = src->path };
}

int symbolizer__collect(struct symbolizer *s)
{
	struct worker_job *job, *next;
	int n = 0;

	if (!s || !s->worker)
		return 0;
	for (job = worker__take_done(s->worker); job; job = next) {
		struct load_job *lj = (struct load_job *)job;
		struct kernel_job *kj = kernel_job__of(job);
		struct binary *b = lj->entry;

		next = job->next;
		if (kj) {
			kernel_job__install(kj, s);
			job->release(job);
			n++;
			continue;
		}
		binary__take_tables(b, lj->result);
		b->loading = false;
		b->checked_ns = now_ns();
		b->retry_ns = lj->req.fetched == FETCH_FAILED || lj->req.fetched == FETCH_BACKED_OFF
				      ? lj->req.retry_ns
				      : 0;
		s->loads_done++;
		if (lj->err)
			s->loads_failed++;
		if (lj->req.fetched == FETCH_OK)
			s->debuginfod_fetched++;
		else if (lj->req.fetched == FETCH_FAILED)
			s->debuginfod_failed++;
		else if (lj->req.fetched == FETCH_BACKED_OFF)
			s->debuginfod_backed_off++;
		binary_cache__account(s, b);
		job->release(job);
		n++;
		if (error_is_transient(b->error))
			binary_cache__evict(s, b);
		else
			binary_cache__enforce_bounds(s, b);
	}
	return n;
}

/* Gives the cache entry of file, loading it on a miss; negative results included. */
int binary_cache__get(struct symbolizer *s, const struct symbolizer_file *file,
		      struct binary **ret_binary)
{
	uint64_t dev = file->inode ? file->dev : 0, inode = file->inode;
	uint64_t hash = hash_file(file->path, dev, inode);
	size_t bucket = hash & (s->n_buckets - 1);
	struct binary *b;
	int err;

	for (b = s->buckets[bucket]; b; b = b->hash_next) {
		if (b->hash == hash && b->dev == dev && b->inode == inode &&
		    strcmp(b->path, file->path) == 0)
			break;
	}
	if (b) {
		lru_unlink(s, b);
		lru_push_head(s, b);
		if (b->loading)
			return -EAGAIN;
		if (s->frozen && b->freeze_epoch == s->freeze_epoch) {
			/* Found already in this freeze: as it is until the thaw. */
		} else if (s->worker && b->retry_ns && now_ns() >= b->retry_ns) {
			/* A debuginfod fetch failed a while ago: try again. */
			return start_load(s, b, file);
		} else if (now_ns() - b->checked_ns >= REVALIDATE_NS) {
			struct file_identity current;
			bool stale;

			/*
			 * A file named by its inode keeps its contents; only a failure
			 * to reach it is worth another try. A file named by its path
			 * alone is reloaded when the path names another file.
			 */
			if (inode) {
				stale = error_may_pass(b->error);
			} else {
				file_identity__get(&current, file->path);
				stale = !file_identity__equal(&current, &b->identity);
			}
			if (!stale) {
				b->checked_ns = now_ns();
			} else if (s->worker) {
				return start_load(s, b, file);
			} else {
				err = reload(s, b, file);
				if (error_is_transient(err)) {
					binary_cache__evict(s, b);
					return err;
				}
				binary_cache__enforce_bounds(s, b);
			}
		}
		if (s->frozen) /* in use until the thaw: not evicted, not reloaded */
			b->freeze_epoch = s->freeze_epoch;
		*ret_binary = b;
		return 0;
	}

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->path = strdup(file->path);
	if (!b->path) {
		free(b);
		return -ENOMEM;
	}
	b->hash = hash;
	b->dev = dev;
	b->inode = inode;
	b->hash_next = s->buckets[bucket];
	s->buckets[bucket] = b;
	lru_push_head(s, b);
	s->n_binaries++;
	b->freeze_epoch = s->frozen ? s->freeze_epoch : 0;
	if (s->worker) {
		err = start_load(s, b, file);
		if (err == -EAGAIN)
			binary_cache__enforce_bounds(s, NULL);
		return err;
	}
	err = reload(s, b, file);
	if (error_is_transient(err)) {
		binary_cache__evict(s, b);
		return err;
	}
	/* b is at the head, so it is not the one evicted. */
	binary_cache__enforce_bounds(s, b);
	*ret_binary = b;
	return 0;
}
