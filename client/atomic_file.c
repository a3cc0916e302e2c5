/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

struct atomic_file {
	/* The name the data ends up under, and where it is written until then. */
	char *path;
	char *temp_path;
	/* PATH.tmp, open for writing; -1 once closed. */
	int fd;
	/* PATH.tmp has become PATH, so there is nothing to remove. */
	bool committed;
	/*
	 * PATH is not a regular file (a device such as /dev/null, a FIFO, or
	 * "-" for standard output): written in place, never replaced.
	 */
	bool direct;
};

/* Opens a non-regular PATH (or "-") in place; -1 with errno when it is a regular file or absent. */
static int open_direct(const char *path, bool *ret_direct)
{
	struct stat st;

	*ret_direct = false;
	if (strcmp(path, "-") == 0) {
		*ret_direct = true;
		return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
	}
	if (stat(path, &st) < 0 || S_ISREG(st.st_mode))
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		*ret_direct = true;
		return -1;
	}
	*ret_direct = true;
	return open(path, O_WRONLY | O_CLOEXEC);
}

struct atomic_file *atomic_file__create(const char *path)
{
	struct atomic_file *file;
	int saved_errno;

	file = calloc(1, sizeof(*file));
	if (!file)
		return NULL;
	file->fd = -1;
	if (asprintf(&file->temp_path, "%s.tmp", path) < 0) {
		file->temp_path = NULL;
		goto err;
	}
	file->path = strdup(path);
	if (!file->path)
		goto err;
	file->fd = open_direct(path, &file->direct);
	if (file->direct) {
		if (file->fd < 0)
			goto err;
		free(file->temp_path);
		file->temp_path = strdup(strcmp(path, "-") ? path : "standard output");
		if (!file->temp_path)
			goto err;
		return file;
	}
	/* O_NOFOLLOW: in a shared directory PATH.tmp may be someone else's symlink. */
	file->fd =
		open(file->temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (file->fd < 0)
		goto err;
	return file;
err:
	saved_errno = errno;
	free(file->path);
	free(file->temp_path);
	free(file);
	errno = saved_errno;
	return NULL;
}

const char *atomic_file__temp_path(const struct atomic_file *file)
{
	return file->temp_path;
}

int atomic_file__write(struct atomic_file *file, const void *data, size_t length)
{
	const char *cursor = data;
	ssize_t written;

	if (file->fd < 0)
		return -EBADF;
	while (length > 0) {
		written = write(file->fd, cursor, length);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return -errno;
		cursor += written;
		length -= written;
	}
	return 0;
}

int atomic_file__commit(struct atomic_file *file)
{
	int fd = file->fd;

	if (fd < 0)
		return -EBADF;
	file->fd = -1;
	if (file->direct) {
		file->committed = true;
		return close(fd) < 0 && errno != EINTR ? -errno : 0;
	}
	/* Some file systems (NFS, quotas) report a full disk only here. */
	if (fsync(fd) < 0) {
		int saved_errno = errno;

		close(fd);
		return -saved_errno;
	}
	if (close(fd) < 0)
		return -errno;
	if (rename(file->temp_path, file->path) < 0)
		return -errno;
	file->committed = true;
	return 0;
}

void atomic_file__free(struct atomic_file *file)
{
	if (!file)
		return;
	if (file->fd >= 0)
		close(file->fd);
	/* In place means there is no temporary file, and the path is not ours to remove. */
	if (!file->committed && !file->direct)
		unlink(file->temp_path);
	free(file->path);
	free(file->temp_path);
	free(file);
}
