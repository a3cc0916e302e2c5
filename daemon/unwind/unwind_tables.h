/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The unwind tables the BPF program walks stacks with (include/cprof_unwind.h),
 * kept by the daemon: one table per file (by device, inode and path), built
 * from its CFI on a worker thread of its own (cfi_table.h), shared by every
 * process that maps the file, and written into the BPF maps through mmap()
 * when it is done; and one entry per tracked process with its executable
 * mappings, so the program turns a pc into (file, file offset).
 *
 * Kernel memory is what the maps were sized to at load: past it, the least
 * recently used tables are evicted and their frames are walked by frame
 * pointers (counted in status, and per sample in the records). A freed
 * range of rows is reused only a second later, when no walk can still be
 * reading it.
 *
 * Library-like: does not log. All calls from the event loop's thread.
 */
#ifndef CPROF_UNWIND_TABLES_H
#define CPROF_UNWIND_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "cprof_unwind.h"

struct process_table;

/* The BPF maps, as the sampler created and mapped them. */
struct unwind_maps {
	struct cprof_unwind_file *files;
	size_t max_files;
	struct cprof_unwind_row *rows;
	size_t max_rows;
	struct cprof_unwind_page *pages;
	size_t max_pages;
	struct cprof_unwind_rule *rules;
	size_t max_rules;
	int procs_fd; /* hash: tgid -> struct cprof_unwind_proc */
	size_t max_procs;
};

struct unwind_tables_stats {
	size_t files; /* files known (a table built, building, or none to build) */
	size_t files_loaded; /* their tables in the maps */
	size_t files_building;
	size_t files_without_cfi; /* no .eh_frame or .debug_frame, or unreadable */
	size_t rows_used, rows_capacity;
	size_t pages_used, pages_capacity;
	size_t rules_used, rules_capacity;
	size_t processes; /* entries in the procs map */
	size_t kernel_bytes; /* of the arrays, as sized, and of the process entries held */
	uint64_t builds, build_failures, evictions;
	uint64_t too_big; /* a table larger than the maps: never loaded */
	uint64_t no_room; /* no room for now, even after evicting: built again later */
	uint64_t processes_untracked; /* an entry could not be written (map full) */
	uint64_t mappings_dropped; /* past CPROF_UNWIND_MAX_MAPPINGS in one process */
	uint64_t build_ns; /* worker time spent building tables */
};

struct unwind_tables;

/*
 * Keeps tables in maps (which stay the caller's, and must outlive it),
 * reading processes' maps from processes. NULL with errno set on failure.
 */
struct unwind_tables *unwind_tables__new(const struct unwind_maps *maps,
					 struct process_table *processes);
/* Stops the worker; the maps keep what they hold. NULL is a no-op. */
void unwind_tables__free(struct unwind_tables *t);

/*
 * Writes (or rewrites) tgid's entry from its current maps in the process
 * table, asking for the tables of files not seen before. Returns 0, -ENOENT
 * when the process table does not know tgid, or another negative errno.
 */
int unwind_tables__track(struct unwind_tables *t, pid_t tgid);
/* Drops tgid's entry (it exited, or its session ended). */
void unwind_tables__forget(struct unwind_tables *t, pid_t tgid);
/* Whether tgid has an entry. */
bool unwind_tables__tracks(const struct unwind_tables *t, pid_t tgid);

/*
 * Puts the tables the worker finished into the maps and rewrites the
 * entries of the processes that map them. Returns how many were put in.
 */
int unwind_tables__collect(struct unwind_tables *t);
/* Readable when the worker has finished tables for unwind_tables__collect(). */
int unwind_tables__fd(const struct unwind_tables *t);

void unwind_tables__stats(const struct unwind_tables *t, struct unwind_tables_stats *ret);

#endif /* CPROF_UNWIND_TABLES_H */
