// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * unwind_build: what an unwind table costs to build and to hold, per binary.
 *
 *   unwind_build [--repeats N] BIN...
 *
 * For each BIN, builds its table with cfi_table__build() (the function the
 * daemon's worker runs; from .eh_frame, else .debug_frame) N times (default
 * 20) and prints one line of "key value" pairs for bench/run.py:
 *
 *   file BIN rows R rules U fdes F best_ms B median_ms M table_bytes T kernel_bytes K
 *
 * best_ms and median_ms are CPU time of one build (this thread); kernel_bytes
 * is what the table takes in the BPF maps: 8 bytes a row and 8 a page of
 * the page index (its rules are shared with every other file's and not
 * counted); table_bytes what cfi_table__memory() says the daemon holds
 * while it builds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unwind/cfi_table.h"

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int measure(const char *path, int repeats)
{
	struct cfi_table *t = NULL;
	double *times, best;
	Elf *elf;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "unwind_build: %s: %s\n", path, strerror(errno));
		return -1;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	times = calloc(repeats, sizeof(*times));
	if (!elf || !times) {
		fprintf(stderr, "unwind_build: %s: cannot read\n", path);
		err = -1;
		goto out;
	}
	for (int i = 0; i < repeats; i++) {
		double start = cpu_ms();

		cfi_table__free(t);
		t = NULL;
		err = cfi_table__build(elf, NULL, &t);
		times[i] = cpu_ms() - start;
		if (err) {
			fprintf(stderr, "unwind_build: %s: %s\n", path, strerror(-err));
			goto out;
		}
	}
	qsort(times, repeats, sizeof(*times), by_value);
	best = times[0];
	printf("file %s rows %u rules %u fdes %u best_ms %.2f median_ms %.2f table_bytes %zu "
	       "kernel_bytes %zu\n",
	       path, t->n_rows, t->n_rules, t->stats.fdes, best, times[repeats / 2],
	       cfi_table__memory(t),
	       (size_t)t->n_rows * sizeof(struct cprof_unwind_row) +
		       (size_t)cfi_table__n_pages(t->rows, t->n_rows) *
			       sizeof(struct cprof_unwind_page));
out:
	cfi_table__free(t);
	free(times);
	if (elf)
		elf_end(elf);
	close(fd);
	return err ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = { { "repeats", required_argument, NULL, 'r' },
						 { NULL, 0, NULL, 0 } };
	int repeats = 20, c, status = 0;

	while ((c = getopt_long(argc, argv, "r:", options, NULL)) != -1) {
		if (c != 'r' || (repeats = atoi(optarg)) < 1) {
			fprintf(stderr, "usage: unwind_build [--repeats N] BIN...\n");
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: unwind_build [--repeats N] BIN...\n");
		return 2;
	}
	elf_version(EV_CURRENT);
	for (int i = optind; i < argc; i++)
		if (measure(argv[i], repeats))
			status = 1;
	return status;
}
