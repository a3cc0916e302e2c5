/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of the pprof encoder. The output is checked by real consumers:
 * protoc --decode_raw for the wire format and go tool pprof for what a user
 * sees; a small protobuf walker here checks the table structure (dedup).
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
#include "profiles/pprof.h"

#define PERIOD_NS 10000000 /* 100 Hz */
#define TIME_NS 1700000000123456789ll
#define DURATION_NS 5000000000ll

static char tmp_dir[4096];

/*
 * Helpers
 */

#define ASSERT_CONTAINS(text, needle)                                                             \
	({                                                                                        \
		const char *test__t = (text), *test__n = (needle);                                \
		bool test__ok = test__t && strstr(test__t, test__n);                              \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("%s does not contain \"%s\"", #text, test__n);               \
		test__ok;                                                                         \
	})

/* Prints a tool's output as TAP comments, to see why a check failed. */
static void dump_output(const char *what, const char *text)
{
	const char *line = text, *nl;

	printf("#   --- %s ---\n", what);
	while (line && *line) {
		nl = strchr(line, '\n');
		printf("#   %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
		line = nl ? nl + 1 : NULL;
	}
}

/* Whether an executable called name is on PATH. */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char candidate[4096];

	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len,
			 len ? path : ".", name);
		if (access(candidate, X_OK) == 0)
			return true;
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

/*
 * Runs argv (no shell) with stdin from stdin_path (or /dev/null), collecting
 * stdout and stderr into *ret_output (malloc'd, NUL-terminated). Returns the
 * exit status, or -1 if it could not be run or did not exit.
 */
static int run(char *const argv[], const char *stdin_path, char **ret_output)
{
	char *out = NULL;
	size_t len = 0, cap = 0;
	int pipe_fds[2], status;
	pid_t pid;

	*ret_output = NULL;
	if (pipe(pipe_fds))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return -1;
	}
	if (pid == 0) {
		int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0 || dup2(pipe_fds[1], 1) < 0 ||
		    dup2(pipe_fds[1], 2) < 0)
			_exit(126);
		close(pipe_fds[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipe_fds[1]);
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *p = realloc(out, cap ? cap * 2 : 65536);

			if (!p)
				break;
			out = p;
			cap = cap ? cap * 2 : 65536;
		}
		n = read(pipe_fds[0], out + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pipe_fds[0]);
	if (out)
		out[len] = '\0';
	*ret_output = out;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
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

/* Gunzips data into *ret_raw (malloc'd). Returns 0 or -EINVAL / -ENOMEM. */
static int gunzip(const void *data, size_t size, uint8_t **ret_raw, size_t *ret_size)
{
	z_stream zs = { 0 };
	uint8_t *raw = NULL, *p;
	size_t cap = 0;
	int ret = Z_OK;

	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)size;
	while (ret != Z_STREAM_END) {
		if (zs.total_out == cap) {
			p = realloc(raw, cap ? cap * 2 : 4096);
			if (!p) {
				ret = Z_MEM_ERROR;
				break;
			}
			raw = p;
			cap = cap ? cap * 2 : 4096;
		}
		zs.next_out = raw + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		ret = inflate(&zs, Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END)
			break;
	}
	/* gzip must end exactly at the end of the data, trailer included */
	if (ret != Z_STREAM_END || zs.avail_in) {
		inflateEnd(&zs);
		free(raw);
		return ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	*ret_size = zs.total_out;
	*ret_raw = raw;
	inflateEnd(&zs);
	return 0;
}

/*
 * A minimal protobuf reader, independent of the encoder, enough to walk the
 * top level of a Profile and look inside Locations.
 */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t byte = *(*p)++;

		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

struct pb_field {
	uint32_t number;
	uint32_t wire_type;
	uint64_t value;     /* varint */
	const uint8_t *data; /* length-delimited */
	size_t len;
};

/* Reads the next field of [*p, end); false at the end or on malformed input. */
static bool read_field(const uint8_t **p, const uint8_t *end, struct pb_field *f, bool *ret_bad)
{
	uint64_t tag, len;

	*ret_bad = false;
	if (*p == end)
		return false;
	*ret_bad = true;
	if (!read_varint(p, end, &tag))
		return false;
	*f = (struct pb_field){ .number = (uint32_t)(tag >> 3), .wire_type = tag & 7 };
	switch (f->wire_type) {
	case 0:
		if (!read_varint(p, end, &f->value))
			return false;
		break;
	case 2:
		if (!read_varint(p, end, &len) || len > (uint64_t)(end - *p))
			return false;
		f->data = *p;
		f->len = (size_t)len;
		*p += len;
		break;
	default:
		/* the encoder writes only varints and length-delimited fields */
		return false;
	}
	*ret_bad = false;
	return true;
}

struct profile_summary {
	size_t fields[20];        /* top-level field counts, by number */
	const uint8_t **strings;  /* string_table */
	size_t *string_lens;
	size_t n_strings;
	size_t max_lines;         /* most Lines in one Location */
	bool malformed;
};

static void profile_summary__release(struct profile_summary *s)
{
	free(s->strings);
	free(s->string_lens);
}

static void summarize(const uint8_t *raw, size_t size, struct profile_summary *s)
{
	const uint8_t *p = raw, *end = raw + size;
	struct pb_field f, inner;
	size_t cap = 0;
	bool bad;

	memset(s, 0, sizeof(*s));
	while (read_field(&p, end, &f, &bad)) {
		if (f.number < 20)
			s->fields[f.number]++;
		if (f.number == 6 && f.wire_type == 2) {
			if (s->n_strings == cap) {
				cap = cap ? cap * 2 : 64;
				s->strings = realloc(s->strings, cap * sizeof(*s->strings));
				s->string_lens = realloc(s->string_lens,
							 cap * sizeof(*s->string_lens));
				if (!s->strings || !s->string_lens)
					abort();
			}
			s->strings[s->n_strings] = f.data;
			s->string_lens[s->n_strings++] = f.len;
		}
		if (f.number == 4 && f.wire_type == 2) {
			const uint8_t *q = f.data;
			size_t lines = 0;

			while (read_field(&q, f.data + f.len, &inner, &bad))
				lines += inner.number == 4;
			s->malformed |= bad;
			if (lines > s->max_lines)
				s->max_lines = lines;
		}
	}
	s->malformed |= bad;
}

/* How many entries of the string table are str. */
static size_t string_count(const struct profile_summary *s, const char *str)
{
	size_t i, n = 0, len = strlen(str);

	for (i = 0; i < s->n_strings; i++)
		n += s->string_lens[i] == len && memcmp(s->strings[i], str, len) == 0;
	return n;
}

/*
 * Finds the row of `go tool pprof -top` output for function name and copies
 * its flat and cum columns. Returns whether it was found.
 */
static bool top_row(const char *top, const char *name, char *flat, char *cum)
{
	const char *line = top;

	while (line && *line) {
		char f[64], fp[64], sp[64], c[64], cp[64], rest[512];
		const char *nl = strchr(line, '\n');
		char copy[1024];

		snprintf(copy, sizeof(copy), "%.*s", nl ? (int)(nl - line) : (int)strlen(line),
			 line);
		/* flat flat% sum% cum cum% name */
		if (sscanf(copy, "%63s %63s %63s %63s %63s %511[^\n]", f, fp, sp, c, cp,
			   rest) == 6 &&
		    strcmp(rest, name) == 0) {
			strcpy(flat, f);
			strcpy(cum, c);
			return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

#define ASSERT_TOP(top, name, want_flat, want_cum)                                                \
	({                                                                                        \
		char test__flat[64] = "", test__cum[64] = "";                                      \
		bool test__ok = top_row((top), (name), test__flat, test__cum);                    \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("no -top row for \"%s\"", (name));                           \
		if (test__ok && !ASSERT_STREQ(test__flat, want_flat))                             \
			test__ok = false;                                                         \
		if (test__ok && !ASSERT_STREQ(test__cum, want_cum))                               \
			test__ok = false;                                                         \
		test__ok;                                                                         \
	})

/*
 * Collapses each run of blanks into one space and trims lines, so the
 * column layout of a tool's output does not matter to the checks.
 */
static char *squeeze(const char *text)
{
	char *out = malloc(strlen(text) + 2), *o = out;
	bool blank = false, line_start = true;

	if (!out)
		abort();
	*o++ = '\n'; /* so every line, the first too, can be matched as "\nLINE\n" */
	for (; *text; text++) {
		if (*text == ' ' || *text == '\t') {
			blank = !line_start;
			continue;
		}
		if (*text == '\n') {
			line_start = true;
			blank = false;
		} else {
			if (blank)
				*o++ = ' ';
			blank = false;
			line_start = false;
		}
		*o++ = *text;
	}
	*o = '\0';
	return out;
}

/*
 * Runs `go tool pprof -symbolize=none OPTIONS... FILE`, the options a
 * NULL-terminated list after file. Returns its exit status.
 */
static int go_pprof(char **ret_output, const char *file, ...)
{
	char *argv[16] = { "go", "tool", "pprof", "-symbolize=none" };
	const char *option;
	va_list ap;
	int i = 4;

	va_start(ap, file);
	while ((option = va_arg(ap, const char *)) && i < 14)
		argv[i++] = (char *)option;
	va_end(ap);
	argv[i++] = (char *)file;
	argv[i] = NULL;
	return run(argv, NULL, ret_output);
}

/*
 * The profile of the consumer tests: two mappings, a location with an
 * inlined frame, a frame in a library, a marker frame with no mapping and
 * no address, and labelled samples.
 *
 *   7 samples  inlined_helper (inlined into hot_leaf) <- main
 *   3 samples  lib_compute <- main
 *   2 samples  [lost: ring buffer full]
 */
static struct pprof_builder *build_small_profile(void)
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
	bool ok = true;

	b = pprof_builder__new(&info);
	if (!ASSERT_NOT_NULL(b))
		return NULL;
	app = pprof_builder__add_mapping(b, 0x400000, 0x500000, 0, "/opt/cprof-test/bin/app",
					 "abcdef0123456789", true);
	libfoo = pprof_builder__add_mapping(b, 0x7f0000000000, 0x7f0000100000, 0x1000,
					    "/opt/cprof-test/lib/libfoo.so", NULL, true);
	ok &= ASSERT_EQ(app, 1);
	ok &= ASSERT_EQ(libfoo, 2);

	hot_id = pprof_builder__location(b, app, 0x401000, hot, 2);
	main_id = pprof_builder__location(b, app, 0x402000, &main_line, 1);
	lib_id = pprof_builder__location(b, libfoo, 0x7f0000000100, &lib, 1);
	lost_id = pprof_builder__location(b, 0, 0, &lost, 1);
	ok &= ASSERT_EQ(hot_id, 1);
	ok &= ASSERT_EQ(main_id, 2);
	ok &= ASSERT_EQ(lib_id, 3);
	ok &= ASSERT_EQ(lost_id, 4);

	ok &= ASSERT_OK(pprof_builder__add_sample(b, (uint64_t[]){ hot_id, main_id }, 2, 7, labels,
						  4));
	ok &= ASSERT_OK(pprof_builder__add_sample(b, (uint64_t[]){ lib_id, main_id }, 2, 3, labels,
						  3));
	ok &= ASSERT_OK(pprof_builder__add_sample(b, &lost_id, 1, 2, NULL, 0));
	if (!ok) {
		pprof_builder__free(b);
		return NULL;
	}
	return b;
}

/* Encodes b into tmp_dir/name; returns 0 or a negative errno. */
static int encode_to_file(struct pprof_builder *b, const char *name, char *path, size_t path_size)
{
	void *data;
	size_t size;
	int err;

	err = pprof_builder__encode(b, &data, &size);
	if (err)
		return err;
	snprintf(path, path_size, "%s/%s", tmp_dir, name);
	err = write_file(path, data, size);
	free(data);
	return err;
}

/*
 * Tests
 */

static void test_dedup(void)
{
	const struct pprof_profile_info info = { .period_ns = PERIOD_NS };
	const struct pprof_line f = { .function_name = "f", .file_name = "a.c", .line = 1 };
	const struct pprof_line f_other_line = { .function_name = "f", .file_name = "a.c",
						 .line = 2 };
	const struct pprof_line f_other_file = { .function_name = "f", .file_name = "b.c" };
	const struct pprof_line lost = { .function_name = "[lost: ring buffer full]" };
	const struct pprof_line unknown = { .function_name = "[unknown]" };
	const struct pprof_line no_name = { .function_name = NULL };
	struct profile_summary summary;
	struct pprof_builder *b;
	uint64_t m1, m2, ids[8];
	uint8_t *raw = NULL;
	size_t raw_size;
	void *data = NULL;
	size_t size, i;

	b = pprof_builder__new(&info);
	if (!ASSERT_NOT_NULL(b))
		return;
	m1 = pprof_builder__add_mapping(b, 0x1000, 0x2000, 0, "/lib/same.so", NULL, true);
	m2 = pprof_builder__add_mapping(b, 0x3000, 0x4000, 0x2000, "/lib/same.so", NULL, true);
	ASSERT_EQ(m1, 1);
	ASSERT_EQ(m2, 2);

	/* the same (mapping, address) is the same Location, whatever the lines say */
	ids[0] = pprof_builder__location(b, m1, 0x1100, &f, 1);
	ASSERT_EQ(ids[0], 1);
	ASSERT_EQ(pprof_builder__location(b, m1, 0x1100, &f, 1), ids[0]);
	ASSERT_EQ(pprof_builder__location(b, m1, 0x1100, &f_other_file, 1), ids[0]);
	ASSERT_EQ(pprof_builder__location(b, m1, 0x1100, NULL, 0), ids[0]);
	/* a new address or mapping is a new Location; same names, same Function */
	ids[1] = pprof_builder__location(b, m1, 0x1200, &f_other_line, 1);
	ids[2] = pprof_builder__location(b, m2, 0x1100, &f, 1);
	ASSERT_EQ(ids[1], 2);
	ASSERT_EQ(ids[2], 3);
	/* another file name is another Function */
	ids[3] = pprof_builder__location(b, m2, 0x3300, &f_other_file, 1);
	ASSERT_EQ(ids[3], 4);
	/* markers: distinct fake addresses stay apart, and so do names at address 0 */
	ids[4] = pprof_builder__location(b, 0, 1, &lost, 1);
	ids[5] = pprof_builder__location(b, 0, 2, &unknown, 1);
	ids[6] = pprof_builder__location(b, 0, 0, &lost, 1);
	ids[7] = pprof_builder__location(b, 0, 0, &unknown, 1);
	ASSERT_EQ(ids[4], 5);
	ASSERT_EQ(ids[5], 6);
	ASSERT_EQ(ids[6], 7);
	ASSERT_EQ(ids[7], 8);
	ASSERT_EQ(pprof_builder__location(b, 0, 1, &unknown, 1), ids[4]);
	ASSERT_EQ(pprof_builder__location(b, 0, 0, &lost, 1), ids[6]);
	ASSERT_EQ(pprof_builder__location(b, 0, 0, &unknown, 1), ids[7]);

	/* what would make the profile unreadable is refused */
	errno = 0;
	ASSERT_EQ(pprof_builder__location(b, 3, 0x10, &f, 1), 0);
	ASSERT_EQ(errno, EINVAL);
	errno = 0;
	ASSERT_EQ(pprof_builder__location(b, m1, 0x1300, &no_name, 1), 0);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(pprof_builder__add_sample(b, (uint64_t[]){ 9 }, 1, 1, NULL, 0), -EINVAL);
	ASSERT_EQ(pprof_builder__add_sample(b, (uint64_t[]){ 0 }, 1, 1, NULL, 0), -EINVAL);
	ASSERT_EQ(pprof_builder__add_sample(b, ids, 1, 1,
					    &(struct pprof_label){ .key = NULL, .str = "x" }, 1),
		  -EINVAL);
	ASSERT_EQ(pprof_builder__add_sample(b, ids, 1, INT64_MAX / 2, NULL, 0), -EOVERFLOW);

	for (i = 0; i < 3; i++) {
		const struct pprof_label labels[] = {
			{ .key = "thread_name", .str = "worker" },
			{ .key = "tid", .num = 100 + (int64_t)i },
		};

		ASSERT_OK(pprof_builder__add_sample(b, ids, 8, 1, labels, 2));
	}

	if (!ASSERT_OK(pprof_builder__encode(b, &data, &size)))
		goto out;
	if (!ASSERT_OK(gunzip(data, size, &raw, &raw_size)))
		goto out;
	summarize(raw, raw_size, &summary);
	ASSERT_FALSE(summary.malformed);
	ASSERT_EQ(summary.fields[1], 2); /* sample_type */
	ASSERT_EQ(summary.fields[2], 3); /* the refused samples left nothing */
	ASSERT_EQ(summary.fields[3], 2); /* mappings, as given */
	ASSERT_EQ(summary.fields[4], 8); /* locations */
	/* f@a.c, f@b.c, [lost...], [unknown] */
	ASSERT_EQ(summary.fields[5], 4);
	ASSERT_EQ(summary.fields[11], 1); /* period_type */
	ASSERT_EQ(summary.fields[12], 1); /* period */
	if (ASSERT_GE(summary.n_strings, 1))
		ASSERT_EQ(summary.string_lens[0], 0);
	/* every string is in the table exactly once */
	ASSERT_EQ(string_count(&summary, "/lib/same.so"), 1);
	ASSERT_EQ(string_count(&summary, "f"), 1);
	ASSERT_EQ(string_count(&summary, "a.c"), 1);
	ASSERT_EQ(string_count(&summary, "thread_name"), 1);
	ASSERT_EQ(string_count(&summary, "worker"), 1);
	ASSERT_EQ(string_count(&summary, "[lost: ring buffer full]"), 1);
	ASSERT_EQ(string_count(&summary, "nanoseconds"), 1);
	ASSERT_EQ(string_count(&summary, "cpu"), 1);
	ASSERT_EQ(string_count(&summary, ""), 1);
	profile_summary__release(&summary);
out:
	free(raw);
	free(data);
	pprof_builder__free(b);
}

static void test_empty_profile(void)
{
	const struct pprof_profile_info info = { .period_ns = PERIOD_NS };
	struct profile_summary summary;
	struct pprof_builder *b;
	void *data = NULL;
	uint8_t *raw = NULL;
	size_t size, raw_size;

	pprof_builder__free(NULL);
	errno = 0;
	ASSERT_TRUE(pprof_builder__new(NULL) == NULL);
	ASSERT_EQ(errno, EINVAL);

	b = pprof_builder__new(&info);
	if (!ASSERT_NOT_NULL(b))
		return;
	if (ASSERT_OK(pprof_builder__encode(b, &data, &size)) &&
	    ASSERT_OK(gunzip(data, size, &raw, &raw_size))) {
		ASSERT_EQ(((uint8_t *)data)[0], 0x1f); /* gzip magic */
		ASSERT_EQ(((uint8_t *)data)[1], 0x8b);
		summarize(raw, raw_size, &summary);
		ASSERT_FALSE(summary.malformed);
		ASSERT_EQ(summary.fields[1], 2);
		ASSERT_EQ(summary.fields[2], 0);
		ASSERT_EQ(summary.n_strings, 5); /* "", samples, count, cpu, nanoseconds */
		profile_summary__release(&summary);
	}
	free(raw);
	free(data);
	/* encoding does not consume the builder */
	data = NULL;
	ASSERT_OK(pprof_builder__encode(b, &data, &size));
	free(data);
	pprof_builder__free(b);
}

static void test_protoc_decode_raw(void)
{
	const char *sample_types = "1 {\n  1: 1\n  2: 2\n}\n1 {\n  1: 3\n  2: 4\n}\n";
	char raw_path[4200];
	struct pprof_builder *b;
	uint8_t *raw = NULL;
	void *data = NULL;
	char *out = NULL;
	size_t size, raw_size;
	bool ok = true;
	int status;

	if (!in_path("protoc"))
		TEST_SKIP("protoc not found in PATH (install protobuf-compiler)");
	b = build_small_profile();
	if (!b)
		return;
	if (!ASSERT_OK(pprof_builder__encode(b, &data, &size)) ||
	    !ASSERT_OK(gunzip(data, size, &raw, &raw_size)))
		goto out;
	snprintf(raw_path, sizeof(raw_path), "%s/small.pb", tmp_dir);
	if (!ASSERT_OK(write_file(raw_path, raw, raw_size)))
		goto out;

	/* protoc refuses bytes that are not a well-formed message */
	status = run((char *[]){ "protoc", "--decode_raw", NULL }, raw_path, &out);
	ok &= ASSERT_EQ(status, 0);
	/* sample_type: (samples, count) and (cpu, nanoseconds) as string indices, first */
	ok &= ASSERT_TRUE(out && strncmp(out, sample_types, strlen(sample_types)) == 0);
	ok &= ASSERT_CONTAINS(out, "\n6: \"\"\n6: \"samples\"\n6: \"count\"\n6: \"cpu\"\n"
				   "6: \"nanoseconds\"\n");
	ok &= ASSERT_CONTAINS(out, "\n6: \"[lost: ring buffer full]\"\n");
	ok &= ASSERT_CONTAINS(out, "\n6: \"/opt/cprof-test/bin/app\"\n");
	ok &= ASSERT_CONTAINS(out, "\n6: \"thread_name\"\n");
	/* mapping 2: start, limit, offset */
	ok &= ASSERT_CONTAINS(out, "\n3 {\n  1: 2\n  2: 139637976727552\n  3: 139637977776128\n"
				   "  4: 4096\n");
	/* the marker: a location with an id and a line but no mapping or address */
	ok &= ASSERT_CONTAINS(out, "\n4 {\n  1: 4\n  4 {\n");
	/* time_nanos, duration_nanos, period_type (cpu, nanoseconds), period */
	ok &= ASSERT_CONTAINS(out, "\n9: 1700000000123456789\n10: 5000000000\n"
				   "11 {\n  1: 3\n  2: 4\n}\n12: 10000000\n");
	if (!ok)
		dump_output("protoc --decode_raw", out);
	unlink(raw_path);
out:
	free(out);
	free(raw);
	free(data);
	pprof_builder__free(b);
}

static void test_go_pprof(void)
{
	char path[4200];
	struct pprof_builder *b;
	char *out = NULL, *squeezed = NULL;
	bool ok;
	int status;

	if (!in_path("go"))
		TEST_SKIP("go not found in PATH (go tool pprof is the consumer checked)");
	b = build_small_profile();
	if (!b)
		return;
	if (!ASSERT_OK(encode_to_file(b, "small.pb.gz", path, sizeof(path))))
		goto out;

	/* -raw: the profile as pprof parsed it */
	status = go_pprof(&out, path, "-raw", NULL);
	ok = ASSERT_EQ(status, 0);
	squeezed = squeeze(out ? out : "");
	ok &= ASSERT_CONTAINS(squeezed, "\nPeriodType: cpu nanoseconds\nPeriod: 10000000\n");
	ok &= ASSERT_CONTAINS(squeezed, "\nDuration: 5s\n");
	ok &= ASSERT_CONTAINS(squeezed, "\nsamples/count cpu/nanoseconds\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n7 70000000: 1 2\nthread_name:[worker]\n"
					"cpu_time:[1500 nanoseconds] pid:[1234] tid:[1235]\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n3 30000000: 3 2\nthread_name:[worker]\n"
					"pid:[1234] tid:[1235]\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n2 20000000: 4\n");
	/* the inlined location: two lines, innermost first */
	ok &= ASSERT_CONTAINS(squeezed, "\n1: 0x401000 M=1 inlined_helper app.c:10 s=0\n"
					"hot_leaf app.c:20 s=0(_Z8hot_leafv)\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n2: 0x402000 M=1 main app.c:30 s=0\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n3: 0x7f0000000100 M=2 lib_compute :0 s=0\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n4: 0x0 [lost: ring buffer full] :0 s=0\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n1: 0x400000/0x500000/0x0 /opt/cprof-test/bin/app "
					"abcdef0123456789 [FN]\n");
	ok &= ASSERT_CONTAINS(squeezed, "\n2: 0x7f0000000000/0x7f0000100000/0x1000 "
					"/opt/cprof-test/lib/libfoo.so [FN]\n");
	if (!ok)
		dump_output("go tool pprof -raw", out);
	free(out);
	free(squeezed);

	/* -top: cpu, the last sample type, is the default */
	status = go_pprof(&out, path, "-top", NULL);
	ok = ASSERT_EQ(status, 0);
	ok &= ASSERT_CONTAINS(out, "\nType: cpu\n");
	ok &= ASSERT_CONTAINS(out, "Total samples = 120ms");
	ok &= ASSERT_TOP(out, "inlined_helper (inline)", "70ms", "70ms");
	ok &= ASSERT_TOP(out, "hot_leaf", "0", "70ms");
	ok &= ASSERT_TOP(out, "lib_compute", "30ms", "30ms");
	ok &= ASSERT_TOP(out, "[lost: ring buffer full]", "20ms", "20ms");
	ok &= ASSERT_TOP(out, "main", "0", "100ms");
	if (!ok)
		dump_output("go tool pprof -top", out);
	free(out);

	status = go_pprof(&out, path, "-top", "-sample_index=samples", NULL);
	ok = ASSERT_EQ(status, 0);
	ok &= ASSERT_CONTAINS(out, "\nType: samples\n");
	ok &= ASSERT_CONTAINS(out, "of 12 total");
	ok &= ASSERT_TOP(out, "inlined_helper (inline)", "7", "7");
	ok &= ASSERT_TOP(out, "lib_compute", "3", "3");
	ok &= ASSERT_TOP(out, "main", "0", "10");
	if (!ok)
		dump_output("go tool pprof -top -sample_index=samples", out);
	free(out);

	/* -tags: labels as pprof understood them, the unit applied */
	status = go_pprof(&out, path, "-tags", NULL);
	squeezed = squeeze(out ? out : "");
	ok = ASSERT_EQ(status, 0);
	ok &= ASSERT_CONTAINS(squeezed, "\npid: Total 100.0ms\n100.0ms ( 100%): 1234\n");
	ok &= ASSERT_CONTAINS(squeezed, "\ntid: Total 100.0ms\n100.0ms ( 100%): 1235\n");
	ok &= ASSERT_CONTAINS(squeezed, "\nthread_name: Total 100.0ms\n100.0ms ( 100%): worker\n");
	ok &= ASSERT_CONTAINS(squeezed, "\ncpu_time: Total 70.0ms\n70.0ms ( 100%): 1.50us\n");
	if (!ok)
		dump_output("go tool pprof -tags", out);
	free(out);
	free(squeezed);
	out = NULL;
	unlink(path);
out:
	free(out);
	pprof_builder__free(b);
}

#define MANY 100000

static void test_many_locations(void)
{
	const struct pprof_profile_info info = {
		.period_ns = PERIOD_NS, .time_ns = TIME_NS, .duration_ns = DURATION_NS
	};
	const struct pprof_line root = { .function_name = "root", .file_name = "main.c" };
	struct profile_summary summary;
	struct timespec t0, t1;
	struct pprof_builder *b;
	uint64_t mapping, root_id, id;
	char name[64], path[4200], *out = NULL;
	uint8_t *raw = NULL;
	void *data = NULL;
	size_t size, raw_size;
	double seconds;
	bool ok = true, have_go = in_path("go");
	int status, i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	b = pprof_builder__new(&info);
	if (!ASSERT_NOT_NULL(b))
		return;
	mapping = pprof_builder__add_mapping(b, 0x10000000, 0x20000000, 0, "/opt/cprof-test/big",
					     NULL, true);
	root_id = pprof_builder__location(b, mapping, 0x10000000, &root, 1);
	ok &= ASSERT_EQ(root_id, 1);
	for (i = 0; i < MANY && ok; i++) {
		struct pprof_line line = { .function_name = name, .file_name = "gen.c",
					   .line = i };
		const struct pprof_label label = { .key = "tid", .num = i % 1000 };

		snprintf(name, sizeof(name), "fn_%d", i);
		id = pprof_builder__location(b, mapping, 0x10000010 + (uint64_t)i * 16, &line, 1);
		ok &= ASSERT_EQ(id, i + 2);
		ok &= ASSERT_OK(pprof_builder__add_sample(b, (uint64_t[]){ id, root_id }, 2, 1,
							  &label, 1));
	}
	/* asking again finds them all */
	for (i = 0; i < MANY && ok; i += 997)
		ok &= ASSERT_EQ(pprof_builder__location(b, mapping, 0x10000010 + (uint64_t)i * 16,
							NULL, 0),
				i + 2);
	if (!ok || !ASSERT_OK(pprof_builder__encode(b, &data, &size)))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("#   built and encoded %d locations in %.2fs, %zu bytes gzipped\n", MANY + 1,
	       seconds, size);
	/* a linear search would take minutes here; the hash tables take well under a second */
	ASSERT_TRUE(seconds < 10.0);

	if (ASSERT_OK(gunzip(data, size, &raw, &raw_size))) {
		summarize(raw, raw_size, &summary);
		ASSERT_FALSE(summary.malformed);
		ASSERT_EQ(summary.fields[2], MANY);
		ASSERT_EQ(summary.fields[4], MANY + 1);
		ASSERT_EQ(summary.fields[5], MANY + 1);
		ASSERT_EQ(summary.max_lines, 1);
		/* "", 4 value type strings, the mapping's file, root, main.c, gen.c, tid, fn_* */
		ASSERT_EQ(summary.n_strings, MANY + 10);
		profile_summary__release(&summary);
	}

	if (!have_go)
		goto out;
	snprintf(path, sizeof(path), "%s/many.pb.gz", tmp_dir);
	if (!ASSERT_OK(write_file(path, data, size)))
		goto out;
	/* -nodefraction=0 so that no node is dropped from the count; -cum puts root first */
	status = go_pprof(&out, path, "-top", "-cum", "-nodecount=3", "-nodefraction=0", NULL);
	ok = ASSERT_EQ(status, 0);
	ok &= ASSERT_CONTAINS(out, "Total samples = 1000s");
	ok &= ASSERT_CONTAINS(out, "Showing top 3 nodes out of 100001");
	ok &= ASSERT_TOP(out, "root", "0", "1000s");
	ok &= ASSERT_TOP(out, "fn_0", "0.01s", "0.01s");
	if (!ok)
		dump_output("go tool pprof -top -cum -nodecount=3 -nodefraction=0", out);
	unlink(path);
out:
	free(out);
	free(raw);
	free(data);
	pprof_builder__free(b);
	if (!have_go)
		TEST_SKIP("go not found in PATH, checked the encoding only");
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

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/test_pprof.XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

	RUN_TEST(test_dedup);
	RUN_TEST(test_empty_profile);
	RUN_TEST(test_protoc_decode_raw);
	RUN_TEST(test_go_pprof);
	RUN_TEST(test_many_locations);
	ret = TEST_SUMMARY();

	nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}
