// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "read_bounded.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int read_bounded(int fd, size_t initial, size_t max_bytes, char **ret_text, size_t *ret_len)
{
	/* One byte past the bound tells "exactly the bound" from "over it". */
	size_t capacity = initial < max_bytes + 1 ? initial : max_bytes + 1, len = 0;
	char *text = malloc(capacity ? capacity : 1);
	int err = 0;

	if (!text)
		return -ENOMEM;
	if (!capacity)
		capacity = 1;
	/*
	 * Every pass ends, fails, or adds at least one byte, and the buffer
	 * stops growing past the bound, so the loop is bounded.
	 */
	for (;;) {
		ssize_t n;

		if (len == capacity) {
			size_t new_capacity = capacity * 2;
			char *grown;

			if (capacity > max_bytes) {
				err = -EFBIG;
				goto out;
			}
			if (new_capacity > max_bytes + 1)
				new_capacity = max_bytes + 1;
			grown = realloc(text, new_capacity);
			if (!grown) {
				err = -ENOMEM;
				goto out;
			}
			text = grown;
			capacity = new_capacity;
		}
		n = read(fd, text + len, capacity - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max_bytes) {
		err = -EFBIG;
		goto out;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
out:
	free(text);
	return err;
}
