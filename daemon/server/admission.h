/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who gets a connection. Anyone in the socket's group can connect, and a
 * hostile member can open connections and never finish a request; without
 * limits that silences everyone else, root and `systemctl status` included.
 * So connections are counted per peer uid (SO_PEERCRED, from the kernel):
 * one uid may hold at most max_per_uid, all uids but root together at most
 * max_connections - root_reserved, and root up to max_connections, so
 * root's requests are served while another uid floods. Peers whose uid is
 * unknown share one count, as if one uid. The deadlines that end slow and
 * half-closed connections are the server's (http_server.c); this module only
 * counts, so it is the same on every transport.
 *
 * Library-like: does not log; all in the caller's thread.
 */
#ifndef CPROF_ADMISSION_H
#define CPROF_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct admission_limits {
	unsigned int max_connections; /* at once, every peer: 2..CPROF_MAX_CONNECTIONS */
	unsigned int max_per_uid; /* at once, one uid other than root: 1..max_connections */
	unsigned int root_reserved; /* of max_connections, for root only: < max_connections */
};

/* Why a connection was refused or ended early. */
enum admission_event {
	ADMISSION_REFUSED_FULL, /* the share of every peer but root was taken */
	ADMISSION_REFUSED_PER_UID, /* its uid held max_per_uid already */
	ADMISSION_CLOSED_HEADER_DEADLINE, /* no whole request header in time */
	ADMISSION_CLOSED_INCOMPLETE, /* end of input before a whole request */
	ADMISSION_CLOSED_IDLE, /* no progress for the idle timeout */
	ADMISSION_N_EVENTS,
};

struct admission_stats {
	unsigned int open; /* connections held now */
	unsigned int open_root; /* of them, root's */
	unsigned int uids; /* distinct peers holding one */
	uint64_t admitted; /* since start */
	uint64_t events[ADMISSION_N_EVENTS]; /* since start, by kind */
};

/* Every limit on connections: who gets one, and how long it may take. */
struct connection_limits {
	struct admission_limits admission;
	unsigned int header_timeout_ms; /* accept (or the last request) to a whole header */
	unsigned int idle_timeout_s; /* no progress on a connection */
};

/* What status shows of connections: the limits in force and the counts. */
struct connection_report {
	struct connection_limits limits;
	struct admission_stats stats;
};

struct admission;

/* A counter with these limits, or NULL with errno set (EINVAL for bad limits). */
struct admission *admission__new(const struct admission_limits *limits);
void admission__free(struct admission *a);

/*
 * New limits (a reload): 0, or -EINVAL leaving the old ones. Connections
 * held past a lower limit stay; new ones wait until the count is under it.
 */
int admission__set_limits(struct admission *a, const struct admission_limits *limits);
void admission__limits(const struct admission *a, struct admission_limits *ret);

/*
 * Counts a new connection of uid (uid_known false: a peer without one) if
 * the limits allow it: returns 0, or -EUSERS (its uid holds its share) or
 * -EMFILE (no room for anyone but root, or none at all), counted as refusals.
 * -ENOMEM if the count cannot grow. Each 0 must be matched by one release.
 */
int admission__admit(struct admission *a, uid_t uid, bool uid_known);
void admission__release(struct admission *a, uid_t uid, bool uid_known);

/* Whether every place is taken, so that no peer, root included, would get one. */
bool admission__full(const struct admission *a);

/* Counts a connection ended early for the given reason. */
void admission__count(struct admission *a, enum admission_event event);

void admission__stats(const struct admission *a, struct admission_stats *ret);

/* The status name of an event ("refused_per_uid"...). */
const char *admission__event_name(enum admission_event event);

#endif /* CPROF_ADMISSION_H */
