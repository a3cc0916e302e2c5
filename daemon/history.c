// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Continuous mode and its history, as the rest of the daemon asks for them (cprofd.h). */
#include "cprofd.h"
#include "cprofd_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "config.h"

#include "continuous.h"
#include "cprof_protocol.h"
#include "sampler/bpf_sampler.h"
#include "store/query.h"

/* At the end, how long continuous mode's last windows may wait for their symbols. */
#define CONTINUOUS_STOP_TIMEOUT_MS 3000

int cprofd__start_continuous(struct cprofd *d, const struct cprofd_continuous *opts,
			     const char **ret_what)
{
	struct continuous_options o = {
		.hz = opts->hz,
		.window_ns = opts->window_ns,
		.history_dir = opts->history_dir,
		.history_max_bytes = opts->history_max_bytes,
		.history_max_age_ns = opts->history_max_age_ns,
	};
	struct epoll_event ev = { .events = EPOLLIN };
	struct continuous *c;

	*ret_what = "starting";
	if (!d->sampler)
		return -ENODEV;
	if (o.hz < CPROF_MIN_HZ || o.hz > CPROF_MAX_HZ || o.window_ns < 1000000000ull)
		return -ERANGE;
	cprofd__stop_continuous(d);
	/* Every process's maps: from the task events, opened before any sample. */
	cprofd__open_task_events(d);
	c = continuous__new(d, &o, ret_what);
	if (!c) {
		int err = -errno;

		cprofd__detach_if_idle(d);
		return err;
	}
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, continuous__fd(c), &ev)) {
		int err = -errno;

		*ret_what = "polling the history's writer";
		continuous__free(c, 0);
		cprofd__detach_if_idle(d);
		return err;
	}
	d->continuous = c;
	return 0;
}

void cprofd__stop_continuous(struct cprofd *d)
{
	struct continuous *c = d->continuous;

	if (!c)
		return;
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, continuous__fd(c), NULL);
	/* Its last records first, into the window it writes now. */
	bpf_sampler__detach_continuous(d->sampler);
	bpf_sampler__drain(d->sampler);
	d->continuous = NULL;
	continuous__free(c, CONTINUOUS_STOP_TIMEOUT_MS);
	cprofd__detach_if_idle(d);
}

bool cprofd__continuous_on(const struct cprofd *d)
{
	return d->continuous != NULL;
}

static struct query_filter filter_of(const struct cprofd_query *q)
{
	return (struct query_filter){
		.since_ns = q->since_ns,
		.until_ns = q->until_ns,
		.pid = q->pid,
		.comm = q->comm,
		.unit = q->unit,
		.container = q->container,
	};
}

int cprofd__query(struct cprofd *d, const struct cprofd_query *q, uid_t viewer,
		  void **ret_data, size_t *ret_size, struct cprofd_summary *ret_summary)
{
	struct query_filter f = filter_of(q);
	struct query_summary summary;
	int err;

	if (!d->continuous)
		return -ENODEV;
	err = continuous__query(d->continuous, &f, viewer, ret_data, ret_size, &summary);
	if (!err)
		*ret_summary = (struct cprofd_summary){ .samples = summary.samples,
							.duration_ns = (uint64_t)summary.duration_ns,
							.stacks = summary.stacks };
	return err;
}

int cprofd__query_list(struct cprofd *d, const struct cprofd_query *q, uid_t viewer,
		       struct json_writer *w)
{
	struct query_filter f = filter_of(q);

	if (!d->continuous)
		return -ENODEV;
	return continuous__list(d->continuous, &f, viewer, w);
}

/* Where the history goes by default: under systemd's StateDirectory=, else /var/lib/cprofd. */
static void default_history_dir(char *dir, size_t size)
{
	const char *state = getenv("STATE_DIRECTORY");

	if (state && *state)
		snprintf(dir, size, "%.*s/history", (int)strcspn(state, ":"), state);
	else
		snprintf(dir, size, "/var/lib/cprofd/history");
}

int cprofd__configure_continuous(struct cprofd *d, const struct config *c, char *ret_message,
				 size_t message_size)
{
	struct cprofd_continuous o = {
		.hz = c->continuous_hz,
		.window_ns = (uint64_t)c->window_s * 1000000000ull,
		.history_max_bytes = c->history_max_bytes,
		.history_max_age_ns = c->history_max_age_s * 1000000000ull,
	};
	char dir[PATH_MAX];
	const char *what;
	int err;

	if (!c->continuous) {
		if (d->continuous)
			snprintf(ret_message, message_size, "continuous mode stopped");
		else
			snprintf(ret_message, message_size, "continuous mode off");
		cprofd__stop_continuous(d);
		return 0;
	}
	if (*c->history_dir)
		snprintf(dir, sizeof(dir), "%s", c->history_dir);
	else
		default_history_dir(dir, sizeof(dir));
	o.history_dir = dir;
	err = cprofd__start_continuous(d, &o, &what);
	if (err)
		snprintf(ret_message, message_size, "continuous mode: %s (%s): %s", what, dir,
			 strerror(-err));
	else
		snprintf(ret_message, message_size,
			 "continuous mode: every process at %u Hz, %u s windows, history in %s",
			 c->continuous_hz, c->window_s, dir);
	return err;
}
