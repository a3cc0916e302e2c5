// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libmicrohttpd runs without threads of its own: its epoll fd and its next
 * timeout are sources in our sd-event loop, so requests, the ring-buffer
 * drain and timers share one thread and one order of events. A timed
 * profile (/debug/pprof/profile) suspends its connection and resumes it
 * from a timer, so a waiting client blocks nobody. So does a profile whose
 * binaries' symbols load in the background: it is tried again each time
 * loads finish, and built with what there is after WAIT_SYMBOLS_S.
 */
#include "http_server.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "access.h"
#include "api.h"
#include "cprof_protocol.h"
#include "listener.h"
#include "util/log.h"

/*
 * Limits on what a client may make us hold. Who gets a connection is the
 * listener's (config: max_connections and the rest); libmicrohttpd's own
 * limit sits above the largest allowed, so it never refuses first.
 */
#define MHD_CONNECTION_LIMIT (CPROF_MAX_CONNECTIONS + 64)
#define CONNECTION_MEMORY_BYTES (64 * 1024)
#define MAX_REQUEST_BODY_BYTES 4096
/* At shutdown, replies still going out get at most 20 x 100 ms. */
#define SHUTDOWN_FLUSH_STEPS 20
#define SHUTDOWN_FLUSH_STEP_MS 100
/* A profile waits this long for its symbols; then unknown frames are binary+0xOFFSET. */
#define WAIT_SYMBOLS_S 30

/* What we keep per request between libmicrohttpd's calls. */
struct request_state {
	struct http_server *server;
	struct MHD_Connection *connection;
	struct access_peer peer;
	bool peer_known;              /* SO_PEERCRED worked (a Unix socket) */
	size_t body_bytes;
	bool deferred; /* suspended until its profile is ready */
	pid_t deferred_pid;
	struct api_wait wait; /* .pid non-zero: waiting for symbols (the timer is its deadline) */
	sd_event_source *timer;
	struct api_response response; /* ready to queue once resumed */
	bool response_ready;
	struct request_state *next; /* in the server's list of deferred requests */
};

struct http_server {
	sd_event *loop;
	struct cprofd *cprofd;
	struct MHD_Daemon *mhd;
	struct listener *listener; /* accepts, admits, ends the connections that stall */
	sd_event_source *io;
	sd_event_source *timeout;
	sd_event_source *retry; /* retries the requests waiting for symbols */
	bool symbols_loaded; /* since the last retry: those waiting on loads try again too */
	struct request_state *deferred; /* suspended requests */
};

static void run_mhd(struct http_server *s);

static const char *get_param(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result queue(struct MHD_Connection *connection, struct api_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char number[24];

	r = MHD_create_response_from_buffer(resp->body_size, resp->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		api_response__release(resp);
		return MHD_NO;
	}
	/* libmicrohttpd owns the body now. */
	resp->body = NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	if (resp->has_summary) {
		snprintf(number, sizeof(number), "%" PRIu64, resp->summary.samples);
		MHD_add_response_header(r, CPROF_HEADER_SAMPLES, number);
		snprintf(number, sizeof(number), "%" PRIu64, resp->summary.lost);
		MHD_add_response_header(r, CPROF_HEADER_LOST, number);
		snprintf(number, sizeof(number), "%" PRIu64, resp->summary.duration_ns);
		MHD_add_response_header(r, CPROF_HEADER_DURATION_NS, number);
		snprintf(number, sizeof(number), "%" PRIu64, resp->summary.stacks);
		MHD_add_response_header(r, CPROF_HEADER_STACKS, number);
		snprintf(number, sizeof(number), "%" PRIu64, resp->summary.unmapped);
		MHD_add_response_header(r, CPROF_HEADER_UNMAPPED, number);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
					"attachment; filename=\"profile.pb.gz\"");
	}
	ret = MHD_queue_response(connection, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void unlink_deferred(struct http_server *s, struct request_state *state)
{
	struct request_state **link;

	for (link = &s->deferred; *link; link = &(*link)->next) {
		if (*link == state) {
			*link = state->next;
			return;
		}
	}
}

static int on_profile_timer(sd_event_source *source, uint64_t usec, void *userdata);

/* Wakes a suspended request's connection to send its response. */
static void answer_deferred(struct request_state *state, struct api_response *resp)
{
	state->response = *resp;
	state->response_ready = true;
	state->wait.pid = 0;
	state->timer = sd_event_source_disable_unref(state->timer);
	unlink_deferred(state->server, state);
	MHD_resume_connection(state->connection);
}

/* Suspends the request until its timer fires (or its symbols load, when it waits on them). */
static int defer(struct request_state *state, unsigned int seconds)
{
	struct http_server *s = state->server;
	int err;

	err = sd_event_add_time_relative(s->loop, &state->timer, CLOCK_MONOTONIC,
					 (uint64_t)seconds * 1000000, 0, on_profile_timer, state);
	if (err < 0)
		return err;
	if (!state->deferred) {
		state->deferred = true;
		state->next = s->deferred;
		s->deferred = state;
		MHD_suspend_connection(state->connection);
	}
	return 0;
}

/*
 * Starts the wait for symbols resp asks for: suspended until the next
 * slice, or loads finish, or WAIT_SYMBOLS_S. Returns false when the
 * request cannot be suspended: then resp is the profile with what there is.
 */
static bool start_waiting(struct request_state *state, struct api_response *resp)
{
	struct http_server *s = state->server;

	state->wait = resp->wait;
	state->timer = sd_event_source_disable_unref(state->timer);
	if (defer(state, WAIT_SYMBOLS_S) == 0) {
		if (state->wait.soon)
			sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
		return true;
	}
	api__retry_profile(s->cprofd, &state->wait, true, resp);
	return false;
}

/*
 * Sends resp, or, when it says to wait for symbols, keeps (or starts)
 * waiting. A request already suspended stays so; one that is not yet is
 * suspended, or answered at once if it cannot be.
 */
static void settle_deferred(struct request_state *state, struct api_response *resp)
{
	struct http_server *s = state->server;

	if (resp->wait.pid && !state->wait.pid) {
		if (start_waiting(state, resp))
			return;
	} else if (resp->wait.pid) {
		/* Still waiting, deadline unchanged; the lookups went on. */
		state->wait = resp->wait;
		if (state->wait.soon)
			sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
		return;
	}
	answer_deferred(state, resp);
}

/* Ends what the request waits for: the timed profile, or the wait for symbols. */
static void finish_deferred(struct request_state *state, bool final)
{
	struct http_server *s = state->server;
	struct api_response resp;

	if (state->wait.pid)
		api__retry_profile(s->cprofd, &state->wait, true, &resp);
	else
		api__finish_profile(s->cprofd, state->deferred_pid, final, &resp);
	settle_deferred(state, &resp);
}

static int on_profile_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct request_state *state = userdata;
	struct http_server *s = state->server;

	finish_deferred(state, false);
	run_mhd(s);
	return 0;
}

/*
 * The requests in the middle of their lookups do the next slice; after
 * loads finished, those waiting on them too.
 */
static int on_retry(sd_event_source *source, void *userdata)
{
	struct http_server *s = userdata;
	struct request_state *state, *next;
	bool loaded = s->symbols_loaded;

	s->symbols_loaded = false;
	for (state = s->deferred; state; state = next) {
		struct api_response resp;

		next = state->next;
		if (!state->wait.pid || !(state->wait.soon || loaded))
			continue;
		api__retry_profile(s->cprofd, &state->wait, false, &resp);
		settle_deferred(state, &resp);
	}
	run_mhd(s);
	return 0;
}

static void on_symbols_loaded(void *ctx)
{
	struct http_server *s = ctx;

	/* Not from inside cprofd__drain(): from the loop, once it returned. */
	s->symbols_loaded = true;
	sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct request_state *state = *con_cls;
	struct api_request req = {
		.method = method,
		.path = url,
		.get_param = get_param,
		.ctx = connection,
	};
	struct connection_report connections;
	struct api_response resp;

	if (!state) {
		const union MHD_ConnectionInfo *info;

		/* The first call of a request: its header is whole. */
		listener__header_done(connection);
		state = calloc(1, sizeof(*state));
		if (!state)
			return MHD_NO;
		state->server = s;
		state->connection = connection;
		info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
		state->peer_known =
			info && access__peer_of_socket(info->connect_fd, &state->peer) == 0;
		*con_cls = state;
		return MHD_YES;
	}
	if (state->response_ready) {
		state->response_ready = false;
		return queue(connection, &state->response);
	}
	if (state->deferred)
		return MHD_YES;
	if (*upload_data_size) {
		/* No route takes a body: read and drop it, within a bound. */
		state->body_bytes += *upload_data_size;
		*upload_data_size = 0;
		if (state->body_bytes > MAX_REQUEST_BODY_BYTES)
			return MHD_NO;
		return MHD_YES;
	}

	req.peer = state->peer_known ? &state->peer : NULL;
	listener__report(s->listener, &connections);
	req.connections = &connections;
	api__handle(s->cprofd, &req, &resp);
	if (resp.defer_seconds) {
		state->deferred_pid = resp.defer_pid;
		if (defer(state, resp.defer_seconds) == 0)
			return MHD_YES;
		/* Cannot wait: answer with what was collected so far. */
		api__finish_profile(s->cprofd, resp.defer_pid, true, &resp);
	} else if (resp.wait.pid && start_waiting(state, &resp)) {
		return MHD_YES;
	}
	return queue(connection, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request_state *state = *con_cls;

	listener__request_done(connection, toe);
	if (!state)
		return;
	if (state->deferred && state->timer) {
		/* Only reachable at shutdown; the profile is ended by then. */
		unlink_deferred(state->server, state);
		sd_event_source_disable_unref(state->timer);
	}
	api_response__release(&state->response);
	free(state);
	*con_cls = NULL;
}

/* Runs libmicrohttpd and re-arms our timer to its next timeout. */
static unsigned int n_connections(struct http_server *s)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

static void run_mhd(struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG timeout_ms;
	unsigned int before = n_connections(s);

	MHD_run(s->mhd);
	/*
	 * At the connection limit libmicrohttpd stops watching the listening
	 * socket and watches it again only on its next run after a connection
	 * closed; nothing else would wake us for that run.
	 */
	if (n_connections(s) < before)
		MHD_run(s->mhd);
	if (MHD_get_timeout(s->mhd, &timeout_ms) == MHD_YES) {
		uint64_t now;

		sd_event_now(s->loop, CLOCK_MONOTONIC, &now);
		sd_event_source_set_time(s->timeout, now + timeout_ms * 1000);
		sd_event_source_set_enabled(s->timeout, SD_EVENT_ONESHOT);
	} else {
		sd_event_source_set_enabled(s->timeout, SD_EVENT_OFF);
	}
}

static void run_mhd_for_listener(void *ctx)
{
	run_mhd(ctx);
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;

	if (s->listener)
		listener__on_connection(s->listener, connection, socket_context, code);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	run_mhd(userdata);
	return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
	run_mhd(userdata);
	return 0;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_debug("http: %s", line);
}

struct http_server *http_server__new(sd_event *loop, int listen_fd, struct cprofd *cprofd,
				     const struct connection_limits *limits)
{
	const union MHD_DaemonInfo *info;
	struct http_server *s;
	int err = -ENOMEM;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = sd_event_ref(loop);
	s->cprofd = cprofd;
	/* clang-format off: one option and its value per line */
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
				  MHD_USE_NO_LISTEN_SOCKET,
				  0, NULL, NULL, on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, log_mhd, s,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MHD_CONNECTION_LIMIT,
				  MHD_OPTION_CONNECTION_TIMEOUT, limits->idle_timeout_s,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_BYTES,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				  MHD_OPTION_END);
	/* clang-format on */
	if (!s->mhd) {
		err = -EINVAL;
		goto err;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		err = -EINVAL;
		goto err;
	}
	err = sd_event_add_io(loop, &s->io, info->epoll_fd, EPOLLIN, on_io, s);
	if (err < 0)
		goto err;
	err = sd_event_add_time(loop, &s->timeout, CLOCK_MONOTONIC, 0, 0, on_timeout, s);
	if (err < 0)
		goto err;
	sd_event_source_set_enabled(s->timeout, SD_EVENT_OFF);
	err = sd_event_add_defer(loop, &s->retry, on_retry, s);
	if (err < 0)
		goto err;
	sd_event_source_set_enabled(s->retry, SD_EVENT_OFF);
	s->listener = listener__new(loop, listen_fd, s->mhd, limits, run_mhd_for_listener, s);
	if (!s->listener) {
		err = -errno;
		goto err;
	}
	cprofd__set_symbols_callback(cprofd, on_symbols_loaded, s);
	return s;
err:
	http_server__free(s);
	errno = -err;
	return NULL;
}

/*
 * At shutdown: ends the timed profiles still waiting and gives their
 * replies a bounded time to go out before libmicrohttpd closes everything.
 */
static void flush_deferred(struct http_server *s)
{
	const union MHD_DaemonInfo *info;
	struct pollfd pfd = { .events = POLLIN };
	bool any = s->deferred != NULL;

	while (s->deferred)
		finish_deferred(s->deferred, true);
	if (!any)
		return;
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return;
	pfd.fd = info->epoll_fd;
	for (int i = 0; i < SHUTDOWN_FLUSH_STEPS; i++) {
		MHD_run(s->mhd);
		info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!info || !info->num_connections)
			return;
		poll(&pfd, 1, SHUTDOWN_FLUSH_STEP_MS);
	}
}

void http_server__free(struct http_server *s)
{
	if (!s)
		return;
	/* libmicrohttpd cannot stop with suspended connections. */
	if (s->mhd)
		flush_deferred(s);
	if (s->cprofd)
		cprofd__set_symbols_callback(s->cprofd, NULL, NULL);
	sd_event_source_disable_unref(s->retry);
	/* Off the loop first: stopping libmicrohttpd closes the fd the loop watches. */
	sd_event_source_disable_unref(s->io);
	sd_event_source_disable_unref(s->timeout);
	/* Its connections' notes go as libmicrohttpd closes them: the listener last. */
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	listener__free(s->listener);
	sd_event_unref(s->loop);
	free(s);
}

int http_server__set_limits(struct http_server *s, const struct connection_limits *limits)
{
	return listener__set_limits(s->listener, limits);
}
