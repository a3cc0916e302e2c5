/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side of cprofd: loads the BPF sampler, attaches it to a
 * cpu-clock perf event on every online CPU while at least one session runs,
 * edits the target map, reads the per-session counters and hands ring-buffer
 * records to a callback. Every attachment is a BPF link owned by a file
 * descriptor of this process, so the kernel detaches it if cprofd dies.
 */
#ifndef CPROF_BPF_SAMPLER_H
#define CPROF_BPF_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "cprof_record.h"

struct bpf_sampler;
struct unwind_maps;

/* Called for every record drained; data points into the ring buffer. */
typedef void (*bpf_sampler_record_fn)(void *ctx, const void *data, size_t size);

struct bpf_sampler_options {
	size_t ring_buffer_bytes; /* power of two, >= page size */
	size_t wakeup_bytes; /* wake the reader past this fill; 0: half the ring */
	/* Rows of the unwind tables (8 bytes each); 0: frame pointers only. */
	size_t unwind_rows;
	bpf_sampler_record_fn on_record;
	void *ctx;
};

/* Opens, sizes and loads the BPF objects. NULL with errno set on failure. */
struct bpf_sampler *bpf_sampler__new(const struct bpf_sampler_options *opts);
/* Detaches and unloads everything. NULL is a no-op. */
void bpf_sampler__free(struct bpf_sampler *s);

/*
 * Opens a cpu-clock event with period 1e9/hz ns on every online CPU and
 * attaches the program to each, and the fork and exit programs to their
 * tracepoints. Returns 0 or a negative errno (then nothing stays attached).
 */
int bpf_sampler__attach(struct bpf_sampler *s, unsigned int hz);
/* Detaches from every CPU. */
void bpf_sampler__detach(struct bpf_sampler *s);
/* The rate attached at, 0 when detached. */
unsigned int bpf_sampler__hz(const struct bpf_sampler *s);

/*
 * Continuous mode's events: cpu-clock at hz on every online CPU, apart
 * from the sessions' (their own rate, attached and detached on their own),
 * sampling every process but the idle task into CPROF_CONTINUOUS_SLOT.
 * Returns 0 (also when already attached at hz), -EBUSY (at another rate)
 * or a negative errno (then none stays attached).
 */
int bpf_sampler__attach_continuous(struct bpf_sampler *s, unsigned int hz);
void bpf_sampler__detach_continuous(struct bpf_sampler *s);
/* Continuous mode's rate, 0 when detached. */
unsigned int bpf_sampler__continuous_hz(const struct bpf_sampler *s);

/*
 * Adds tgid, the process started at start_clock_ticks (/proc/PID/stat), to
 * the target map with CPROF_TARGET_* flags (CPROF_TARGET_CHILDREN: the
 * program adds the processes it forks, and theirs, as they are forked), or
 * removes it. Return 0 or a negative errno.
 */
int bpf_sampler__add_target(struct bpf_sampler *s, pid_t tgid, uint64_t start_clock_ticks,
			    uint32_t slot, uint32_t flags);
int bpf_sampler__remove_target(struct bpf_sampler *s, pid_t tgid);
/*
 * Removes every target of slot, the children the program added included.
 * Returns how many it removed.
 */
int bpf_sampler__remove_slot_targets(struct bpf_sampler *s, uint32_t slot);

/*
 * Sums the slot's per-CPU counters (slot < CPROF_COUNTER_SLOTS: the
 * continuous slot too). Returns 0 or a negative errno.
 */
int bpf_sampler__read_counters(struct bpf_sampler *s, uint32_t slot,
			       struct cprof_session_counters *ret_counters);
/* Zeroes the slot's counters on every CPU (before the slot is reused). */
int bpf_sampler__reset_counters(struct bpf_sampler *s, uint32_t slot);

/* The ring buffer's epoll fd: readable when the program woke the reader. */
int bpf_sampler__ring_fd(const struct bpf_sampler *s);
/* Hands every waiting record to on_record. Returns records or a negative errno. */
int bpf_sampler__drain(struct bpf_sampler *s);

/* Ring buffer size and bytes waiting, for status. */
size_t bpf_sampler__ring_bytes(const struct bpf_sampler *s);
size_t bpf_sampler__ring_used_bytes(const struct bpf_sampler *s);

/*
 * The unwind tables' maps, mapped into our memory, for unwind_tables.h.
 * Returns 0, or -ENOTSUP when the sampler was made without unwinding.
 */
int bpf_sampler__unwind_maps(struct bpf_sampler *s, struct unwind_maps *ret);

/* The program's id (bpftool prog show id N), for tests and stats. */
uint32_t bpf_sampler__prog_id(const struct bpf_sampler *s);

#endif /* CPROF_BPF_SAMPLER_H */
