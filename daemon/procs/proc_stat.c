// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Field 22 is the 20th after the ") " that ends field 2. */
#define FIELDS_AFTER_COMM 20

int proc_stat__parse_start_ticks(const char *text, size_t len, uint64_t *ret_ticks)
{
	const char *p = NULL, *end = text + len;
	uint64_t ticks = 0;
	int field = 0;

	for (const char *c = text; c < end; c++)
		if (*c == ')')
			p = c;
	if (!p || ++p == end || *p != ' ')
		return -EINVAL;
	/* Now at the space before field 3; count spaces to field 22. */
	while (p < end && field < FIELDS_AFTER_COMM) {
		if (*p++ == ' ')
			field++;
	}
	if (field != FIELDS_AFTER_COMM || p == end || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (ticks > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		ticks = ticks * 10 + (*p - '0');
	}
	if (p < end && *p != ' ' && *p != '\n')
		return -EINVAL;
	*ret_ticks = ticks;
	return 0;
}

int proc_stat__start_ticks(pid_t pid, uint64_t *ret_ticks)
{
	char path[64], text[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, text, sizeof(text));
	if (n < 0)
		n = errno == ESRCH ? -ESRCH : -errno;
	close(fd);
	if (n < 0)
		return n;
	return proc_stat__parse_start_ticks(text, n, ret_ticks);
}
