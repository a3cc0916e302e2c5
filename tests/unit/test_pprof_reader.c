/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of the pprof decoder (common/pprof_reader.h): round trips
 * through the daemon's encoder, hand-made protobuf bytes for the wire
 * format's corners and every malformed case, the gzip stream's limits and
 * faults, and a profile written by go tool pprof when go is installed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* for mkdtemp and nftw's FTW_* */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "test.h"
#include "pprof_reader.h"
#include "profiles/pprof.h"

#define PERIOD_NS 10000000 /* 100 Hz */
#define TIME_NS 1700000000123456789ll
#define DURATION_NS 5000000000ll

static char tmp_dir[4096];

/*
 * A protobuf writer, independent of the encoder, for hand-made messages
 */

struct pbw {
	uint8_t data[8192];
	size_t len;
};

static void pbw_raw(struct pbw *w, const void *data, size_t len)
{
	if (len > sizeof(w->data) - w->len)
		abort();
	memcpy(w->data + w->len, data, len);
	w->len += len;
}

static void pbw_varint(struct pbw *w, uint64_t v)
{
	uint8_t byte;

	do {
		byte = (uint8_t)(v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
		pbw_raw(w, &byte, 1);
		v >>= 7;
	} while (v);
}

static void pbw_tag(struct pbw *w, uint32_t field, uint32_t wire_type)
{
	pbw_varint(w, (uint64_t)field << 3 | wire_type);
}

/* A varint field, written even when 0. */
static void pbw_uint(struct pbw *w, uint32_t field, uint64_t v)
{
	pbw_tag(w, field, 0);
	pbw_varint(w, v);
}

static void pbw_bytes(struct pbw *w, uint32_t field, const void *data, size_t len)
{
	pbw_tag(w, field, 2);
	pbw_varint(w, len);
	pbw_raw(w, data, len);
}

static void pbw_msg(struct pbw *w, uint32_t field, const struct pbw *sub)
{
	pbw_bytes(w, field, sub->data, sub->len);
}

static void pbw_string(struct pbw *w, const char *s)
{
	pbw_bytes(w, 6, s, strlen(s));
}

/* A packed repeated varint field of n values. */
static void pbw_packed(struct pbw *w, uint32_t field, const uint64_t *values, size_t n)
{
	struct pbw sub = { .len = 0 };
	size_t i;

	for (i = 0; i < n; i++)
		pbw_varint(&sub, values[i]);
	pbw_msg(w, field, &sub);
}

/* A sub-message of varint fields given as (field, value) pairs, ended by field 0. */
static void pbw_fields(struct pbw *w, uint32_t field, ...)
{
	struct pbw sub = { .len = 0 };
	uint32_t number;
	va_list ap;

	va_start(ap, field);
	while ((number = va_arg(ap, uint32_t)))
		pbw_uint(&sub, number, va_arg(ap, uint64_t));
	va_end(ap);
	pbw_msg(w, field, &sub);
}

#define F(number, value) (uint32_t)(number), (uint64_t)(value)

/*
 * The hand-made base profile: strings "", samples, count, main, /bin/app,
 * key, val; sample type samples/count; mapping 1; function 1 (main);
 * location 1 (mapping 1, main:7); one sample of location 1, value 5, label
 * key=val. Each malformed case appends one field to it, or to a copy.
 */
static void base_profile(struct pbw *w)
{
	static const char *const strings[] = { "", "samples", "count", "main", "/bin/app",
					       "key", "val" };
	struct pbw sample = { .len = 0 }, location = { .len = 0 }, line = { .len = 0 };
	size_t i;

	w->len = 0;
	pbw_fields(w, 1, F(1, 1), F(2, 2), 0);
	pbw_uint(&sample, 1, 1);
	pbw_uint(&sample, 2, 5);
	pbw_fields(&sample, 3, F(1, 5), F(2, 6), 0);
	pbw_msg(w, 2, &sample);
	pbw_fields(w, 3, F(1, 1), F(2, 0x1000), F(3, 0x2000), F(5, 4), F(7, 1), 0);
	pbw_uint(&location, 1, 1);
	pbw_uint(&location, 2, 1);
	pbw_uint(&location, 3, 0x1234);
	pbw_uint(&line, 1, 1);
	pbw_uint(&line, 2, 7);
	pbw_msg(&location, 4, &line);
	pbw_msg(w, 4, &location);
	pbw_fields(w, 5, F(1, 1), F(2, 3), F(3, 3), 0);
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		pbw_string(w, strings[i]);
}

static int read_pbw(const struct pbw *w, struct pprof_reader_profile **ret)
{
	return pprof_reader__read(w->data, w->len, 0, ret);
}

/*
 * Helpers
 */

/* Gzips data into *ret_data (malloc'd). */
static int gzip_bytes(const void *data, size_t size, uint8_t **ret_data, size_t *ret_size)
{
	z_stream zs = { 0 };
	uint8_t *out;
	size_t cap;

	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	/* deflateBound() leaves out the gzip header and trailer */
	cap = deflateBound(&zs, (uLong)size) + 64;
	out = malloc(cap);
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)size;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (!out || deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(out);
		return -EIO;
	}
	*ret_size = zs.total_out;
	*ret_data = out;
	deflateEnd(&zs);
	return 0;
}

/* Gunzips data into *ret_raw (malloc'd), with zlib alone. */
static int gunzip_bytes(const void *data, size_t size, uint8_t **ret_raw, size_t *ret_size)
{
	z_stream zs = { 0 };
	size_t cap = 1 << 20;
	uint8_t *raw = NULL, *p;
	int ret = Z_OK;

	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)size;
	while (ret == Z_OK) {
		p = realloc(raw, cap *= 2);
		if (!p)
			break;
		raw = p;
		zs.next_out = raw + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		ret = inflate(&zs, Z_NO_FLUSH);
	}
	inflateEnd(&zs);
	if (ret != Z_STREAM_END) {
		free(raw);
		return -EINVAL;
	}
	*ret_raw = raw;
	*ret_size = zs.total_out;
	return 0;
}

static int write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return -errno;
	ok = fwrite(data, 1, size, f) == size;
	if (fclose(f) || !ok)
		return -EIO;
	return 0;
}

/* Reads a whole file into *ret_data (malloc'd). */
static int read_file(const char *path, uint8_t **ret_data, size_t *ret_size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL, *p;
	size_t len = 0, cap = 0, n;

	if (!f)
		return -errno;
	do {
		if (len == cap) {
			p = realloc(data, cap = cap ? cap * 2 : 65536);
			if (!p) {
				free(data);
				fclose(f);
				return -ENOMEM;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	*ret_data = data;
	*ret_size = len;
	return 0;
}

/* Whether an executable called name is on PATH. */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char candidate[4096];

	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, len ? path : ".", name);
		if (access(candidate, X_OK) == 0)
			return true;
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

/* Runs argv (no shell), its output to out_path. Returns the exit status, or -1. */
static int run(char *const argv[], const char *out_path)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * The profile of the round trips, as test_pprof.c builds it: two mappings,
 * a location with an inlined frame, a frame in a library, a marker frame
 * with no mapping and no address, and labelled samples.
 *
 *   7 samples  inlined_helper (inlined into hot_leaf) <- main
 *   3 samples  lib_compute <- main
 *   2 samples  [lost: ring buffer full]
 */
static int encode_small_profile(void **ret_data, size_t *ret_size)
{
	const struct pprof_profile_info info = {
		.period_ns = PERIOD_NS, .time_ns = TIME_NS, .duration_ns = DURATION_NS
	};
	const struct pprof_line hot[] = {
		{ .function_name = "inlined_helper", .file_name = "app.c", .line = 10 },
		{ .function_name = "hot_leaf", .system_name = "_Z8hot_leafv", .file_name = "app.c",
		  .line = 20 },
	};
	const struct pprof_line main_line = { .function_name = "main", .file_name = "app.c",
					      .line = 30 };
	const struct pprof_line lib = { .function_name = "lib_compute" };
	const struct pprof_line lost = { .function_name = "[lost: ring buffer full]" };
	const struct pprof_label labels[] = {
		{ .key = "pid", .num = 1234 },
		{ .key = "tid", .num = 1235 },
		{ .key = "thread_name", .str = "worker" },
		{ .key = "cpu_time", .num = 1500, .num_unit = "nanoseconds" },
	};
	uint64_t app, libfoo, hot_id, main_id, lib_id, lost_id;
	struct pprof_builder *b;
	int err = -ENOMEM;

	b = pprof_builder__new(&info);
	if (!b)
		return -ENOMEM;
	app = pprof_builder__add_mapping(b, 0x400000, 0x500000, 0, "/opt/cprof-test/bin/app",
					 "abcdef0123456789", true);
	libfoo = pprof_builder__add_mapping(b, 0x7f0000000000, 0x7f0000100000, 0x1000,
					    "/opt/cprof-test/lib/libfoo.so", NULL, true);
	hot_id = pprof_builder__location(b, app, 0x401000, hot, 2);
	main_id = pprof_builder__location(b, app, 0x402000, &main_line, 1);
	lib_id = pprof_builder__location(b, libfoo, 0x7f0000000100, &lib, 1);
	lost_id = pprof_builder__location(b, 0, 0, &lost, 1);
	if (app && libfoo && hot_id && main_id && lib_id && lost_id &&
	    !pprof_builder__add_sample(b, (uint64_t[]){ hot_id, main_id }, 2, 7, labels, 4) &&
	    !pprof_builder__add_sample(b, (uint64_t[]){ lib_id, main_id }, 2, 3, labels, 3) &&
	    !pprof_builder__add_sample(b, &lost_id, 1, 2, NULL, 0))
		err = pprof_builder__encode(b, ret_data, ret_size);
	pprof_builder__free(b);
	return err;
}

/* The name of the function of a location's line i, or NULL. */
static const char *line_name(const struct pprof_reader_profile *p,
			     const struct pprof_reader_location *l, size_t i)
{
	const struct pprof_reader_function *f;

	if (!l || i >= l->n_lines)
		return NULL;
	f = pprof_reader__function(p, l->lines[i].function_id);
	return f ? f->name : NULL;
}

/* Whether two decoded profiles say the same, element by element. */
static bool same_profile(const struct pprof_reader_profile *a, const struct pprof_reader_profile *b)
{
	size_t i, j;

#define SAME_STR(x, y) (((x) == NULL && (y) == NULL) || ((x) && (y) && strcmp((x), (y)) == 0))
	if (a->n_sample_types != b->n_sample_types || a->n_samples != b->n_samples ||
	    a->n_mappings != b->n_mappings || a->n_locations != b->n_locations ||
	    a->n_functions != b->n_functions || a->n_comments != b->n_comments ||
	    a->period != b->period || a->time_nanos != b->time_nanos ||
	    a->duration_nanos != b->duration_nanos ||
	    !SAME_STR(a->period_type.type, b->period_type.type) ||
	    !SAME_STR(a->period_type.unit, b->period_type.unit))
		return false;
	for (i = 0; i < a->n_sample_types; i++) {
		if (!SAME_STR(a->sample_types[i].type, b->sample_types[i].type) ||
		    !SAME_STR(a->sample_types[i].unit, b->sample_types[i].unit))
			return false;
	}
	for (i = 0; i < a->n_samples; i++) {
		const struct pprof_reader_sample *x = &a->samples[i], *y = &b->samples[i];

		if (x->n_locations != y->n_locations || x->n_values != y->n_values ||
		    x->n_labels != y->n_labels)
			return false;
		for (j = 0; j < x->n_locations; j++)
			if (x->location_ids[j] != y->location_ids[j])
				return false;
		for (j = 0; j < x->n_values; j++)
			if (x->values[j] != y->values[j])
				return false;
		for (j = 0; j < x->n_labels; j++)
			if (!SAME_STR(x->labels[j].key, y->labels[j].key) ||
			    !SAME_STR(x->labels[j].str, y->labels[j].str) ||
			    !SAME_STR(x->labels[j].num_unit, y->labels[j].num_unit) ||
			    x->labels[j].num != y->labels[j].num)
				return false;
	}
	for (i = 0; i < a->n_mappings; i++) {
		const struct pprof_reader_mapping *x = &a->mappings[i], *y = &b->mappings[i];

		if (x->id != y->id || x->start != y->start || x->limit != y->limit ||
		    x->file_offset != y->file_offset || !SAME_STR(x->file, y->file) ||
		    !SAME_STR(x->build_id, y->build_id) || x->has_functions != y->has_functions)
			return false;
	}
	for (i = 0; i < a->n_locations; i++) {
		const struct pprof_reader_location *x = &a->locations[i], *y = &b->locations[i];

		if (x->id != y->id || x->mapping_id != y->mapping_id || x->address != y->address ||
		    x->n_lines != y->n_lines)
			return false;
		for (j = 0; j < x->n_lines; j++)
			if (x->lines[j].function_id != y->lines[j].function_id ||
			    x->lines[j].line != y->lines[j].line)
				return false;
	}
	for (i = 0; i < a->n_functions; i++) {
		const struct pprof_reader_function *x = &a->functions[i], *y = &b->functions[i];

		if (x->id != y->id || !SAME_STR(x->name, y->name) ||
		    !SAME_STR(x->system_name, y->system_name) || !SAME_STR(x->file, y->file) ||
		    x->start_line != y->start_line)
			return false;
	}
	for (i = 0; i < a->n_comments; i++)
		if (!SAME_STR(a->comments[i], b->comments[i]))
			return false;
#undef SAME_STR
	return true;
}

/*
 * Tests
 */

static void test_round_trip(void)
{
	const struct pprof_reader_location *hot, *main_loc, *lib, *lost;
	const struct pprof_reader_function *f;
	const struct pprof_reader_mapping *m;
	struct pprof_reader_profile *p = NULL, *from_raw = NULL;
	const struct pprof_reader_sample *s;
	uint8_t *raw = NULL;
	void *data = NULL;
	size_t size, raw_size;
	int64_t num;

	if (!ASSERT_OK(encode_small_profile(&data, &size)) ||
	    !ASSERT_OK(pprof_reader__read(data, size, 0, &p)))
		goto out;

	ASSERT_EQ(p->n_sample_types, 2);
	ASSERT_STREQ(p->sample_types[0].type, "samples");
	ASSERT_STREQ(p->sample_types[0].unit, "count");
	ASSERT_STREQ(p->sample_types[1].type, "cpu");
	ASSERT_STREQ(p->sample_types[1].unit, "nanoseconds");
	ASSERT_STREQ(p->period_type.type, "cpu");
	ASSERT_STREQ(p->period_type.unit, "nanoseconds");
	ASSERT_EQ(p->period, PERIOD_NS);
	ASSERT_EQ(p->time_nanos, TIME_NS);
	ASSERT_EQ(p->duration_nanos, DURATION_NS);
	ASSERT_EQ(p->n_comments, 0);
	ASSERT_TRUE(p->comments == NULL);

	/* mappings, as added */
	if (ASSERT_EQ(p->n_mappings, 2)) {
		m = pprof_reader__mapping(p, 1);
		ASSERT_TRUE(m == &p->mappings[0]);
		ASSERT_EQ(m->start, 0x400000);
		ASSERT_EQ(m->limit, 0x500000);
		ASSERT_EQ(m->file_offset, 0);
		ASSERT_STREQ(m->file, "/opt/cprof-test/bin/app");
		ASSERT_STREQ(m->build_id, "abcdef0123456789");
		ASSERT_TRUE(m->has_functions);
		m = pprof_reader__mapping(p, 2);
		ASSERT_TRUE(m == &p->mappings[1]);
		ASSERT_EQ(m->start, 0x7f0000000000);
		ASSERT_EQ(m->limit, 0x7f0000100000);
		ASSERT_EQ(m->file_offset, 0x1000);
		ASSERT_STREQ(m->file, "/opt/cprof-test/lib/libfoo.so");
		ASSERT_STREQ(m->build_id, "");
	}
	ASSERT_TRUE(pprof_reader__mapping(p, 0) == NULL);
	ASSERT_TRUE(pprof_reader__mapping(p, 3) == NULL);

	/* locations: the inlined one has two lines, innermost first */
	ASSERT_EQ(p->n_locations, 4);
	hot = pprof_reader__location(p, 1);
	main_loc = pprof_reader__location(p, 2);
	lib = pprof_reader__location(p, 3);
	lost = pprof_reader__location(p, 4);
	ASSERT_TRUE(pprof_reader__location(p, 5) == NULL);
	ASSERT_TRUE(pprof_reader__location(p, 0) == NULL);
	ASSERT_TRUE(pprof_reader__location(p, UINT64_MAX) == NULL);
	if (ASSERT_NOT_NULL(hot) && ASSERT_EQ(hot->n_lines, 2)) {
		ASSERT_EQ(hot->id, 1);
		ASSERT_EQ(hot->mapping_id, 1);
		ASSERT_EQ(hot->address, 0x401000);
		ASSERT_STREQ(line_name(p, hot, 0), "inlined_helper");
		ASSERT_EQ(hot->lines[0].line, 10);
		ASSERT_STREQ(line_name(p, hot, 1), "hot_leaf");
		ASSERT_EQ(hot->lines[1].line, 20);
		f = pprof_reader__function(p, hot->lines[1].function_id);
		if (ASSERT_NOT_NULL(f)) {
			ASSERT_STREQ(f->system_name, "_Z8hot_leafv");
			ASSERT_STREQ(f->file, "app.c");
			ASSERT_EQ(f->start_line, 0);
		}
	}
	if (ASSERT_NOT_NULL(main_loc) && ASSERT_EQ(main_loc->n_lines, 1)) {
		ASSERT_EQ(main_loc->address, 0x402000);
		ASSERT_STREQ(line_name(p, main_loc, 0), "main");
		ASSERT_EQ(main_loc->lines[0].line, 30);
	}
	if (ASSERT_NOT_NULL(lib) && ASSERT_EQ(lib->n_lines, 1)) {
		ASSERT_EQ(lib->mapping_id, 2);
		ASSERT_STREQ(line_name(p, lib, 0), "lib_compute");
		f = pprof_reader__function(p, lib->lines[0].function_id);
		/* the encoder writes the name again for a missing system name */
		if (ASSERT_NOT_NULL(f)) {
			ASSERT_STREQ(f->system_name, "lib_compute");
			ASSERT_STREQ(f->file, "");
		}
		ASSERT_EQ(lib->lines[0].line, 0);
	}
	/* the marker: no mapping, no address */
	if (ASSERT_NOT_NULL(lost) && ASSERT_EQ(lost->n_lines, 1)) {
		ASSERT_EQ(lost->mapping_id, 0);
		ASSERT_EQ(lost->address, 0);
		ASSERT_STREQ(line_name(p, lost, 0), "[lost: ring buffer full]");
	}
	ASSERT_EQ(p->n_functions, 5);
	ASSERT_TRUE(pprof_reader__function(p, 0) == NULL);
	ASSERT_TRUE(pprof_reader__function(p, 6) == NULL);

	/* samples, leaf first, with their labels */
	if (!ASSERT_EQ(p->n_samples, 3))
		goto out;
	s = &p->samples[0];
	if (ASSERT_EQ(s->n_locations, 2) && ASSERT_EQ(s->n_values, 2)) {
		ASSERT_EQ(s->location_ids[0], 1);
		ASSERT_EQ(s->location_ids[1], 2);
		ASSERT_EQ(s->values[0], 7);
		ASSERT_EQ(s->values[1], 7 * PERIOD_NS);
	}
	if (ASSERT_EQ(s->n_labels, 4)) {
		ASSERT_STREQ(s->labels[0].key, "pid");
		ASSERT_TRUE(s->labels[0].str == NULL);
		ASSERT_EQ(s->labels[0].num, 1234);
		ASSERT_TRUE(s->labels[0].num_unit == NULL);
		ASSERT_STREQ(s->labels[2].key, "thread_name");
		ASSERT_STREQ(s->labels[2].str, "worker");
		ASSERT_STREQ(s->labels[3].key, "cpu_time");
		ASSERT_EQ(s->labels[3].num, 1500);
		ASSERT_STREQ(s->labels[3].num_unit, "nanoseconds");
	}
	ASSERT_STREQ(pprof_reader__label_str(s, "thread_name"), "worker");
	ASSERT_TRUE(pprof_reader__label_str(s, "pid") == NULL); /* numeric */
	ASSERT_TRUE(pprof_reader__label_str(s, "nope") == NULL);
	ASSERT_OK(pprof_reader__label_num(s, "tid", &num));
	ASSERT_EQ(num, 1235);
	ASSERT_OK(pprof_reader__label_num(s, "cpu_time", &num));
	ASSERT_EQ(num, 1500);
	ASSERT_EQ(pprof_reader__label_num(s, "thread_name", &num), -ENOENT);
	ASSERT_EQ(pprof_reader__label_num(&p->samples[1], "cpu_time", &num), -ENOENT);
	ASSERT_EQ(p->samples[1].n_labels, 3);
	ASSERT_EQ(p->samples[1].values[0], 3);
	ASSERT_EQ(p->samples[2].n_locations, 1);
	ASSERT_EQ(p->samples[2].location_ids[0], 4);
	ASSERT_EQ(p->samples[2].n_labels, 0);
	ASSERT_TRUE(p->samples[2].labels == NULL);

	/* the same bytes, not gzipped, read the same */
	if (ASSERT_OK(gunzip_bytes(data, size, &raw, &raw_size)) &&
	    ASSERT_OK(pprof_reader__read(raw, raw_size, 0, &from_raw)))
		ASSERT_TRUE(same_profile(p, from_raw));
out:
	pprof_reader__free(from_raw);
	pprof_reader__free(p);
	free(raw);
	free(data);
}

#define MANY 20000

/* Many locations and samples: counts, lookups, and that lookups are not linear scans. */
static void test_round_trip_many(void)
{
	const struct pprof_profile_info info = { .period_ns = PERIOD_NS };
	const struct pprof_line root = { .function_name = "root", .file_name = "main.c" };
	struct pprof_reader_profile *p = NULL;
	struct pprof_builder *b;
	struct timespec t0, t1;
	uint64_t mapping, root_id, id;
	char name[64];
	void *data = NULL;
	size_t size, i;
	int64_t total = 0;
	double seconds;
	bool ok = true;

	b = pprof_builder__new(&info);
	if (!ASSERT_NOT_NULL(b))
		return;
	mapping = pprof_builder__add_mapping(b, 0x10000000, 0x20000000, 0, "/big", NULL, true);
	root_id = pprof_builder__location(b, mapping, 0x10000000, &root, 1);
	for (i = 0; i < MANY && ok; i++) {
		const struct pprof_line line = { .function_name = name, .line = (int64_t)i };
		const struct pprof_label label = { .key = "tid", .num = (int64_t)(i % 100) };

		snprintf(name, sizeof(name), "fn_%zu", i);
		id = pprof_builder__location(b, mapping, 0x10000010 + i * 16, &line, 1);
		ok &= ASSERT_OK(pprof_builder__add_sample(b, (uint64_t[]){ id, root_id }, 2,
							  (int64_t)(i % 7 + 1), &label, 1));
	}
	if (!ok || !ASSERT_OK(pprof_builder__encode(b, &data, &size)) ||
	    !ASSERT_OK(pprof_reader__read(data, size, 0, &p)))
		goto out;
	ASSERT_EQ(p->n_samples, MANY);
	ASSERT_EQ(p->n_locations, MANY + 1);
	ASSERT_EQ(p->n_functions, MANY + 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < p->n_samples; i++) {
		const struct pprof_reader_sample *s = &p->samples[i];
		const struct pprof_reader_location *l =
			pprof_reader__location(p, s->location_ids[0]);

		total += s->values[0];
		ok &= l && l->n_lines == 1 && pprof_reader__function(p, l->lines[0].function_id);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ASSERT_TRUE(ok);
	ASSERT_TRUE(seconds < 1.0);
	/* sum of i % 7 + 1 over i < MANY */
	ASSERT_EQ(total, (MANY / 7) * 28 + (MANY % 7) * (MANY % 7 + 1) / 2);
	snprintf(name, sizeof(name), "fn_%d", MANY - 1);
	ASSERT_STREQ(line_name(p, pprof_reader__location(p, MANY + 1), 0), name);
out:
	pprof_reader__free(p);
	free(data);
	pprof_builder__free(b);
}

/* Packed, unpacked and mixed repeated fields read the same; so does a gzipped copy. */
static void test_packed_unpacked(void)
{
	const uint64_t ids[] = { 2, 1 }, values[] = { 5, (uint64_t)-3 };
	struct pprof_reader_profile *packed = NULL, *unpacked = NULL, *mixed = NULL, *gz = NULL;
	struct pbw base, w, sample;
	uint8_t *gz_data = NULL;
	size_t gz_size, i;

	base_profile(&base);
	/* a second location and sample type, so each repeated field has two values */
	base.len = 0;
	pbw_fields(&base, 1, F(1, 1), F(2, 2), 0);
	pbw_fields(&base, 1, F(1, 3), F(2, 2), 0);
	pbw_fields(&base, 5, F(1, 1), F(2, 3), 0);
	pbw_fields(&base, 4, F(1, 1), 0);
	pbw_fields(&base, 4, F(1, 2), 0);
	for (i = 0; i < 4; i++)
		pbw_string(&base, (const char *[]){ "", "samples", "count", "main" }[i]);
	pbw_packed(&base, 13, (uint64_t[]){ 1, 3 }, 2); /* comments, packed */
	pbw_uint(&base, 13, 2); /* and not */

	w = base;
	sample.len = 0;
	pbw_packed(&sample, 1, ids, 2);
	pbw_packed(&sample, 2, values, 2);
	pbw_msg(&w, 2, &sample);
	if (!ASSERT_OK(read_pbw(&w, &packed)))
		goto out;

	w = base;
	sample.len = 0;
	for (i = 0; i < 2; i++) {
		pbw_uint(&sample, 1, ids[i]);
		pbw_uint(&sample, 2, values[i]);
	}
	pbw_msg(&w, 2, &sample);
	if (ASSERT_OK(read_pbw(&w, &unpacked)))
		ASSERT_TRUE(same_profile(packed, unpacked));

	/* one unpacked, the rest packed, and an empty packed field */
	w = base;
	sample.len = 0;
	pbw_uint(&sample, 1, ids[0]);
	pbw_packed(&sample, 2, values, 2);
	pbw_packed(&sample, 1, NULL, 0);
	pbw_packed(&sample, 1, ids + 1, 1);
	pbw_msg(&w, 2, &sample);
	if (ASSERT_OK(read_pbw(&w, &mixed)))
		ASSERT_TRUE(same_profile(packed, mixed));

	if (ASSERT_OK(gzip_bytes(w.data, w.len, &gz_data, &gz_size)) &&
	    ASSERT_OK(pprof_reader__read(gz_data, gz_size, 0, &gz)))
		ASSERT_TRUE(same_profile(packed, gz));

	if (ASSERT_EQ(packed->n_samples, 1) && ASSERT_EQ(packed->samples[0].n_values, 2)) {
		ASSERT_EQ(packed->samples[0].location_ids[0], 2);
		ASSERT_EQ(packed->samples[0].values[1], -3);
	}
	if (ASSERT_EQ(packed->n_comments, 3)) {
		ASSERT_STREQ(packed->comments[0], "samples");
		ASSERT_STREQ(packed->comments[1], "main");
		ASSERT_STREQ(packed->comments[2], "count");
	}
out:
	pprof_reader__free(packed);
	pprof_reader__free(unpacked);
	pprof_reader__free(mixed);
	pprof_reader__free(gz);
	free(gz_data);
}

/* Appends one field of each wire type the reader skips. */
static void pbw_unknown(struct pbw *w, uint32_t field)
{
	static const uint8_t fixed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	pbw_uint(w, field, 12345678901ull);
	pbw_tag(w, field + 1, 1);
	pbw_raw(w, fixed, 8);
	pbw_bytes(w, field + 2, "\x08\x01 anything", 11);
	pbw_tag(w, field + 3, 5);
	pbw_raw(w, fixed, 4);
}

/* Unknown fields of every wire type, at every level, and known ones not kept, change nothing. */
static void test_unknown_fields(void)
{
	struct pprof_reader_profile *plain = NULL, *extra = NULL;
	struct pbw w, sample, location, line, label, mapping, function, value_type;

	base_profile(&w);
	if (!ASSERT_OK(read_pbw(&w, &plain)))
		return;

	w.len = 0;
	sample.len = location.len = line.len = label.len = mapping.len = function.len = 0;
	value_type.len = 0;
	pbw_unknown(&w, 100);
	pbw_uint(&value_type, 1, 1);
	pbw_unknown(&value_type, 20);
	pbw_uint(&value_type, 2, 2);
	pbw_msg(&w, 1, &value_type);
	pbw_unknown(&sample, 4);
	pbw_uint(&sample, 1, 1);
	pbw_uint(&sample, 2, 5);
	pbw_uint(&label, 1, 5);
	pbw_unknown(&label, 5);
	pbw_uint(&label, 2, 6);
	pbw_msg(&sample, 3, &label);
	pbw_msg(&w, 2, &sample);
	pbw_uint(&mapping, 1, 1);
	pbw_uint(&mapping, 2, 0x1000);
	pbw_uint(&mapping, 3, 0x2000);
	pbw_uint(&mapping, 5, 4);
	pbw_uint(&mapping, 7, 1);
	pbw_uint(&mapping, 8, 1); /* has_filenames .. has_inline_frames */
	pbw_uint(&mapping, 9, 1);
	pbw_uint(&mapping, 10, 0);
	pbw_unknown(&mapping, 11);
	pbw_msg(&w, 3, &mapping);
	pbw_uint(&location, 1, 1);
	pbw_uint(&location, 2, 1);
	pbw_uint(&location, 3, 0x1234);
	pbw_uint(&location, 5, 1); /* is_folded */
	pbw_unknown(&location, 6);
	pbw_uint(&line, 1, 1);
	pbw_uint(&line, 2, 7);
	pbw_uint(&line, 3, 42); /* column */
	pbw_unknown(&line, 4);
	pbw_msg(&location, 4, &line);
	pbw_msg(&w, 4, &location);
	pbw_uint(&function, 1, 1);
	pbw_uint(&function, 2, 3);
	pbw_uint(&function, 3, 3);
	pbw_unknown(&function, 6);
	pbw_msg(&w, 5, &function);
	pbw_string(&w, "");
	pbw_string(&w, "samples");
	pbw_unknown(&w, 15);
	pbw_string(&w, "count");
	pbw_string(&w, "main");
	pbw_string(&w, "/bin/app");
	pbw_string(&w, "key");
	pbw_string(&w, "val");
	pbw_uint(&w, 7, 3); /* drop_frames, keep_frames, default_sample_type */
	pbw_uint(&w, 8, 0);
	pbw_uint(&w, 14, 1);
	pbw_unknown(&w, 1000000);
	pbw_unknown(&w, (1u << 29) - 4); /* up to the largest field number */
	if (ASSERT_OK(read_pbw(&w, &extra)))
		ASSERT_TRUE(same_profile(plain, extra));

	/* the base itself: what each field says */
	if (ASSERT_EQ(plain->n_samples, 1) && ASSERT_EQ(plain->n_locations, 1)) {
		ASSERT_STREQ(pprof_reader__label_str(&plain->samples[0], "key"), "val");
		ASSERT_EQ(plain->locations[0].address, 0x1234);
		ASSERT_EQ(plain->locations[0].lines[0].line, 7);
		ASSERT_STREQ(plain->mappings[0].file, "/bin/app");
		ASSERT_STREQ(plain->functions[0].name, "main");
	}
	pprof_reader__free(plain);
	pprof_reader__free(extra);
}

/* Singular fields given twice: the last wins. */
static void test_last_wins(void)
{
	struct pprof_reader_profile *p = NULL;
	struct pbw w;

	base_profile(&w);
	pbw_uint(&w, 12, 100);
	pbw_uint(&w, 12, 200);
	pbw_fields(&w, 11, F(1, 3), F(2, 4), 0);
	pbw_fields(&w, 11, F(1, 1), 0);
	pbw_uint(&w, 9, (uint64_t)-1);
	if (!ASSERT_OK(read_pbw(&w, &p)))
		return;
	ASSERT_EQ(p->period, 200);
	ASSERT_STREQ(p->period_type.type, "samples");
	ASSERT_STREQ(p->period_type.unit, ""); /* the second period_type replaced the first */
	ASSERT_EQ(p->time_nanos, -1);
	pprof_reader__free(p);
}

/* Ids need not be 1..n in order: lookups go through the index then. */
static void test_sparse_ids(void)
{
	struct pprof_reader_profile *p = NULL;
	struct pbw w, loc, line;
	uint64_t ids[] = { 900, 3, 77 };
	size_t i;

	w.len = 0;
	pbw_fields(&w, 5, F(1, 1000), F(2, 1), 0);
	pbw_fields(&w, 5, F(1, 2), F(2, 2), 0);
	for (i = 0; i < 3; i++) {
		loc.len = line.len = 0;
		pbw_uint(&loc, 1, ids[i]);
		pbw_uint(&line, 1, i == 1 ? 2 : 1000);
		pbw_msg(&loc, 4, &line);
		pbw_msg(&w, 4, &loc);
	}
	pbw_fields(&w, 3, F(1, UINT64_MAX), 0);
	pbw_fields(&w, 4, F(1, 5), F(2, UINT64_MAX), 0);
	pbw_bytes(&w, 2, "", 0); /* a sample of nothing: there are no sample types either */
	loc.len = 0;
	pbw_packed(&loc, 1, (uint64_t[]){ 3, 900, 77, 5 }, 4);
	pbw_msg(&w, 2, &loc);
	pbw_string(&w, "");
	pbw_string(&w, "a");
	pbw_string(&w, "b");
	if (!ASSERT_OK(read_pbw(&w, &p)))
		return;
	for (i = 0; i < 3; i++)
		ASSERT_TRUE(pprof_reader__location(p, ids[i]) == &p->locations[i]);
	ASSERT_TRUE(pprof_reader__location(p, 1) == NULL);
	ASSERT_TRUE(pprof_reader__location(p, 4) == NULL); /* the count, not an id */
	ASSERT_TRUE(pprof_reader__location(p, 901) == NULL);
	ASSERT_TRUE(pprof_reader__function(p, 1000) == &p->functions[0]);
	ASSERT_TRUE(pprof_reader__function(p, 2) == &p->functions[1]);
	ASSERT_TRUE(pprof_reader__function(p, 1) == NULL);
	ASSERT_TRUE(pprof_reader__mapping(p, UINT64_MAX) == &p->mappings[0]);
	ASSERT_STREQ(line_name(p, pprof_reader__location(p, 3), 0), "b");
	ASSERT_EQ(p->n_samples, 2);
	ASSERT_EQ(p->samples[1].n_locations, 4);
	pprof_reader__free(p);
}

/* A case of test_malformed(): a name, and the bytes appended to the base profile. */
struct malformed_case {
	const char *name;
	bool alone; /* the bytes are the whole message, without the base */
	const char *bytes;
	size_t len;
};

#define CASE(name, bytes) { name, false, bytes, sizeof(bytes) - 1 }
#define ALONE(name, bytes) { name, true, bytes, sizeof(bytes) - 1 }

static void test_malformed(void)
{
	static const struct malformed_case cases[] = {
		/* varints */
		ALONE("varint of 11 bytes", "\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		ALONE("varint past 64 bits", "\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"),
		ALONE("varint cut at the end", "\x48\x80"),
		ALONE("tag cut at the end", "\x80"),
		/* wire types and field numbers */
		ALONE("wire type 3 (start group)", "\x4b\x01"),
		ALONE("wire type 4 (end group)", "\x4c"),
		ALONE("wire type 6", "\x4e\x01"),
		ALONE("wire type 7", "\x4f\x01"),
		ALONE("field number 0", "\x00\x01"),
		ALONE("field number 2^29", "\x80\x80\x80\x80\x10\x01"),
		ALONE("fixed64 cut", "\x49\x01\x02\x03"),
		ALONE("fixed32 cut", "\x4d\x01\x02"),
		ALONE("length past the end", "\x32\x05\x00\x00"),
		ALONE("length of 2^64 - 1", "\x32\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		CASE("sub-message longer than its parent", "\x22\x03\x22\x05\x08"),
		CASE("sample as a varint", "\x10\x01"),
		CASE("mapping id as bytes", "\x1a\x03\x0a\x01\x02"),
		CASE("string table entry as a varint", "\x30\x01"),
		CASE("sample value as fixed32", "\x12\x08\x0a\x01\x01\x15\x05\x00\x00\x00"),
		CASE("time_nanos as bytes", "\x4a\x01\x01"),
		CASE("has_functions as bytes", "\x1a\x04\x08\x02\x3a\x00"),
		CASE("packed location ids cut", "\x12\x06\x10\x05\x0a\x02\x01\x80"),
		/* string indices */
		ALONE("sample type string index", "\x0a\x02\x08\x07\x32\x00"),
		CASE("period_type string index", "\x5a\x02\x10\x09"),
		CASE("label key string index", "\x12\x09\x0a\x01\x01\x10\x05\x1a\x02\x08\x07"),
		CASE("label str string index", "\x12\x09\x0a\x01\x01\x10\x05\x1a\x02\x10\x07"),
		CASE("label num_unit string index", "\x12\x09\x0a\x01\x01\x10\x05\x1a\x02\x20\x07"),
		CASE("mapping file string index", "\x1a\x04\x08\x02\x28\x07"),
		CASE("mapping build_id string index", "\x1a\x04\x08\x02\x30\x63"),
		CASE("function name string index", "\x2a\x04\x08\x02\x10\x07"),
		CASE("function file string index", "\x2a\x04\x08\x02\x20\x07"),
		CASE("negative string index",
		     "\x2a\x0d\x08\x02\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		CASE("comment string index", "\x68\x07"),
		CASE("packed comment string index", "\x6a\x02\x01\x07"),
		CASE("drop_frames string index", "\x38\x07"),
		CASE("keep_frames string index", "\x40\x07"),
		CASE("default_sample_type string index", "\x70\x07"),
		ALONE("string_table[0] not empty", "\x32\x01x"),
		/* ids */
		CASE("sample location undefined", "\x12\x04\x08\x02\x10\x05"),
		CASE("sample location 0", "\x12\x04\x08\x00\x10\x05"),
		CASE("location mapping undefined", "\x22\x04\x08\x02\x10\x02"),
		CASE("line function undefined", "\x22\x06\x08\x02\x22\x02\x08\x02"),
		CASE("line function 0", "\x22\x06\x08\x02\x22\x02\x10\x01"),
		CASE("line without function", "\x22\x04\x08\x02\x22\x00"),
		CASE("mapping id 0", "\x1a\x02\x08\x00"),
		CASE("mapping without id", "\x1a\x02\x10\x05"),
		CASE("location id 0", "\x22\x02\x08\x00"),
		CASE("function id 0", "\x2a\x02\x10\x03"),
		CASE("duplicate mapping", "\x1a\x02\x08\x01"),
		CASE("duplicate location", "\x22\x02\x08\x01"),
		CASE("duplicate function", "\x2a\x02\x08\x01"),
		CASE("duplicate sparse function",
		     "\x2a\x02\x08\x09\x2a\x02\x08\x05\x2a\x02\x08\x09"),
		/* values */
		CASE("sample without values", "\x12\x02\x08\x01"),
		CASE("sample with two values", "\x12\x06\x08\x01\x12\x02\x05\x06"),
		CASE("a second sample type, one value per sample", "\x0a\x00"),
	};
	struct pprof_reader_profile *p;
	struct pbw base, w;
	size_t i;
	int err;

	/* the base is valid */
	base_profile(&base);
	p = NULL;
	if (!ASSERT_OK(read_pbw(&base, &p)))
		return;
	pprof_reader__free(p);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct malformed_case *c = &cases[i];

		if (c->alone)
			w.len = 0;
		else
			w = base;
		pbw_raw(&w, c->bytes, c->len);
		p = (struct pprof_reader_profile *)0x1;
		err = read_pbw(&w, &p);
		if (err != -EINVAL)
			TEST_FAIL_AT("%s: %d, not -EINVAL", c->name, err);
		/* written only on success */
		if (p != (struct pprof_reader_profile *)0x1)
			TEST_FAIL_AT("%s: *ret_profile written", c->name);
	}
}

/* A string holding a NUL is cut there. */
static void test_nul_in_string(void)
{
	struct pprof_reader_profile *p = NULL;
	struct pbw w;

	w.len = 0;
	pbw_fields(&w, 5, F(1, 1), F(2, 1), F(4, 2), 0);
	pbw_string(&w, "");
	pbw_bytes(&w, 6, "ab\0cd", 5);
	pbw_bytes(&w, 6, "\0", 1);
	if (!ASSERT_OK(read_pbw(&w, &p)))
		return;
	ASSERT_STREQ(p->functions[0].name, "ab");
	ASSERT_STREQ(p->functions[0].file, "");
	ASSERT_STREQ(p->functions[0].system_name, "");
	pprof_reader__free(p);
}

static void test_empty(void)
{
	static const uint8_t only_empty_string[] = { 0x32, 0x00 };
	struct pprof_reader_profile *p = NULL, *q;
	uint8_t *gz = NULL;
	size_t gz_size;
	struct pbw w;
	int64_t num;

	/* empty input: a valid empty profile, as an empty message is in proto3 */
	if (ASSERT_OK(pprof_reader__read(NULL, 0, 0, &p))) {
		ASSERT_EQ(p->n_sample_types + p->n_samples + p->n_mappings + p->n_locations +
				  p->n_functions + p->n_comments,
			  0);
		ASSERT_TRUE(p->samples == NULL && p->sample_types == NULL);
		ASSERT_STREQ(p->period_type.type, "");
		ASSERT_STREQ(p->period_type.unit, "");
		ASSERT_EQ(p->period + p->time_nanos + p->duration_nanos, 0);
		ASSERT_TRUE(pprof_reader__location(p, 1) == NULL);
		ASSERT_TRUE(pprof_reader__function(p, 1) == NULL);
		ASSERT_TRUE(pprof_reader__mapping(p, 1) == NULL);
	}
	/* and the same gzipped, or with string_table[0] alone */
	if (ASSERT_OK(gzip_bytes("", 0, &gz, &gz_size)) &&
	    ASSERT_OK(pprof_reader__read(gz, gz_size, 0, &q))) {
		ASSERT_TRUE(same_profile(p, q));
		pprof_reader__free(q);
	}
	if (ASSERT_OK(pprof_reader__read(only_empty_string, 2, 0, &q))) {
		ASSERT_TRUE(same_profile(p, q));
		pprof_reader__free(q);
	}
	/* without a string table, index 0 is "" all the same */
	w.len = 0;
	pbw_fields(&w, 1, 0);
	pbw_fields(&w, 2, F(2, 1), 0);
	pbw_fields(&w, 5, F(1, 1), 0);
	if (ASSERT_OK(read_pbw(&w, &q))) {
		ASSERT_STREQ(q->sample_types[0].type, "");
		ASSERT_STREQ(q->functions[0].name, "");
		ASSERT_EQ(q->samples[0].values[0], 1);
		pprof_reader__free(q);
	}

	/* programmer errors */
	ASSERT_EQ(pprof_reader__read(NULL, 1, 0, &q), -EINVAL);
	ASSERT_EQ(pprof_reader__read("", 0, 0, NULL), -EINVAL);
	pprof_reader__free(NULL);
	ASSERT_TRUE(pprof_reader__location(NULL, 1) == NULL);
	ASSERT_TRUE(pprof_reader__function(NULL, 1) == NULL);
	ASSERT_TRUE(pprof_reader__mapping(NULL, 1) == NULL);
	ASSERT_TRUE(pprof_reader__label_str(NULL, "k") == NULL);
	ASSERT_EQ(pprof_reader__label_num(NULL, "k", &num), -EINVAL);
	pprof_reader__free(p);
	free(gz);
}

static void test_limits(void)
{
	struct pprof_reader_profile *p = NULL;
	uint8_t *raw = NULL;
	void *data = NULL;
	size_t size, raw_size;

	if (!ASSERT_OK(encode_small_profile(&data, &size)) ||
	    !ASSERT_OK(gunzip_bytes(data, size, &raw, &raw_size)))
		goto out;
	/* gzipped: the limit is on the decompressed size */
	ASSERT_EQ(pprof_reader__read(data, size, raw_size - 1, &p), -E2BIG);
	if (raw_size > size)
		ASSERT_EQ(pprof_reader__read(data, size, size, &p), -E2BIG);
	if (ASSERT_OK(pprof_reader__read(data, size, raw_size, &p)))
		pprof_reader__free(p);
	/* not gzipped: on the size */
	ASSERT_EQ(pprof_reader__read(raw, raw_size, raw_size - 1, &p), -E2BIG);
	ASSERT_EQ(pprof_reader__read(raw, raw_size, 1, &p), -E2BIG);
	if (ASSERT_OK(pprof_reader__read(raw, raw_size, raw_size, &p)))
		pprof_reader__free(p);
out:
	free(raw);
	free(data);
}

/* A gzip stream of 100 MiB of zeros, about 100 KiB: refused at the limit, not inflated whole. */
static void test_gzip_bomb(void)
{
	struct pprof_reader_profile *p = NULL;
	size_t zeros_size = 100u << 20, size;
	uint8_t *zeros = calloc(1, zeros_size), *gz = NULL;
	int err;

	if (!ASSERT_NOT_NULL(zeros))
		return;
	if (ASSERT_OK(gzip_bytes(zeros, zeros_size, &gz, &size))) {
		err = pprof_reader__read(gz, size, 1u << 20, &p);
		ASSERT_EQ(err, -E2BIG);
		/* within the limit, zeros are a tag of field 0: malformed */
		err = pprof_reader__read(gz, size, 0, &p);
		ASSERT_EQ(err, -EINVAL);
	}
	free(gz);
	free(zeros);
}

static void test_gzip_faults(void)
{
	struct pprof_reader_profile *p = NULL, *q = NULL;
	uint8_t *raw = NULL, *a = NULL, *b = NULL, *both = NULL;
	size_t size, raw_size, a_size, b_size;
	void *data = NULL;
	uint8_t *copy;

	if (!ASSERT_OK(encode_small_profile(&data, &size)) ||
	    !ASSERT_OK(pprof_reader__read(data, size, 0, &p)) ||
	    !ASSERT_OK(gunzip_bytes(data, size, &raw, &raw_size)))
		goto out;
	copy = malloc(size + 8);
	if (!ASSERT_NOT_NULL(copy))
		goto out;
	/* cut in the middle, in the trailer, and just after the header */
	ASSERT_EQ(pprof_reader__read(data, size / 2, 0, &q), -EINVAL);
	ASSERT_EQ(pprof_reader__read(data, size - 4, 0, &q), -EINVAL);
	ASSERT_EQ(pprof_reader__read(data, size - 1, 0, &q), -EINVAL);
	ASSERT_EQ(pprof_reader__read(data, 10, 0, &q), -EINVAL);
	ASSERT_EQ(pprof_reader__read("\x1f\x8b", 2, 0, &q), -EINVAL);
	/* a wrong CRC */
	memcpy(copy, data, size);
	copy[size - 8] ^= 1;
	ASSERT_EQ(pprof_reader__read(copy, size, 0, &q), -EINVAL);
	/* garbage after the stream */
	memcpy(copy, data, size);
	memcpy(copy + size, "garbage!", 8);
	ASSERT_EQ(pprof_reader__read(copy, size + 8, 0, &q), -EINVAL);
	ASSERT_EQ(pprof_reader__read(copy, size + 1, 0, &q), -EINVAL);
	free(copy);

	/* two members make one stream, as gzip(1) and go read them */
	if (ASSERT_OK(gzip_bytes(raw, raw_size / 3, &a, &a_size)) &&
	    ASSERT_OK(gzip_bytes(raw + raw_size / 3, raw_size - raw_size / 3, &b, &b_size))) {
		both = malloc(a_size + b_size);
		if (ASSERT_NOT_NULL(both)) {
			memcpy(both, a, a_size);
			memcpy(both + a_size, b, b_size);
			if (ASSERT_OK(pprof_reader__read(both, a_size + b_size, 0, &q)))
				ASSERT_TRUE(same_profile(p, q));
			pprof_reader__free(q);
		}
	}
out:
	pprof_reader__free(p);
	free(both);
	free(a);
	free(b);
	free(raw);
	free(data);
}

/* Sets ret_totals[0..n) to the totals of the first n sample types' values. */
static void totals(const struct pprof_reader_profile *p, int64_t *ret_totals, size_t n)
{
	size_t i, j;

	for (j = 0; j < n; j++)
		ret_totals[j] = 0;
	for (i = 0; i < p->n_samples; i++)
		for (j = 0; j < n && j < p->samples[i].n_values; j++)
			ret_totals[j] += p->samples[i].values[j];
}

/* Whether p has a function called name. */
static bool has_function(const struct pprof_reader_profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_functions; i++)
		if (strcmp(p->functions[i].name, name) == 0)
			return true;
	return false;
}

/* A profile go tool pprof wrote (from ours, with -proto): go's encoder, packed fields. */
static void test_go_pprof(void)
{
	static const char *const names[] = { "inlined_helper", "hot_leaf", "main", "lib_compute",
					     "[lost: ring buffer full]" };
	struct pprof_reader_profile *ours = NULL, *theirs = NULL;
	char ours_path[4200], out_path[4200], log_path[4200];
	int64_t our_totals[2], their_totals[2];
	uint8_t *out = NULL;
	void *data = NULL;
	size_t size, out_size = 0, i, labelled = 0;
	int status;

	if (!in_path("go"))
		TEST_SKIP("go not found in PATH (go tool pprof writes the profile read)");
	snprintf(ours_path, sizeof(ours_path), "%s/ours.pb.gz", tmp_dir);
	snprintf(out_path, sizeof(out_path), "%s/go.pb.gz", tmp_dir);
	snprintf(log_path, sizeof(log_path), "%s/go.log", tmp_dir);
	if (!ASSERT_OK(encode_small_profile(&data, &size)) ||
	    !ASSERT_OK(pprof_reader__read(data, size, 0, &ours)) ||
	    !ASSERT_OK(write_file(ours_path, data, size)))
		goto out;
	status = run((char *[]){ "go", "tool", "pprof", "-symbolize=none", "-proto",
				 "-output", out_path, ours_path, NULL },
		     log_path);
	if (status != 0 && read_file(log_path, &out, &out_size) == 0) {
		printf("#   go tool pprof: %.*s\n", (int)out_size, (const char *)out);
		free(out);
		out = NULL;
	}
	if (!ASSERT_EQ(status, 0) || !ASSERT_OK(read_file(out_path, &out, &out_size)) ||
	    !ASSERT_OK(pprof_reader__read(out, out_size, 0, &theirs)))
		goto out;
	ASSERT_TRUE(out_size > 2 && out[0] == 0x1f && out[1] == 0x8b);
	if (!ASSERT_EQ(theirs->n_sample_types, 2))
		goto out;
	ASSERT_STREQ(theirs->sample_types[0].type, "samples");
	ASSERT_STREQ(theirs->sample_types[1].unit, "nanoseconds");
	ASSERT_STREQ(theirs->period_type.type, "cpu");
	ASSERT_EQ(theirs->period, PERIOD_NS);
	ASSERT_EQ(theirs->duration_nanos, DURATION_NS);
	totals(ours, our_totals, 2);
	totals(theirs, their_totals, 2);
	ASSERT_EQ(our_totals[0], 12);
	ASSERT_EQ(their_totals[0], our_totals[0]);
	ASSERT_EQ(their_totals[1], our_totals[1]);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!has_function(theirs, names[i]))
			TEST_FAIL_AT("go's profile has no function %s", names[i]);
	}
	for (i = 0; i < theirs->n_samples; i++) {
		int64_t num;

		labelled += pprof_reader__label_str(&theirs->samples[i], "thread_name") &&
			    pprof_reader__label_num(&theirs->samples[i], "pid", &num) == 0 &&
			    num == 1234;
	}
	ASSERT_EQ(labelled, 2);
	ASSERT_EQ(theirs->n_mappings, 2);
	unlink(ours_path);
	unlink(out_path);
	unlink(log_path);
out:
	pprof_reader__free(ours);
	pprof_reader__free(theirs);
	free(out);
	free(data);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR"), *home = getenv("HOME");
	char home_dir[4200];
	int ret;

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/test_pprof_reader.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmp_dir, strerror(errno));
		return 1;
	}
	/* go wants a writable HOME (for its cache and pprof's); give it one if there is none */
	if (!home || access(home, W_OK)) {
		snprintf(home_dir, sizeof(home_dir), "%s/home", tmp_dir);
		mkdir(home_dir, 0700);
		setenv("HOME", home_dir, 1);
	}
	/* a newer go must not go looking for another toolchain */
	setenv("GOTOOLCHAIN", "local", 1);
	setenv("PPROF_TMPDIR", tmp_dir, 1);

	RUN_TEST(test_round_trip);
	RUN_TEST(test_round_trip_many);
	RUN_TEST(test_packed_unpacked);
	RUN_TEST(test_unknown_fields);
	RUN_TEST(test_last_wins);
	RUN_TEST(test_sparse_ids);
	RUN_TEST(test_malformed);
	RUN_TEST(test_nul_in_string);
	RUN_TEST(test_empty);
	RUN_TEST(test_limits);
	RUN_TEST(test_gzip_bomb);
	RUN_TEST(test_gzip_faults);
	RUN_TEST(test_go_pprof);
	ret = TEST_SUMMARY();

	nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}
