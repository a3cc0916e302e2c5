// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "task_events.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "util/array.h"
#include "util/clock.h"

/* Records read but not yet handed over, at most: past it the oldest go anyway. */
#define MAX_PENDING_BYTES (16u << 20)
#define MAX_PENDING_RECORDS (MAX_PENDING_BYTES / 16)

struct cpu_buffer {
	int fd;
	struct perf_event_mmap_page *meta;
	const unsigned char *data;
	size_t data_size; /* power of two */
};

/* A record copied out of its buffer, waiting for its turn. */
struct pending {
	uint64_t time_ns;
	uint64_t seq; /* order of reading: keeps equal times in buffer order */
	size_t offset; /* in bytes */
	size_t size;
};

struct task_events {
	struct cpu_buffer *cpus;
	int n_cpus;
	int epoll_fd;
	size_t map_bytes; /* of each buffer's mapping, its header page included */
	unsigned char *bytes; /* pending records' bytes */
	size_t n_bytes, bytes_capacity;
	struct pending *pending;
	size_t n_pending, pending_capacity;
	uint64_t next_seq;
	uint64_t lost;
};

/* perf_event_header + the sample_id that sample_id_all appends: the time alone. */
#define HEADER_BYTES sizeof(struct perf_event_header)
#define SAMPLE_ID_BYTES sizeof(uint64_t)

struct task_record { /* PERF_RECORD_FORK and PERF_RECORD_EXIT */
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

struct mmap2_record { /* PERF_RECORD_MMAP2, before the file name */
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
};

struct comm_record { /* PERF_RECORD_COMM, before the name */
	uint32_t pid, tid;
};

static uint64_t record_time(const unsigned char *data, size_t size)
{
	uint64_t time;

	memcpy(&time, data + size - SAMPLE_ID_BYTES, sizeof(time));
	return time;
}

int task_events__decode(const void *data, size_t size, struct task_event *ret)
{
	const unsigned char *bytes = data;
	struct perf_event_header header;
	size_t body;

	if (size < HEADER_BYTES + SAMPLE_ID_BYTES)
		return -EINVAL;
	memcpy(&header, bytes, sizeof(header));
	if (header.size != size)
		return -EINVAL;
	body = size - HEADER_BYTES - SAMPLE_ID_BYTES;
	memset(ret, 0, sizeof(*ret));
	ret->time_ns = record_time(bytes, size);
	bytes += HEADER_BYTES;

	switch (header.type) {
	case PERF_RECORD_MMAP2: {
		struct mmap2_record m;
		const char *path = (const char *)bytes + sizeof(m);
		size_t path_room = body - sizeof(m);

		if (body <= sizeof(m))
			return -EINVAL;
		memcpy(&m, bytes, sizeof(m));
		/* The name is NUL-padded to 8 bytes: it must end inside the record. */
		if (!memchr(path, '\0', path_room))
			return -EINVAL;
		if (!(m.prot & PROT_EXEC) || m.pid == 0)
			return -ENOENT;
		if (m.len == 0 || m.addr + m.len < m.addr)
			return -EINVAL;
		ret->type = TASK_EVENT_MMAP;
		ret->pid = (pid_t)m.pid;
		ret->start = m.addr;
		ret->end = m.addr + m.len;
		ret->offset = m.pgoff;
		ret->prot = m.prot;
		ret->path = path;
		/* With a build ID in their place, the device and inode are unknown. */
		if (!(header.misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			ret->dev_major = m.maj;
			ret->dev_minor = m.min;
			ret->inode = m.ino;
		}
		return 0;
	}
	case PERF_RECORD_COMM: {
		struct comm_record c;

		if (body <= sizeof(c))
			return -EINVAL;
		memcpy(&c, bytes, sizeof(c));
		if (!(header.misc & PERF_RECORD_MISC_COMM_EXEC) || c.pid == 0)
			return -ENOENT;
		ret->type = TASK_EVENT_EXEC;
		ret->pid = (pid_t)c.pid;
		return 0;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		struct task_record t;

		if (body != sizeof(t))
			return -EINVAL;
		memcpy(&t, bytes, sizeof(t));
		/* A thread's fork stays in its process; only a process's main thread ends it. */
		if (t.pid == 0 || t.tid != t.pid ||
		    (header.type == PERF_RECORD_FORK && t.pid == t.ppid))
			return -ENOENT;
		ret->type = header.type == PERF_RECORD_FORK ? TASK_EVENT_FORK : TASK_EVENT_EXIT;
		ret->pid = (pid_t)t.pid;
		ret->parent_pid = (pid_t)t.ppid;
		return 0;
	}
	default:
		return -ENOENT;
	}
}

static int open_cpu(int cpu, size_t bytes_per_cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.sample_type = PERF_SAMPLE_TIME,
		.sample_id_all = 1,
		.mmap = 1, /* executable mappings only: mmap_data stays 0 */
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
		.watermark = 1,
		.wakeup_watermark = bytes_per_cpu / 4,
	};
	int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

struct task_events *task_events__open(size_t bytes_per_cpu)
{
	size_t page = sysconf(_SC_PAGESIZE);
	struct task_events *t;
	int n_cpus, err;

	if (bytes_per_cpu < 2 * page || (bytes_per_cpu & (bytes_per_cpu - 1))) {
		errno = EINVAL;
		return NULL;
	}
	n_cpus = libbpf_num_possible_cpus();
	if (n_cpus <= 0) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cpus = calloc(n_cpus, sizeof(*t->cpus));
	t->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!t->cpus || t->epoll_fd < 0) {
		err = t->cpus ? -errno : -ENOMEM;
		goto err;
	}
	t->map_bytes = page + bytes_per_cpu;
	for (int cpu = 0; cpu < n_cpus; cpu++) {
		struct cpu_buffer *b = &t->cpus[t->n_cpus];
		struct epoll_event ev = { .events = EPOLLIN };
		void *base;
		int fd = open_cpu(cpu, bytes_per_cpu);

		if (fd == -ENODEV) /* an offline CPU */
			continue;
		if (fd < 0) {
			err = fd;
			goto err;
		}
		base = mmap(NULL, t->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (base == MAP_FAILED) {
			err = -errno;
			close(fd);
			goto err;
		}
		b->fd = fd;
		b->meta = base;
		b->data = (const unsigned char *)base + page;
		b->data_size = bytes_per_cpu;
		t->n_cpus++;
		if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
			err = -errno;
			goto err;
		}
	}
	return t;
err:
	task_events__close(t);
	errno = -err;
	return NULL;
}

void task_events__close(struct task_events *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n_cpus; i++) {
		munmap(t->cpus[i].meta, t->map_bytes);
		close(t->cpus[i].fd);
	}
	if (t->epoll_fd >= 0)
		close(t->epoll_fd);
	free(t->cpus);
	free(t->bytes);
	free(t->pending);
	free(t);
}

int task_events__fd(const struct task_events *t)
{
	return t->epoll_fd;
}

uint64_t task_events__lost(const struct task_events *t)
{
	return t->lost;
}

/* Copies size bytes from the ring at position pos (which may wrap) to dst. */
static void copy_from_ring(const struct cpu_buffer *b, uint64_t pos, void *dst, size_t size)
{
	size_t at = pos & (b->data_size - 1), first = b->data_size - at;

	if (first >= size) {
		memcpy(dst, b->data + at, size);
	} else {
		memcpy(dst, b->data + at, first);
		memcpy((unsigned char *)dst + first, b->data, size - first);
	}
}

/* Appends one record at pos to the pending ones. */
static int keep_record(struct task_events *t, const struct cpu_buffer *b, uint64_t pos,
		       size_t size)
{
	void *grown;
	int err;

	err = array__reserve(t->bytes, 1, &t->bytes_capacity, t->n_bytes, size, 64 * 1024,
			     2 * MAX_PENDING_BYTES, &grown);
	if (err)
		return err;
	t->bytes = grown;
	err = array__reserve(t->pending, sizeof(*t->pending), &t->pending_capacity, t->n_pending,
			     1, 1024, 2 * MAX_PENDING_RECORDS, &grown);
	if (err)
		return err;
	t->pending = grown;
	copy_from_ring(b, pos, t->bytes + t->n_bytes, size);
	t->pending[t->n_pending++] = (struct pending){
		.time_ns = record_time(t->bytes + t->n_bytes, size),
		.seq = t->next_seq++,
		.offset = t->n_bytes,
		.size = size,
	};
	t->n_bytes += size;
	return 0;
}

/* Moves every record of one CPU's buffer to the pending ones. */
static void read_buffer(struct task_events *t, struct cpu_buffer *b)
{
	uint64_t head = __atomic_load_n(&b->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = b->meta->data_tail;

	while (tail < head) {
		struct perf_event_header header;

		copy_from_ring(b, tail, &header, sizeof(header));
		if (header.size < HEADER_BYTES || header.size > head - tail) {
			t->lost++; /* cannot happen; do not trust the rest */
			tail = head;
			break;
		}
		if (header.type == PERF_RECORD_LOST) {
			uint64_t lost[2] = { 0, 0 }; /* id, count */

			if (header.size >= HEADER_BYTES + sizeof(lost))
				copy_from_ring(b, tail + HEADER_BYTES, lost, sizeof(lost));
			t->lost += lost[1];
		} else if (header.size < HEADER_BYTES + SAMPLE_ID_BYTES ||
			   keep_record(t, b, tail, header.size)) {
			t->lost++;
		}
		tail += header.size;
	}
	__atomic_store_n(&b->meta->data_tail, tail, __ATOMIC_RELEASE);
}

static int by_time(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int task_events__drain(struct task_events *t, uint64_t margin_ns, task_event_fn fn, void *ctx)
{
	uint64_t now = monotonic_ns(), cutoff = now > margin_ns ? now - margin_ns : 0;
	size_t n = 0, handed_bytes = 0;
	int handed = 0;

	for (int i = 0; i < t->n_cpus; i++)
		read_buffer(t, &t->cpus[i]);
	/* Before the first record there is no array: qsort() must not be given NULL. */
	if (t->n_pending > 1)
		qsort(t->pending, t->n_pending, sizeof(*t->pending), by_time);

	for (; n < t->n_pending; n++) {
		const struct pending *p = &t->pending[n];
		struct task_event e;

		if (p->time_ns > cutoff && t->n_bytes - handed_bytes <= MAX_PENDING_BYTES)
			break;
		handed_bytes += p->size;
		if (task_events__decode(t->bytes + p->offset, p->size, &e) == 0) {
			fn(ctx, &e);
			handed++;
		}
	}

	/* Keep the younger records, compacted into a new block, for the next drain. */
	if (n) {
		size_t remaining = t->n_bytes - handed_bytes, out = 0;
		unsigned char *bytes = remaining ? malloc(remaining) : NULL;

		if (remaining && !bytes) {
			t->lost += t->n_pending - n; /* rather than hand them over out of order */
			t->n_pending = n;
			remaining = 0;
		}
		for (size_t i = n; i < t->n_pending; i++) {
			struct pending p = t->pending[i];

			memcpy(bytes + out, t->bytes + p.offset, p.size);
			p.offset = out;
			out += p.size;
			t->pending[i - n] = p;
		}
		free(t->bytes);
		t->bytes = bytes;
		t->bytes_capacity = remaining;
		t->n_bytes = out;
		t->n_pending -= n;
	}
	return handed;
}
