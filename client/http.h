/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/1.1 requests to cprofd over its Unix socket, through libcurl.
 *
 * A reply of any status is a success here; the caller judges the status.
 * A 2xx body can be streamed to a sink (a profile, to a file) and every
 * other body is kept in memory, up to HTTP_MAX_BODY_BYTES.
 */
#ifndef CPROF_CLIENT_HTTP_H
#define CPROF_CLIENT_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* The largest body kept in memory: JSON replies are a few KiB. */
#define HTTP_MAX_BODY_BYTES (1024 * 1024)

/* How long a connect() to the socket may take before the request fails. */
#define HTTP_CONNECT_TIMEOUT_SECONDS 5

struct http_client;

/* A reply header the caller wants, e.g. "X-Cprof-Samples". */
struct http_header {
	/* In: the header's name, matched case-insensitively. */
	const char *name;
	/* Out: the reply carried it (if it came twice, value is the last one). */
	bool present;
	/* Out: its value without surrounding blanks; "" if it was too long for this. */
	char value[64];
};

/*
 * Takes the next length bytes of a 2xx body. Returns 0, or a negative errno
 * to abort the transfer; the sink keeps its own record of why.
 */
typedef int (*http_body_sink_fn)(void *context, const void *data, size_t length);

struct http_request {
	/* "GET", "POST" (with an empty body) or "DELETE". */
	const char *method;
	/* Path and query, e.g. "/v1/sessions?pid=42"; already escaped. */
	const char *target;
	/* The whole exchange, connect to last byte; 0 for no limit. */
	long timeout_seconds;
	/* Where a 2xx body goes; NULL keeps it in memory like any other. */
	http_body_sink_fn sink;
	void *sink_context;
	/* Headers to capture from the reply; count may be 0. */
	struct http_header *headers;
	size_t header_count;
	/* If not NULL, the transfer is abandoned once *cancel becomes non-zero. */
	const volatile sig_atomic_t *cancel;
};

struct http_response {
	/* The HTTP status code, e.g. 201. */
	long status;
	/* The body, NUL-terminated, owned by the response; NULL if empty or a sink took it. */
	char *body;
	size_t body_length;
};

/* A client for the socket at socket_path; NULL and errno on failure. */
struct http_client *http_client__new(const char *socket_path);

/* Free the client; NULL is a no-op. */
void http_client__free(struct http_client *client);

/*
 * Send a request and wait for the whole reply. Returns 0 and fills
 * *ret_response (release it with http_response__fini()), or:
 *   -ENOTCONN   the socket could not be reached (http_client__os_errno() says why)
 *   -ETIMEDOUT  no complete reply within the timeout
 *   -ECANCELED  the sink refused data
 *   -EMSGSIZE   a body kept in memory exceeded HTTP_MAX_BODY_BYTES
 *   -EINTR      *cancel was set
 *   -ENOMEM
 *   -EPROTO     anything else, e.g. a reset connection or a malformed reply
 * After a failure, http_client__error() describes it in words.
 */
int http_client__request(struct http_client *client, const struct http_request *request,
			 struct http_response *ret_response);

/* The last failure in words, e.g. "Recv failure: Connection reset by peer"; "" if none. */
const char *http_client__error(const struct http_client *client);

/* The errno of the last failed connect(), e.g. ENOENT or ECONNREFUSED; 0 if unknown. */
int http_client__os_errno(const struct http_client *client);

/* Release what a response owns; the struct itself is the caller's. */
void http_response__fini(struct http_response *response);

#endif /* CPROF_CLIENT_HTTP_H */
