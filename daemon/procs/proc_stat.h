/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What cprofd reads of /proc/PID/stat: the process start time, which with
 * the pid names one process for its whole life (a reused pid starts later).
 */
#ifndef CPROF_PROC_STAT_H
#define CPROF_PROC_STAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Parses the start time (field 22, clock ticks since boot) out of the text
 * of a stat file. The command name (field 2) may hold spaces and ')': the
 * fields after it are counted from its last ')'. Returns 0 or -EINVAL.
 */
int proc_stat__parse_start_ticks(const char *text, size_t len, uint64_t *ret_ticks);

/* Reads /proc/PID/stat. Returns 0, -ESRCH when the process is gone, or -EINVAL. */
int proc_stat__start_ticks(pid_t pid, uint64_t *ret_ticks);

#endif /* CPROF_PROC_STAT_H */
