/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the BPF program and the daemon agree on: the ring-buffer record
 * layout, the per-session counters and the target map's value.
 *
 * Included by BPF C (after vmlinux.h) and by user space, so only
 * fixed-width __u32-style types are used, every field is naturally aligned
 * and padding is explicit.
 */
#ifndef CPROF_RECORD_H
#define CPROF_RECORD_H

/* BPF C has the types from vmlinux.h; user space from the kernel's UAPI. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bump when a record's layout changes; the daemon rejects other versions. */
#define CPROF_RECORD_VERSION 4

enum cprof_record_type {
	CPROF_RECORD_SAMPLE = 1, /* struct cprof_sample_record */
};

#define CPROF_COMM_LEN 16
/* bpf_get_stack() is bounded by kernel.perf_event_max_stack (127). */
#define CPROF_MAX_USER_FRAMES 127
#define CPROF_MAX_KERNEL_FRAMES 127
#define CPROF_MAX_FRAMES (CPROF_MAX_USER_FRAMES + CPROF_MAX_KERNEL_FRAMES)

/*
 * Words of user stack copied from the interrupted user sp up. A function
 * that has not set up its frame (a frameless leaf, or one in its prologue
 * or epilogue) keeps its return address at CFA - 8 with CFA = sp + N, and
 * frame pointers skip its caller; the daemon finds N in the unwind info and
 * takes the caller from these words. In code built with frame pointers a
 * function that saves registers also sets up %rbp (gcc 12), so sp and sp + 8
 * suffice there as a rule; 8 words also serve most frameless code of the
 * distribution (samples at 999 Hz with the return address within reach:
 * xz 95%, python3.11 71%, gzip 60%; with 4 words 16%, 65%, 28%).
 */
#define CPROF_LEAF_STACK_WORDS 8

/*
 * Session slots: the BPF program counts per slot, the daemon gives each
 * running session one slot and zeroes its counters before reusing it.
 */
#define CPROF_MAX_SESSIONS 64
/*
 * Continuous mode's slot, past the sessions': its records and counters are
 * those of every process the whole-machine event sampled.
 */
#define CPROF_CONTINUOUS_SLOT CPROF_MAX_SESSIONS
#define CPROF_COUNTER_SLOTS (CPROF_MAX_SESSIONS + 1)

/*
 * Which consumer a perf event serves: its BPF attach cookie. Sessions'
 * events sample the targets map's processes; continuous mode's, every
 * process (each at its own rate: two sets of events, not one shared).
 */
#define CPROF_EVENT_SESSIONS 0
#define CPROF_EVENT_CONTINUOUS 1

/* Every record starts with this header, so new record types can follow. */
struct cprof_record_header {
	__u16 type; /* enum cprof_record_type */
	__u16 version; /* CPROF_RECORD_VERSION */
	__u32 size; /* bytes of the whole record, header included */
};

/* Flags of a sample record. */
#define CPROF_SAMPLE_USER_STACK_ERROR (1u << 0) /* the user stack could not be read */
#define CPROF_SAMPLE_KERNEL_STACK_ERROR (1u << 1) /* the kernel stack could not be read */
/* The leaf's caller came from an unwind table: the leaf needs no recovery. */
#define CPROF_SAMPLE_LEAF_BY_TABLE (1u << 2)

/* Why the user-stack walk ended (bpf/unwind.h). */
enum cprof_unwind_stop {
	CPROF_UNWIND_STOP_NONE = 0, /* no user stack was walked */
	CPROF_UNWIND_STOP_FP_END = 1, /* a frame-pointer chain ended (0, or unreadable) */
	CPROF_UNWIND_STOP_END = 2, /* the table marked the outermost frame: the stack is whole */
	CPROF_UNWIND_STOP_READ_FAULT = 3, /* the stack word a rule points at was unreadable */
	CPROF_UNWIND_STOP_UNSUPPORTED = 4, /* a rule the unwinder does not follow */
	CPROF_UNWIND_STOP_TRUNCATED = 5, /* CPROF_MAX_USER_FRAMES reached, with more to go */
	CPROF_UNWIND_STOP_KINDS = 6,
};

/*
 * Pseudo return addresses the daemon puts at the root of a stack whose walk
 * stopped early, so that the stack table keeps the reason with it and the
 * profile shows it as a frame; no code lives in the top page of the address
 * space. Never written by the BPF program.
 */
#define CPROF_STOP_MARKER_BASE 0xfffffffffffff000ull
#define CPROF_STOP_MARKER(stop) (CPROF_STOP_MARKER_BASE | (stop))
/*
 * Not a stop of its own: the walk ended by frame pointers after it went
 * through a file that has CFI but whose table was not loaded (yet, or any
 * more), so the frames above may be missing.
 */
#define CPROF_STOP_MARKER_NO_TABLE CPROF_STOP_MARKER(0xfff)

/*
 * One cpu-clock sample of a target thread. The record ends with
 * kernel_depth kernel addresses followed by user_depth user addresses,
 * both leaf first, so ips[] reads as one stack from leaf to root. Only
 * the frames that exist are written: size = sizeof(struct) + 8 * depth.
 * leaf_stack[] holds the first words of the user stack, for the daemon to
 * find the caller of a user leaf that has not set up its frame.
 */
struct cprof_sample_record {
	struct cprof_record_header header;
	__u32 session_slot; /* < CPROF_MAX_SESSIONS, or CPROF_CONTINUOUS_SLOT */
	__u32 tgid; /* process id */
	__u32 tid; /* thread id */
	__u32 cpu;
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	char comm[CPROF_COMM_LEN]; /* thread name, NUL-padded */
	__u16 kernel_depth; /* kernel frames in ips[] */
	__u16 user_depth; /* user frames in ips[], after the kernel ones */
	__u32 flags; /* CPROF_SAMPLE_* */
	__u16 leaf_stack_words; /* words of leaf_stack[] read: 0 when sp was unreadable */
	__u8 unwind_stop; /* enum cprof_unwind_stop */
	__u8 reserved; /* zero */
	__u16 table_frames; /* user frames unwound by a table */
	__u16 no_table_frames; /* ...by frame pointers in a file whose table is not loaded */
	/*
	 * Who and where, as the kernel saw it at the sample, so that a process
	 * gone before the drain is still labelled (continuous mode).
	 */
	__u32 uid; /* real uid */
	__u32 reserved2; /* zero */
	__u64 cgroup_id; /* bpf_get_current_cgroup_id(): its cgroup v2 directory's inode */
	__u64 process_start_ns; /* the process's start, CLOCK_BOOTTIME ns */
	__u64 leaf_stack[CPROF_LEAF_STACK_WORDS]; /* user memory at sp, sp + 8, ... */
	__u64 ips[];
};

_Static_assert(sizeof(struct cprof_record_header) == 8, "record header layout");
_Static_assert(sizeof(struct cprof_sample_record) == 88 + 8 * CPROF_LEAF_STACK_WORDS,
	       "sample record layout");

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
