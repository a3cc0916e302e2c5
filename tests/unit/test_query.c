// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the history's queries (daemon/store/query.c): windows are
 * put into a real store in a temporary directory, each a pprof made by the
 * encoder with two processes; a query's profile is read back with the pprof
 * reader. Checked: which windows and processes a filter and a viewer pick,
 * mappings of one file merged with their addresses moved along, locations
 * and functions not repeated, labels kept, markers for root alone, and the
 * listing's counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "json_writer.h"
#include "pprof_reader.h"
#include "profiles/pprof.h"
#include "store/query.h"
#include "store/window_store.h"

#define WINDOW_NS 10000000000ll
#define T0 1800000000000000000ll
#define ROOT_PID 100
#define USER_PID 200
#define USER_UID 1000

static char dir[] = "/tmp/cprof-test-query.XXXXXX";

/*
 * A window's profile: for each of the two processes, `count` samples of
 * main -> work in their own copy of /usr/bin/app (mapped at base + 0x1000
 * per window, as ASLR would), plus a lost marker for the machine (pid 0).
 */
static int window_profile(int index, int64_t count, void **ret_data, size_t *ret_size)
{
	struct pprof_profile_info info = { .period_ns = 52631578, .time_ns = T0 + index * WINDOW_NS,
					   .duration_ns = WINDOW_NS };
	struct pprof_builder *b = pprof_builder__new(&info);
	static const pid_t pids[] = { ROOT_PID, USER_PID };
	int err = 0;

	if (!b)
		return -ENOMEM;
	for (int p = 0; p < 2 && !err; p++) {
		uint64_t base = 0x400000 + (uint64_t)p * 0x100000 + (uint64_t)index * 0x1000;
		uint64_t mapping = pprof_builder__add_mapping(b, base, base + 0x10000, 0,
							      "/usr/bin/app", "abcdef", true);
		struct pprof_line work = { .function_name = "work", .file_name = "app.c", .line = 7 };
		struct pprof_line main_line = { .function_name = "main", .file_name = "app.c" };
		uint64_t ids[2] = { pprof_builder__location(b, mapping, base + 0x100, &work, 1),
				    pprof_builder__location(b, mapping, base + 0x200, &main_line, 1) };
		struct pprof_label labels[] = {
			{ .key = "pid", .num = pids[p] },
			{ .key = "comm", .str = p ? "user_app" : "root_app" },
		};

		err = pprof_builder__add_sample(b, ids, 2, count, labels, 2);
	}
	if (!err) {
		struct pprof_line lost = { .function_name = "[lost: ring buffer full]" };
		uint64_t id = pprof_builder__location(b, 0, 0, &lost, 1);
		struct pprof_label label = { .key = "pid", .num = 0 };

		err = pprof_builder__add_sample(b, &id, 1, 1, &label, 1);
	}
	if (!err)
		err = pprof_builder__encode(b, ret_data, ret_size);
	pprof_builder__free(b);
	return err;
}

static struct window_store *fill_store(int windows)
{
	struct window_store_options opts = { .dir = dir };
	struct window_store *s = window_store__open(&opts);

	if (!ASSERT_TRUE(s != NULL))
		return NULL;
	for (int i = 0; i < windows; i++) {
		struct store_process procs[2] = {
			{ .pid = ROOT_PID, .uid = 0, .start_ticks = 5, .samples = 3, .comm = "root_app",
			  .exe = "/usr/bin/app", .unit = "app.service",
			  .container = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
			{ .pid = USER_PID, .uid = USER_UID, .start_ticks = 6, .samples = 3,
			  .comm = "user_app", .exe = "/usr/bin/app", .unit = "user@1000.service" },
		};
		struct store_window w = { .start_ns = T0 + i * WINDOW_NS,
					  .end_ns = T0 + (i + 1) * WINDOW_NS,
					  .hz = 19,
					  .samples = 6,
					  .processes = procs,
					  .n_processes = 2 };
		void *data;
		size_t size;

		if (!ASSERT_OK(window_profile(i, 3, &data, &size)))
			break;
		w.profile = data;
		w.profile_size = size;
		ASSERT_OK(window_store__put(s, &w, T0 + (i + 1) * WINDOW_NS));
		free(data);
	}
	return s;
}

/* The query's profile, decoded; NULL if the query failed with *ret_err. */
static struct pprof_reader_profile *query(struct window_store *s, const struct query_filter *f,
					  uid_t viewer, int *ret_err)
{
	struct pprof_reader_profile *p = NULL;
	struct query_summary summary;
	void *data = NULL;
	size_t size;

	*ret_err = query__profile(s, f, viewer, &data, &size, &summary);
	if (*ret_err)
		return NULL;
	if (!ASSERT_OK(pprof_reader__read(data, size, 0, &p)))
		p = NULL;
	free(data);
	return p;
}

/* Samples of the profile whose pid label is pid. */
static int64_t samples_of(const struct pprof_reader_profile *p, int64_t pid)
{
	int64_t total = 0, v;

	for (size_t i = 0; i < p->n_samples; i++)
		if (!pprof_reader__label_num(&p->samples[i], "pid", &v) && v == pid)
			total += p->samples[i].values[0];
	return total;
}

static void test_merge(void)
{
	struct window_store *s = fill_store(6);
	struct query_filter all = { .since_ns = 0, .until_ns = INT64_MAX };
	struct pprof_reader_profile *p;
	int err;

	if (!s)
		return;
	p = query(s, &all, 0, &err);
	if (ASSERT_OK(err) && ASSERT_TRUE(p != NULL)) {
		ASSERT_EQ(samples_of(p, ROOT_PID), 18);
		ASSERT_EQ(samples_of(p, USER_PID), 18);
		ASSERT_EQ(samples_of(p, 0), 6); /* root, no filter: the machine's markers too */
		/* One file of one build: one mapping (and the kernel's, none here). */
		ASSERT_EQ(p->n_mappings, 1);
		/*
		 * Every window's and process's work and main land on the first
		 * mapping's addresses: the same code, 2 locations, and the marker.
		 */
		ASSERT_EQ(p->n_locations, 2 + 1);
		ASSERT_EQ(p->n_functions, 3);
		ASSERT_EQ(p->time_nanos, T0);
		ASSERT_EQ(p->duration_nanos, 6 * WINDOW_NS);
		ASSERT_STREQ(pprof_reader__label_str(&p->samples[0], "comm"), "root_app");
		for (size_t i = 0; i < p->n_samples; i++) {
			const struct pprof_reader_sample *sample = &p->samples[i];

			for (size_t f = 0; f < sample->n_locations; f++) {
				const struct pprof_reader_location *loc =
					pprof_reader__location(p, sample->location_ids[f]);
				const struct pprof_reader_mapping *m =
					loc ? pprof_reader__mapping(p, loc->mapping_id) : NULL;

				if (!ASSERT_TRUE(loc != NULL))
					continue;
				/* Moved with its mapping: inside it, whatever window it came from. */
				if (m)
					ASSERT_TRUE(loc->address >= m->start && loc->address < m->limit);
			}
		}
	}
	pprof_reader__free(p);
	window_store__free(s);
}

static void test_filters(void)
{
	struct window_store *s = fill_store(4);
	struct pprof_reader_profile *p;
	int err;

	if (!s)
		return;
	/* A span: windows 1 and 2 only. */
	p = query(s, &(struct query_filter){ .since_ns = T0 + WINDOW_NS + 1,
					     .until_ns = T0 + 3 * WINDOW_NS - 1 },
		  0, &err);
	if (ASSERT_OK(err) && p)
		ASSERT_EQ(samples_of(p, ROOT_PID), 6);
	pprof_reader__free(p);
	/* By name: one process, and no machine-wide markers. */
	p = query(s, &(struct query_filter){ .until_ns = INT64_MAX, .comm = "user_app" }, 0, &err);
	if (ASSERT_OK(err) && p) {
		ASSERT_EQ(samples_of(p, USER_PID), 12);
		ASSERT_EQ(samples_of(p, ROOT_PID), 0);
		ASSERT_EQ(samples_of(p, 0), 0);
	}
	pprof_reader__free(p);
	p = query(s, &(struct query_filter){ .until_ns = INT64_MAX, .unit = "app.service" }, 0,
		  &err);
	if (ASSERT_OK(err) && p)
		ASSERT_EQ(samples_of(p, ROOT_PID), 12);
	pprof_reader__free(p);
	p = query(s, &(struct query_filter){ .until_ns = INT64_MAX, .container = "0123456789ab" },
		  0, &err);
	if (ASSERT_OK(err) && p) {
		ASSERT_EQ(samples_of(p, ROOT_PID), 12);
		ASSERT_EQ(samples_of(p, USER_PID), 0);
	}
	pprof_reader__free(p);
	/* A prefix shorter than 4 digits picks nothing; nor does a pid not there. */
	p = query(s, &(struct query_filter){ .until_ns = INT64_MAX, .container = "012" }, 0, &err);
	ASSERT_EQ(err, -ENOENT);
	pprof_reader__free(p);
	p = query(s, &(struct query_filter){ .until_ns = INT64_MAX, .pid = 4242 }, 0, &err);
	ASSERT_EQ(err, -ENOENT);
	pprof_reader__free(p);
	window_store__free(s);
}

static void test_access(void)
{
	struct window_store *s = fill_store(2);
	struct query_filter all = { .until_ns = INT64_MAX };
	struct pprof_reader_profile *p;
	int err;

	if (!s)
		return;
	p = query(s, &all, USER_UID, &err);
	if (ASSERT_OK(err) && p) {
		ASSERT_EQ(samples_of(p, USER_PID), 6);
		ASSERT_EQ(samples_of(p, ROOT_PID), 0);
		ASSERT_EQ(samples_of(p, 0), 0);
	}
	pprof_reader__free(p);
	p = query(s, &(struct query_filter){ .until_ns = INT64_MAX, .pid = ROOT_PID }, USER_UID,
		  &err);
	ASSERT_EQ(err, -ENOENT);
	pprof_reader__free(p);
	/* Someone with no process at all. */
	p = query(s, &all, 4321, &err);
	ASSERT_EQ(err, -ENOENT);
	pprof_reader__free(p);
	window_store__free(s);
}

static void test_list(void)
{
	struct window_store *s = fill_store(3);
	struct query_filter all = { .until_ns = INT64_MAX };
	struct json_writer w;
	char *text = NULL;
	size_t len;

	if (!s)
		return;
	json_writer__init(&w);
	json_writer__object_begin(&w);
	ASSERT_OK(query__list(s, &all, USER_UID, &w));
	json_writer__object_end(&w);
	if (ASSERT_OK(json_writer__finish(&w, &text, &len))) {
		ASSERT_TRUE(strstr(text, "\"windows\":3") != NULL);
		ASSERT_TRUE(strstr(text, "\"pid\":200") != NULL);
		ASSERT_TRUE(strstr(text, "\"windows\":3,\"samples\":9") != NULL);
		ASSERT_TRUE(strstr(text, "\"pid\":100") == NULL); /* root's: not shown */
		ASSERT_TRUE(strstr(text, "{\"name\":\"user@1000.service\",\"processes\":1") != NULL);
		if (test__current_failed)
			printf("#   %s\n", text);
	}
	free(text);
	text = NULL;
	json_writer__init(&w);
	json_writer__object_begin(&w);
	ASSERT_OK(query__list(s, &all, 0, &w));
	json_writer__object_end(&w);
	if (ASSERT_OK(json_writer__finish(&w, &text, &len))) {
		ASSERT_TRUE(strstr(text, "\"pid\":100") != NULL);
		ASSERT_TRUE(strstr(text, "\"containers\":[{\"name\":\"0123456789abcdef") != NULL);
	}
	free(text);
	window_store__free(s);
}

/* Each test gets an empty history. */
static void clean_dir(void)
{
	char command[256];

	snprintf(command, sizeof(command), "rm -rf %s/* %s/.[!.]*", dir, dir);
	if (system(command))
		printf("# cleaning %s failed\n", dir);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(test_merge);
	clean_dir();
	RUN_TEST(test_filters);
	clean_dir();
	RUN_TEST(test_access);
	clean_dir();
	RUN_TEST(test_list);
	clean_dir();
	rmdir(dir);
	return TEST_SUMMARY();
}
