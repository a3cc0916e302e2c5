/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cprofctl: the command-line client of cprofd.
 *
 * Each command is one HTTP request to the daemon's Unix socket. The client
 * checks the syntax of what it sends, saves profiles and formats replies;
 * cprofd decides everything else (ranges, permissions, whether a PID exists).
 *
 * Exit status: 0 on success, 1 when a request or a save failed, 2 when the
 * command line is wrong. Every error is one line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cprof_protocol.h"

#include "atomic_file.h"
#include "http.h"
#include "json.h"
#include "json_writer.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* start, stop, status: stop may have to symbolize and compress a big profile first. */
#define REQUEST_TIMEOUT_SECONDS 60
/* profile: cprofd holds the request for --seconds, then stops the session like stop. */
#define PROFILE_TIMEOUT_MARGIN_SECONDS REQUEST_TIMEOUT_SECONDS
/* A bigger profile is refused rather than left to fill the disk. */
#define PROFILE_MAX_BYTES (1024ULL * 1024 * 1024)
/* Text from cprofd shown on a terminal is cut here. */
#define MAX_PRINTED_MESSAGE 512
/* Room for one formatted table cell or number. */
#define CELL_SIZE 32

/* The key of the message in cprofd's error replies, {"error":"..."}. */
#define JSON_ERROR "error"

/* From the global options, $CPROF_SOCKET, or a command's own --socket and --json. */
static const char *socket_path;
static bool json_output;

/* Set by SIGINT and SIGTERM, so that a transfer stops and removes its temporary file. */
static volatile sig_atomic_t interrupted;

enum {
	OPTION_SOCKET = 0x100,
	OPTION_HZ,
	OPTION_SECONDS,
	OPTION_CHILDREN,
};

/* What a command line says after the command's name; options are kept as written. */
struct command_args {
	/* --hz, --seconds and -o, or NULL where not given. */
	const char *hz;
	const char *seconds;
	const char *output;
	bool children; /* --children */
	/* The words that are not options, e.g. the PID. */
	char **operands;
	int operand_count;
};

struct command {
	const char *name;
	/* What follows "cprofctl NAME" in a usage line. */
	const char *synopsis;
	/* One line for cprofctl --help. */
	const char *summary;
	/* The body of cprofctl NAME --help. */
	const char *help;
	/* getopt_long()'s tables, including the common options. */
	const char *short_options;
	const struct option *long_options;
	/* The operands it takes, and how to name a missing one. */
	int min_operands;
	int max_operands;
	const char *operand_name;
	/* Runs the command; returns the exit status. */
	int (*run)(const struct command *command, const struct command_args *args);
};

static const struct command *find_command(const char *name);

/*
 * Global options are also accepted after the command, since people type
 * "cprofctl status --json".
 */
/* clang-format off */
#define COMMON_OPTIONS                                        \
	{ "help", no_argument, NULL, 'h' },                   \
	{ "json", no_argument, NULL, 'j' },                   \
	{ "socket", required_argument, NULL, OPTION_SOCKET }
/* clang-format on */

#define COMMON_HELP                                                                                \
	"  --json             print JSON instead of text\n"                                        \
	"  --socket PATH      cprofd's socket (default: $CPROF_SOCKET, else\n"                     \
	"                     " CPROF_DEFAULT_SOCKET ")\n"                                         \
	"  -h, --help         show this help\n"

static const struct option plain_options[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };

static const struct option start_options[] = {
	COMMON_OPTIONS,
	{ "hz", required_argument, NULL, OPTION_HZ },
	{ "children", no_argument, NULL, OPTION_CHILDREN },
	{ NULL, 0, NULL, 0 },
};

static const struct option stop_options[] = {
	COMMON_OPTIONS,
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

static const struct option profile_options[] = {
	COMMON_OPTIONS,
	{ "hz", required_argument, NULL, OPTION_HZ },
	{ "seconds", required_argument, NULL, OPTION_SECONDS },
	{ "children", no_argument, NULL, OPTION_CHILDREN },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

static int fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const struct command *command, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "cprofctl: MESSAGE" on stderr; returns EXIT_FAIL. */
static int fail(const char *format, ...)
{
	va_list args;

	fputs("cprofctl: ", stderr);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* Print "cprofctl: COMMAND: MESSAGE (see ...)" on stderr; returns EXIT_USAGE. */
static int usage_error(const struct command *command, const char *format, ...)
{
	va_list args;

	fputs("cprofctl: ", stderr);
	if (command)
		fprintf(stderr, "%s: ", command->name);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	if (command)
		fprintf(stderr, " (see 'cprofctl %s --help')\n", command->name);
	else
		fputs(" (see 'cprofctl --help')\n", stderr);
	return EXIT_USAGE;
}

/*
 * Copy text that came from cprofd for a terminal: control characters become
 * '?', so a reply cannot move the cursor or retitle the window, and long
 * text is cut at a character boundary.
 */
static void sanitize(const char *text, char *out, size_t size)
{
	size_t length = strlen(text), i;
	bool cut = length >= size;

	if (cut) {
		length = size > 4 ? size - 4 : 0;
		while (length > 0 && ((unsigned char)text[length] & 0xc0) == 0x80)
			length--;
	}
	for (i = 0; i < length; i++)
		out[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
	strcpy(out + length, cut ? "..." : "");
}

/* A decimal integer in [min, max]: no blanks, no '+', no base prefix. */
static int parse_integer(const char *text, long long min, long long max, long long *ret_value)
{
	long long value;
	char *end;

	if (*text != '-' && (*text < '0' || *text > '9'))
		return -EINVAL;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (end == text || *end)
		return -EINVAL;
	if (errno == ERANGE || value < min || value > max)
		return -ERANGE;
	*ret_value = value;
	return 0;
}

/* A header value or other unsigned decimal from cprofd. */
static int parse_u64(const char *text, uint64_t *ret_value)
{
	uint64_t value;
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (*end || errno == ERANGE)
		return -EINVAL;
	*ret_value = value;
	return 0;
}

/* The PID operand: a positive int. Prints the usage error itself. */
static int parse_pid(const struct command *command, const char *text, int *ret_pid)
{
	long long value;

	if (parse_integer(text, 1, INT_MAX, &value) < 0) {
		usage_error(command, "invalid PID '%s', expected a positive integer", text);
		return -EINVAL;
	}
	*ret_pid = value;
	return 0;
}

/* An integer option such as --hz; its range is cprofd's to judge. */
static int parse_int_option(const struct command *command, const char *option, const char *text,
			    int *ret_value)
{
	long long value;
	int ret;

	ret = parse_integer(text, INT_MIN, INT_MAX, &value);
	if (ret == -ERANGE) {
		usage_error(command, "%s %s is out of range", option, text);
		return ret;
	}
	if (ret < 0) {
		usage_error(command, "%s needs an integer, not '%s'", option, text);
		return ret;
	}
	*ret_value = value;
	return 0;
}

static void on_signal(int signal_number)
{
	interrupted = 1;
}

/* Catch SIGINT and SIGTERM, unless they are ignored (as in a background job). */
static void catch_signals(void)
{
	static const int signal_numbers[] = { SIGINT, SIGTERM };
	struct sigaction action = { .sa_handler = on_signal }, previous;
	size_t i;

	sigemptyset(&action.sa_mask);
	for (i = 0; i < sizeof(signal_numbers) / sizeof(signal_numbers[0]); i++) {
		if (sigaction(signal_numbers[i], NULL, &previous) == 0 &&
		    previous.sa_handler != SIG_IGN)
			sigaction(signal_numbers[i], &action, NULL);
	}
}

/*
 * Send one request. On failure print why, adding lost_note (e.g. "; the
 * profile was not saved") where cprofd may have acted on the request, and
 * return the negative errno from http_client__request(); -ECANCELED (a sink
 * failed) is left for the caller, which knows why.
 */
static int send_request(const struct http_request *request, struct http_response *ret_response,
			const char *lost_note)
{
	struct http_client *client;
	const char *detail;
	int ret, os_errno;

	client = http_client__new(socket_path);
	if (!client) {
		ret = -errno;
		fail("cannot set up libcurl: %s", strerror(-ret));
		return ret;
	}
	ret = http_client__request(client, request, ret_response);
	detail = http_client__error(client);
	switch (ret) {
	case 0:
	case -ECANCELED:
		break;
	case -ENOTCONN:
		os_errno = http_client__os_errno(client);
		fail("cannot connect to %s: %s%s", socket_path, detail,
		     os_errno == EACCES || os_errno == EPERM ? "" : " (is cprofd running?)");
		break;
	case -ETIMEDOUT:
		fail("cprofd did not answer within %ld s%s", request->timeout_seconds, lost_note);
		break;
	case -EINTR:
		fail("interrupted%s", lost_note);
		break;
	case -EMSGSIZE:
		fail("the reply from cprofd is larger than %d bytes%s", HTTP_MAX_BODY_BYTES,
		     lost_note);
		break;
	default:
		fail("talking to cprofd at %s: %s%s", socket_path, detail, lost_note);
		break;
	}
	http_client__free(client);
	return ret;
}

static bool is_success(const struct http_response *response)
{
	return response->status >= 200 && response->status <= 299;
}

/* A non-2xx reply: print cprofd's {"error":"..."}, or the bare status. */
static int report_http_error(const struct http_response *response)
{
	struct json_value *root = NULL;
	char message[MAX_PRINTED_MESSAGE];
	const char *error = NULL;

	if (response->body && json__parse(response->body, response->body_length, &root) == 0)
		error = json__string(json__object_get(root, JSON_ERROR));
	if (error && *error) {
		sanitize(error, message, sizeof(message));
		fail("%s", message);
	} else {
		fail("cprofd replied with HTTP status %ld", response->status);
	}
	json__free(root);
	return EXIT_FAIL;
}

/* --json: the reply as it came, one document per line. */
static void print_body(const struct http_response *response)
{
	if (!response->body_length)
		return;
	fwrite(response->body, 1, response->body_length, stdout);
	if (response->body[response->body_length - 1] != '\n')
		putchar('\n');
}

/* Write a counter of object (or "?" if it is missing) into a cell. */
static const char *format_count(const struct json_value *object, const char *key, char *cell)
{
	uint64_t value;

	if (json__u64(json__object_get(object, key), &value) < 0)
		return "?";
	snprintf(cell, CELL_SIZE, "%" PRIu64, value);
	return cell;
}

static const char *format_bytes(const struct json_value *object, const char *key, char *cell)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double scaled;
	uint64_t value;
	size_t unit;

	if (json__u64(json__object_get(object, key), &value) < 0)
		return "?";
	if (value < 1024) {
		snprintf(cell, CELL_SIZE, "%" PRIu64 " B", value);
		return cell;
	}
	scaled = value / 1024.0;
	for (unit = 0; scaled >= 1024 && unit + 1 < sizeof(units) / sizeof(units[0]); unit++)
		scaled /= 1024;
	snprintf(cell, CELL_SIZE, "%.1f %s", scaled, units[unit]);
	return cell;
}

static const char *format_seconds(uint64_t nanoseconds, char *cell)
{
	snprintf(cell, CELL_SIZE, "%.2f", nanoseconds / 1e9);
	return cell;
}

/* A string of object, cut to fit width columns (at most CELL_SIZE - 1). */
static const char *format_string(const struct json_value *object, const char *key, size_t width,
				 char *cell)
{
	const char *text = json__string(json__object_get(object, key));

	if (!text)
		return "?";
	sanitize(text, cell, width + 1);
	return cell;
}

static int do_start(const struct command *command, const struct command_args *args)
{
	char target[128], cells[2][CELL_SIZE];
	struct http_response response = { 0 };
	struct http_request request = {
		.method = "POST",
		.target = target,
		.timeout_seconds = REQUEST_TIMEOUT_SECONDS,
		.cancel = &interrupted,
	};
	struct json_value *session = NULL;
	int pid, hz, length;

	if (parse_pid(command, args->operands[0], &pid) < 0)
		return EXIT_USAGE;
	if (args->hz && parse_int_option(command, "--hz", args->hz, &hz) < 0)
		return EXIT_USAGE;
	length = snprintf(target, sizeof(target), "%s?%s=%d", CPROF_ROUTE_SESSIONS, CPROF_PARAM_PID,
			  pid);
	if (args->hz)
		length += snprintf(target + length, sizeof(target) - length, "&%s=%d",
				   CPROF_PARAM_HZ, hz);
	if (args->children)
		snprintf(target + length, sizeof(target) - length, "&%s=1", CPROF_PARAM_CHILDREN);

	if (send_request(&request, &response, "") < 0)
		return EXIT_FAIL;
	if (!is_success(&response)) {
		report_http_error(&response);
		http_response__fini(&response);
		return EXIT_FAIL;
	}
	if (json_output) {
		print_body(&response);
	} else {
		/* The reply has the rate cprofd chose; fall back to what was asked for. */
		if (response.body)
			json__parse(response.body, response.body_length, &session);
		snprintf(cells[0], CELL_SIZE, "%d", pid);
		snprintf(cells[1], CELL_SIZE, "%d", args->hz ? hz : 0);
		format_count(session, CPROF_JSON_PID, cells[0]);
		if (format_count(session, CPROF_JSON_HZ, cells[1])[0] == '?' && !args->hz)
			printf("sampling pid %s at cprofd's default rate\n", cells[0]);
		else
			printf("sampling pid %s at %s Hz\n", cells[0], cells[1]);
		json__free(session);
	}
	http_response__fini(&response);
	return 0;
}

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
	SUMMARY_FIELDS,
};

static const char *const summary_json_names[SUMMARY_FIELDS] = {
	[SUMMARY_SAMPLES] = CPROF_JSON_SAMPLES,
	[SUMMARY_LOST] = CPROF_JSON_LOST,
	[SUMMARY_DURATION_NS] = CPROF_JSON_DURATION_NS,
	[SUMMARY_STACKS] = CPROF_JSON_STACKS,
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
	if (!json_output) {
		/* With the profile on standard output, the summary goes beside it. */
		fprintf(strcmp(path, "-") ? stdout : stderr,
			"wrote %s: %s samples, %s lost, %s s, %s distinct stacks\n", path,
		       cells[SUMMARY_SAMPLES], cells[SUMMARY_LOST], cells[SUMMARY_DURATION_NS],
		       cells[SUMMARY_STACKS]);
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
static int fetch_profile(const char *method, const char *target, long timeout_seconds, int pid,
			 const char *output, const char *before_note, const char *after_note)
{
	char lost_note[192];

	struct http_header headers[SUMMARY_FIELDS] = {
		[SUMMARY_SAMPLES] = { .name = CPROF_HEADER_SAMPLES },
		[SUMMARY_LOST] = { .name = CPROF_HEADER_LOST },
		[SUMMARY_DURATION_NS] = { .name = CPROF_HEADER_DURATION_NS },
		[SUMMARY_STACKS] = { .name = CPROF_HEADER_STACKS },
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

/* A request whose reply only needs to be a success; prints why not. */
static int simple_request(const char *method, const char *target, const char *lost_note)
{
	struct http_response response = { 0 };
	struct http_request request = {
		.method = method,
		.target = target,
		.timeout_seconds = REQUEST_TIMEOUT_SECONDS,
		.cancel = &interrupted,
	};
	int status = 0;

	if (send_request(&request, &response, lost_note) < 0)
		status = EXIT_FAIL;
	else if (!is_success(&response))
		status = report_http_error(&response);
	http_response__fini(&response);
	return status;
}

/*
 * stop: end sampling, fetch the profile, and only once it is safely on
 * disk tell cprofd to forget the session. A failure on the way (a full
 * disk, an interrupt) leaves the stopped session and its data in cprofd,
 * so the same command can be run again.
 */
static int do_stop(const struct command *command, const struct command_args *args)
{
	char target[128], note[128];
	int pid, status;

	if (parse_pid(command, args->operands[0], &pid) < 0)
		return EXIT_USAGE;
	if (args->output && !*args->output)
		return usage_error(command, "empty file name for -o");
	snprintf(target, sizeof(target), "%s%d%s", CPROF_ROUTE_SESSIONS_PREFIX, pid,
		 CPROF_ROUTE_STOP_SUFFIX);
	status = simple_request("POST", target, "");
	if (status)
		return status;
	snprintf(note, sizeof(note), "cprofd keeps the stopped session: run 'cprofctl stop %d' again",
		 pid);
	snprintf(target, sizeof(target), "%s%d%s", CPROF_ROUTE_SESSIONS_PREFIX, pid,
		 CPROF_ROUTE_PROFILE_SUFFIX);
	status = fetch_profile("GET", target, REQUEST_TIMEOUT_SECONDS, pid, args->output, note,
			       note);
	if (status)
		return status;
	snprintf(target, sizeof(target), "%s%d?%s=0", CPROF_ROUTE_SESSIONS_PREFIX, pid,
		 CPROF_PARAM_PROFILE);
	return simple_request("DELETE", target, "");
}

static int do_profile(const struct command *command, const struct command_args *args)
{
	char target[160];
	int pid, seconds, hz, length;
	long timeout;

	if (parse_pid(command, args->operands[0], &pid) < 0)
		return EXIT_USAGE;
	if (!args->seconds)
		return usage_error(command, "missing --seconds N");
	if (parse_int_option(command, "--seconds", args->seconds, &seconds) < 0)
		return EXIT_USAGE;
	if (args->hz && parse_int_option(command, "--hz", args->hz, &hz) < 0)
		return EXIT_USAGE;
	if (args->output && !*args->output)
		return usage_error(command, "empty file name for -o");
	length = snprintf(target, sizeof(target), "%s?%s=%d&%s=%d", CPROF_ROUTE_PPROF_PROFILE,
			  CPROF_PARAM_PID, pid, CPROF_PARAM_SECONDS, seconds);
	if (args->hz)
		length += snprintf(target + length, sizeof(target) - length, "&%s=%d",
				   CPROF_PARAM_HZ, hz);
	if (args->children)
		snprintf(target + length, sizeof(target) - length, "&%s=1", CPROF_PARAM_CHILDREN);
	/* A negative --seconds is cprofd's to reject, quickly. */
	timeout = (seconds > 0 ? seconds : 0) + (long)PROFILE_TIMEOUT_MARGIN_SECONDS;
	return fetch_profile("GET", target, timeout, pid, args->output, "nothing was sampled", "");
}

static void print_status_table(const struct json_value *daemon, const struct json_value *sessions)
{
	char cells[8][CELL_SIZE];
	const struct json_value *session;
	const char *session_count;
	uint64_t duration_ns;
	size_t i;

	session_count = format_count(daemon, "sessions", cells[1]);
	printf("cprofd %s: %s session%s, %s records (%s bad), %s resident\n",
	       format_string(daemon, "version", CELL_SIZE - 1, cells[0]), session_count,
	       strcmp(session_count, "1") == 0 ? "" : "s",
	       format_count(daemon, "records", cells[2]),
	       format_count(daemon, "bad_records", cells[3]),
	       format_bytes(daemon, "rss_bytes", cells[4]));
	printf("ring buffer %s of %s used, ",
	       format_bytes(daemon, "ring_buffer_used_bytes", cells[0]),
	       format_bytes(daemon, "ring_buffer_bytes", cells[1]));
	printf("stack table %s of %s (%s stacks), symbolizer %s\n",
	       format_bytes(daemon, "stack_table_bytes", cells[2]),
	       format_bytes(daemon, "stack_table_limit_bytes", cells[3]),
	       format_count(daemon, "stack_table_stacks", cells[4]),
	       format_bytes(daemon, "symbolizer_bytes", cells[5]));
	if (json__array_length(sessions) == 0) {
		printf("no sessions\n");
		return;
	}
	printf("\n%8s %6s  %-8s %9s %12s %10s %8s\n", "PID", "HZ", "STATE", "SECONDS", "SAMPLES",
	       "LOST", "STACKS");
	for (i = 0; i < json__array_length(sessions); i++) {
		session = json__array_at(sessions, i);
		strcpy(cells[3], "?");
		if (json__u64(json__object_get(session, CPROF_JSON_DURATION_NS), &duration_ns) == 0)
			format_seconds(duration_ns, cells[3]);
		printf("%8s %6s  %-8s %9s %12s %10s %8s\n",
		       format_count(session, CPROF_JSON_PID, cells[0]),
		       format_count(session, CPROF_JSON_HZ, cells[1]),
		       format_string(session, CPROF_JSON_STATE, 8, cells[2]), cells[3],
		       format_count(session, CPROF_JSON_SAMPLES, cells[4]),
		       format_count(session, CPROF_JSON_LOST, cells[5]),
		       format_count(session, CPROF_JSON_STACKS, cells[6]));
	}
}

static int do_status(const struct command *command, const struct command_args *args)
{
	struct http_response response = { 0 };
	struct http_request request = {
		.method = "GET",
		.target = CPROF_ROUTE_STATUS,
		.timeout_seconds = REQUEST_TIMEOUT_SECONDS,
		.cancel = &interrupted,
	};
	const struct json_value *daemon, *sessions;
	struct json_value *root = NULL;
	int ret, status = EXIT_FAIL;

	if (send_request(&request, &response, "") < 0)
		return EXIT_FAIL;
	if (!is_success(&response)) {
		report_http_error(&response);
		goto out;
	}
	if (json_output) {
		print_body(&response);
		status = 0;
		goto out;
	}
	ret = response.body ? json__parse(response.body, response.body_length, &root) : -EINVAL;
	if (ret < 0) {
		fail("cannot read cprofd's status reply: %s",
		     ret == -EINVAL ? "not valid JSON" : strerror(-ret));
		goto out;
	}
	daemon = json__object_get(root, "daemon");
	sessions = json__object_get(root, "sessions");
	if (!daemon || json__type(daemon) != JSON_OBJECT || !sessions ||
	    json__type(sessions) != JSON_ARRAY) {
		fail("cannot read cprofd's status reply: %s",
		     "no \"daemon\" object or no \"sessions\" array");
		goto out;
	}
	print_status_table(daemon, sessions);
	status = 0;
out:
	json__free(root);
	http_response__fini(&response);
	return status;
}

static void print_main_help(FILE *out);
static void print_command_help(const struct command *command, FILE *out);

static int do_help(const struct command *command, const struct command_args *args)
{
	const struct command *topic;

	if (args->operand_count == 0) {
		print_main_help(stdout);
		return 0;
	}
	topic = find_command(args->operands[0]);
	if (!topic)
		return usage_error(command, "unknown command '%s'", args->operands[0]);
	print_command_help(topic, stdout);
	return 0;
}

static const struct command commands[] = {
	{
		.name = "start",
		.synopsis = "PID [--hz HZ] [--children]",
		.summary = "start sampling a process",
		.help = "Start sampling process PID at HZ samples per second (default: cprofd's,\n"
			"normally 99). Prints the session, as JSON with --json.\n"
			"\n"
			"Options:\n"
			"  --hz HZ            samples per second\n"
			"  --children         also sample the processes PID forks from now on, and\n"
			"                     theirs (not those that run a setuid program)\n",
		.short_options = ":hj",
		.long_options = start_options,
		.min_operands = 1,
		.max_operands = 1,
		.operand_name = "PID",
		.run = do_start,
	},
	{
		.name = "stop",
		.synopsis = "PID [-o FILE]",
		.summary = "stop sampling and save the profile",
		.help = "Stop sampling process PID and save its profile (gzipped pprof) to FILE,\n"
			"default cprof-PID.pb.gz, replacing FILE only once the whole profile is\n"
			"written. cprofd forgets the session only after that: if saving fails\n"
			"(a full disk, say), the stopped session stays and the same command can\n"
			"be run again. Prints a summary, as JSON with --json.\n"
			"\n"
			"Options:\n"
			"  -o, --output FILE  where to save the profile; - for standard output\n",
		.short_options = ":hjo:",
		.long_options = stop_options,
		.min_operands = 1,
		.max_operands = 1,
		.operand_name = "PID",
		.run = do_stop,
	},
	{
		.name = "profile",
		.synopsis = "PID --seconds N [--hz HZ] [--children] [-o FILE]",
		.summary = "sample a process for N seconds and save the profile",
		.help = "Sample process PID for N seconds at HZ samples per second, then save the\n"
			"profile like stop does. cprofd answers after N seconds; Ctrl-C gives up.\n"
			"\n"
			"Options:\n"
			"  --seconds N        how long to sample (required)\n"
			"  --hz HZ            samples per second (default: cprofd's)\n"
			"  --children         also sample the processes PID forks meanwhile\n"
			"  -o, --output FILE  where to save it (default cprof-PID.pb.gz; - for\n"
			"                     standard output)\n",
		.short_options = ":hjo:",
		.long_options = profile_options,
		.min_operands = 1,
		.max_operands = 1,
		.operand_name = "PID",
		.run = do_profile,
	},
	{
		.name = "status",
		.synopsis = "",
		.summary = "show cprofd's state and its sessions",
		.help = "Show cprofd's memory use and counters, and one line per session. With\n"
			"--json, print cprofd's reply as it is.\n",
		.short_options = ":hj",
		.long_options = plain_options,
		.run = do_status,
	},
	{
		.name = "help",
		.synopsis = "[COMMAND]",
		.summary = "show the help of cprofctl or of COMMAND",
		.help = "Show the help of cprofctl, or of COMMAND.\n",
		.short_options = ":hj",
		.long_options = plain_options,
		.max_operands = 1,
		.run = do_help,
	},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < COMMAND_COUNT; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void print_main_help(FILE *out)
{
	char usage[64];
	size_t i;

	fprintf(out, "Usage: cprofctl [--socket PATH] [--json] COMMAND [ARGS]\n"
		     "       cprofctl --help | --version\n"
		     "\n"
		     "Control cprofd, the sampling profiler daemon.\n"
		     "\n"
		     "Commands:\n");
	for (i = 0; i < COMMAND_COUNT; i++) {
		snprintf(usage, sizeof(usage), "%s %s", commands[i].name, commands[i].synopsis);
		if (strlen(usage) <= 26)
			fprintf(out, "  %-26s %s\n", usage, commands[i].summary);
		else
			fprintf(out, "  %s\n  %-26s %s\n", usage, "", commands[i].summary);
	}
	fprintf(out, "\nOptions:\n" COMMON_HELP "  -V, --version      show the version\n"
		     "\nRun 'cprofctl COMMAND --help' for the options of a command.\n");
}

static void print_command_help(const struct command *command, FILE *out)
{
	fprintf(out, "Usage: cprofctl %s%s%s\n\n%s", command->name, *command->synopsis ? " " : "",
		command->synopsis, command->help);
	/* Options-less help texts need their own heading for the common ones. */
	fprintf(out, "%s" COMMON_HELP, strstr(command->help, "Options:") ? "" : "\nOptions:\n");
}

/* Name the option getopt_long() stopped at (it returned option), for a message. */
static const char *bad_option(char **argv, int option, char *spelled)
{
	const char *word = argv[optind - 1];

	/*
	 * A long option has been stepped over, so it is the previous word. A
	 * short one may sit in a group like "-jx", so name it by itself; glibc
	 * sets optopt to 0 for an unknown long option.
	 */
	if ((option == ':' && strncmp(word, "--", 2) == 0) || optopt <= 0 || optopt >= 0x100)
		return word;
	snprintf(spelled, 3, "-%c", optopt);
	return spelled;
}

static int check_socket_path(const struct command *command)
{
	struct sockaddr_un address;

	if (!*socket_path)
		return usage_error(command, "empty socket path");
	if (strlen(socket_path) >= sizeof(address.sun_path))
		return usage_error(command, "socket path '%s' is longer than %zu bytes",
				   socket_path, sizeof(address.sun_path) - 1);
	return 0;
}

/* Parse a command's own options and operands, then run it; returns the exit status. */
static int run_command(const struct command *command, int argc, char **argv)
{
	struct command_args args = { 0 };
	char spelled[3];
	int option, ret;

	/* 0, not 1: glibc then also forgets the state of the global parse. */
	optind = 0;
	while ((option = getopt_long(argc, argv, command->short_options, command->long_options,
				     NULL)) != -1) {
		switch (option) {
		case 'h':
			print_command_help(command, stdout);
			return 0;
		case 'j':
			json_output = true;
			break;
		case 'o':
			args.output = optarg;
			break;
		case OPTION_SOCKET:
			socket_path = optarg;
			break;
		case OPTION_HZ:
			args.hz = optarg;
			break;
		case OPTION_SECONDS:
			args.seconds = optarg;
			break;
		case OPTION_CHILDREN:
			args.children = true;
			break;
		case ':':
			return usage_error(command, "option '%s' needs a value",
					   bad_option(argv, option, spelled));
		default:
			return usage_error(command, "unknown option '%s'",
					   bad_option(argv, option, spelled));
		}
	}
	args.operands = argv + optind;
	args.operand_count = argc - optind;
	if (args.operand_count < command->min_operands)
		return usage_error(command, "missing %s", command->operand_name);
	if (args.operand_count > command->max_operands)
		return usage_error(command, "unexpected argument '%s'",
				   args.operands[command->max_operands]);
	ret = check_socket_path(command);
	if (ret)
		return ret;
	return command->run(command, &args);
}

/* Output to a full disk or closed pipe must not pass for success. */
static int finish(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fail("writing standard output: %s", strerror(errno));
		return status ? status : EXIT_FAIL;
	}
	return status;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, OPTION_SOCKET },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *command;
	char spelled[3];
	int option;

	socket_path = getenv("CPROF_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = CPROF_DEFAULT_SOCKET;
	opterr = 0;
	/* '+': stop at the command, whose options are parsed by run_command(). */
	while ((option = getopt_long(argc, argv, "+:hjV", options, NULL)) != -1) {
		switch (option) {
		case 'h':
			print_main_help(stdout);
			return finish(0);
		case 'V':
			printf("cprofctl %s (protocol %d)\n", CPROF_VERSION,
			       CPROF_PROTOCOL_VERSION);
			return finish(0);
		case 'j':
			json_output = true;
			break;
		case OPTION_SOCKET:
			socket_path = optarg;
			break;
		case ':':
			return usage_error(NULL, "option '%s' needs a value",
					   bad_option(argv, option, spelled));
		default:
			return usage_error(NULL, "unknown option '%s'",
					   bad_option(argv, option, spelled));
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "missing command");
	command = find_command(argv[optind]);
	if (!command)
		return usage_error(NULL, "unknown command '%s'", argv[optind]);
	catch_signals();
	return finish(run_command(command, argc - optind, argv + optind));
}
