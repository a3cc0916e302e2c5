// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cprofd.h"
#include "cprofd_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "continuous.h"
#include "cprof_protocol.h"
#include "cprof_record.h"
#include "json_writer.h"
#include "procs/proc_stat.h"
#include "procs/process_table.h"
#include "profiles/profile.h"
#include "profiles/session.h"
#include "profiles/stack_table.h"
#include "sampler/bpf_sampler.h"
#include "sampler/leaf_unwind.h"
#include "sampler/record.h"
#include "sampler/task_events.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind_tables.h"
#include "util/clock.h"

/* How long stop waits for programs still running on other CPUs to log. */
#define STOP_SETTLE_TRIES 20
#define STOP_SETTLE_US 1000
/* Binaries kept open for leaf-caller recovery: a process maps a few dozen. */
#define LEAF_UNWIND_FILES 64

/*
 * Task event buffers, per CPU: a fork-and-exec storm of 1000 processes a
 * second fits, and the pages stay within half of the locked memory the
 * kernel grants a user without CAP_IPC_LOCK (kernel.perf_event_mlock_kb,
 * 516 KiB per CPU).
 */
#define TASK_EVENTS_BYTES_PER_CPU (256u << 10)
/*
 * A profile's frames are looked up in slices of this long, between which
 * the loop drains the ring buffer and answers requests.
 */
#define PREPARE_SLICE_NS 10000000ull
/* A task event younger than this may still be being written on another CPU. */
#define TASK_EVENTS_MARGIN_NS 10000000ull

static void on_record(void *ctx, const void *data, size_t size);

struct cprofd *cprofd__new(const struct cprofd_options *opts)
{
	struct symbolizer_options sym_opts = {
		.debug_root = opts->debug_root,
		.max_memory = opts->symbol_cache_bytes,
		.background = opts->background_symbols,
		.debuginfod = opts->debuginfod,
		.debuginfod_backoff_s = opts->debuginfod_backoff_s,
	};
	struct cprofd *d = calloc(1, sizeof(*d));
	int err = -ENOMEM;

	if (!d)
		return NULL;
	d->opts = *opts;
	d->epoll_fd = -1;
	d->stacks = stack_table__new(opts->stack_table_bytes);
	d->processes = process_table__new(opts->max_processes);
	d->symbols = symbolizer__new(&sym_opts);
	d->leaf = leaf_unwind__new(LEAF_UNWIND_FILES);
	if (!d->stacks || !d->processes || !d->symbols || !d->leaf)
		goto err;
	/* Nothing to poll without a sampler and without background symbols. */
	if (!opts->no_sampler || symbolizer__fd(d->symbols) >= 0) {
		d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		if (d->epoll_fd < 0) {
			err = -errno;
			goto err;
		}
	}
	if (symbolizer__fd(d->symbols) >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, symbolizer__fd(d->symbols), &ev)) {
			err = -errno;
			goto err;
		}
	}
	if (!opts->no_sampler) {
		struct bpf_sampler_options sampler_opts = {
			.ring_buffer_bytes = opts->ring_buffer_bytes,
			.wakeup_bytes = opts->wakeup_bytes,
			.unwind_rows = opts->unwind_rows,
			.on_record = on_record,
			.ctx = d,
		};
		struct epoll_event ev = { .events = EPOLLIN };
		struct unwind_maps maps;

		d->sampler = bpf_sampler__new(&sampler_opts);
		if (!d->sampler) {
			err = -errno;
			goto err;
		}
		/* Without tables the program walks frame pointers, as it always could. */
		d->unwind_error = bpf_sampler__unwind_maps(d->sampler, &maps);
		if (!d->unwind_error) {
			d->unwind = unwind_tables__new(&maps, d->processes);
			if (!d->unwind)
				d->unwind_error = -errno;
		}
		/* Tables go in as soon as they are built: samples before walk by frame pointers. */
		if (d->unwind &&
		    epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, unwind_tables__fd(d->unwind), &ev)) {
			err = -errno;
			goto err;
		}
		if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, bpf_sampler__ring_fd(d->sampler), &ev)) {
			err = -errno;
			goto err;
		}
	}
	return d;
err:
	cprofd__free(d);
	errno = -err;
	return NULL;
}

void cprofd__free(struct cprofd *d)
{
	if (!d)
		return;
	/* The window in progress is written: what was sampled up to now is kept. */
	cprofd__stop_continuous(d);
	/* The tables' worker goes before the maps it writes; then unload. */
	unwind_tables__free(d->unwind);
	/* Unload first: no record may arrive for a freed session. */
	bpf_sampler__free(d->sampler);
	task_events__close(d->task_events);
	if (d->epoll_fd >= 0)
		close(d->epoll_fd);
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++)
		session__free(d->sessions[slot], d->stacks, d->processes);
	leaf_unwind__free(d->leaf);
	symbolizer__free(d->symbols);
	process_table__free(d->processes);
	stack_table__free(d->stacks);
	free(d);
}

unsigned int cprofd__default_hz(const struct cprofd *d)
{
	return d->opts.default_hz;
}

void cprofd__set_default_hz(struct cprofd *d, unsigned int hz)
{
	d->opts.default_hz = hz;
}

struct session *cprofd__find_session(const struct cprofd *d, pid_t pid)
{
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++)
		if (d->sessions[slot] && d->sessions[slot]->pid == pid)
			return d->sessions[slot];
	return NULL;
}

bool cprofd__has_session(const struct cprofd *d, pid_t pid)
{
	return cprofd__find_session(d, pid) != NULL;
}

/*
 * A walk that stopped short (an unreadable stack word, a rule not
 * followed, the frame limit) gets a marker frame at its root, which the
 * profile names, so the stack says where and why it ends; so does one that
 * fell back to frame pointers in a file whose table was not loaded.
 */
static const struct cprof_sample_record *mark_stop(struct cprofd *d,
						   const struct cprof_sample_record *r)
{
	struct cprof_sample_record *copy = (void *)d->marked;
	size_t frames = (size_t)r->kernel_depth + r->user_depth;
	__u64 marker;

	if (r->unwind_stop == CPROF_UNWIND_STOP_READ_FAULT ||
	    r->unwind_stop == CPROF_UNWIND_STOP_UNSUPPORTED ||
	    r->unwind_stop == CPROF_UNWIND_STOP_TRUNCATED)
		marker = CPROF_STOP_MARKER(r->unwind_stop);
	else if (r->unwind_stop == CPROF_UNWIND_STOP_FP_END && r->no_table_frames)
		marker = CPROF_STOP_MARKER_NO_TABLE;
	else
		return r;
	if (frames + 1 > CPROF_MAX_FRAMES + 2 || !r->user_depth)
		return r;
	memcpy(copy, r, sizeof(*r) + frames * sizeof(__u64));
	copy->ips[frames] = marker;
	copy->user_depth++;
	copy->header.size += sizeof(__u64);
	return copy;
}

/* Asks for tgid's unwind entry to be rewritten after this drain's task events. */
static void unwind_dirty(struct cprofd *d, pid_t tgid)
{
	if (!d->unwind || !process_table__has(d->processes, tgid))
		return;
	for (size_t i = 0; i < d->n_unwind_dirty; i++)
		if (d->unwind_dirty[i] == tgid)
			return;
	/* Past the bound the rest wait: their next mmap, or frame pointers. */
	if (d->n_unwind_dirty < CPROFD_UNWIND_DIRTY_MAX)
		d->unwind_dirty[d->n_unwind_dirty++] = tgid;
}

static void unwind_flush(struct cprofd *d)
{
	for (size_t i = 0; i < d->n_unwind_dirty; i++)
		if (process_table__has(d->processes, d->unwind_dirty[i]))
			unwind_tables__track(d->unwind, d->unwind_dirty[i]);
	d->n_unwind_dirty = 0;
}

static void on_record(void *ctx, const void *data, size_t size)
{
	const struct cprof_sample_record *r = record__decode_sample(data, size);
	struct cprofd *d = ctx;
	bool continuous, known;
	struct session *s;
	int err;

	d->records++;
	if (!r) {
		d->bad_records++;
		return;
	}
	continuous = r->session_slot == CPROF_CONTINUOUS_SLOT;
	if (continuous) {
		s = d->continuous ? continuous__session_for(d->continuous, r) : NULL;
		if (!s) {
			d->stray_records++;
			return;
		}
	} else {
		s = d->sessions[r->session_slot];
		/* A slot can be reused while a record of its last owner is in flight. */
		if (!s || s->stop_mono_ns || ((pid_t)r->tgid != s->pid && !s->children)) {
			d->stray_records++;
			return;
		}
	}
	/* The leaf's unwind rule is found through the process's maps: hold it first. */
	known = process_table__has(d->processes, r->tgid);
	session__hold_process(s, d->processes, r->tgid);
	/* A process first seen here (continuous mode's, most often) gets its tables. */
	if (!known)
		unwind_dirty(d, r->tgid);
	if (!(r->flags & CPROF_SAMPLE_LEAF_BY_TABLE))
		r = leaf_unwind__apply(d->leaf, d->processes, r);
	if (r->unwind_stop < CPROF_UNWIND_STOP_KINDS)
		s->unwind_stops[r->unwind_stop]++;
	s->samples_by_table += r->table_frames != 0;
	s->samples_no_table += r->no_table_frames != 0;
	r = mark_stop(d, r);
	err = session__add_sample(s, d->stacks, d->processes, r);
	if (continuous)
		continuous__count(d->continuous, r, err != 0);
	d->total_samples++;
}

static void on_task_event(void *ctx, const struct task_event *e)
{
	struct cprofd *d = ctx;

	switch (e->type) {
	case TASK_EVENT_MMAP: {
		struct proc_map m = {
			.start = e->start,
			.end = e->end,
			.offset = e->offset,
			.inode = e->inode,
			.dev_major = e->dev_major,
			.dev_minor = e->dev_minor,
			.perms = PROC_MAP_READ | PROC_MAP_EXEC,
			.path = (char *)e->path,
		};

		/* /proc/PID/maps shows no path for anonymous memory; perf says "//anon". */
		if (strcmp(e->path, "//anon") == 0)
			m.path = NULL;
		process_table__on_mmap(d->processes, e->pid, &m);
		unwind_dirty(d, e->pid);
		break;
	}
	case TASK_EVENT_FORK:
		process_table__on_fork(d->processes, e->parent_pid, e->pid);
		unwind_dirty(d, e->pid);
		break;
	case TASK_EVENT_EXEC:
		process_table__on_exec(d->processes, e->pid);
		unwind_dirty(d, e->pid);
		break;
	case TASK_EVENT_EXIT:
		process_table__on_exit(d->processes, e->pid);
		if (d->unwind)
			unwind_tables__forget(d->unwind, e->pid);
		break;
	}
}

/*
 * Applies the task events old enough to be in order. Called after the
 * ring buffer is drained, so every sample taken before them is counted
 * and holds its process.
 */
static void drain_task_events(struct cprofd *d)
{
	if (d->task_events)
		task_events__drain(d->task_events, TASK_EVENTS_MARGIN_NS, on_task_event, d);
	if (d->unwind)
		unwind_flush(d);
}

/*
 * Opens the task events, before a first session reads its target's maps
 * so no mmap falls between. Without them (no permission, an old kernel)
 * sessions still run, with maps from /proc alone.
 */
void cprofd__open_task_events(struct cprofd *d)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (d->task_events)
		return;
	d->task_events = task_events__open(TASK_EVENTS_BYTES_PER_CPU);
	if (!d->task_events) {
		d->task_events_error = -errno;
		return;
	}
	d->task_events_error = 0;
	epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, task_events__fd(d->task_events), &ev);
}

/* Idle costs nothing: no perf event is open while no session samples. */
void cprofd__detach_if_idle(struct cprofd *d)
{
	if (!d->sampler || d->n_running)
		return;
	bpf_sampler__detach(d->sampler);
	/* Continuous mode needs every process's maps, all the time. */
	if (d->task_events && !d->continuous) {
		drain_task_events(d);
		epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, task_events__fd(d->task_events), NULL);
		task_events__close(d->task_events);
		d->task_events = NULL;
		process_table__forget_unheld(d->processes);
	}
}

int cprofd__session_owner(const struct cprofd *d, pid_t pid, uid_t *ret_owner)
{
	const struct session *s = cprofd__find_session(d, pid);

	if (!s)
		return -ENOENT;
	*ret_owner = s->owner;
	return 0;
}

/* The root directory process pid sees, as an O_PATH fd; -1 when out of reach. */
/*
 * Frees a session; the processes it held that no one holds now lose their
 * unwind entries with their process table entries.
 */
static void free_session(struct cprofd *d, struct session *s)
{
	size_t n = s->n_processes;
	pid_t *pids = d->unwind && n ? malloc(n * sizeof(*pids)) : NULL;

	if (pids)
		memcpy(pids, s->processes, n * sizeof(*pids));
	session__free(s, d->stacks, d->processes);
	for (size_t i = 0; pids && i < n; i++)
		if (!process_table__has(d->processes, pids[i]))
			unwind_tables__forget(d->unwind, pids[i]);
	free(pids);
}

static int open_root(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int cprofd__start_session(struct cprofd *d, pid_t pid, unsigned int hz, bool children,
			  uid_t owner)
{
	uint64_t start_ticks;
	struct session *s;
	int slot, err;

	if (hz < CPROF_MIN_HZ || hz > CPROF_MAX_HZ)
		return -ERANGE;
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return -ESRCH;
	if (cprofd__find_session(d, pid))
		return -EEXIST;
	if (!d->sampler)
		return -ENODEV;
	for (slot = 0; slot < CPROF_MAX_SESSIONS && d->sessions[slot]; slot++)
		;
	if (slot == CPROF_MAX_SESSIONS)
		return -ENOSPC;
	/* One perf event per CPU serves every session, so they share one rate. */
	if (bpf_sampler__hz(d->sampler) && bpf_sampler__hz(d->sampler) != hz)
		return -EBUSY;

	err = proc_stat__start_ticks(pid, &start_ticks);
	if (err)
		return err;
	s = session__new(pid, slot, hz);
	if (!s)
		return -ENOMEM;
	s->owner = owner;
	s->start_ticks = start_ticks;
	s->children = children;
	/*
	 * Polling a pidfd tells of the exit without reading /proc/PID/stat on
	 * every drain (most of the daemon's CPU with many sessions). Without
	 * pidfds (before Linux 5.3) /proc is read as before.
	 */
	s->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (s->pidfd >= 0)
		fcntl(s->pidfd, F_SETFD, FD_CLOEXEC);
	s->root_fd = open_root(pid);
	err = bpf_sampler__reset_counters(d->sampler, slot);
	if (err)
		goto err_free;
	cprofd__open_task_events(d);
	err = bpf_sampler__attach(d->sampler, hz);
	if (err)
		goto err_detach;
	err = bpf_sampler__add_target(d->sampler, pid, start_ticks, slot,
				      children ? CPROF_TARGET_CHILDREN : 0);
	if (err)
		goto err_detach;
	d->sessions[slot] = s;
	d->n_sessions++;
	d->n_running++;
	/* Read the maps now: a process may exit before its first sample is drained. */
	session__hold_process(s, d->processes, pid);
	if (d->unwind)
		unwind_tables__track(d->unwind, pid);
	return 0;

err_detach:
	cprofd__detach_if_idle(d);
err_free:
	free_session(d, s);
	return err;
}

void cprofd__refresh_counters(struct cprofd *d, struct session *s)
{
	struct cprof_session_counters counters;

	if (d->sampler && !s->stop_mono_ns &&
	    bpf_sampler__read_counters(d->sampler, s->slot, &counters) == 0)
		s->kernel = counters;
}

/*
 * Takes the session out of the kernel's view and collects everything it
 * logged: the program may still be running on another CPU for a sample it
 * took just before the target was removed, so wait (briefly, boundedly)
 * until every firing counted is either drained or counted lost.
 */
static void settle_session(struct cprofd *d, struct session *s)
{
	bpf_sampler__remove_target(d->sampler, s->pid);
	if (s->children)
		bpf_sampler__remove_slot_targets(d->sampler, s->slot);
	for (int i = 0; i < STOP_SETTLE_TRIES; i++) {
		uint64_t logged;

		bpf_sampler__drain(d->sampler);
		cprofd__refresh_counters(d, s);
		logged = s->samples + s->lost_stack_table_full;
		if (logged + s->kernel.lost_ring_full >= s->kernel.fired)
			break;
		usleep(STOP_SETTLE_US);
	}
	drain_task_events(d);
	s->stop_mono_ns = monotonic_ns();
}

int cprofd__end_sampling(struct cprofd *d, pid_t pid)
{
	struct session *s = cprofd__find_session(d, pid);

	if (!s)
		return -ENOENT;
	if (s->stop_mono_ns)
		return 0;
	if (d->sampler) {
		settle_session(d, s);
	} else {
		s->stop_mono_ns = monotonic_ns();
	}
	d->n_running--;
	cprofd__detach_if_idle(d);
	return 0;
}

/* A snapshot of a running session: take in what is waiting first. */
static void catch_up(struct cprofd *d, struct session *s)
{
	if (!s->stop_mono_ns && d->sampler) {
		bpf_sampler__drain(d->sampler);
		drain_task_events(d);
		cprofd__refresh_counters(d, s);
	}
}

int cprofd__prepare_profile(struct cprofd *d, pid_t pid, struct cprofd_prepare *p)
{
	struct session *s = cprofd__find_session(d, pid);
	struct profile_prepare state = { .cursor = p->cursor, .loading = p->loading,
					 .started = p->started };
	int err;

	if (!s)
		return -ENOENT;
	if (!p->started)
		catch_up(d, s);
	err = profile__prepare(s, d->stacks, d->processes, d->symbols, &state,
			       PREPARE_SLICE_NS);
	*p = (struct cprofd_prepare){ .cursor = state.cursor, .loading = state.loading,
				      .started = state.started };
	return err;
}

int cprofd__wait_symbols(struct cprofd *d, pid_t pid, int timeout_ms)
{
	uint64_t deadline = monotonic_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	struct pollfd pfd = { .fd = symbolizer__fd(d->symbols), .events = POLLIN };
	struct cprofd_prepare p = {};
	int err;

	for (;;) {
		uint64_t now;

		err = cprofd__prepare_profile(d, pid, &p);
		if ((err != -EAGAIN && err != -EINPROGRESS) || pfd.fd < 0)
			return err;
		now = monotonic_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (err == -EINPROGRESS)
			continue;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		symbolizer__collect(d->symbols);
	}
}

void cprofd__set_symbols_callback(struct cprofd *d, void (*fn)(void *ctx), void *ctx)
{
	d->symbols_callback = fn;
	d->symbols_ctx = ctx;
}

int cprofd__build_profile(struct cprofd *d, pid_t pid, void **ret_data, size_t *ret_size,
			  struct cprofd_summary *ret_summary)
{
	struct session *s = cprofd__find_session(d, pid);
	int err;

	if (!s)
		return -ENOENT;
	catch_up(d, s);
	err = profile__build(s, d->stacks, d->processes, d->symbols, ret_data, ret_size,
			     &ret_summary->unmapped);
	if (err)
		return err;
	ret_summary->samples = s->samples;
	ret_summary->lost = session__lost(s);
	ret_summary->duration_ns = session__duration_ns(s);
	ret_summary->stacks = s->n_counts;
	return 0;
}

int cprofd__forget_session(struct cprofd *d, pid_t pid)
{
	struct session *s = cprofd__find_session(d, pid);

	if (!s)
		return -ENOENT;
	cprofd__end_sampling(d, pid);
	d->sessions[s->slot] = NULL;
	d->n_sessions--;
	free_session(d, s);
	return 0;
}

int cprofd__stop_session(struct cprofd *d, pid_t pid, void **ret_data, size_t *ret_size,
			 struct cprofd_summary *ret_summary)
{
	int err = cprofd__end_sampling(d, pid);

	if (!err)
		err = cprofd__build_profile(d, pid, ret_data, ret_size, ret_summary);
	if (!err)
		cprofd__forget_session(d, pid);
	return err;
}

int cprofd__ring_fd(const struct cprofd *d)
{
	return d->epoll_fd;
}

/* Whether the session's process is gone, even if its pid names another now. */
static bool target_gone(const struct session *s)
{
	uint64_t start_ticks;

	return proc_stat__start_ticks(s->pid, &start_ticks) == -ESRCH ||
	       (start_ticks != s->start_ticks);
}

/*
 * Marks running sessions whose target is gone. A session with a pidfd is
 * checked only once the pidfd says its process exited (one poll() for all);
 * the others read /proc/PID/stat every time. The check itself stays the
 * one by start time, so a zombie counts as running as it did before.
 */
static void check_targets(struct cprofd *d)
{
	struct pollfd fds[CPROF_MAX_SESSIONS];
	struct session *polled[CPROF_MAX_SESSIONS];
	int n = 0;

	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++) {
		struct session *s = d->sessions[slot];

		if (!s || s->stop_mono_ns || s->target_exited)
			continue;
		if (s->pidfd >= 0) {
			fds[n] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
			polled[n++] = s;
		} else if (target_gone(s)) {
			s->target_exited = true;
			/* Nothing more to sample; the pid may soon name another process. */
			bpf_sampler__remove_target(d->sampler, s->pid);
		}
	}
	if (n == 0 || poll(fds, n, 0) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (fds[i].revents && target_gone(polled[i])) {
			polled[i]->target_exited = true;
			bpf_sampler__remove_target(d->sampler, polled[i]->pid);
		}
	}
}

int cprofd__drain(struct cprofd *d)
{
	int n;

	if (symbolizer__collect(d->symbols) > 0 && d->symbols_callback)
		d->symbols_callback(d->symbols_ctx);
	if (!d->sampler)
		return 0;
	if (d->unwind)
		unwind_tables__collect(d->unwind);
	n = bpf_sampler__drain(d->sampler);
	drain_task_events(d);
	continuous__tick(d->continuous);
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++) {
		struct session *s = d->sessions[slot];

		if (s && !s->stop_mono_ns)
			cprofd__refresh_counters(d, s);
	}
	check_targets(d);
	return n;
}

size_t cprofd__n_sessions(const struct cprofd *d)
{
	return d->n_sessions;
}

size_t cprofd__session_pids(const struct cprofd *d, pid_t *ret_pids, size_t max)
{
	size_t n = 0;

	for (int slot = 0; slot < CPROF_MAX_SESSIONS && n < max; slot++)
		if (d->sessions[slot])
			ret_pids[n++] = d->sessions[slot]->pid;
	return n;
}

uint64_t cprofd__total_samples(const struct cprofd *d)
{
	return d->total_samples;
}
