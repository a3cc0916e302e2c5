/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who may do what. The peer's credentials come from the kernel
 * (SO_PEERCRED), never from the request. Root may do everything; anyone
 * else who can reach the socket (its group) may profile only processes it
 * could ptrace itself: the same real, effective and saved uid and gid, and
 * dumpable (a setuid program or one that called prctl(PR_SET_DUMPABLE, 0)
 * is refused), and may see and stop only its own sessions.
 */
#ifndef CPROF_ACCESS_H
#define CPROF_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>

struct access_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* Reads the credentials of the process at the other end of a Unix socket. */
int access__peer_of_socket(int fd, struct access_peer *ret_peer);

/* Whether the peer is root. */
bool access__is_root(const struct access_peer *peer);

/*
 * Whether peer may profile process pid. Returns 0, -EPERM, or -ESRCH when
 * the process is gone. proc_root is "/proc" except in tests.
 */
int access__may_profile(const struct access_peer *peer, pid_t pid, const char *proc_root);

#endif /* CPROF_ACCESS_H */
