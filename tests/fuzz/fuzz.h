/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the libFuzzer targets in this directory share. A target is one file,
 * fuzz_NAME.c, defining LLVMFuzzerTestOneInput(); its seeds live in
 * corpus/NAME/ and an optional dictionary in NAME.dict. The Makefile and
 * run.sh find targets by that name alone.
 *
 * A target checks the contract of the code under test with FUZZ_CHECK():
 * a broken contract aborts, which libFuzzer reports as a crash and saves.
 */
#ifndef CPROF_FUZZ_H
#define CPROF_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/*
 * Makes a private directory for this process's scratch files (under TMPDIR
 * or /tmp) and returns the path of name inside it, malloc'd; exits on
 * failure, as nothing can be fuzzed then. The directory is private so that
 * a name the input makes the code look for (a debug link, say) finds
 * nothing of anyone else's.
 */
static inline char *fuzz__scratch_path(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], *path;

	snprintf(dir, sizeof(dir), "%s/cprofd-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || asprintf(&path, "%s/%s", dir, name) < 0) {
		perror("fuzz: scratch directory");
		exit(1);
	}
	return path;
}

/* Replaces the contents of path with data; exits on failure. */
static inline void fuzz__write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0)
		goto fail;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (close(fd) < 0)
		goto fail;
	return;
fail:
	perror(path);
	exit(1);
}

/* Removes the file and its directory at exit (best effort). */
static inline void fuzz__remove_scratch(char *path)
{
	char *slash = strrchr(path, '/');

	unlink(path);
	if (slash) {
		*slash = '\0';
		rmdir(path);
	}
}

#endif /* CPROF_FUZZ_H */
