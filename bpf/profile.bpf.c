// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cpu-clock sampler: runs on every timer tick of a perf event on each CPU,
 * keeps only threads of target processes, and appends one record with the
 * kernel and user stacks to the ring buffer. What cannot be logged is
 * counted per session, so the daemon can show every lost sample.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cprof_record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Wake the reader only when this many bytes are waiting; below it the
 * daemon drains on a timer. A wakeup per sample costs several us in the
 * kernel, a silent submit about one.
 */
const volatile __u64 wakeup_bytes = 256 * 1024;

/* /proc counts process start times in clock ticks: 1e9 / sysconf(_SC_CLK_TCK) ns each. */
const volatile __u64 ns_per_clock_tick = 10000000;

/*
 * The daemon's PID namespace (st_dev and st_ino of /proc/self/ns/pid) when
 * it is not the initial one, set before load: pids are then taken in that
 * namespace, the one the daemon and its clients name processes in (a
 * container, or systemd's own namespace in the tests). 0: initial pids.
 */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

/* Targets by process: tgid -> session slot. Edited by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct cprof_target);
} targets SEC(".maps");

/* Sized by the daemon before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CPROF_MAX_SESSIONS);
	__type(key, __u32);
	__type(value, struct cprof_session_counters);
} session_counters SEC(".maps");

/* A record is too big for the 512-byte BPF stack: build it here. */
struct scratch {
	__u8 bytes[sizeof(struct cprof_sample_record) + CPROF_MAX_FRAMES * sizeof(__u64)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

/*
 * Later targets (a cgroup, every process) add lookups here; the rest of
 * the program only needs a slot.
 */
static __always_inline const struct cprof_target *find_target(__u32 tgid)
{
	return bpf_map_lookup_elem(&targets, &tgid);
}

SEC("perf_event")
int cprof_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	const struct cprof_target *target;
	struct task_struct *task;
	struct cprof_session_counters *counters;
	struct scratch *scratch;
	__u32 zero = 0, slot;
	long kernel_bytes, user_bytes;
	__u64 size, flags = BPF_RB_NO_WAKEUP;

	if (pidns_ino) {
		struct bpf_pidns_info ns;

		/* A task the daemon's namespace cannot see is nobody's target. */
		if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
			return 0;
		pid_tgid = (__u64)ns.tgid << 32 | ns.pid;
		tgid = ns.tgid;
	}
	if (tgid == 0) /* the idle task */
		return 0;
	target = find_target(tgid);
	if (!target)
		return 0;
	slot = target->session_slot;
	counters = bpf_map_lookup_elem(&session_counters, &slot);
	if (!counters)
		return 0;
	task = bpf_get_current_task_btf();
	if (task->group_leader->start_boottime / ns_per_clock_tick != target->start_clock_ticks) {
		counters->other_process++;
		return 0;
	}
	counters->fired++;

	scratch = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!scratch) {
		counters->lost_ring_full++;
		return 0;
	}

	struct cprof_sample_record *r = (void *)scratch->bytes;
	r->header.type = CPROF_RECORD_SAMPLE;
	r->header.version = CPROF_RECORD_VERSION;
	r->session_slot = slot;
	r->tgid = tgid;
	r->tid = (__u32)pid_tgid;
	r->cpu = bpf_get_smp_processor_id();
	r->time_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	r->flags = 0;

	kernel_bytes = bpf_get_stack(ctx, r->ips, CPROF_MAX_KERNEL_FRAMES * sizeof(__u64), 0);
	if (kernel_bytes < 0) {
		r->flags |= CPROF_SAMPLE_KERNEL_STACK_ERROR;
		counters->kernel_stack_errors++;
		kernel_bytes = 0;
	}
	/* Tell the verifier what bpf_get_stack() promised. */
	if (kernel_bytes > CPROF_MAX_KERNEL_FRAMES * sizeof(__u64))
		kernel_bytes = 0;
	kernel_bytes &= ~7L;

	user_bytes = bpf_get_stack(ctx, (void *)r->ips + kernel_bytes,
				   CPROF_MAX_USER_FRAMES * sizeof(__u64), BPF_F_USER_STACK);
	if (user_bytes < 0) {
		r->flags |= CPROF_SAMPLE_USER_STACK_ERROR;
		counters->user_stack_errors++;
		user_bytes = 0;
	}
	if (user_bytes > CPROF_MAX_USER_FRAMES * sizeof(__u64))
		user_bytes = 0;
	user_bytes &= ~7L;

	r->kernel_depth = kernel_bytes / sizeof(__u64);
	r->user_depth = user_bytes / sizeof(__u64);
	size = sizeof(*r) + kernel_bytes + user_bytes;
	if (size > sizeof(*scratch)) /* cannot happen; keeps the verifier's bound */
		size = sizeof(*scratch);
	r->header.size = size;

	if (bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) + size >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&records, scratch, size, flags))
		counters->lost_ring_full++;
	return 0;
}
