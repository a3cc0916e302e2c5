// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "admission.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cprof_protocol.h"
#include "util/array.h"

/* Peers without a uid (no SO_PEERCRED) count as this one, never root. */
#define UNKNOWN_UID ((uid_t)-1)

/* One uid holding connections; the array has one entry per such uid. */
struct holder {
	uid_t uid;
	unsigned int connections;
};

struct admission {
	struct admission_limits limits;
	struct holder *holders; /* at most limits.max_connections, in no order */
	size_t n_holders, holders_capacity;
	unsigned int open, open_root;
	uint64_t admitted;
	uint64_t events[ADMISSION_N_EVENTS];
};

static bool limits_ok(const struct admission_limits *l)
{
	return l->max_connections >= 2 && l->max_connections <= CPROF_MAX_CONNECTIONS &&
	       l->max_per_uid >= 1 && l->max_per_uid <= l->max_connections &&
	       l->root_reserved < l->max_connections;
}

struct admission *admission__new(const struct admission_limits *limits)
{
	struct admission *a;

	if (!limits_ok(limits)) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->limits = *limits;
	return a;
}

void admission__free(struct admission *a)
{
	if (!a)
		return;
	free(a->holders);
	free(a);
}

int admission__set_limits(struct admission *a, const struct admission_limits *limits)
{
	if (!limits_ok(limits))
		return -EINVAL;
	a->limits = *limits;
	return 0;
}

void admission__limits(const struct admission *a, struct admission_limits *ret)
{
	*ret = a->limits;
}

/*
 * The entry of uid, or NULL. A linear scan: there are at most as many
 * entries as connections, and a connection costs far more than the scan.
 */
static struct holder *find_holder(const struct admission *a, uid_t uid)
{
	for (size_t i = 0; i < a->n_holders; i++)
		if (a->holders[i].uid == uid)
			return &a->holders[i];
	return NULL;
}

int admission__admit(struct admission *a, uid_t uid, bool uid_known)
{
	struct holder *h;
	void *grown;
	int err;

	if (!uid_known)
		uid = UNKNOWN_UID;
	if (uid == 0) {
		if (a->open >= a->limits.max_connections)
			goto full;
	} else {
		h = find_holder(a, uid);
		if (a->open - a->open_root >= a->limits.max_connections - a->limits.root_reserved ||
		    a->open >= a->limits.max_connections)
			goto full;
		if (h && h->connections >= a->limits.max_per_uid) {
			a->events[ADMISSION_REFUSED_PER_UID]++;
			return -EUSERS;
		}
	}
	h = find_holder(a, uid);
	if (!h) {
		err = array__reserve(a->holders, sizeof(*a->holders), &a->holders_capacity,
				     a->n_holders, 1, 16, (size_t)a->limits.max_connections + 1,
				     &grown);
		if (err)
			return err;
		a->holders = grown;
		h = &a->holders[a->n_holders++];
		*h = (struct holder){ .uid = uid };
	}
	h->connections++;
	a->open++;
	if (uid == 0)
		a->open_root++;
	a->admitted++;
	return 0;
full:
	a->events[ADMISSION_REFUSED_FULL]++;
	return -EMFILE;
}

void admission__release(struct admission *a, uid_t uid, bool uid_known)
{
	struct holder *h;

	if (!uid_known)
		uid = UNKNOWN_UID;
	h = find_holder(a, uid);
	if (!h || !h->connections)
		return; /* a release without its admit: a bug of the caller's, not worth a crash */
	a->open--;
	if (uid == 0)
		a->open_root--;
	if (--h->connections == 0)
		*h = a->holders[--a->n_holders];
}

bool admission__full(const struct admission *a)
{
	return a->open >= a->limits.max_connections;
}

void admission__count(struct admission *a, enum admission_event event)
{
	if (event < ADMISSION_N_EVENTS)
		a->events[event]++;
}

void admission__stats(const struct admission *a, struct admission_stats *ret)
{
	*ret = (struct admission_stats){
		.open = a->open,
		.open_root = a->open_root,
		.uids = (unsigned int)a->n_holders,
		.admitted = a->admitted,
	};
	memcpy(ret->events, a->events, sizeof(ret->events));
}

const char *admission__event_name(enum admission_event event)
{
	static const char *const names[ADMISSION_N_EVENTS] = {
		[ADMISSION_REFUSED_FULL] = "refused_full",
		[ADMISSION_REFUSED_PER_UID] = "refused_per_uid",
		[ADMISSION_CLOSED_HEADER_DEADLINE] = "closed_header_deadline",
		[ADMISSION_CLOSED_INCOMPLETE] = "closed_incomplete",
		[ADMISSION_CLOSED_IDLE] = "closed_idle",
	};

	return event < ADMISSION_N_EVENTS ? names[event] : "unknown";
}
