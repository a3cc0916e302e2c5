/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process table, shared by every session: what cprofd knows of each sampled
 * process, chiefly its memory maps, so addresses can be tied to binaries
 * after the process is gone. Maps are read when a session starts and again
 * (at most once a second) when an address falls outside every known
 * mapping, and follow the task events (forks, execs, mmaps) while sampling;
 * older snapshots are kept so stacks taken before a dlclose() still
 * resolve. Entries are reference counted by the sessions using them.
 */
#ifndef CPROF_PROCESS_TABLE_H
#define CPROF_PROCESS_TABLE_H

#include <stdint.h>
#include <sys/types.h>

#include "proc_maps.h"

struct process_table;

/* Returns a table of at most max_processes entries, or NULL with errno set. */
struct process_table *process_table__new(size_t max_processes);
void process_table__free(struct process_table *t);

/*
 * Takes a reference on tgid's entry, creating it and reading its maps the
 * first time. Returns 0, -ENOSPC at the bound, or -ENOMEM. A process whose
 * maps cannot be read still gets an entry (its frames stay unsymbolized);
 * the read error is kept for status.
 */
int process_table__acquire(struct process_table *t, pid_t tgid);
/* Drops a reference; the last one frees the entry. */
void process_table__release(struct process_table *t, pid_t tgid);

/*
 * Finds the mapping containing addr in tgid's maps, newest snapshot first;
 * on a miss, re-reads the maps if the last read is over a second old.
 * Returns the mapping (valid until the next call on this table) or NULL.
 */
const struct proc_map *process_table__find(struct process_table *t, pid_t tgid, uint64_t addr);

/*
 * The mapping of tgid's main executable as far as the maps tell: the first
 * executable file mapping. NULL if none is known. Valid as for __find().
 */
const struct proc_map *process_table__main_mapping(struct process_table *t, pid_t tgid);

/*
 * A mapping of tgid's that match() accepts (given arg too), the newest
 * snapshot first: how a file the process maps to tell profilers something
 * (a JIT's jit-PID.dump) is found. NULL if none. The maps are not re-read.
 * Valid as for __find().
 */
const struct proc_map *process_table__find_file(const struct process_table *t, pid_t tgid,
						bool (*match)(const struct proc_map *m, void *arg),
						void *arg);

/*
 * Calls fn(m, arg) for each executable mapping of tgid's current program
 * (the snapshots since its last exec), newest snapshot first, so a mapping
 * that replaced another comes before it: the caller skips what overlaps one
 * it took. Returns the mappings passed, or -ENOENT for an unknown tgid.
 */
int process_table__for_each_code(const struct process_table *t, pid_t tgid,
				 void (*fn)(const struct proc_map *m, void *arg), void *arg);

/* Whether tgid has an entry (held by a session, or made at its fork). */
bool process_table__has(const struct process_table *t, pid_t tgid);

/*
 * The owner (real uid) of tgid as seen when its entry was made, so files it
 * wrote (perf maps) can be checked after it is gone. Returns 0, or -ENOENT
 * when the tgid is unknown or its owner could not be read.
 */
int process_table__owner(const struct process_table *t, pid_t tgid, uid_t *ret_uid);

/* The last error reading tgid's maps (0 if none or unknown tgid). */
int process_table__maps_error(const struct process_table *t, pid_t tgid);

/*
 * What task events (task_events.h) tell, applied in time order. A process
 * forked by one in the table enters it with its parent's maps, so a child
 * that lives and dies between two drains is known after it is gone; exec
 * starts its maps afresh and mmap adds to them. Processes not in the table
 * and not forked by one are left alone. An entry made at fork holds no
 * reference: it leaves at exit unless a session took one by then.
 */
void process_table__on_fork(struct process_table *t, pid_t parent, pid_t child);
void process_table__on_exec(struct process_table *t, pid_t tgid);
void process_table__on_mmap(struct process_table *t, pid_t tgid, const struct proc_map *m);
void process_table__on_exit(struct process_table *t, pid_t tgid);

/*
 * Drops every entry no session holds: when task events stop, entries made
 * at fork would never see their exit.
 */
void process_table__forget_unheld(struct process_table *t);

/* Task events dropped because the table was full (or memory short). */
uint64_t process_table__untracked(const struct process_table *t);

size_t process_table__count(const struct process_table *t);

#endif /* CPROF_PROCESS_TABLE_H */
