/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Turns a session's counts into a gzipped pprof profile: symbolizes every
 * frame (user frames by binary and file offset, kernel frames by kallsyms),
 * adds mappings with build IDs, labels each sample with pid, tid and thread
 * name, and shows lost samples as samples on marker frames.
 */
#ifndef CPROF_PROFILE_H
#define CPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct session;
struct stack_table;
struct process_table;
struct symbolizer;

/* Marker frames for samples the profile could not hold. */
#define PROFILE_LOST_RING_FULL "[lost: ring buffer full]"
#define PROFILE_LOST_STACK_TABLE_FULL "[lost: stack table full]"
/*
 * Root frame of a sample whose leaf was in no mapping cprofd knew for its
 * process (its maps were lost: task events dropped, the table full): the
 * stack is kept, address by address, under this name.
 */
#define PROFILE_UNMAPPED "[unmapped: no known mapping for the leaf]"
/* Root frames of stacks whose walk stopped short (CPROF_STOP_MARKER()). */
#define PROFILE_UNWIND_READ_FAULT "[unwind: stack unreadable here]"
#define PROFILE_UNWIND_UNSUPPORTED "[unwind: CFI rule not followed]"
#define PROFILE_UNWIND_TRUNCATED "[truncated]"
#define PROFILE_UNWIND_NO_TABLE "[unwind: frame pointers, table not loaded]"

/* Where a preparation is between slices; zero it to begin. */
struct profile_prepare {
	size_t cursor; /* the session's next count */
	bool loading; /* a binary seen in this walk was still loading */
	bool started; /* the main mapping was asked for */
};

/*
 * Looks up every user frame of the session (so the symbolizer has their
 * binaries loaded and their frames cached), and the main mapping's binary,
 * so that a build then finds them all at once. Works in slices: past
 * budget_ns it returns -EINPROGRESS, to be called again with the same *p.
 * Returns 0 when the walk is done and every binary was ready (loaded, or
 * known unusable), -EAGAIN when it is done but some were loading (*p is
 * reset for a new walk once they are), or another negative errno. The
 * binaries it finds are held (symbolizer__freeze()) until profile__build()
 * ends, so that a walk keeps what the last one loaded.
 */
int profile__prepare(const struct session *s, const struct stack_table *stacks,
		     struct process_table *processes, struct symbolizer *symbols,
		     struct profile_prepare *p, uint64_t budget_ns);

/*
 * Builds the profile, with the binaries the symbolizer has: a frame in one
 * still loading is named binary+0xOFFSET. On success *ret_data is a malloc'd gzipped
 * profile.proto of *ret_size bytes and *ret_unmapped the samples put under
 * PROFILE_UNMAPPED. Returns 0 or a negative errno.
 */
int profile__build(const struct session *s, const struct stack_table *stacks,
		   struct process_table *processes, struct symbolizer *symbols, void **ret_data,
		   size_t *ret_size, uint64_t *ret_unmapped);

/* Labels a process's samples carry beyond pid, tid and thread_name, at most. */
#define PROFILE_MAX_PROCESS_LABELS 8

struct pprof_label;

/* Where profile__build_labelled() gets the labels of each process's samples. */
struct profile_labels {
	/*
	 * Writes at most max labels of tgid's (strings valid until the build
	 * returns) and returns how many.
	 */
	size_t (*of_process)(void *ctx, pid_t tgid, struct pprof_label *ret, size_t max);
	void *ctx;
};

/* As profile__build(), each sample also labelled with its process's labels (if not NULL). */
int profile__build_labelled(const struct session *s, const struct stack_table *stacks,
			    struct process_table *processes, struct symbolizer *symbols,
			    const struct profile_labels *labels, void **ret_data, size_t *ret_size,
			    uint64_t *ret_unmapped);

#endif /* CPROF_PROFILE_H */
