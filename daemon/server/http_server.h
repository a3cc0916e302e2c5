/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1.1 on a listening socket (the Unix socket today, TCP for pprof
 * scrapers later), served by libmicrohttpd inside the daemon's sd-event
 * loop and answered by api.h.
 */
#ifndef CPROF_HTTP_SERVER_H
#define CPROF_HTTP_SERVER_H

#include <systemd/sd-event.h>

#include "admission.h"
#include "cprofd.h"

struct http_server;

/*
 * Serves connections accepted on listen_fd (which stays the caller's),
 * within limits (admission.h). Returns the server, or NULL with errno set.
 */
struct http_server *http_server__new(sd_event *loop, int listen_fd, struct cprofd *cprofd,
				     const struct connection_limits *limits);

/* New limits for new connections (a reload): 0, or -EINVAL keeping the old ones. */
int http_server__set_limits(struct http_server *s, const struct connection_limits *limits);

/* Stops serving; timed profiles still waiting are ended and sent first. */
void http_server__free(struct http_server *s);

#endif /* CPROF_HTTP_SERVER_H */
