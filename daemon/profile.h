/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Turns a session's counts into a gzipped pprof profile: symbolizes every
 * frame (user frames by binary and file offset, kernel frames by kallsyms),
 * adds mappings with build IDs, labels each sample with pid, tid and thread
 * name, and shows lost samples as samples on marker frames.
 */
#ifndef CPROF_PROFILE_H
#define CPROF_PROFILE_H

#include <stddef.h>

struct session;
struct stack_table;
struct process_table;
struct symbolizer;

/* Marker frames for samples the profile could not hold. */
#define PROFILE_LOST_RING_FULL "[lost: ring buffer full]"
#define PROFILE_LOST_STACK_TABLE_FULL "[lost: stack table full]"

/*
 * Asks the symbolizer for the binary of every user frame of the session (and
 * of its main mapping), so that a build finds them loaded. Returns 0 when
 * every one is ready (loaded, or known unusable), -EAGAIN while some load in
 * the background (queued now if they were not), or another negative errno.
 */
int profile__prepare(const struct session *s, const struct stack_table *stacks,
		     struct process_table *processes, struct symbolizer *symbols);

/*
 * Builds the profile, with the binaries the symbolizer has: a frame in one
 * still loading is named binary+0xOFFSET. On success *ret_data is a malloc'd gzipped
 * profile.proto of *ret_size bytes. Returns 0 or a negative errno.
 */
int profile__build(const struct session *s, const struct stack_table *stacks,
		   struct process_table *processes, struct symbolizer *symbols, void **ret_data,
		   size_t *ret_size);

#endif /* CPROF_PROFILE_H */
