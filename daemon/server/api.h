/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The request handlers of the protocol in cprof_protocol.h, free of any
 * HTTP library: a request is a method, a path and a way to read query
 * parameters; a response is a status, a body and a profile summary. Every
 * input is validated here, every right checked (access.h), and every error
 * is a one-line JSON message.
 */
#ifndef CPROF_API_H
#define CPROF_API_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "access.h"
#include "admission.h"
#include "cprofd.h"

struct api_request {
	const char *method;
	const char *path;
	/* Who asks, from the kernel; NULL (unknown) may only read the daemon's status. */
	const struct access_peer *peer;
	/* Returns the query parameter's value, or NULL when absent. */
	const char *(*get_param)(void *ctx, const char *name);
	void *ctx;
	/* The server's connections, for the daemon's status; NULL: not shown. */
	const struct connection_report *connections;
};

/* A profile request waiting for its symbols to load. */
struct api_wait {
	pid_t pid; /* 0: not waiting */
	bool forget; /* drop the session once its profile is sent */
	uid_t owner; /* the session's owner when the wait began: another's is not answered */
	bool soon; /* a slice of the lookups is done: retry from the loop's next turn */
	struct cprofd_prepare prepare; /* how far the lookups went */
};

struct api_response {
	unsigned int status;
	const char *content_type;
	char *body; /* malloc'd; api_response__release() frees it */
	size_t body_size;
	bool has_summary; /* a profile: send the summary headers */
	struct cprofd_summary summary;
	/*
	 * Non-zero: the request started a timed profile; the caller answers
	 * after defer_seconds by calling api__finish_profile(defer_pid).
	 */
	unsigned int defer_seconds;
	pid_t defer_pid;
	/*
	 * wait.pid non-zero: the profile waits for symbols (the session is
	 * ended already when it is to be forgotten, so no sample is lost); the
	 * caller suspends the request and calls api__retry_profile() on the
	 * loop's next turn when wait.soon, else after the symbols callback
	 * (cprofd.h) ran, and once with final when it has waited long enough.
	 */
	struct api_wait wait;
};

/* Handles one request; *resp is always filled. */
void api__handle(struct cprofd *d, const struct api_request *req, struct api_response *resp);

/*
 * Ends a timed profile started by api__handle() (whose rights were checked
 * then) and fills *resp with it; without final, *resp may say to wait.
 */
void api__finish_profile(struct cprofd *d, pid_t pid, bool final, struct api_response *resp);

/*
 * Tries again a profile that waited: fills *resp with it, or again with a
 * wait while symbols still load (never with final: then unknown frames are
 * binary+0xOFFSET).
 */
void api__retry_profile(struct cprofd *d, const struct api_wait *wait, bool final,
			struct api_response *resp);

void api_response__release(struct api_response *resp);

#endif /* CPROF_API_H */
