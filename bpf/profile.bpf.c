// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cpu-clock sampler: runs on every timer tick of a perf event on each CPU,
 * keeps only threads of target processes, and appends one record with the
 * kernel and user stacks to the ring buffer. What cannot be logged is
 * counted per session, so the daemon can show every lost sample.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cprof_record.h"
#include "cprof_unwind.h"

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

/*
 * Targets by process: tgid -> session slot. Edited by the daemon, and by the
 * fork, exec and exit programs below for the children of a target.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
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
	__uint(max_entries, CPROF_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct cprof_session_counters);
} session_counters SEC(".maps");

/*
 * The user stack is read a window at a time while walking: from the word to
 * read up to the end of its window-sized block (never past a page boundary,
 * so no read touches a page the walk would not, or runs past the stack's
 * mapping). Each read of user memory has a high fixed cost (measured in a
 * KVM guest: about half a microsecond for one bpf_probe_read_user(),
 * however few bytes), so one read per window, with the frames inside
 * walked in the copy, is what makes deep stacks cheap (bench/RESULTS.md).
 */
#define UNWIND_WINDOW_BYTES 4096


/*
 * The unwind tables (include/cprof_unwind.h). Sized by the daemon before
 * load; rows, pages, files and rules are arrays it writes through mmap(),
 * with a file's rows in place before its n_rows says so. 1 entry each when
 * unwinding is off.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, __u32); /* tgid */
	__type(value, struct cprof_unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct cprof_unwind_file);
} unwind_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 22);
	__type(key, __u32);
	__type(value, struct cprof_unwind_row);
} unwind_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, struct cprof_unwind_page);
} unwind_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 16);
	__type(key, __u32);
	__type(value, struct cprof_unwind_rule);
} unwind_rules SEC(".maps");

static __always_inline const void *lookup_index(void *map, __u32 index)
{
	return bpf_map_lookup_elem(map, &index);
}

#define UNWIND_READ_USER(dst, size, addr) bpf_probe_read_user(dst, size, (const void *)(addr))
#define UNWIND_FILE(index) ((const struct cprof_unwind_file *)lookup_index(&unwind_files, index))
#define UNWIND_ROW(index) ((const struct cprof_unwind_row *)lookup_index(&unwind_rows, index))
#define UNWIND_PAGE(index) ((const struct cprof_unwind_page *)lookup_index(&unwind_pages, index))
#define UNWIND_RULE(index) ((const struct cprof_unwind_rule *)lookup_index(&unwind_rules, index))
#define UNWIND_BOUND(var) barrier_var(var)
#define UNWIND_LOOP(n, fn, ctx) bpf_loop(n, fn, ctx, 0)
#include "unwind.h"

/* A record is too big for the 512-byte BPF stack: build it here, and walk the stack here. */
struct scratch {
	__u8 bytes[sizeof(struct cprof_sample_record) + CPROF_MAX_FRAMES * sizeof(__u64)];
	__u64 window[UNWIND_WINDOW_BYTES / sizeof(__u64)]; /* user stack from walk.window_base */
	struct stack_walk walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

static long walk_loop_step(__u32 index, void *ctx)
{
	struct walk_refs *w = ctx;
	long done = walk_step(w);

	/* The first step unwinds the leaf: by a table, its caller is right. */
	if (index == 0)
		w->s->leaf_by_table = w->s->table_frames != 0;
	return done;
}

/*
 * Walks the user stack into ips, leaf first: by the process's unwind
 * tables where the daemon loaded them, else by frame pointers, as
 * bpf_get_stack(BPF_F_USER_STACK) does, for a fraction of its cost on deep
 * stacks. The user registers are those saved at the top of the task's
 * kernel stack, whether the tick interrupted user code or the kernel (a
 * system call, a fault). Stack words are read as 64-bit ones: a 32-bit
 * (compat) process gets its leaf right and the frames above it wrong.
 *
 * The first window starts at the user sp: the words there go into the
 * record (leaf_stack) for the daemon to recover the caller of a leaf
 * without a frame when no table covers it, and the first frame record, a
 * little above sp, is usually in the same window, so this costs no extra
 * read. Returns the bytes stored, or -1 when the task has no user stack.
 */
static __always_inline long read_user_stack(struct bpf_perf_event_data *ctx,
					    struct task_struct *task, struct scratch *scratch,
					    struct cprof_sample_record *r, __u64 *ips)
{
	struct stack_walk *s = &scratch->walk;
	struct walk_refs w = { .s = s, .window = scratch->window, .ips = ips };
	struct pt_regs *regs;
	__u32 tgid = r->tgid, depth;
	__u64 bytes, words;

	/* Only a task with user memory has a user stack: not a kernel thread. */
	if ((long)PT_REGS_IP(&ctx->regs) < 0 && !task->mm)
		return -1;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return -1;
	__builtin_memset(s, 0, sizeof(*s));
	s->pc = PT_REGS_IP(regs);
	s->sp = PT_REGS_SP(regs);
	s->fp = PT_REGS_FP(regs);
	s->pc_exact = 1;
	s->depth = 1;
	s->mapping = CPROF_UNWIND_MAX_MAPPINGS;
	ips[0] = s->pc;
	w.proc = bpf_map_lookup_elem(&unwind_procs, &tgid);

	bytes = UNWIND_WINDOW_BYTES - (s->sp & (UNWIND_WINDOW_BYTES - 1));
	if (!bpf_probe_read_user(scratch->window, bytes, (void *)s->sp)) {
		s->window_base = s->sp;
		s->window_bytes = bytes;
		words = bytes / sizeof(__u64);
		if (words > CPROF_LEAF_STACK_WORDS)
			words = CPROF_LEAF_STACK_WORDS;
		for (int i = 0; i < CPROF_LEAF_STACK_WORDS; i++)
			if (i < words)
				r->leaf_stack[i] = scratch->window[i];
		r->leaf_stack_words = words;
	}
	bpf_loop(CPROF_MAX_USER_FRAMES, walk_loop_step, &w, 0);
	if (s->leaf_by_table)
		r->flags |= CPROF_SAMPLE_LEAF_BY_TABLE;
	r->unwind_stop = s->stop;
	r->table_frames = s->table_frames;
	r->no_table_frames = s->no_table_frames;
	depth = s->depth;
	if (depth > CPROF_MAX_USER_FRAMES)
		depth = CPROF_MAX_USER_FRAMES;
	return depth * sizeof(__u64);
}

/*
 * Later targets (a cgroup, every process) add lookups here; the rest of
 * the program only needs a slot.
 */
static __always_inline const struct cprof_target *find_target(__u32 tgid)
{
	return bpf_map_lookup_elem(&targets, &tgid);
}

/*
 * Whether task belongs to the process the target names, not to a later one
 * on the same pid: the test start_boottime / tick == start_clock_ticks,
 * without a division.
 */
static __always_inline bool is_target_process(struct task_struct *task,
					      const struct cprof_target *target)
{
	return task->group_leader->start_boottime - target->start_clock_ticks * ns_per_clock_tick <
	       ns_per_clock_tick;
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
	task = bpf_get_current_task_btf();
	if (bpf_get_attach_cookie(ctx) == CPROF_EVENT_CONTINUOUS) {
		/* Every process: no target to look up. */
		slot = CPROF_CONTINUOUS_SLOT;
		counters = bpf_map_lookup_elem(&session_counters, &slot);
		if (!counters)
			return 0;
	} else {
		target = find_target(tgid);
		if (!target)
			return 0;
		slot = target->session_slot;
		counters = bpf_map_lookup_elem(&session_counters, &slot);
		if (!counters)
			return 0;
		if (!is_target_process(task, target)) {
			counters->other_process++;
			return 0;
		}
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
	r->leaf_stack_words = 0;
	r->unwind_stop = CPROF_UNWIND_STOP_NONE;
	r->reserved = 0;
	r->table_frames = 0;
	r->no_table_frames = 0;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->reserved2 = 0;
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->process_start_ns = task->group_leader->start_boottime;
	__builtin_memset(r->leaf_stack, 0, sizeof(r->leaf_stack));

	/* A tick that interrupted user code has no kernel stack to read. */
	if ((long)PT_REGS_IP(&ctx->regs) >= 0)
		kernel_bytes = 0;
	else
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

	user_bytes = read_user_stack(ctx, task, scratch, r, (void *)r->ips + kernel_bytes);
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

/*
 * The process's id in the daemon's PID namespace, or 0 when that
 * namespace cannot see it. A task's pid has one number per namespace level,
 * from the initial namespace (0) down to its own.
 */
#define MAX_PIDNS_LEVELS 8

static __always_inline __u32 tgid_in_daemon_ns(struct task_struct *task)
{
	struct pid *pid;
	unsigned int level;

	if (!pidns_ino)
		return BPF_CORE_READ(task, tgid);
	pid = BPF_CORE_READ(task, group_leader, thread_pid);
	level = BPF_CORE_READ(pid, level);
	for (unsigned int i = 0; i < MAX_PIDNS_LEVELS && i <= level; i++) {
		struct upid upid = BPF_CORE_READ(pid, numbers[i]);

		if (BPF_CORE_READ(upid.ns, ns.inum) == pidns_ino)
			return upid.nr;
	}
	return 0;
}

/*
 * A new process forked by a target that takes its children along becomes a
 * target of the same session at once, before it can run, so its first tick
 * is sampled. Threads need nothing: samples are keyed by process.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(cprof_fork, struct task_struct *parent, struct task_struct *child)
{
	const struct cprof_unwind_proc *unwind;
	struct cprof_target child_target;
	const struct cprof_target *target;
	struct cprof_session_counters *counters;
	__u32 parent_tgid, child_tgid;

	if (child->pid != child->tgid) /* a thread */
		return 0;
	parent_tgid = tgid_in_daemon_ns(parent);
	if (!parent_tgid)
		return 0;
	target = find_target(parent_tgid);
	if (!target || !(target->flags & CPROF_TARGET_CHILDREN))
		return 0;
	if (!is_target_process(parent, target))
		return 0; /* the parent's pid names another process now */
	child_tgid = tgid_in_daemon_ns(child);
	if (!child_tgid)
		return 0;
	child_target.session_slot = target->session_slot;
	child_target.flags = target->flags | CPROF_TARGET_INHERITED;
	child_target.start_clock_ticks = child->start_boottime / ns_per_clock_tick;
	/* Until it execs, the child maps what its parent maps: the same unwind entry. */
	unwind = bpf_map_lookup_elem(&unwind_procs, &parent_tgid);
	if (unwind)
		bpf_map_update_elem(&unwind_procs, &child_tgid, unwind, BPF_ANY);
	if (bpf_map_update_elem(&targets, &child_tgid, &child_target, BPF_ANY)) {
		__u32 slot = target->session_slot;

		counters = bpf_map_lookup_elem(&session_counters, &slot);
		if (counters)
			counters->children_untracked++;
	}
	return 0;
}

/*
 * A process that became a target at fork leaves the map when its last
 * thread exits, so the map holds live processes only; the daemon removes
 * the targets it added itself.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(cprof_exit, struct task_struct *task)
{
	const struct cprof_target *target;
	__u32 tgid;

	if (BPF_CORE_READ(task, signal, live.counter) != 0) /* other threads live on */
		return 0;
	tgid = tgid_in_daemon_ns(task);
	if (!tgid)
		return 0;
	bpf_map_delete_elem(&unwind_procs, &tgid);
	target = find_target(tgid);
	if (target && (target->flags & CPROF_TARGET_INHERITED) && is_target_process(task, target))
		bpf_map_delete_elem(&targets, &tgid);
	return 0;
}

/*
 * A child that execs a setuid or file-capability program (secureexec) is
 * not its parent's to see any more: it stops being a target. The daemon
 * checked who may profile the process it was given, not what its children
 * become.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(cprof_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	const struct cprof_target *target;
	__u32 tgid;

	tgid = tgid_in_daemon_ns(task);
	if (!tgid)
		return 0;
	/* The new program's mappings come as the daemon learns them: none meanwhile. */
	bpf_map_delete_elem(&unwind_procs, &tgid);
	if (!BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec))
		return 0;
	target = find_target(tgid);
	if (target && (target->flags & CPROF_TARGET_INHERITED))
		bpf_map_delete_elem(&targets, &tgid);
	return 0;
}
