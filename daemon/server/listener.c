// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Each connection has a small record of ours, from accept to
 * libmicrohttpd's "closed" notification (which comes before it closes the
 * socket, so the fd stays valid for our shutdown() and epoll sources until
 * then). Ending a connection early is shutdown(SHUT_RDWR) on its socket:
 * the peer sees the end at once, and libmicrohttpd, woken by the hang-up,
 * reads the end and closes its side. Nothing is written to such a
 * connection: libmicrohttpd may be answering it already (a malformed
 * request line gets its own 400).
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "access.h"
#include "util/log.h"

/* Connections taken per wakeup: a flood of connects cannot hold the loop. */
#define ACCEPT_BATCH 256
/* Out of fds (or memory): stop accepting this long; the backlog holds the rest. */
#define ACCEPT_BACKOFF_US 100000

struct connection {
	struct listener *listener;
	struct MHD_Connection *mhd; /* NULL until libmicrohttpd took it */
	int fd;
	uid_t uid;
	bool uid_known;
	bool header_done; /* of the request under way */
	bool ended; /* shut down by us: counted once */
	bool closed; /* libmicrohttpd said closed: the fd is no longer ours to touch */
	unsigned int refs; /* ours while in a callback, libmicrohttpd's until closed */
	sd_event_source *deadline; /* the header deadline */
	sd_event_source *hangup; /* EPOLLRDHUP: the peer's end of input */
};

struct listener {
	sd_event *loop;
	int listen_fd;
	struct MHD_Daemon *mhd;
	struct admission *admission;
	struct connection_limits limits;
	void (*run)(void *ctx);
	void *ctx;
	sd_event_source *accept_source;
	sd_event_source *backoff; /* re-enables accept_source after a lack of fds */
	bool full; /* every place taken: accepting waits for one to free */
	struct connection *adding; /* handed to MHD_add_connection(), not yet claimed */
};

static void connection_unref(struct connection *c)
{
	if (--c->refs)
		return;
	sd_event_source_disable_unref(c->deadline);
	sd_event_source_disable_unref(c->hangup);
	free(c);
}

/* Ends a connection that holds its place for nothing; counted once. */
static void end_connection(struct connection *c, enum admission_event why)
{
	if (c->closed || c->ended)
		return;
	c->ended = true;
	admission__count(c->listener->admission, why);
	shutdown(c->fd, SHUT_RDWR);
	sd_event_source_set_enabled(c->deadline, SD_EVENT_OFF);
	sd_event_source_set_enabled(c->hangup, SD_EVENT_OFF);
}

static int on_deadline(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct connection *c = userdata;
	struct listener *l = c->listener;

	if (!c->header_done) {
		end_connection(c, ADMISSION_CLOSED_HEADER_DEADLINE);
		l->run(l->ctx);
	}
	return 0;
}

/*
 * The peer will send nothing more. What it sent may still be unread by
 * libmicrohttpd (the data and the end come together): let it read first,
 * and end the connection only if no whole request header came of it.
 */
static int on_hangup(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct connection *c = userdata;
	struct listener *l = c->listener;

	/* Level-triggered and final: once is enough. */
	sd_event_source_set_enabled(source, SD_EVENT_OFF);
	c->refs++;
	l->run(l->ctx);
	if (!c->header_done && !c->closed) {
		end_connection(c, ADMISSION_CLOSED_INCOMPLETE);
		l->run(l->ctx);
	}
	connection_unref(c);
	return 0;
}

/* Starts the wait for the next request's header: deadline and end of input. */
static int arm(struct connection *c)
{
	struct listener *l = c->listener;
	uint64_t usec = (uint64_t)l->limits.header_timeout_ms * 1000;
	int err;

	c->header_done = false;
	if (c->deadline) {
		uint64_t now;

		sd_event_now(l->loop, CLOCK_MONOTONIC, &now);
		err = sd_event_source_set_time(c->deadline, now + usec);
		err = err ?: sd_event_source_set_enabled(c->deadline, SD_EVENT_ONESHOT);
	} else {
		err = sd_event_add_time_relative(l->loop, &c->deadline, CLOCK_MONOTONIC, usec, 0,
						 on_deadline, c);
	}
	if (err < 0)
		return err;
	if (c->hangup)
		return sd_event_source_set_enabled(c->hangup, SD_EVENT_ON);
	return sd_event_add_io(l->loop, &c->hangup, c->fd, EPOLLRDHUP, on_hangup, c);
}

/* A short answer for a connection refused at the door, then the close. */
static void refuse(int fd, const struct access_peer *peer, bool uid_known, int why,
		   const struct connection_limits *limits)
{
	char body[160], reply[320];
	int n;

	if (why == -EUSERS && uid_known)
		snprintf(body, sizeof(body),
			 "{\"error\":\"too many connections from uid %u (at most %u at once)\"}\n",
			 (unsigned int)peer->uid, limits->admission.max_per_uid);
	else if (why == -EUSERS)
		snprintf(body, sizeof(body),
			 "{\"error\":\"too many connections from peers without a uid "
			 "(at most %u at once)\"}\n",
			 limits->admission.max_per_uid);
	else
		snprintf(body, sizeof(body), "{\"error\":\"too many connections (at most %u)\"}\n",
			 limits->admission.max_connections);
	n = snprintf(reply, sizeof(reply),
		     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     strlen(body), body);
	/* A new socket's buffer takes it whole; if not, the close says enough. */
	if (send(fd, reply, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("http: refusing a connection: %s", strerror(errno));
	close(fd);
}

/* Admits one accepted socket and gives it to libmicrohttpd. */
static void take(struct listener *l, int fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct access_peer peer = { 0 };
	bool uid_known = access__peer_of_socket(fd, &peer) == 0;
	struct connection *c;
	int err;

	err = admission__admit(l->admission, peer.uid, uid_known);
	if (err) {
		refuse(fd, &peer, uid_known, err, &l->limits);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		admission__release(l->admission, peer.uid, uid_known);
		close(fd);
		return;
	}
	*c = (struct connection){
		.listener = l,
		.fd = fd,
		.uid = peer.uid,
		.uid_known = uid_known,
		.refs = 1,
	};
	l->adding = c;
	/* It owns (and on failure closes) fd from here; our record follows its word. */
	MHD_add_connection(l->mhd, fd, (const struct sockaddr *)&addr, sizeof(sa_family_t));
	if (l->adding == c) {
		/* Never started: libmicrohttpd refused it and closed the socket. */
		l->adding = NULL;
		admission__release(l->admission, c->uid, c->uid_known);
		c->closed = true;
	} else if (!c->closed && arm(c) < 0) {
		end_connection(c, ADMISSION_CLOSED_INCOMPLETE);
	}
	connection_unref(c);
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct listener *l = userdata;
	int n = 0;

	for (; n < ACCEPT_BATCH; n++) {
		int client;

		/*
		 * With every place taken (root's own included) nobody could get
		 * one: the next connections wait in the backlog for the first to
		 * free, rather than being turned away.
		 */
		if (admission__full(l->admission)) {
			l->full = true;
			sd_event_source_set_enabled(l->accept_source, SD_EVENT_OFF);
			break;
		}
		client = accept4(l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (client >= 0) {
			take(l, client);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* The listening socket stays readable: wait, or spin. */
			log_debug("http: accept: %s; pausing", strerror(errno));
			sd_event_source_set_enabled(l->accept_source, SD_EVENT_OFF);
			sd_event_source_set_time_relative(l->backoff, ACCEPT_BACKOFF_US);
			sd_event_source_set_enabled(l->backoff, SD_EVENT_ONESHOT);
		}
		break;
	}
	if (n)
		l->run(l->ctx);
	return 0;
}

static int on_backoff(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct listener *l = userdata;

	sd_event_source_set_enabled(l->accept_source, SD_EVENT_ON);
	return 0;
}

void listener__on_connection(struct listener *l, struct MHD_Connection *connection,
			     void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct connection *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		c = l->adding;
		l->adding = NULL;
		if (!c)
			return; /* not one of ours: cannot happen without a listening socket */
		c->mhd = connection;
		c->refs++;
		*socket_context = c;
		MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT,
					  l->limits.idle_timeout_s);
		return;
	}
	c = *socket_context;
	if (!c)
		return;
	*socket_context = NULL;
	c->closed = true;
	sd_event_source_set_enabled(c->deadline, SD_EVENT_OFF);
	/* Off the loop's epoll before libmicrohttpd closes the fd. */
	c->hangup = sd_event_source_disable_unref(c->hangup);
	admission__release(l->admission, c->uid, c->uid_known);
	if (l->full && !admission__full(l->admission)) {
		l->full = false;
		sd_event_source_set_enabled(l->accept_source, SD_EVENT_ON);
	}
	connection_unref(c);
}

static struct connection *connection_of(struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

void listener__header_done(struct MHD_Connection *connection)
{
	struct connection *c = connection_of(connection);

	if (!c)
		return;
	c->header_done = true;
	sd_event_source_set_enabled(c->deadline, SD_EVENT_OFF);
	/* A half-close after a whole request is a client done sending: answer it. */
	sd_event_source_set_enabled(c->hangup, SD_EVENT_OFF);
}

void listener__request_done(struct MHD_Connection *connection, enum MHD_RequestTerminationCode toe)
{
	struct connection *c = connection_of(connection);

	if (!c)
		return;
	if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
		admission__count(c->listener->admission, ADMISSION_CLOSED_IDLE);
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !c->closed && !c->ended && arm(c) < 0)
		end_connection(c, ADMISSION_CLOSED_INCOMPLETE);
}

static bool limits_ok(const struct connection_limits *limits)
{
	return limits->header_timeout_ms > 0 && limits->idle_timeout_s > 0;
}

struct listener *listener__new(sd_event *loop, int listen_fd, struct MHD_Daemon *mhd,
			       const struct connection_limits *limits, void (*run)(void *ctx),
			       void *ctx)
{
	struct listener *l;
	int err, flags;

	if (!limits_ok(limits)) {
		errno = EINVAL;
		return NULL;
	}
	/*
	 * The loop accepts until the backlog is empty: a blocking socket (as
	 * systemd passes them unless told otherwise) would then block it.
	 */
	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK)))
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	*l = (struct listener){ .loop = sd_event_ref(loop),
				.listen_fd = listen_fd,
				.mhd = mhd,
				.limits = *limits,
				.run = run,
				.ctx = ctx };
	l->admission = admission__new(&limits->admission);
	if (!l->admission) {
		err = -errno;
		goto err;
	}
	err = sd_event_add_io(loop, &l->accept_source, listen_fd, EPOLLIN, on_accept, l);
	if (err < 0)
		goto err;
	err = sd_event_add_time_relative(loop, &l->backoff, CLOCK_MONOTONIC, ACCEPT_BACKOFF_US, 0,
					 on_backoff, l);
	if (err < 0)
		goto err;
	sd_event_source_set_enabled(l->backoff, SD_EVENT_OFF);
	return l;
err:
	listener__free(l);
	errno = -err;
	return NULL;
}

void listener__free(struct listener *l)
{
	if (!l)
		return;
	sd_event_source_disable_unref(l->accept_source);
	sd_event_source_disable_unref(l->backoff);
	admission__free(l->admission);
	sd_event_unref(l->loop);
	free(l);
}

int listener__set_limits(struct listener *l, const struct connection_limits *limits)
{
	int err;

	if (!limits_ok(limits))
		return -EINVAL;
	err = admission__set_limits(l->admission, &limits->admission);
	if (err)
		return err;
	l->limits = *limits;
	return 0;
}

void listener__report(const struct listener *l, struct connection_report *ret)
{
	ret->limits = l->limits;
	admission__stats(l->admission, &ret->stats);
}
