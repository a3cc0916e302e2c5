// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int access__peer_of_socket(int fd, struct access_peer *ret_peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	if (len != sizeof(cred))
		return -EINVAL;
	ret_peer->uid = cred.uid;
	ret_peer->gid = cred.gid;
	ret_peer->pid = cred.pid;
	return 0;
}

bool access__is_root(const struct access_peer *peer)
{
	return peer && peer->uid == 0;
}

/*
 * Reads the four ids of a "Uid:" or "Gid:" line of /proc/PID/status
 * (real, effective, saved, filesystem). Returns 0 or a negative errno.
 */
static int read_ids(const char *status, const char *key, unsigned long ids[4])
{
	const char *line = strstr(status, key);
	char *end;

	if (!line)
		return -EINVAL;
	line += strlen(key);
	for (int i = 0; i < 4; i++) {
		errno = 0;
		ids[i] = strtoul(line, &end, 10);
		if (errno || end == line)
			return -EINVAL;
		line = end;
	}
	return 0;
}

int access__may_profile(const struct access_peer *peer, pid_t pid, const char *proc_root)
{
	unsigned long uids[4], gids[4];
	char path[128], status[4096];
	struct stat st;
	ssize_t n;
	int fd, err;

	if (!peer)
		return -EPERM;
	snprintf(path, sizeof(path), "%s/%d/status", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
	if (access__is_root(peer)) {
		close(fd);
		return 0;
	}
	/*
	 * The kernel gives the files of a non-dumpable process (setuid, or
	 * prctl(PR_SET_DUMPABLE, 0)) to root, whoever runs it.
	 */
	err = fstat(fd, &st) ? -errno : st.st_uid != peer->uid ? -EPERM : 0;
	if (!err) {
		n = read(fd, status, sizeof(status) - 1);
		err = n < 0 ? (errno == ESRCH ? -ESRCH : -errno) : 0;
	}
	close(fd);
	if (err)
		return err;
	status[n] = '\0';
	if (read_ids(status, "\nUid:", uids) || read_ids(status, "\nGid:", gids))
		return -EPERM;
	for (int i = 0; i < 3; i++)
		if (uids[i] != peer->uid || gids[i] != peer->gid)
			return -EPERM;
	return 0;
}
