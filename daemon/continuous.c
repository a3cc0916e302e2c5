// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "continuous.h"
#include "cprofd_impl.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "procs/cgroup.h"
#include "procs/process_table.h"
#include "procs/proc_maps.h"
#include "procs/proc_stat.h"
#include "profiles/pprof.h"
#include "profiles/profile.h"
#include "profiles/session.h"
#include "sampler/bpf_sampler.h"
#include "store/query.h"
#include "store/window_store.h"
#include "symbols/symbolizer.h"
#include "util/clock.h"
#include "util/worker.h"

/* Finished windows waiting for their symbols or their write, at most. */
#define CONTINUOUS_MAX_CLOSING 4
/* A closing window is advanced this long per drain, so the loop stays free. */
#define CLOSING_SLICE_NS 5000000ull
/* How long a window waits for binaries still loading; then unknown frames stay file+offset. */
#define SYMBOLS_WAIT_NS 10000000000ull
/* Processes labelled in one window; past it their samples count, unlabelled. */
#define WINDOW_MAX_PROCESSES 65536
#define WINDOW_MIN_PROCESSES 64
#define LABEL_MAX 4096

/* A process seen in a window: what labels it, from its samples and, at the end, /proc. */
struct window_proc {
	pid_t pid; /* 0: a free slot */
	uint32_t uid;
	uint64_t start_ns; /* CLOCK_BOOTTIME */
	uint64_t cgroup_id;
	uint64_t samples, lost;
	char comm[CPROF_COMM_LEN]; /* the main thread's, else the first thread's */
	/* Resolved when the window ends; malloc'd or NULL. */
	char *exe, *build_id, *cgroup, *unit, *container;
};

struct window {
	struct session *session; /* counts of every process: pid 0, the continuous slot */
	int64_t start_wall_ns, end_wall_ns;
	uint64_t end_mono_ns; /* the end in the records' clock */
	struct window_proc *procs; /* open addressing by pid */
	size_t n_procs, procs_capacity;
	uint64_t unlabelled; /* samples of processes past WINDOW_MAX_PROCESSES */
	uint64_t lost_ring_full_base; /* the kernel's count at the window's start */
	uint64_t closed_mono_ns;
	bool labels_resolved;
	struct profile_prepare prepare;
	struct window *next;
};

/* A finished window on its way to disk, owning copies of all it carries. */
struct write_job {
	struct worker_job job;
	struct window_store *store;
	struct store_window window;
	struct store_process *procs;
	char **strings; /* to free */
	size_t n_strings;
	void *profile;
	int64_t now_ns;
	int err;
};

struct continuous {
	struct cprofd *d;
	struct continuous_options opts;
	char *history_dir;
	struct window_store *store;
	struct worker *writer;
	struct cgroup_names *cgroups;
	char host[HOST_NAME_MAX + 1];
	uint64_t ns_per_tick;
	struct window *current;
	struct window *closing, *closing_tail; /* oldest first */
	size_t n_closing;
	/* Counters, since start. */
	uint64_t samples, lost, windows_built, windows_written, windows_dropped;
	uint64_t build_errors, write_errors, unlabelled;
	int last_write_error;
	uint64_t build_ns; /* CPU time the loop spent building windows */
};

static void free_window(struct continuous *c, struct window *w)
{
	if (!w)
		return;
	session__free(w->session, c->d->stacks, c->d->processes);
	for (size_t i = 0; i < w->procs_capacity; i++) {
		struct window_proc *p = &w->procs[i];

		free(p->exe);
		free(p->build_id);
		free(p->cgroup);
		free(p->unit);
		free(p->container);
	}
	free(w->procs);
	free(w);
}

/* CPU time of this thread: what a build costs, whatever else runs on the machine. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t lost_ring_full(struct continuous *c)
{
	struct cprof_session_counters counters;

	if (!c->d->sampler ||
	    bpf_sampler__read_counters(c->d->sampler, CPROF_CONTINUOUS_SLOT, &counters))
		return 0;
	return counters.lost_ring_full;
}

/* Opens the window that holds now: aligned on the wall clock to a multiple of its length. */
static struct window *open_window(struct continuous *c, int64_t now_wall, uint64_t now_mono)
{
	int64_t length = (int64_t)c->opts.window_ns;
	struct window *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->session = session__new(0, CPROF_CONTINUOUS_SLOT, c->opts.hz);
	w->procs = calloc(WINDOW_MIN_PROCESSES, sizeof(*w->procs));
	if (!w->session || !w->procs) {
		free_window(c, w);
		return NULL;
	}
	w->procs_capacity = WINDOW_MIN_PROCESSES;
	w->session->children = true; /* every process, not one */
	w->start_wall_ns = now_wall - now_wall % length;
	w->end_wall_ns = w->start_wall_ns + length;
	w->end_mono_ns = now_mono + (uint64_t)(w->end_wall_ns - now_wall);
	w->session->start_wall_ns = w->start_wall_ns;
	w->session->start_mono_ns = now_mono - (uint64_t)(now_wall - w->start_wall_ns);
	w->lost_ring_full_base = lost_ring_full(c);
	return w;
}

static size_t proc_slot(pid_t pid, size_t capacity)
{
	return (((uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15ull) >> 32) & (capacity - 1);
}

static int grow_procs(struct window *w)
{
	size_t capacity = w->procs_capacity * 2;
	struct window_proc *procs;

	if (w->n_procs * 2 < w->procs_capacity)
		return 0;
	if (capacity > 2 * WINDOW_MAX_PROCESSES)
		return -ENOSPC;
	procs = calloc(capacity, sizeof(*procs));
	if (!procs)
		return -ENOMEM;
	for (size_t i = 0; i < w->procs_capacity; i++) {
		size_t j;

		if (!w->procs[i].pid)
			continue;
		for (j = proc_slot(w->procs[i].pid, capacity); procs[j].pid; j = (j + 1) & (capacity - 1))
			;
		procs[j] = w->procs[i];
	}
	free(w->procs);
	w->procs = procs;
	w->procs_capacity = capacity;
	return 0;
}

static struct window_proc *find_proc(const struct window *w, pid_t pid)
{
	for (size_t i = proc_slot(pid, w->procs_capacity);; i = (i + 1) & (w->procs_capacity - 1)) {
		if (w->procs[i].pid == pid)
			return &w->procs[i];
		if (!w->procs[i].pid)
			return NULL;
	}
}

/* pid's entry in w, added if new; NULL past the bound. */
static struct window_proc *add_proc(struct window *w, pid_t pid)
{
	struct window_proc *p = find_proc(w, pid);
	size_t i;

	if (p)
		return p;
	if (w->n_procs >= WINDOW_MAX_PROCESSES || grow_procs(w))
		return NULL;
	for (i = proc_slot(pid, w->procs_capacity); w->procs[i].pid; i = (i + 1) & (w->procs_capacity - 1))
		;
	w->procs[i].pid = pid;
	w->n_procs++;
	return &w->procs[i];
}

/*
 * Ends the window in progress: it joins the closing queue (the oldest
 * dropped, counted, if the queue is full) and the next window opens. The
 * new window holds the processes the old one sampled, so their maps are not
 * read again for it; those it does not sample are let go at its own end.
 */
static void cut_window(struct continuous *c, uint64_t now_mono)
{
	struct window *old = c->current, *next;

	next = open_window(c, realtime_ns(), now_mono);
	if (!next)
		return; /* keep counting into the old one; try again next drain */
	if (old) {
		old->closed_mono_ns = now_mono;
		old->session->stop_mono_ns = old->session->start_mono_ns +
					     (uint64_t)(old->end_wall_ns - old->start_wall_ns);
		if (old->session->stop_mono_ns > now_mono)
			old->session->stop_mono_ns = now_mono;
		old->session->kernel.lost_ring_full = lost_ring_full(c) - old->lost_ring_full_base;
		c->lost += old->session->kernel.lost_ring_full;
		next->lost_ring_full_base = old->lost_ring_full_base +
					    old->session->kernel.lost_ring_full;
		for (size_t i = 0; i < old->procs_capacity; i++)
			if (old->procs[i].pid)
				session__hold_process(next->session, c->d->processes,
						      old->procs[i].pid);
		if (c->n_closing == CONTINUOUS_MAX_CLOSING) {
			struct window *dropped = c->closing;

			c->closing = dropped->next;
			c->n_closing--;
			c->windows_dropped++;
			free_window(c, dropped);
			if (!c->closing)
				c->closing_tail = NULL;
		}
		if (c->closing_tail)
			c->closing_tail->next = old;
		else
			c->closing = old;
		c->closing_tail = old;
		c->n_closing++;
	}
	c->current = next;
}

struct session *continuous__session_for(struct continuous *c,
					 const struct cprof_sample_record *r)
{
	if (c->current && r->time_ns >= c->current->end_mono_ns)
		cut_window(c, monotonic_ns());
	return c->current ? c->current->session : NULL;
}

void continuous__count(struct continuous *c, const struct cprof_sample_record *r, bool lost)
{
	struct window *w = c->current;
	struct window_proc *p;

	if (!w)
		return;
	c->samples += !lost;
	c->lost += lost;
	p = add_proc(w, (pid_t)r->tgid);
	if (!p) {
		w->unlabelled++;
		c->unlabelled++;
		return;
	}
	if (!p->samples && !p->lost) {
		p->uid = r->uid;
		p->start_ns = r->process_start_ns;
		p->cgroup_id = r->cgroup_id;
	}
	/*
	 * The main thread's name is the process's, as its latest sample has it:
	 * a sample taken before exec still has the parent's.
	 */
	if (r->tid == r->tgid || !p->comm[0]) {
		memcpy(p->comm, r->comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = '\0';
	}
	if (lost)
		p->lost++;
	else
		p->samples++;
}

/* A label's copy, cut at LABEL_MAX bytes; NULL for none or empty. */
static char *dup_bounded(const char *s)
{
	size_t n = s ? strnlen(s, LABEL_MAX) : 0;
	char *copy = n ? malloc(n + 1) : NULL;

	if (copy) {
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	return copy;
}

/* Whether p's pid still names p's process (not one that took the pid since). */
static bool process_is(const struct continuous *c, const struct window_proc *p)
{
	uint64_t ticks;

	return !proc_stat__start_ticks(p->pid, &ticks) && ticks == p->start_ns / c->ns_per_tick;
}

/* The labels a window's process gets from /proc, its maps and its cgroup, at the window's end. */
static void resolve_labels(struct continuous *c, struct window *w)
{
	char path[LABEL_MAX], name[256];

	for (size_t i = 0; i < w->procs_capacity; i++) {
		struct window_proc *p = &w->procs[i];
		const struct proc_map *m;

		if (!p->pid)
			continue;
		m = process_table__main_mapping(c->d->processes, p->pid);
		if (m && m->path) {
			struct symbolizer_file file = {
				.path = m->path,
				.dev = makedev(m->dev_major, m->dev_minor),
				.inode = m->inode,
				.pid = p->pid,
				.map_start = m->start,
				.map_end = m->end,
			};
			const char *hex;

			p->exe = dup_bounded(m->path);
			/* Loaded by now for most: its frames were looked up. */
			if (!symbolizer__file_build_id(c->d->symbols, &file, &hex))
				p->build_id = dup_bounded(hex);
		}
		/*
		 * By the id the kernel gave, which outlives the process; where
		 * cgroup v2 is not mounted (or the process sits at its root, as on
		 * a v1 machine), from /proc, while the process is still there.
		 */
		if ((!c->cgroups || !p->cgroup_id ||
		     cgroup_names__lookup(c->cgroups, p->cgroup_id, path, sizeof(path)) ||
		     !strcmp(path, "/")) &&
		    (!process_is(c, p) || cgroup__read_pid(p->pid, path, sizeof(path))))
			path[0] = '\0';
		if (path[0]) {
			p->cgroup = dup_bounded(path);
			if (!cgroup__systemd_unit(path, name, sizeof(name)))
				p->unit = dup_bounded(name);
			if (!cgroup__container_id(path, name, sizeof(name)))
				p->container = dup_bounded(name);
		}
	}
	w->labels_resolved = true;
}

static size_t labels_of(void *ctx, pid_t tgid, struct pprof_label *ret, size_t max)
{
	struct continuous *c = ((void **)ctx)[0];
	const struct window *w = ((void **)ctx)[1];
	const struct window_proc *p = find_proc(w, tgid);
	size_t n = 0;

#define ADD_LABEL(k, v)                                                                            \
	do {                                                                                       \
		if ((v) && n < max)                                                                \
			ret[n++] = (struct pprof_label){ .key = (k), .str = (v) };                 \
	} while (0)
	if (p) {
		ADD_LABEL("comm", p->comm[0] ? p->comm : NULL);
		ADD_LABEL("exe", p->exe);
		ADD_LABEL("build_id", p->build_id);
		ADD_LABEL("cgroup", p->cgroup);
		ADD_LABEL("unit", p->unit);
		ADD_LABEL("container_id", p->container);
	}
	ADD_LABEL("host", c->host[0] ? c->host : NULL);
#undef ADD_LABEL
	return n;
}

static void release_write(struct worker_job *job)
{
	struct write_job *j = (struct write_job *)job;

	for (size_t i = 0; i < j->n_strings; i++)
		free(j->strings[i]);
	free(j->strings);
	free(j->procs);
	free(j->profile);
	free(j);
}

static void run_write(struct worker_job *job, struct worker *worker)
{
	struct write_job *j = (struct write_job *)job;

	j->err = window_store__put(j->store, &j->window, j->now_ns);
}

/* Moves a window's label strings into the job, which frees them after the write. */
static const char *take_string(struct write_job *j, char **s)
{
	char *taken = *s;

	if (!taken)
		return NULL;
	*s = NULL;
	j->strings[j->n_strings++] = taken;
	return taken;
}

/* The write of a built window, with the store's view of its processes. */
static struct write_job *write_job_of(struct continuous *c, struct window *w, void *profile,
				      size_t size)
{
	struct write_job *j = calloc(1, sizeof(*j));
	size_t n = 0;

	if (!j)
		return NULL;
	j->procs = calloc(w->n_procs ? w->n_procs : 1, sizeof(*j->procs));
	j->strings = calloc(w->n_procs * 5 + 1, sizeof(*j->strings));
	if (!j->procs || !j->strings) {
		release_write(&j->job);
		return NULL;
	}
	for (size_t i = 0; i < w->procs_capacity; i++) {
		struct window_proc *p = &w->procs[i];
		struct store_process *sp = &j->procs[n];

		if (!p->pid)
			continue;
		sp->pid = p->pid;
		sp->uid = p->uid;
		sp->start_ticks = p->start_ns / c->ns_per_tick;
		sp->samples = p->samples;
		sp->lost = p->lost;
		memcpy(sp->comm, p->comm, sizeof(sp->comm));
		sp->exe = take_string(j, &p->exe);
		sp->build_id = take_string(j, &p->build_id);
		sp->cgroup = take_string(j, &p->cgroup);
		sp->unit = take_string(j, &p->unit);
		sp->container = take_string(j, &p->container);
		n++;
	}
	j->job.run = run_write;
	j->job.release = release_write;
	j->store = c->store;
	j->profile = profile;
	j->now_ns = realtime_ns();
	j->window = (struct store_window){
		.start_ns = w->start_wall_ns,
		.end_ns = w->end_wall_ns,
		.hz = c->opts.hz,
		.samples = w->session->samples,
		.lost = session__lost(w->session),
		.processes = j->procs,
		.n_processes = n,
		.profile = profile,
		.profile_size = size,
	};
	return j;
}

/* Builds the oldest closing window and hands it to the writer; it leaves the queue. */
static void build_window(struct continuous *c, struct window *w, bool sync)
{
	void *ctx[2] = { c, w };
	struct profile_labels labels = { .of_process = labels_of, .ctx = ctx };
	uint64_t started = thread_cpu_ns(), unmapped;
	struct write_job *j = NULL;
	void *data = NULL;
	size_t size;
	int err;

	err = profile__build_labelled(w->session, c->d->stacks, c->d->processes, c->d->symbols,
				      &labels, &data, &size, &unmapped);
	c->build_ns += thread_cpu_ns() - started;
	if (!err) {
		j = write_job_of(c, w, data, size);
		err = j ? 0 : -ENOMEM;
		if (!j)
			free(data);
	}
	if (err) {
		c->build_errors++;
		return;
	}
	c->windows_built++;
	if (sync) {
		run_write(&j->job, c->writer);
		c->windows_written += !j->err;
		c->write_errors += !!j->err;
		if (j->err)
			c->last_write_error = j->err;
		release_write(&j->job);
	} else if (worker__submit(c->writer, &j->job)) {
		c->windows_dropped++;
		release_write(&j->job);
	}
}

static void pop_closing(struct continuous *c)
{
	struct window *w = c->closing;

	c->closing = w->next;
	if (!c->closing)
		c->closing_tail = NULL;
	c->n_closing--;
	free_window(c, w);
}

/* Advances the oldest closing window: labels, then symbols (in a slice), then the build. */
static void advance_closing(struct continuous *c)
{
	struct window *w = c->closing;
	int err;

	if (!w)
		return;
	if (!w->labels_resolved)
		resolve_labels(c, w);
	err = profile__prepare(w->session, c->d->stacks, c->d->processes, c->d->symbols,
			       &w->prepare, CLOSING_SLICE_NS);
	if (err == -EINPROGRESS)
		return;
	if (err == -EAGAIN && monotonic_ns() - w->closed_mono_ns < SYMBOLS_WAIT_NS)
		return; /* binaries loading: the next drain looks again */
	build_window(c, w, false);
	pop_closing(c);
}

static void collect_writes(struct continuous *c)
{
	struct worker_job *job = worker__take_done(c->writer);

	while (job) {
		struct write_job *j = (struct write_job *)job;

		job = job->next;
		c->windows_written += !j->err;
		c->write_errors += !!j->err;
		if (j->err)
			c->last_write_error = j->err;
		release_write(&j->job);
	}
}

void continuous__tick(struct continuous *c)
{
	uint64_t now = monotonic_ns();

	if (!c)
		return;
	if (!c->current || now >= c->current->end_mono_ns)
		cut_window(c, now);
	collect_writes(c);
	advance_closing(c);
}

int continuous__fd(const struct continuous *c)
{
	return worker__fd(c->writer);
}

struct continuous *continuous__new(struct cprofd *d, const struct continuous_options *opts,
				   const char **ret_what)
{
	struct window_store_options store_opts = {
		.dir = opts->history_dir,
		.max_bytes = opts->history_max_bytes,
		.max_age_ns = opts->history_max_age_ns,
	};
	struct continuous *c = calloc(1, sizeof(*c));
	long ticks = sysconf(_SC_CLK_TCK);
	int err;

	*ret_what = "allocating";
	if (!c)
		return NULL;
	c->d = d;
	c->opts = *opts;
	c->ns_per_tick = ticks > 0 ? 1000000000ull / (uint64_t)ticks : 10000000ull;
	if (gethostname(c->host, sizeof(c->host)))
		c->host[0] = '\0';
	c->host[sizeof(c->host) - 1] = '\0';
	c->history_dir = strdup(opts->history_dir);
	if (!c->history_dir)
		goto err;
	c->opts.history_dir = c->history_dir;
	store_opts.dir = c->history_dir;
	*ret_what = "opening the history";
	c->store = window_store__open(&store_opts);
	if (!c->store)
		goto err;
	*ret_what = "starting the history's writer";
	c->writer = worker__new(CONTINUOUS_MAX_CLOSING * 2);
	if (!c->writer)
		goto err;
	/* Without cgroup names, windows still have every label but cgroup, unit and container. */
	c->cgroups = cgroup_names__new(NULL, 0);
	*ret_what = "opening the first window";
	c->current = open_window(c, realtime_ns(), monotonic_ns());
	if (!c->current)
		goto err;
	*ret_what = "attaching the whole-machine events";
	err = d->sampler ? bpf_sampler__attach_continuous(d->sampler, opts->hz) : -ENODEV;
	if (err) {
		errno = -err;
		goto err;
	}
	return c;
err:
	err = errno;
	continuous__free(c, 0);
	errno = err;
	return NULL;
}

/* Waits, at most until deadline (monotonic ns), for the window's binaries to load. */
static void wait_symbols(struct continuous *c, struct window *w, uint64_t deadline)
{
	struct pollfd pfd = { .fd = symbolizer__fd(c->d->symbols), .events = POLLIN };

	if (!w->labels_resolved)
		resolve_labels(c, w);
	for (;;) {
		uint64_t now;
		int err = profile__prepare(w->session, c->d->stacks, c->d->processes, c->d->symbols,
					   &w->prepare, CLOSING_SLICE_NS);

		if ((err != -EAGAIN && err != -EINPROGRESS) || pfd.fd < 0)
			return;
		now = monotonic_ns();
		if (now >= deadline)
			return;
		if (err == -EAGAIN && poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) > 0)
			symbolizer__collect(c->d->symbols);
	}
}

void continuous__free(struct continuous *c, int timeout_ms)
{
	uint64_t deadline = monotonic_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;

	if (!c)
		return;
	if (c->d->sampler)
		bpf_sampler__detach_continuous(c->d->sampler);
	if (c->writer && c->store) {
		/* What was sampled up to now is a window too, ending now. */
		if (c->current && (c->current->session->samples || c->current->n_procs)) {
			c->current->end_wall_ns = realtime_ns();
			c->current->end_mono_ns = monotonic_ns();
			cut_window(c, c->current->end_mono_ns);
		}
		while (c->closing) {
			wait_symbols(c, c->closing, deadline);
			build_window(c, c->closing, true);
			pop_closing(c);
		}
		/* Writes already queued finish before the worker goes. */
		while (worker__pending(c->writer) && monotonic_ns() < deadline) {
			struct pollfd pfd = { .fd = worker__fd(c->writer), .events = POLLIN };

			poll(&pfd, 1, 100);
			collect_writes(c);
		}
		collect_writes(c);
	}
	while (c->closing)
		pop_closing(c);
	free_window(c, c->current);
	worker__free(c->writer);
	window_store__free(c->store);
	cgroup_names__free(c->cgroups);
	free(c->history_dir);
	free(c);
}

void continuous__stats(const struct continuous *c, struct continuous_stats *ret)
{
	*ret = (struct continuous_stats){
		.hz = c->opts.hz,
		.window_ns = c->opts.window_ns,
		.history_dir = c->history_dir,
		.history_max_bytes = c->opts.history_max_bytes,
		.history_max_age_ns = c->opts.history_max_age_ns,
		.processes = c->current ? c->current->n_procs : 0,
		.windows_in_memory = (c->current != NULL) + c->n_closing,
		.samples = c->samples,
		.lost = c->lost,
		.unlabelled = c->unlabelled,
		.windows_built = c->windows_built,
		.windows_written = c->windows_written,
		.windows_dropped = c->windows_dropped,
		.build_errors = c->build_errors,
		.write_errors = c->write_errors,
		.last_write_error = c->last_write_error,
		.build_ns = c->build_ns,
	};
	window_store__stats(c->store, &ret->store);
}

int continuous__query(struct continuous *c, const struct query_filter *f, uid_t viewer,
		      void **ret_data, size_t *ret_size, struct query_summary *ret_summary)
{
	return query__profile(c->store, f, viewer, ret_data, ret_size, ret_summary);
}

int continuous__list(struct continuous *c, const struct query_filter *f, uid_t viewer,
		     struct json_writer *w)
{
	return query__list(c->store, f, viewer, w);
}
