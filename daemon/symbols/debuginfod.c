/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The debuginfod fetcher: asks libdebuginfod for a debug file no local one
 * provides, and remembers the build IDs it failed for. Only the worker
 * thread ever touches a fetcher.
 */
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolizer_impl.h"
#include "util/clock.h"
#include "util/worker.h"

/* Failed build IDs remembered; beyond, the oldest is forgotten (and may be asked again). */
#define MAX_FETCH_FAILURES 256
/*
 * A build ID the servers answered they do not have waits this many backoffs:
 * as libdebuginfod's own negative cache (10 minutes), and without reloading
 * its binary every minute for nothing.
 */
#define NOT_FOUND_BACKOFFS 10

/* A build ID debuginfod did not give, and when. */
struct fetch_failure {
	uint8_t id[MAX_BUILD_ID_BYTES];
	size_t len;
	uint64_t retry_ns; /* monotonic time from which it may be asked again */
};

/* The worker's debuginfod client and what failed; no other thread touches it. */
struct fetcher {
	debuginfod_client *client; /* made on first use */
	struct worker *worker; /* to give up a transfer when the worker stops */
	uint64_t backoff_ns;
	struct fetch_failure failures[MAX_FETCH_FAILURES]; /* a ring */
	size_t next_failure;
};

/* libdebuginfod calls this while it transfers: non-zero gives up. */
static int fetch_progress(debuginfod_client *client, long done, long total)
{
	struct fetcher *fetcher = debuginfod_get_user_data(client);

	return worker__stopping(fetcher->worker) ? 1 : 0;
}

static struct fetch_failure *fetch_failure_of(struct fetcher *fetcher, const uint8_t *id,
					      size_t len)
{
	for (size_t i = 0; i < MAX_FETCH_FAILURES; i++) {
		struct fetch_failure *f = &fetcher->failures[i];

		if (f->len == len && memcmp(f->id, id, len) == 0)
			return f;
	}
	return NULL;
}

/*
 * Asks debuginfod for the debug file of a build ID, unless it failed within
 * the backoff. On success *ret_path is the file in libdebuginfod's cache
 * (malloc'd). Sets req->fetched, and req->retry_ns when it did not work.
 */
int fetcher__fetch(struct fetcher *fetcher, const uint8_t *id, size_t len, struct load_request *req,
		   char **ret_path)
{
	struct fetch_failure *failure = fetch_failure_of(fetcher, id, len);
	uint64_t now = monotonic_ns();
	char *path = NULL;
	int fd;

	if (failure && now < failure->retry_ns) {
		req->fetched = FETCH_BACKED_OFF;
		req->retry_ns = failure->retry_ns;
		return -EAGAIN;
	}
	if (!fetcher->client) {
		fetcher->client = debuginfod_begin();
		if (!fetcher->client)
			return -ENOMEM;
		debuginfod_set_user_data(fetcher->client, fetcher);
		debuginfod_set_progressfn(fetcher->client, fetch_progress);
	}
	fd = debuginfod_find_debuginfo(fetcher->client, id, (int)len, &path);
	if (fd >= 0) {
		close(fd);
		if (failure)
			failure->len = 0;
		req->fetched = FETCH_OK;
		*ret_path = path;
		return 0;
	}
	free(path);
	if (!failure) {
		failure = &fetcher->failures[fetcher->next_failure];
		fetcher->next_failure = (fetcher->next_failure + 1) % MAX_FETCH_FAILURES;
		memcpy(failure->id, id, len);
		failure->len = len;
	}
	failure->retry_ns = now + fetcher->backoff_ns * (fd == -ENOENT ? NOT_FOUND_BACKOFFS : 1);
	req->fetched = FETCH_FAILED;
	req->retry_ns = failure->retry_ns;
	return fd;
}

struct fetcher *fetcher__new(uint64_t backoff_ns)
{
	struct fetcher *fetcher = calloc(1, sizeof(*fetcher));

	if (!fetcher)
		return NULL;
	fetcher->backoff_ns = backoff_ns;
	return fetcher;
}

void fetcher__set_worker(struct fetcher *fetcher, struct worker *worker)
{
	fetcher->worker = worker;
}

void fetcher__free(struct fetcher *fetcher)
{
	if (fetcher && fetcher->client)
		debuginfod_end(fetcher->client);
	free(fetcher);
}
