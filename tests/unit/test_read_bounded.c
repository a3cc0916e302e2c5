// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "util/read_bounded.h"

/* A file of size bytes ('a' + i % 26), opened for reading; -1 on failure. */
static int file_of(size_t size)
{
	char path[] = "/tmp/cprof-read-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	for (size_t i = 0; i < size; i++) {
		char c = 'a' + i % 26;

		if (write(fd, &c, 1) != 1) {
			close(fd);
			return -1;
		}
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Reads a file of size bytes with the given start and bound; checks content on success. */
static int read_size(size_t size, size_t initial, size_t max)
{
	char *text = NULL;
	size_t len = 0;
	int fd = file_of(size), err;

	if (!ASSERT_TRUE(fd >= 0))
		return -EIO;
	err = read_bounded(fd, initial, max, &text, &len);
	close(fd);
	if (!err) {
		ASSERT_EQ(len, size);
		for (size_t i = 0; i < len; i++)
			if (text[i] != 'a' + (char)(i % 26)) {
				TEST_FAIL_AT("byte %zu differs", i);
				break;
			}
		free(text);
	}
	return err;
}

static void test_bounds(void)
{
	ASSERT_OK(read_size(0, 16, 100));
	ASSERT_OK(read_size(1, 1, 100));
	ASSERT_OK(read_size(1000, 16, 1000));    /* exactly the bound, grown from 16 */
	ASSERT_EQ(read_size(1001, 16, 1000), -EFBIG);
	ASSERT_EQ(read_size(5000, 64, 1000), -EFBIG);
	ASSERT_OK(read_size(1000, 1 << 20, 1000)); /* a start above the bound is clamped */
	ASSERT_OK(read_size(0, 0, 0));
	ASSERT_EQ(read_size(1, 0, 0), -EFBIG);
}

static void test_errors(void)
{
	char *text;
	size_t len;

	ASSERT_EQ(read_bounded(-1, 16, 100, &text, &len), -EBADF);
}

int main(void)
{
	RUN_TEST(test_bounds);
	RUN_TEST(test_errors);
	return TEST_SUMMARY();
}
