// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The daemon's status, as /v1/status and /v1/sessions give it. */
#include "cprofd.h"
#include "cprofd_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "continuous.h"
#include "cprof_protocol.h"
#include "json_writer.h"
#include "procs/process_table.h"
#include "profiles/session.h"
#include "profiles/stack_table.h"
#include "sampler/bpf_sampler.h"
#include "sampler/leaf_unwind.h"
#include "sampler/task_events.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind_tables.h"
#include "util/clock.h"

/* How the session's user stacks were walked, and why each walk ended. */
static void write_walks(struct json_writer *w, const struct session *s)
{
	static const char *const stops[CPROF_UNWIND_STOP_KINDS] = {
		[CPROF_UNWIND_STOP_NONE] = "no_user_stack",
		[CPROF_UNWIND_STOP_FP_END] = "frame_pointers_ended",
		[CPROF_UNWIND_STOP_END] = "reached_the_entry",
		[CPROF_UNWIND_STOP_READ_FAULT] = "stack_unreadable",
		[CPROF_UNWIND_STOP_UNSUPPORTED] = "rule_not_followed",
		[CPROF_UNWIND_STOP_TRUNCATED] = "truncated",
	};

	json_writer__key(w, "unwind");
	json_writer__object_begin(w);
	json_writer__member_uint(w, "samples_by_table", s->samples_by_table);
	json_writer__member_uint(w, "samples_without_table", s->samples_no_table);
	for (int i = 0; i < CPROF_UNWIND_STOP_KINDS; i++)
		json_writer__member_uint(w, stops[i], s->unwind_stops[i]);
	json_writer__object_end(w);
}

/* The unwind tables: what is loaded, and the kernel memory they were given. */
static void write_unwind_tables(struct json_writer *w, const struct cprofd *d)
{
	struct unwind_tables_stats st;

	json_writer__key(w, "unwind");
	json_writer__object_begin(w);
	json_writer__member_string(w, "state",
				   d->unwind			 ? "on"
				   : d->unwind_error == -ENOTSUP ? "off"
								 : strerror(-d->unwind_error));
	if (d->unwind) {
		unwind_tables__stats(d->unwind, &st);
		json_writer__member_uint(w, "files", st.files);
		json_writer__member_uint(w, "files_loaded", st.files_loaded);
		json_writer__member_uint(w, "files_building", st.files_building);
		json_writer__member_uint(w, "files_without_cfi", st.files_without_cfi);
		json_writer__member_uint(w, "rows", st.rows_used);
		json_writer__member_uint(w, "rows_capacity", st.rows_capacity);
		json_writer__member_uint(w, "pages", st.pages_used);
		json_writer__member_uint(w, "pages_capacity", st.pages_capacity);
		json_writer__member_uint(w, "rules", st.rules_used);
		json_writer__member_uint(w, "rules_capacity", st.rules_capacity);
		json_writer__member_uint(w, "processes", st.processes);
		json_writer__member_uint(w, "kernel_bytes", st.kernel_bytes);
		json_writer__member_uint(w, "builds", st.builds);
		json_writer__member_uint(w, "build_failures", st.build_failures);
		json_writer__member_uint(w, "build_ms", st.build_ns / 1000000);
		json_writer__member_uint(w, "evictions", st.evictions);
		json_writer__member_uint(w, "too_big", st.too_big);
		json_writer__member_uint(w, "no_room", st.no_room);
		json_writer__member_uint(w, "processes_untracked", st.processes_untracked);
		json_writer__member_uint(w, "mappings_dropped", st.mappings_dropped);
	}
	json_writer__object_end(w);
}

/* Continuous mode: its rate, what it holds now, and its history on disk. */
static void write_continuous(struct json_writer *w, const struct cprofd *d)
{
	struct continuous_stats st;
	int64_t now_ns = realtime_ns();

	json_writer__key(w, "continuous");
	if (!d->continuous) {
		json_writer__null(w);
		return;
	}
	continuous__stats(d->continuous, &st);
	json_writer__object_begin(w);
	json_writer__member_uint(w, "hz", st.hz);
	json_writer__member_uint(w, "window_s", st.window_ns / 1000000000ull);
	json_writer__member_uint(w, "processes", st.processes);
	json_writer__member_uint(w, "windows_in_memory", st.windows_in_memory);
	json_writer__member_uint(w, "samples", st.samples);
	json_writer__member_uint(w, "lost", st.lost);
	json_writer__member_uint(w, "unlabelled", st.unlabelled);
	json_writer__member_uint(w, "windows_built", st.windows_built);
	json_writer__member_uint(w, "windows_written", st.windows_written);
	json_writer__member_uint(w, "windows_dropped", st.windows_dropped);
	json_writer__member_uint(w, "build_errors", st.build_errors);
	json_writer__member_uint(w, "write_errors", st.write_errors);
	json_writer__member_string(w, "last_write_error",
				   st.last_write_error ? strerror(-st.last_write_error) : "");
	json_writer__member_uint(w, "build_cpu_ms", st.build_ns / 1000000);
	json_writer__key(w, "history");
	json_writer__object_begin(w);
	json_writer__member_string(w, "dir", st.history_dir);
	json_writer__member_uint(w, "windows", st.store.windows);
	json_writer__member_uint(w, "bytes", st.store.bytes);
	json_writer__member_uint(w, "max_bytes", st.history_max_bytes);
	json_writer__member_uint(w, "max_age_s", st.history_max_age_ns / 1000000000ull);
	json_writer__member_uint(w, "oldest_age_s",
				 st.store.windows && now_ns > st.store.oldest_ns
					 ? (uint64_t)(now_ns - st.store.oldest_ns) / 1000000000ull
					 : 0);
	json_writer__member_uint(w, "newest_age_s",
				 st.store.windows && now_ns > st.store.newest_ns
					 ? (uint64_t)(now_ns - st.store.newest_ns) / 1000000000ull
					 : 0);
	json_writer__member_uint(w, "written", st.store.written);
	json_writer__member_uint(w, "write_errors", st.store.write_errors);
	json_writer__member_uint(w, "dropped_for_age", st.store.dropped_for_age);
	json_writer__member_uint(w, "dropped_for_size", st.store.dropped_for_size);
	json_writer__member_uint(w, "dropped_for_space", st.store.dropped_for_space);
	json_writer__member_uint(w, "corrupt_files", st.store.corrupt_files);
	json_writer__member_uint(w, "open_ms", st.store.open_ms);
	json_writer__object_end(w);
	json_writer__object_end(w);
}

static void write_session(struct cprofd *d, struct session *s, struct json_writer *w)
{
	json_writer__object_begin(w);
	json_writer__member_int(w, CPROF_JSON_PID, s->pid);
	json_writer__member_uint(w, CPROF_JSON_HZ, s->hz);
	json_writer__key(w, CPROF_JSON_CHILDREN);
	json_writer__bool(w, s->children);
	json_writer__member_uint(w, CPROF_JSON_PROCESSES, s->n_processes);
	json_writer__member_uint(w, CPROF_JSON_CHILDREN_UNTRACKED, s->kernel.children_untracked);
	json_writer__member_uint(w, CPROF_JSON_SLOT, s->slot);
	json_writer__member_string(w, CPROF_JSON_STATE,
				   s->stop_mono_ns    ? "stopped"
				   : s->target_exited ? "exited"
						      : "running");
	json_writer__member_uint(w, CPROF_JSON_DURATION_NS, session__duration_ns(s));
	json_writer__member_uint(w, CPROF_JSON_SAMPLES, s->samples);
	json_writer__member_uint(w, CPROF_JSON_LOST, session__lost(s));
	json_writer__member_uint(w, CPROF_JSON_LOST_RING_FULL, s->kernel.lost_ring_full);
	json_writer__member_uint(w, CPROF_JSON_LOST_STACK_TABLE_FULL, s->lost_stack_table_full);
	json_writer__member_uint(w, CPROF_JSON_STACK_ERRORS, s->stack_errors);
	json_writer__member_uint(w, CPROF_JSON_FIRED, s->kernel.fired);
	json_writer__member_uint(w, CPROF_JSON_OTHER_PROCESS, s->kernel.other_process);
	json_writer__member_uint(w, CPROF_JSON_STACKS, s->n_counts);
	write_walks(w, s);
	json_writer__object_end(w);
}

int cprofd__write_session(struct cprofd *d, pid_t pid, struct json_writer *w)
{
	struct session *s = cprofd__find_session(d, pid);

	if (!s)
		return -ENOENT;
	cprofd__refresh_counters(d, s);
	write_session(d, s, w);
	return 0;
}

/* Resident memory of this process, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	unsigned long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * sysconf(_SC_PAGESIZE);
}

void cprofd__write_status(struct cprofd *d, struct json_writer *w, bool daemon, uid_t viewer)
{
	struct symbolizer_stats symbols;

	if (daemon) {
		json_writer__key(w, "daemon");
		json_writer__object_begin(w);
		json_writer__member_string(w, "version", CPROF_VERSION);
		json_writer__member_int(w, "pid", getpid());
		json_writer__member_uint(w, "hz", d->sampler ? bpf_sampler__hz(d->sampler) : 0);
		json_writer__member_uint(w, "sessions", d->n_sessions);
		json_writer__member_uint(w, "ring_buffer_bytes",
					 d->sampler ? bpf_sampler__ring_bytes(d->sampler) : 0);
		json_writer__member_uint(w, "ring_buffer_used_bytes",
					 d->sampler ? bpf_sampler__ring_used_bytes(d->sampler) : 0);
		json_writer__member_uint(w, "stack_table_bytes", stack_table__memory(d->stacks));
		json_writer__member_uint(w, "stack_table_limit_bytes",
					 stack_table__limit(d->stacks));
		json_writer__member_uint(w, "stack_table_stacks", stack_table__count(d->stacks));
		json_writer__member_uint(w, "processes", process_table__count(d->processes));
		json_writer__member_string(w, "task_events",
					   d->task_events	  ? "open"
					   : d->task_events_error ? strerror(-d->task_events_error)
								  : "closed");
		json_writer__member_uint(w, "task_events_lost",
					 d->task_events ? task_events__lost(d->task_events) : 0);
		json_writer__member_uint(w, "processes_untracked",
					 process_table__untracked(d->processes));
		json_writer__member_uint(w, "symbolizer_bytes", symbolizer__memory(d->symbols));
		symbolizer__stats(d->symbols, &symbols);
		json_writer__member_uint(w, "symbol_cache_bytes", symbols.cache_bytes);
		json_writer__member_uint(w, "symbol_cache_limit_bytes", symbols.cache_limit_bytes);
		json_writer__member_uint(w, "symbol_cache_binaries", symbols.binaries);
		json_writer__member_uint(w, "symbol_cache_evictions", symbols.evictions);
		json_writer__member_uint(w, "kernel_symbols_bytes", symbols.kernel_bytes);
		json_writer__member_uint(w, "symbol_loads_pending", symbols.loads_pending);
		json_writer__member_uint(w, "symbol_loads_done", symbols.loads_done);
		json_writer__member_uint(w, "symbol_loads_failed", symbols.loads_failed);
		json_writer__member_uint(w, "debuginfod_fetched", symbols.debuginfod_fetched);
		json_writer__member_uint(w, "debuginfod_failed", symbols.debuginfod_failed);
		json_writer__member_uint(w, "debuginfod_backed_off", symbols.debuginfod_backed_off);
		json_writer__member_uint(w, "rss_bytes", rss_bytes());
		json_writer__member_uint(w, "records", d->records);
		json_writer__member_uint(w, "bad_records", d->bad_records);
		json_writer__member_uint(w, "stray_records", d->stray_records);
		json_writer__member_uint(w, "bpf_prog_id",
					 d->sampler ? bpf_sampler__prog_id(d->sampler) : 0);
		write_unwind_tables(w, d);
		write_continuous(w, d);
		json_writer__object_end(w);
	}
	json_writer__key(w, "sessions");
	json_writer__array_begin(w);
	for (int slot = 0; slot < CPROF_MAX_SESSIONS; slot++) {
		struct session *s = d->sessions[slot];

		if (!s || (viewer != 0 && s->owner != viewer))
			continue;
		cprofd__refresh_counters(d, s);
		write_session(d, s, w);
	}
	json_writer__array_end(w);
}
