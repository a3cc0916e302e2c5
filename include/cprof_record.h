/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the BPF program and the daemon agree on: the ring-buffer record
 * layout, the per-session counters and the target map's value.
 *
 * Included by BPF C (after vmlinux.h) and by user space (after
 * <linux/types.h>), so only fixed-width __u32-style types are used, every
 * field is naturally aligned and padding is explicit.
 */
#ifndef CPROF_RECORD_H
#define CPROF_RECORD_H

/* Bump when a record's layout changes; the daemon rejects other versions. */
#define CPROF_RECORD_VERSION 1

enum cprof_record_type {
	CPROF_RECORD_SAMPLE = 1, /* struct cprof_sample_record */
};

#define CPROF_COMM_LEN 16
/* bpf_get_stack() is bounded by kernel.perf_event_max_stack (127). */
#define CPROF_MAX_USER_FRAMES 127
#define CPROF_MAX_KERNEL_FRAMES 127
#define CPROF_MAX_FRAMES (CPROF_MAX_USER_FRAMES + CPROF_MAX_KERNEL_FRAMES)

/*
 * Session slots: the BPF program counts per slot, the daemon gives each
 * running session one slot and zeroes its counters before reusing it.
 */
#define CPROF_MAX_SESSIONS 64

/* Every record starts with this header, so new record types can follow. */
struct cprof_record_header {
	__u16 type; /* enum cprof_record_type */
	__u16 version; /* CPROF_RECORD_VERSION */
	__u32 size; /* bytes of the whole record, header included */
};

/* Flags of a sample record. */
#define CPROF_SAMPLE_USER_STACK_ERROR (1u << 0) /* the user stack could not be read */
#define CPROF_SAMPLE_KERNEL_STACK_ERROR (1u << 1) /* the kernel stack could not be read */

/*
 * One cpu-clock sample of a target thread. The record ends with
 * kernel_depth kernel addresses followed by user_depth user addresses,
 * both leaf first, so ips[] reads as one stack from leaf to root. Only
 * the frames that exist are written: size = sizeof(struct) + 8 * depth.
 */
struct cprof_sample_record {
	struct cprof_record_header header;
	__u32 session_slot; /* < CPROF_MAX_SESSIONS */
	__u32 tgid; /* process id */
	__u32 tid; /* thread id */
	__u32 cpu;
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	char comm[CPROF_COMM_LEN]; /* thread name, NUL-padded */
	__u16 kernel_depth; /* kernel frames in ips[] */
	__u16 user_depth; /* user frames in ips[], after the kernel ones */
	__u32 flags; /* CPROF_SAMPLE_* */
	__u64 ips[];
};

_Static_assert(sizeof(struct cprof_record_header) == 8, "record header layout");
_Static_assert(sizeof(struct cprof_sample_record) == 56, "sample record layout");

/* Flags of a target. */
#define CPROF_TARGET_CHILDREN (1u << 0) /* processes it forks become targets too */
#define CPROF_TARGET_INHERITED (1u << 1) /* added at fork, removed at exit, by the program */

/*
 * Value of the targets map (key: __u32 tgid). A pid names a process only
 * with its start time: a reused pid has a later one and is not sampled.
 */
struct cprof_target {
	__u32 session_slot;
	__u32 flags;             /* CPROF_TARGET_* */
	__u64 start_clock_ticks; /* as field 22 of /proc/PID/stat */
};

_Static_assert(sizeof(struct cprof_target) == 16, "target layout");

/*
 * Per-CPU, per-slot counters written by the BPF program. For every slot:
 * fired = logged + lost_ring_full, where logged records reach the daemon.
 */
struct cprof_session_counters {
	__u64 fired; /* the program ran for a thread of this session */
	__u64 lost_ring_full; /* no room in the ring buffer: record dropped */
	__u64 user_stack_errors; /* user stack unreadable (record still logged) */
	__u64 kernel_stack_errors; /* kernel stack unreadable (record still logged) */
	__u64 other_process;       /* the pid now names another process: not sampled */
	__u64 children_untracked; /* forked while the target map was full: never sampled */
};

_Static_assert(sizeof(struct cprof_session_counters) == 48, "counters layout");

#endif /* CPROF_RECORD_H */
