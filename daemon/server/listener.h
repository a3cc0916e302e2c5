/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The server's door: accepts connections on the listening socket itself,
 * admits each by its peer's uid (admission.h) and hands it to
 * libmicrohttpd, then ends the ones that would hold their place for
 * nothing: no whole request header within the header deadline (from
 * accept, or from the end of the previous request), or end of input (a
 * half-closed write side) before a whole request. libmicrohttpd alone
 * would keep such connections until its idle timeout, and at its
 * connection limit stop accepting anyone.
 *
 * Private to daemon/server/: http_server.c forwards libmicrohttpd's
 * connection notifications and request events here.
 */
#ifndef CPROF_LISTENER_H
#define CPROF_LISTENER_H

#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "admission.h"

struct listener;

/*
 * Accepts on listen_fd (which stays the caller's) from the loop, into mhd
 * (started with MHD_USE_NO_LISTEN_SOCKET and NOTIFY_CONNECTION forwarded to
 * listener__on_connection()). run(ctx) runs libmicrohttpd; it is called
 * after connections were added or ended. NULL with errno set on failure.
 */
struct listener *listener__new(sd_event *loop, int listen_fd, struct MHD_Daemon *mhd,
			       const struct connection_limits *limits, void (*run)(void *ctx),
			       void *ctx);
void listener__free(struct listener *l);

/* New limits, for new connections (a reload). 0, or -EINVAL leaving the old. */
int listener__set_limits(struct listener *l, const struct connection_limits *limits);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION, forwarded. */
void listener__on_connection(struct listener *l, struct MHD_Connection *connection,
			     void **socket_context, enum MHD_ConnectionNotificationCode code);
/* The access handler's first call for a request: its header is whole. */
void listener__header_done(struct MHD_Connection *connection);
/* MHD_OPTION_NOTIFY_COMPLETED, forwarded: the next request's deadline starts. */
void listener__request_done(struct MHD_Connection *connection, enum MHD_RequestTerminationCode toe);

void listener__report(const struct listener *l, struct connection_report *ret);

#endif /* CPROF_LISTENER_H */
