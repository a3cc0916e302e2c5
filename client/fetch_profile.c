/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Saving a profile from cprofd (fetch_profile.h): the body is streamed
 * into PATH.tmp, which replaces PATH only once the whole profile is on disk.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof_protocol.h"

#include "atomic_file.h"
#include "cprofctl.h"
#include "fetch_profile.h"
#include "json_writer.h"

/* A bigger profile is refused rather than left to fill the disk. */
#define PROFILE_MAX_BYTES (1024ULL * 1024 * 1024)

/* Where a profile's body goes: PATH.tmp, up to PROFILE_MAX_BYTES. */
struct profile_sink {
	struct atomic_file *file;
	uint64_t bytes;
	/* Why the last write failed: a negative errno, -EFBIG past the limit. */
	int error;
};

static int write_profile(void *context, const void *data, size_t length)
{
	struct profile_sink *sink = context;

	if (length > PROFILE_MAX_BYTES - sink->bytes) {
		sink->error = -EFBIG;
		return sink->error;
	}
	sink->error = atomic_file__write(sink->file, data, length);
	if (sink->error < 0)
		return sink->error;
	sink->bytes += length;
	return 0;
}

/* The profile summary headers, in the order of print_summary()'s line. */
enum summary_field {
	SUMMARY_SAMPLES,
	SUMMARY_LOST,
	SUMMARY_DURATION_NS,
	SUMMARY_STACKS,
	SUMMARY_UNMAPPED,
	SUMMARY_FIELDS,
};

static const char *const summary_json_names[SUMMARY_FIELDS] = {
	[SUMMARY_SAMPLES] = CPROF_JSON_SAMPLES,
	[SUMMARY_LOST] = CPROF_JSON_LOST,
	[SUMMARY_DURATION_NS] = CPROF_JSON_DURATION_NS,
	[SUMMARY_STACKS] = CPROF_JSON_STACKS,
	[SUMMARY_UNMAPPED] = CPROF_JSON_UNMAPPED,
};

/* "wrote FILE: N samples, ..." or its JSON; a missing header shows as "?" or null. */
static int print_summary(int pid, const char *path, uint64_t bytes,
			 const struct http_header *headers)
{
	char cells[SUMMARY_FIELDS][CELL_SIZE];
	uint64_t values[SUMMARY_FIELDS];
	bool known[SUMMARY_FIELDS];
	struct json_writer writer;
	char *text;
	size_t len;
	int i;

	for (i = 0; i < SUMMARY_FIELDS; i++) {
		known[i] = headers[i].present && parse_u64(headers[i].value, &values[i]) == 0;
		if (!known[i])
			strcpy(cells[i], "?");
		else if (i == SUMMARY_DURATION_NS)
			format_seconds(values[i], cells[i]);
		else
			snprintf(cells[i], CELL_SIZE, "%" PRIu64, values[i]);
	}
	if (!global_options.json_output) {
		/* With the profile on standard output, the summary goes beside it. */
		FILE *out = strcmp(path, "-") ? stdout : stderr;

		fprintf(out, "wrote %s: %s samples, %s lost, %s s, %s distinct stacks", path,
			cells[SUMMARY_SAMPLES], cells[SUMMARY_LOST], cells[SUMMARY_DURATION_NS],
			cells[SUMMARY_STACKS]);
		/* Said only when it happened: the maps of their processes were lost. */
		if (known[SUMMARY_UNMAPPED] && values[SUMMARY_UNMAPPED])
			fprintf(out, ", %s in no known mapping", cells[SUMMARY_UNMAPPED]);
		fputc('\n', out);
		return 0;
	}
	json_writer__init(&writer);
	json_writer__object_begin(&writer);
	json_writer__key(&writer, CPROF_JSON_PID);
	json_writer__uint(&writer, pid);
	json_writer__key(&writer, "file");
	json_writer__string(&writer, path);
	json_writer__key(&writer, "bytes");
	json_writer__uint(&writer, bytes);
	for (i = 0; i < SUMMARY_FIELDS; i++) {
		json_writer__key(&writer, summary_json_names[i]);
		if (known[i])
			json_writer__uint(&writer, values[i]);
		else
			json_writer__null(&writer);
	}
	json_writer__object_end(&writer);
	if (json_writer__finish(&writer, &text, &len))
		return -ENOMEM;
	fwrite(text, 1, len, strcmp(path, "-") ? stdout : stderr);
	free(text);
	return 0;
}

/*
 * stop and profile: fetch a profile into output (default cprof-PID.pb.gz).
 * The file is created before the request, so an unwritable place is found
 * while the profile still exists in cprofd. A failure says the profile was
 * not saved, then where the data is: before_note when the request was not
 * sent, after_note (may be "") when it was.
 */
int fetch_profile(const char *method, const char *target, long timeout_seconds, int pid,
		  const char *output, const char *before_note, const char *after_note)
{
	char lost_note[192];

	struct http_header headers[SUMMARY_FIELDS] = {
		[SUMMARY_SAMPLES] = { .name = CPROF_HEADER_SAMPLES },
		[SUMMARY_LOST] = { .name = CPROF_HEADER_LOST },
		[SUMMARY_DURATION_NS] = { .name = CPROF_HEADER_DURATION_NS },
		[SUMMARY_STACKS] = { .name = CPROF_HEADER_STACKS },
		[SUMMARY_UNMAPPED] = { .name = CPROF_HEADER_UNMAPPED },
	};
	struct profile_sink sink = { 0 };
	struct http_request request = {
		.method = method,
		.target = target,
		.timeout_seconds = timeout_seconds,
		.sink = write_profile,
		.sink_context = &sink,
		.headers = headers,
		.header_count = SUMMARY_FIELDS,
		.cancel = &interrupted,
	};
	struct http_response response = { 0 };
	char default_path[64];
	const char *path = output;
	int ret, status = EXIT_FAIL;

	if (!path) {
		snprintf(default_path, sizeof(default_path), "cprof-%d.pb.gz", pid);
		path = default_path;
	}
	sink.file = atomic_file__create(path);
	if (!sink.file)
		return fail("cannot write to %s: %s; the profile was not saved (%s)", path,
			    errno == ELOOP ? "it is a symbolic link" : strerror(errno),
			    before_note);

	snprintf(lost_note, sizeof(lost_note), "; the profile was not saved%s%s%s",
		 *after_note ? " (" : "", after_note, *after_note ? ")" : "");
	ret = send_request(&request, &response, lost_note);
	if (ret == -ECANCELED) {
		fail("writing %s: %s%s", atomic_file__temp_path(sink.file), strerror(-sink.error),
		     lost_note);
		goto out;
	}
	if (ret < 0)
		goto out;
	if (!is_success(&response)) {
		report_http_error(&response);
		goto out;
	}
	if (sink.bytes == 0) {
		fail("cprofd sent an empty profile; nothing was saved");
		goto out;
	}
	ret = atomic_file__commit(sink.file);
	if (ret < 0) {
		fail("saving %s: %s%s", path, strerror(-ret), lost_note);
		goto out;
	}
	ret = print_summary(pid, path, sink.bytes, headers);
	if (ret < 0) {
		fail("printing the summary: %s", strerror(-ret));
		goto out;
	}
	status = 0;
out:
	http_response__fini(&response);
	atomic_file__free(sink.file);
	return status;
}
