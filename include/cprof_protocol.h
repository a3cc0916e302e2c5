/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The HTTP/1.1 protocol between cprofd and its clients (cprofctl, curl,
 * pprof scrapers): routes, parameters, headers and JSON field names.
 *
 *   POST   /v1/sessions?pid=PID[&hz=HZ][&children=1]
 *                                         start sampling PID (and, with children=1,
 *                                         the processes it forks); 201 + session JSON
 *   GET    /v1/sessions                   200 + {"sessions":[...]}
 *   GET    /v1/sessions/PID               200 + the session JSON
 *   POST   /v1/sessions/PID/stop          end sampling, keep the data; 200 + session
 *   GET    /v1/sessions/PID/profile       200 + the profile so far (running or ended)
 *   DELETE /v1/sessions/PID               end, 200 + gzipped pprof profile, forget
 *   DELETE /v1/sessions/PID?profile=0     end and forget; 204 (after a saved profile)
 *   GET    /v1/status                     200 + {"daemon":{...},"sessions":[...]}
 *   GET    /debug/pprof/profile?pid=PID&seconds=N[&hz=HZ]
 *                                         sample for N seconds, then 200 + profile
 *
 * Errors are 4xx/5xx with a JSON body {"error":"one line"}.
 * A session's state is "running", "exited" (its target is gone; the data
 * stays until stop) or "stopped" (stopped, profile not yet handed out).
 * A profile response carries its summary in the X-Cprof-* headers below.
 */
#ifndef CPROF_PROTOCOL_H
#define CPROF_PROTOCOL_H

#define CPROF_VERSION "0.1.0" /* of cprofd and cprofctl */
#define CPROF_PROTOCOL_VERSION 1

#define CPROF_DEFAULT_SOCKET "/run/cprofd/cprofd.sock"
#define CPROF_DEFAULT_HZ 99
#define CPROF_MIN_HZ 1
#define CPROF_MAX_HZ 10000
#define CPROF_MAX_PROFILE_SECONDS 3600
/* Connections to the daemon at once, at most, whatever cprofd.conf says. */
#define CPROF_MAX_CONNECTIONS 4096

#define CPROF_ROUTE_SESSIONS "/v1/sessions"
#define CPROF_ROUTE_SESSIONS_PREFIX "/v1/sessions/"
#define CPROF_ROUTE_STOP_SUFFIX "/stop"
#define CPROF_ROUTE_PROFILE_SUFFIX "/profile"
#define CPROF_ROUTE_STATUS "/v1/status"
#define CPROF_ROUTE_PPROF_PROFILE "/debug/pprof/profile"
/* Continuous mode's history: a merged profile, and what is kept. */
#define CPROF_ROUTE_QUERY "/v1/query"
#define CPROF_ROUTE_QUERY_LIST "/v1/query/list"

#define CPROF_PARAM_PID "pid"
#define CPROF_PARAM_HZ "hz"
#define CPROF_PARAM_SECONDS "seconds"
#define CPROF_PARAM_PROFILE "profile"
#define CPROF_PARAM_CHILDREN "children" /* 1: follow the processes the target forks */
/*
 * A query's span: a number of seconds with s, m, h or d is that long ago
 * ("10m"); a plain number is a time, in seconds since the epoch. until
 * defaults to now, since to the history's start.
 */
#define CPROF_PARAM_SINCE "since"
#define CPROF_PARAM_UNTIL "until"
#define CPROF_PARAM_COMM "comm"
#define CPROF_PARAM_UNIT "unit"
#define CPROF_PARAM_CONTAINER "container"

#define CPROF_CONTENT_TYPE_JSON "application/json"
#define CPROF_CONTENT_TYPE_PPROF "application/octet-stream"

/* Summary of a returned profile, as decimal integers. */
#define CPROF_HEADER_SAMPLES "X-Cprof-Samples" /* samples captured */
#define CPROF_HEADER_LOST "X-Cprof-Lost" /* samples lost (all causes) */
#define CPROF_HEADER_DURATION_NS "X-Cprof-Duration-Ns" /* session wall time */
#define CPROF_HEADER_STACKS "X-Cprof-Stacks" /* distinct stacks */
#define CPROF_HEADER_UNMAPPED "X-Cprof-Unmapped" /* samples with a leaf in no known mapping */

/* JSON field names of a session object. */
#define CPROF_JSON_PID "pid"
#define CPROF_JSON_HZ "hz"
#define CPROF_JSON_SLOT "slot"
#define CPROF_JSON_STATE "state" /* "running" or "exited" (target gone) */
#define CPROF_JSON_DURATION_NS "duration_ns"
#define CPROF_JSON_SAMPLES "samples"
#define CPROF_JSON_LOST "lost" /* sum of the lost_* below */
#define CPROF_JSON_LOST_RING_FULL "lost_ring_full" /* dropped in the kernel */
#define CPROF_JSON_LOST_STACK_TABLE_FULL "lost_stack_table_full" /* dropped in the daemon */
#define CPROF_JSON_STACK_ERRORS "stack_errors" /* captured, stack unreadable */
#define CPROF_JSON_FIRED "fired" /* the BPF program's own count */
#define CPROF_JSON_OTHER_PROCESS "other_process" /* ticks of a later process on a reused pid */
#define CPROF_JSON_STACKS "stacks" /* distinct stacks */
#define CPROF_JSON_UNMAPPED "unmapped" /* samples with a leaf in no known mapping */
#define CPROF_JSON_CHILDREN "children" /* the session follows forked processes */
#define CPROF_JSON_PROCESSES "processes" /* processes sampled (the target and children) */
#define CPROF_JSON_CHILDREN_UNTRACKED "children_untracked" /* forked past the target map's room */

#endif /* CPROF_PROTOCOL_H */
