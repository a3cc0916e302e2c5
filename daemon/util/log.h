/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's top layer logs through here, once per event, with context.
 * Under systemd (JOURNAL_STREAM set) lines carry "<N>" priority prefixes
 * that journald understands; otherwise they are plain lines on stderr.
 */
#ifndef CPROF_LOG_H
#define CPROF_LOG_H

#include <syslog.h>

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Messages below this priority (LOG_INFO by default) are dropped. */
void log_set_max_priority(int priority);

#endif /* CPROF_LOG_H */
