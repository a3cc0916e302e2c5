// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "bpf_sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "profile.skel.h"
#include "unwind/unwind_tables.h"

/* The other unwind maps, sized from the rows: a page index entry per 4 rows, at least 1024. */
#define UNWIND_FILES 4096
#define UNWIND_RULES 65536
#define UNWIND_PROCS 8192

/* An array map of ours, mmap()ed. */
struct mapped_array {
	void *base;
	size_t bytes;
};

/* The inode of the initial PID namespace (PROC_PID_INIT_INO), fixed by the kernel. */
#define INITIAL_PIDNS_INO 0xEFFFFFFCu

/*
 * The cpu-clock events of one consumer: one per online CPU while attached,
 * each link owning its perf event's fd and closing it.
 */
struct event_set {
	struct bpf_link **links;
	int n_links;
	unsigned int hz; /* 0: detached */
};

struct bpf_sampler {
	struct profile_bpf *skel;
	struct ring_buffer *ring;
	bpf_sampler_record_fn on_record;
	void *ctx;
	size_t ring_bytes;
	/* Read-only views of the ring's consumer and producer positions. */
	const unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	size_t page_size;
	int n_cpus; /* possible CPUs: size of per-CPU values */
	/* Sessions' events (CPROF_EVENT_SESSIONS) and continuous mode's. */
	struct event_set sessions, continuous;
	struct bpf_link *fork_link, *exec_link, *exit_link; /* following children, while attached */
	bool unwind; /* the unwind maps are sized and mapped */
	struct mapped_array unwind_files, unwind_rows, unwind_pages, unwind_rules;
};

/* Sizes the unwind maps before load: their real sizes, or one entry each (unwinding off). */
static int size_unwind_maps(struct bpf_sampler *s, size_t rows)
{
	struct profile_bpf *k = s->skel;
	/* A page of code holds ~70 rows in libc, ~50 in python3: 16 leaves room for sparse code. */
	size_t pages = rows / 16 > 1024 ? rows / 16 : 1024;
	int err;

	if (!rows)
		return bpf_map__set_max_entries(k->maps.unwind_files, 1) ?:
			       bpf_map__set_max_entries(k->maps.unwind_rows, 1) ?:
			       bpf_map__set_max_entries(k->maps.unwind_pages, 1) ?:
			       bpf_map__set_max_entries(k->maps.unwind_rules, 1) ?:
			       bpf_map__set_max_entries(k->maps.unwind_procs, 1);
	if (rows > UINT32_MAX)
		return -E2BIG;
	err = bpf_map__set_max_entries(k->maps.unwind_files, UNWIND_FILES) ?:
		      bpf_map__set_max_entries(k->maps.unwind_rows, rows) ?:
		      bpf_map__set_max_entries(k->maps.unwind_pages, pages) ?:
		      bpf_map__set_max_entries(k->maps.unwind_rules, UNWIND_RULES) ?:
		      bpf_map__set_max_entries(k->maps.unwind_procs, UNWIND_PROCS);
	s->unwind = !err;
	return err;
}

static int map_array(struct bpf_map *map, struct mapped_array *ret)
{
	size_t page = sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)bpf_map__max_entries(map) * bpf_map__value_size(map);
	void *base;

	bytes = (bytes + page - 1) & ~(page - 1);
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (base == MAP_FAILED)
		return -errno;
	*ret = (struct mapped_array){ base, bytes };
	return 0;
}

static void unmap_array(struct mapped_array *a)
{
	if (a->base)
		munmap(a->base, a->bytes);
	a->base = NULL;
}

static void unmap_unwind(struct bpf_sampler *s)
{
	unmap_array(&s->unwind_files);
	unmap_array(&s->unwind_rows);
	unmap_array(&s->unwind_pages);
	unmap_array(&s->unwind_rules);
}

int bpf_sampler__unwind_maps(struct bpf_sampler *s, struct unwind_maps *ret)
{
	struct profile_bpf *k = s->skel;

	if (!s->unwind)
		return -ENOTSUP;
	*ret = (struct unwind_maps){
		.files = s->unwind_files.base,
		.max_files = bpf_map__max_entries(k->maps.unwind_files),
		.rows = s->unwind_rows.base,
		.max_rows = bpf_map__max_entries(k->maps.unwind_rows),
		.pages = s->unwind_pages.base,
		.max_pages = bpf_map__max_entries(k->maps.unwind_pages),
		.rules = s->unwind_rules.base,
		.max_rules = bpf_map__max_entries(k->maps.unwind_rules),
		.procs_fd = bpf_map__fd(k->maps.unwind_procs),
		.max_procs = bpf_map__max_entries(k->maps.unwind_procs),
	};
	return 0;
}

static int ring_callback(void *ctx, void *data, size_t size)
{
	struct bpf_sampler *s = ctx;

	s->on_record(s->ctx, data, size);
	return 0;
}

static bool is_power_of_two(size_t x)
{
	return x && !(x & (x - 1));
}

struct bpf_sampler *bpf_sampler__new(const struct bpf_sampler_options *opts)
{
	struct bpf_sampler *s;
	struct stat pidns;
	int err, fd;

	if (!opts->on_record || !is_power_of_two(opts->ring_buffer_bytes) ||
	    opts->ring_buffer_bytes < (size_t)sysconf(_SC_PAGESIZE)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->on_record = opts->on_record;
	s->ctx = opts->ctx;
	s->ring_bytes = opts->ring_buffer_bytes;
	s->page_size = sysconf(_SC_PAGESIZE);
	s->n_cpus = libbpf_num_possible_cpus();
	if (s->n_cpus <= 0) {
		err = s->n_cpus ? s->n_cpus : -EINVAL;
		goto err_free;
	}

	s->skel = profile_bpf__open();
	if (!s->skel) {
		err = -errno;
		goto err_free;
	}
	err = bpf_map__set_max_entries(s->skel->maps.records, s->ring_bytes);
	err = err ?: size_unwind_maps(s, opts->unwind_rows);
	if (err)
		goto err_destroy;
	s->skel->rodata->ns_per_clock_tick = 1000000000ull / sysconf(_SC_CLK_TCK);
	s->skel->rodata->wakeup_bytes = opts->wakeup_bytes ? opts->wakeup_bytes : s->ring_bytes / 2;
	/* In a PID namespace of its own, the daemon names processes by its pids. */
	if (stat("/proc/self/ns/pid", &pidns) == 0 && pidns.st_ino != INITIAL_PIDNS_INO) {
		s->skel->rodata->pidns_dev = pidns.st_dev;
		s->skel->rodata->pidns_ino = pidns.st_ino;
	}
	err = profile_bpf__load(s->skel);
	if (err)
		goto err_destroy;
	if (s->unwind) {
		err = map_array(s->skel->maps.unwind_files, &s->unwind_files) ?:
			      map_array(s->skel->maps.unwind_rows, &s->unwind_rows) ?:
			      map_array(s->skel->maps.unwind_pages, &s->unwind_pages) ?:
			      map_array(s->skel->maps.unwind_rules, &s->unwind_rules);
		if (err)
			goto err_unmap;
	}

	fd = bpf_map__fd(s->skel->maps.records);
	s->ring = ring_buffer__new(fd, ring_callback, s, NULL);
	if (!s->ring) {
		err = -errno;
		goto err_destroy;
	}
	s->consumer_pos = mmap(NULL, s->page_size, PROT_READ, MAP_SHARED, fd, 0);
	if (s->consumer_pos == MAP_FAILED) {
		err = -errno;
		goto err_ring;
	}
	s->producer_pos = mmap(NULL, s->page_size, PROT_READ, MAP_SHARED, fd, s->page_size);
	if (s->producer_pos == MAP_FAILED) {
		err = -errno;
		goto err_consumer;
	}
	return s;

err_consumer:
	munmap((void *)s->consumer_pos, s->page_size);
err_ring:
	ring_buffer__free(s->ring);
err_unmap:
	unmap_unwind(s);
err_destroy:
	profile_bpf__destroy(s->skel);
err_free:
	free(s);
	errno = -err;
	return NULL;
}

void bpf_sampler__free(struct bpf_sampler *s)
{
	if (!s)
		return;
	bpf_sampler__detach(s);
	bpf_sampler__detach_continuous(s);
	munmap((void *)s->producer_pos, s->page_size);
	munmap((void *)s->consumer_pos, s->page_size);
	ring_buffer__free(s->ring);
	unmap_unwind(s);
	profile_bpf__destroy(s->skel);
	free(s);
}

/*
 * Reads a CPU list such as "0-3,8,10-11" into a mask of n_cpus entries.
 * Returns 0 or a negative errno.
 */
static int read_online_cpus(bool *online, int n_cpus)
{
	char buf[4096], *p, *end;
	ssize_t n;
	int fd;

	fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	for (p = buf; *p && *p != '\n';) {
		unsigned long first, last;

		errno = 0;
		first = last = strtoul(p, &end, 10);
		if (errno || end == p)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			last = strtoul(++p, &end, 10);
			if (errno || end == p || last < first)
				return -EINVAL;
			p = end;
		}
		for (unsigned long cpu = first; cpu <= last && cpu < (unsigned long)n_cpus; cpu++)
			online[cpu] = true;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int open_cpu_clock(int cpu, unsigned int hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		/* A fixed period in ns, so every sample weighs exactly 1e9/hz. */
		.sample_period = 1000000000ull / hz,
		.freq = 0,
	};
	int fd;

	fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void detach_events(struct event_set *set)
{
	/*
	 * Destroying a perf event link closes the event's fd too: closing it
	 * again here would close whatever took its number since (a client's
	 * connection, as it happened).
	 */
	for (int i = 0; i < set->n_links; i++)
		bpf_link__destroy(set->links[i]);
	free(set->links);
	*set = (struct event_set){};
}

/* Opens a cpu-clock event at hz on every online CPU, each running the program with cookie. */
static int attach_events(struct bpf_sampler *s, struct event_set *set, unsigned int hz,
			 __u64 cookie)
{
	LIBBPF_OPTS(bpf_perf_event_opts, opts, .bpf_cookie = cookie);
	bool *online;
	int err, cpu;

	if (hz == 0)
		return -EINVAL;
	if (set->links)
		return set->hz == hz ? 0 : -EBUSY;
	online = calloc(s->n_cpus, sizeof(*online));
	if (!online)
		return -ENOMEM;
	err = read_online_cpus(online, s->n_cpus);
	if (err)
		goto out;
	set->links = calloc(s->n_cpus, sizeof(*set->links));
	if (!set->links) {
		err = -ENOMEM;
		goto out;
	}
	for (cpu = 0; cpu < s->n_cpus; cpu++) {
		int fd;

		if (!online[cpu])
			continue;
		fd = open_cpu_clock(cpu, hz);
		if (fd < 0) {
			/* A CPU can go offline between reading the mask and here. */
			if (fd == -ENODEV)
				continue;
			err = fd;
			goto out;
		}
		set->links[set->n_links] =
			bpf_program__attach_perf_event_opts(s->skel->progs.cprof_sample, fd, &opts);
		if (!set->links[set->n_links]) {
			err = -errno;
			close(fd); /* not the link's: it was not made */
			goto out;
		}
		set->n_links++;
	}
	set->hz = hz;
out:
	free(online);
	if (err)
		detach_events(set);
	return err;
}

int bpf_sampler__attach(struct bpf_sampler *s, unsigned int hz)
{
	int err;

	if (s->sessions.links)
		return s->sessions.hz == hz ? 0 : -EBUSY;
	err = attach_events(s, &s->sessions, hz, CPROF_EVENT_SESSIONS);
	if (err)
		return err;
	s->fork_link = bpf_program__attach(s->skel->progs.cprof_fork);
	if (!s->fork_link) {
		err = -errno;
		goto err_detach;
	}
	s->exec_link = bpf_program__attach(s->skel->progs.cprof_exec);
	if (!s->exec_link) {
		err = -errno;
		goto err_detach;
	}
	s->exit_link = bpf_program__attach(s->skel->progs.cprof_exit);
	if (!s->exit_link) {
		err = -errno;
		goto err_detach;
	}
	return 0;

err_detach:
	bpf_sampler__detach(s);
	return err;
}

void bpf_sampler__detach(struct bpf_sampler *s)
{
	bpf_link__destroy(s->fork_link);
	bpf_link__destroy(s->exec_link);
	bpf_link__destroy(s->exit_link);
	s->fork_link = s->exec_link = s->exit_link = NULL;
	detach_events(&s->sessions);
}

unsigned int bpf_sampler__hz(const struct bpf_sampler *s)
{
	return s->sessions.hz;
}

int bpf_sampler__attach_continuous(struct bpf_sampler *s, unsigned int hz)
{
	return attach_events(s, &s->continuous, hz, CPROF_EVENT_CONTINUOUS);
}

void bpf_sampler__detach_continuous(struct bpf_sampler *s)
{
	detach_events(&s->continuous);
}

unsigned int bpf_sampler__continuous_hz(const struct bpf_sampler *s)
{
	return s->continuous.hz;
}

int bpf_sampler__add_target(struct bpf_sampler *s, pid_t tgid, uint64_t start_clock_ticks,
			    uint32_t slot, uint32_t flags)
{
	struct cprof_target target = { .session_slot = slot,
				       .flags = flags,
				       .start_clock_ticks = start_clock_ticks };
	__u32 key = tgid;

	if (slot >= CPROF_MAX_SESSIONS)
		return -EINVAL;
	if (bpf_map__update_elem(s->skel->maps.targets, &key, sizeof(key), &target, sizeof(target),
				 BPF_NOEXIST))
		return -errno;
	return 0;
}

int bpf_sampler__remove_target(struct bpf_sampler *s, pid_t tgid)
{
	__u32 key = tgid;

	if (bpf_map__delete_elem(s->skel->maps.targets, &key, sizeof(key), 0))
		return -errno;
	return 0;
}

/* One pass over the map deleting the slot's entries; returns how many it deleted. */
static int remove_slot_pass(struct bpf_sampler *s, uint32_t slot)
{
	const struct bpf_map *map = s->skel->maps.targets;
	__u32 key, next, deleted[64];
	struct cprof_target target;
	int n = 0, total = 0;
	bool first = true;

	/*
	 * Deleting the key being iterated from restarts the walk in a hash
	 * map, so collect a batch of keys, then delete them.
	 */
	for (;;) {
		if (bpf_map__get_next_key(map, first ? NULL : &key, &next, sizeof(next)))
			break;
		first = false;
		key = next;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &target, sizeof(target), 0) ||
		    target.session_slot != slot)
			continue;
		deleted[n++] = key;
		if (n == (int)(sizeof(deleted) / sizeof(deleted[0])))
			break;
	}
	for (int i = 0; i < n; i++)
		if (bpf_map__delete_elem(map, &deleted[i], sizeof(deleted[i]), 0) == 0)
			total++;
	return total;
}

int bpf_sampler__remove_slot_targets(struct bpf_sampler *s, uint32_t slot)
{
	int n, total = 0, quiet_passes = 0;

	/*
	 * A target forking while the map is walked may add a child behind the
	 * walk: go on until two passes in a row find nothing (its parent is gone
	 * by then, so no more can come).
	 */
	for (int pass = 0; pass < 1000 && quiet_passes < 2; pass++) {
		n = remove_slot_pass(s, slot);
		total += n;
		quiet_passes = n ? 0 : quiet_passes + 1;
	}
	return total;
}

int bpf_sampler__read_counters(struct bpf_sampler *s, uint32_t slot,
			       struct cprof_session_counters *ret_counters)
{
	struct cprof_session_counters *per_cpu, sum = {};
	__u32 key = slot;
	int err = 0;

	per_cpu = calloc(s->n_cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map__lookup_elem(s->skel->maps.session_counters, &key, sizeof(key), per_cpu,
				 s->n_cpus * sizeof(*per_cpu), 0)) {
		err = -errno;
		goto out;
	}
	for (int cpu = 0; cpu < s->n_cpus; cpu++) {
		sum.fired += per_cpu[cpu].fired;
		sum.lost_ring_full += per_cpu[cpu].lost_ring_full;
		sum.user_stack_errors += per_cpu[cpu].user_stack_errors;
		sum.kernel_stack_errors += per_cpu[cpu].kernel_stack_errors;
		sum.other_process += per_cpu[cpu].other_process;
		sum.children_untracked += per_cpu[cpu].children_untracked;
	}
	*ret_counters = sum;
out:
	free(per_cpu);
	return err;
}

int bpf_sampler__reset_counters(struct bpf_sampler *s, uint32_t slot)
{
	struct cprof_session_counters *zeros;
	__u32 key = slot;
	int err = 0;

	zeros = calloc(s->n_cpus, sizeof(*zeros));
	if (!zeros)
		return -ENOMEM;
	if (bpf_map__update_elem(s->skel->maps.session_counters, &key, sizeof(key), zeros,
				 s->n_cpus * sizeof(*zeros), BPF_ANY))
		err = -errno;
	free(zeros);
	return err;
}

int bpf_sampler__ring_fd(const struct bpf_sampler *s)
{
	return ring_buffer__epoll_fd(s->ring);
}

int bpf_sampler__drain(struct bpf_sampler *s)
{
	return ring_buffer__consume(s->ring);
}

size_t bpf_sampler__ring_bytes(const struct bpf_sampler *s)
{
	return s->ring_bytes;
}

size_t bpf_sampler__ring_used_bytes(const struct bpf_sampler *s)
{
	unsigned long producer = __atomic_load_n(s->producer_pos, __ATOMIC_ACQUIRE);
	unsigned long consumer = __atomic_load_n(s->consumer_pos, __ATOMIC_ACQUIRE);

	return producer - consumer;
}

uint32_t bpf_sampler__prog_id(const struct bpf_sampler *s)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(s->skel->progs.cprof_sample), &info, &len))
		return 0;
	return info.id;
}
