// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/types.h>

#include "cprof_protocol.h"
#include "cprof_record.h"
#include "json_writer.h"
#include "util/clock.h"

/* Go's net/http/pprof profiles for 30 seconds when not told. */
#define DEFAULT_PROFILE_SECONDS 30

static void respond_error(struct api_response *resp, unsigned int status, const char *fmt, ...)
{
	struct json_writer w;
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	memset(resp, 0, sizeof(*resp));
	resp->status = status;
	resp->content_type = CPROF_CONTENT_TYPE_JSON;
	json_writer__init(&w);
	json_writer__object_begin(&w);
	json_writer__key(&w, "error");
	json_writer__string(&w, message);
	json_writer__object_end(&w);
	if (json_writer__finish(&w, &resp->body, &resp->body_size)) {
		resp->status = 500;
		resp->body = NULL;
		resp->body_size = 0;
	}
}

static void respond_json(struct api_response *resp, unsigned int status, struct json_writer *w)
{
	memset(resp, 0, sizeof(*resp));
	if (json_writer__finish(w, &resp->body, &resp->body_size)) {
		respond_error(resp, 500, "out of memory");
		return;
	}
	resp->status = status;
	resp->content_type = CPROF_CONTENT_TYPE_JSON;
}

/* A profile (gzipped pprof, malloc'd: the response owns it) and its summary headers. */
static void respond_pprof(struct api_response *resp, void *data, size_t size,
			  const struct cprofd_summary *summary)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	resp->content_type = CPROF_CONTENT_TYPE_PPROF;
	resp->body = data;
	resp->body_size = size;
	resp->has_summary = true;
	resp->summary = *summary;
}

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/*
 * Parses a decimal integer in [min, max]: digits only, no sign, no spaces,
 * no leading zeros beyond "0". Returns 0 or -EINVAL / -ERANGE.
 */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 19)
			return -EINVAL;
		v = v * 10 + (s[n] - '0');
	}
	if (n > 1 && s[0] == '0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int parse_pid(const char *s, pid_t *ret)
{
	uint64_t v;
	int err = parse_uint(s, 1, INT32_MAX, &v);

	if (!err)
		*ret = (pid_t)v;
	return err;
}

/* What a request asks a new session to be. */
struct session_params {
	pid_t pid;
	unsigned int hz;
	bool children;
};

/* Reads pid=, hz= and children= for a new session; fills *resp with an error if bad. */
static bool read_session_params(struct cprofd *d, const struct api_request *req,
				struct api_response *resp, struct session_params *params)
{
	const char *pid_text = req->get_param(req->ctx, CPROF_PARAM_PID);
	const char *hz_text = req->get_param(req->ctx, CPROF_PARAM_HZ);
	const char *children_text = req->get_param(req->ctx, CPROF_PARAM_CHILDREN);
	pid_t *pid = &params->pid;
	unsigned int *hz = &params->hz;
	uint64_t v;

	if (!pid_text) {
		respond_error(resp, 400, "missing parameter: pid");
		return false;
	}
	if (parse_pid(pid_text, pid)) {
		respond_error(resp, 400, "bad pid: not a positive integer");
		return false;
	}
	*hz = cprofd__default_hz(d);
	if (hz_text) {
		int err = parse_uint(hz_text, CPROF_MIN_HZ, CPROF_MAX_HZ, &v);

		if (err == -ERANGE) {
			respond_error(resp, 400, "hz out of range: must be %d to %d", CPROF_MIN_HZ,
				      CPROF_MAX_HZ);
			return false;
		}
		if (err) {
			respond_error(resp, 400, "bad hz: not a positive integer");
			return false;
		}
		*hz = (unsigned int)v;
	}
	params->children = false;
	if (children_text) {
		if (parse_uint(children_text, 0, 1, &v)) {
			respond_error(resp, 400, "bad children: must be 0 or 1");
			return false;
		}
		params->children = v == 1;
	}
	return true;
}

/* Starts a session for the peer; on failure fills *resp with the error. */
static bool start(struct cprofd *d, const struct api_request *req,
		  const struct session_params *params, struct api_response *resp)
{
	pid_t pid = params->pid;
	int err = access__may_profile(req->peer, pid, "/proc");

	if (err == -EPERM) {
		respond_error(resp, 403, "process %d is not yours to profile", pid);
		return false;
	}
	if (!err)
		err = cprofd__start_session(d, pid, params->hz, params->children, req->peer->uid);
	switch (err) {
	case 0:
		return true;
	case -ESRCH:
		respond_error(resp, 404, "no process %d", pid);
		break;
	case -EEXIST:
		respond_error(resp, 409, "process %d is already being profiled", pid);
		break;
	case -EBUSY:
		respond_error(
			resp, 409,
			"other sessions sample at another rate; use the same hz or stop them");
		break;
	case -ENOSPC:
		respond_error(resp, 503, "too many sessions (at most %d)", CPROF_MAX_SESSIONS);
		break;
	case -ERANGE:
		respond_error(resp, 400, "hz out of range: must be %d to %d", CPROF_MIN_HZ,
			      CPROF_MAX_HZ);
		break;
	case -ENODEV:
		respond_error(resp, 503, "sampling is not available in this daemon");
		break;
	default:
		respond_error(resp, 500, "starting a session for process %d: %s", pid,
			      strerror(-err));
	}
	return false;
}

static void handle_start(struct cprofd *d, const struct api_request *req, struct api_response *resp)
{
	struct session_params params;
	struct json_writer w;

	if (!read_session_params(d, req, resp, &params) || !start(d, req, &params, resp))
		return;
	json_writer__init(&w);
	cprofd__write_session(d, params.pid, &w);
	respond_json(resp, 201, &w);
}

/* How a profile request treats its session. */
enum profile_mode {
	PROFILE_SNAPSHOT, /* leave it as it is */
	PROFILE_AND_FORGET, /* end it, and drop it once the profile is built */
};

/*
 * Answers with the profile, or (unless final) with a wait while the
 * symbols of its binaries load. A session to forget is ended first: what it
 * sampled is kept while the request waits.
 */
static void respond_profile(struct cprofd *d, pid_t pid, enum profile_mode mode, bool final,
			    const struct cprofd_prepare *progress, struct api_response *resp)
{
	struct cprofd_prepare prepare = progress ? *progress : (struct cprofd_prepare){};
	struct cprofd_summary summary;
	void *data;
	size_t size;
	uid_t owner;
	int err;

	err = cprofd__session_owner(d, pid, &owner);
	if (!err && mode == PROFILE_AND_FORGET)
		err = cprofd__end_sampling(d, pid);
	if (!err && !final) {
		int ready = cprofd__prepare_profile(d, pid, &prepare);

		if (ready == -EAGAIN || ready == -EINPROGRESS) {
			memset(resp, 0, sizeof(*resp));
			resp->wait = (struct api_wait){
				.pid = pid,
				.forget = mode == PROFILE_AND_FORGET,
				.owner = owner,
				.soon = ready == -EINPROGRESS,
				.prepare = prepare,
			};
			return;
		}
	}
	if (!err) {
		err = cprofd__build_profile(d, pid, &data, &size, &summary);
		if (!err && mode == PROFILE_AND_FORGET)
			cprofd__forget_session(d, pid);
	}
	if (err == -ENOENT) {
		respond_error(resp, 404, "no session for process %d", pid);
		return;
	}
	if (err) {
		respond_error(resp, 500, "building the profile of process %d: %s (kept; retry)",
			      pid, strerror(-err));
		return;
	}
	respond_pprof(resp, data, size, &summary);
}

static void respond_session(struct cprofd *d, pid_t pid, unsigned int status,
			    struct api_response *resp)
{
	struct json_writer w;

	json_writer__init(&w);
	cprofd__write_session(d, pid, &w);
	respond_json(resp, status, &w);
}

/*
 * Routes under /v1/sessions/PID: the session itself, .../stop and
 * .../profile. Someone else's session is as good as none: say nothing of it.
 */
static void handle_session(struct cprofd *d, const struct api_request *req, const char *rest,
			   struct api_response *resp)
{
	const char *slash = strchr(rest, '/'), *action = slash ? slash + 1 : NULL;
	const char *keep_profile = req->get_param(req->ctx, CPROF_PARAM_PROFILE);
	const char *method = req->method;
	size_t pid_len = slash ? (size_t)(slash - rest) : strlen(rest);
	char pid_text[16];
	uid_t owner;
	pid_t pid;

	if (!action) {
		if (!is(method, "GET") && !is(method, "DELETE")) {
			respond_error(resp, 405, "%s: use GET or DELETE",
				      CPROF_ROUTE_SESSIONS_PREFIX "PID");
			return;
		}
	} else if (is(action, "stop")) {
		if (!is(method, "POST")) {
			respond_error(resp, 405, "%s: use POST",
				      CPROF_ROUTE_SESSIONS_PREFIX "PID" CPROF_ROUTE_STOP_SUFFIX);
			return;
		}
	} else if (is(action, "profile")) {
		if (!is(method, "GET")) {
			respond_error(resp, 405, "%s: use GET",
				      CPROF_ROUTE_SESSIONS_PREFIX "PID" CPROF_ROUTE_PROFILE_SUFFIX);
			return;
		}
	} else {
		respond_error(resp, 404, "no such route");
		return;
	}

	if (pid_len >= sizeof(pid_text)) {
		respond_error(resp, 400, "bad pid in path: not a positive integer");
		return;
	}
	memcpy(pid_text, rest, pid_len);
	pid_text[pid_len] = '\0';
	if (parse_pid(pid_text, &pid)) {
		respond_error(resp, 400, "bad pid in path: not a positive integer");
		return;
	}
	if (cprofd__session_owner(d, pid, &owner) ||
	    (!access__is_root(req->peer) && (!req->peer || req->peer->uid != owner))) {
		respond_error(resp, 404, "no session for process %d", pid);
		return;
	}

	if (action && is(action, "stop")) {
		cprofd__end_sampling(d, pid);
		respond_session(d, pid, 200, resp);
	} else if (action) {
		respond_profile(d, pid, PROFILE_SNAPSHOT, false, NULL, resp);
	} else if (is(method, "GET")) {
		respond_session(d, pid, 200, resp);
	} else if (keep_profile && is(keep_profile, "0")) {
		cprofd__forget_session(d, pid);
		memset(resp, 0, sizeof(*resp));
		resp->status = 204;
		resp->content_type = CPROF_CONTENT_TYPE_JSON;
	} else {
		respond_profile(d, pid, PROFILE_AND_FORGET, false, NULL, resp);
	}
}

/* The limits on connections and what they refused or ended, since start. */
static void write_connections(struct json_writer *w, const struct connection_report *c)
{
	json_writer__key(w, "connections");
	json_writer__object_begin(w);
	json_writer__member_uint(w, "open", c->stats.open);
	json_writer__member_uint(w, "open_root", c->stats.open_root);
	json_writer__member_uint(w, "uids", c->stats.uids);
	json_writer__member_uint(w, "admitted", c->stats.admitted);
	for (int e = 0; e < ADMISSION_N_EVENTS; e++)
		json_writer__member_uint(w, admission__event_name(e), c->stats.events[e]);
	json_writer__member_uint(w, "max_connections", c->limits.admission.max_connections);
	json_writer__member_uint(w, "max_connections_per_uid", c->limits.admission.max_per_uid);
	json_writer__member_uint(w, "root_reserved_connections", c->limits.admission.root_reserved);
	json_writer__member_uint(w, "header_timeout_ms", c->limits.header_timeout_ms);
	json_writer__member_uint(w, "idle_timeout_s", c->limits.idle_timeout_s);
	json_writer__object_end(w);
}

static void handle_status(struct cprofd *d, const struct api_request *req, bool daemon,
			  struct api_response *resp)
{
	/* Unknown peers see the daemon's counts but no session. */
	uid_t viewer = req->peer ? req->peer->uid : (uid_t)-1;
	struct json_writer w;

	json_writer__init(&w);
	json_writer__object_begin(&w);
	cprofd__write_status(d, &w, daemon, viewer);
	if (daemon && req->connections)
		write_connections(&w, req->connections);
	json_writer__object_end(&w);
	respond_json(resp, 200, &w);
}

static void handle_pprof_profile(struct cprofd *d, const struct api_request *req,
				 struct api_response *resp)
{
	const char *seconds_text = req->get_param(req->ctx, CPROF_PARAM_SECONDS);
	uint64_t seconds = DEFAULT_PROFILE_SECONDS;
	struct session_params params;

	if (seconds_text) {
		int err = parse_uint(seconds_text, 1, CPROF_MAX_PROFILE_SECONDS, &seconds);

		if (err) {
			respond_error(resp, 400, "bad seconds: must be an integer from 1 to %d",
				      CPROF_MAX_PROFILE_SECONDS);
			return;
		}
	}
	if (!read_session_params(d, req, resp, &params) || !start(d, req, &params, resp))
		return;
	memset(resp, 0, sizeof(*resp));
	resp->defer_seconds = (unsigned int)seconds;
	resp->defer_pid = params.pid;
}

/* A query's time: "10m" (that long before now) or seconds since the epoch. Returns 0 or -EINVAL. */
static int parse_query_time(const char *s, int64_t now_ns, int64_t *ret_ns)
{
	static const char suffixes[] = "smhd";
	static const uint64_t seconds[] = { 1, 60, 3600, 86400 };
	char number[24];
	size_t n = s ? strlen(s) : 0;
	const char *suffix;
	uint64_t v;

	if (n == 0 || n >= sizeof(number))
		return -EINVAL;
	suffix = strchr(suffixes, s[n - 1]);
	memcpy(number, s, n + 1);
	if (suffix) {
		number[n - 1] = '\0';
		if (parse_uint(number, 0, 100ull * 365 * 86400, &v))
			return -EINVAL;
		*ret_ns = now_ns - (int64_t)(v * seconds[suffix - suffixes]) * 1000000000ll;
		return 0;
	}
	if (parse_uint(number, 0, 4102444800ull, &v)) /* up to 2100 */
		return -EINVAL;
	*ret_ns = (int64_t)v * 1000000000ll;
	return 0;
}

/* Reads since=, until=, pid=, comm=, unit= and container=; fills *resp with an error if bad. */
static bool read_query(const struct api_request *req, struct api_response *resp,
		       struct cprofd_query *q)
{
	const char *since = req->get_param(req->ctx, CPROF_PARAM_SINCE);
	const char *until = req->get_param(req->ctx, CPROF_PARAM_UNTIL);
	const char *pid = req->get_param(req->ctx, CPROF_PARAM_PID);
	int64_t now = realtime_ns();

	*q = (struct cprofd_query){ .since_ns = 0, .until_ns = INT64_MAX };
	if (since && parse_query_time(since, now, &q->since_ns)) {
		respond_error(resp, 400, "bad since: give 10m (ago: s, m, h or d) or seconds "
					 "since the epoch");
		return false;
	}
	if (until && parse_query_time(until, now, &q->until_ns)) {
		respond_error(resp, 400, "bad until: give 10m (ago: s, m, h or d) or seconds "
					 "since the epoch");
		return false;
	}
	if (q->until_ns <= q->since_ns) {
		respond_error(resp, 400, "until must be after since");
		return false;
	}
	if (pid && parse_pid(pid, &q->pid)) {
		respond_error(resp, 400, "bad pid: must be an integer from 1 to %d", INT32_MAX);
		return false;
	}
	q->comm = req->get_param(req->ctx, CPROF_PARAM_COMM);
	q->unit = req->get_param(req->ctx, CPROF_PARAM_UNIT);
	q->container = req->get_param(req->ctx, CPROF_PARAM_CONTAINER);
	if ((q->comm && (!*q->comm || strlen(q->comm) >= CPROF_COMM_LEN)) ||
	    (q->unit && (!*q->unit || strlen(q->unit) > 255)) ||
	    (q->container && (strlen(q->container) < 4 || strlen(q->container) > 64))) {
		respond_error(resp, 400, "bad comm, unit or container: comm is 1 to 15 bytes, a "
					 "unit 1 to 255, a container id 4 to 64 hex digits");
		return false;
	}
	return true;
}

static void respond_query_error(struct api_response *resp, int err)
{
	if (err == -ENODEV)
		respond_error(resp, 409, "continuous mode is off (continuous = yes in cprofd.conf)");
	else if (err == -ENOENT)
		respond_error(resp, 404, "no process of the history matches");
	else
		respond_error(resp, 500, "querying the history: %s", strerror(-err));
}

/* GET /v1/query (a merged profile) and /v1/query/list (what is kept): read-only. */
static void handle_query(struct cprofd *d, const struct api_request *req, bool list,
			 struct api_response *resp)
{
	struct cprofd_summary summary;
	struct cprofd_query q;
	struct json_writer w;
	void *data;
	size_t size;
	int err;

	if (!is(req->method, "GET")) {
		respond_error(resp, 405, "%s: use GET", req->path);
		return;
	}
	if (!req->peer) {
		respond_error(resp, 403, "the history is shown to known peers only");
		return;
	}
	if (!read_query(req, resp, &q))
		return;
	if (list) {
		json_writer__init(&w);
		json_writer__object_begin(&w);
		err = cprofd__query_list(d, &q, req->peer->uid, &w);
		json_writer__object_end(&w);
		if (err) {
			json_writer__release(&w);
			respond_query_error(resp, err);
			return;
		}
		respond_json(resp, 200, &w);
		return;
	}
	err = cprofd__query(d, &q, req->peer->uid, &data, &size, &summary);
	if (err) {
		respond_query_error(resp, err);
		return;
	}
	respond_pprof(resp, data, size, &summary);
}

void api__handle(struct cprofd *d, const struct api_request *req, struct api_response *resp)
{
	const char *path = req->path, *method = req->method;
	size_t prefix_len = strlen(CPROF_ROUTE_SESSIONS_PREFIX);

	if (is(path, CPROF_ROUTE_SESSIONS)) {
		if (is(method, "POST"))
			handle_start(d, req, resp);
		else if (is(method, "GET"))
			handle_status(d, req, false, resp);
		else
			respond_error(resp, 405, "%s: use GET or POST", path);
	} else if (strncmp(path, CPROF_ROUTE_SESSIONS_PREFIX, prefix_len) == 0) {
		handle_session(d, req, path + prefix_len, resp);
	} else if (is(path, CPROF_ROUTE_STATUS)) {
		if (is(method, "GET"))
			handle_status(d, req, true, resp);
		else
			respond_error(resp, 405, "%s: use GET", path);
	} else if (is(path, CPROF_ROUTE_QUERY) || is(path, CPROF_ROUTE_QUERY_LIST)) {
		handle_query(d, req, is(path, CPROF_ROUTE_QUERY_LIST), resp);
	} else if (is(path, CPROF_ROUTE_PPROF_PROFILE)) {
		if (is(method, "GET"))
			handle_pprof_profile(d, req, resp);
		else
			respond_error(resp, 405, "%s: use GET", path);
	} else {
		respond_error(resp, 404, "no such route");
	}
}

void api__finish_profile(struct cprofd *d, pid_t pid, bool final, struct api_response *resp)
{
	respond_profile(d, pid, PROFILE_AND_FORGET, final, NULL, resp);
}

void api__retry_profile(struct cprofd *d, const struct api_wait *wait, bool final,
			struct api_response *resp)
{
	uid_t owner;

	/* Forgotten meanwhile, and perhaps another's session for the same pid now. */
	if (cprofd__session_owner(d, wait->pid, &owner) || owner != wait->owner) {
		respond_error(resp, 404, "no session for process %d", wait->pid);
		return;
	}
	respond_profile(d, wait->pid, wait->forget ? PROFILE_AND_FORGET : PROFILE_SNAPSHOT, final,
			&wait->prepare, resp);
}

void api_response__release(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_size = 0;
}
