/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The helpers every cprofctl command uses (cprofctl.h): errors, numbers,
 * requests to cprofd and table cells.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprofctl.h"
#include "json.h"

/* Text from cprofd shown on a terminal is cut here. */
#define MAX_PRINTED_MESSAGE 512

/* The key of the message in cprofd's error replies, {"error":"..."}. */
#define JSON_ERROR "error"

struct global_options global_options;

volatile sig_atomic_t interrupted;

/* Print "cprofctl: MESSAGE" on stderr; returns EXIT_FAIL. */
int fail(const char *format, ...)
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
int usage_error(const struct command *command, const char *format, ...)
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
void sanitize(const char *text, char *out, size_t size)
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
int parse_integer(const char *text, long long min, long long max, long long *ret_value)
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
int parse_u64(const char *text, uint64_t *ret_value)
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
int parse_pid(const struct command *command, const char *text, int *ret_pid)
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
int parse_int_option(const struct command *command, const char *option, const char *text,
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

/*
 * Send one request. On failure print why, adding lost_note (e.g. "; the
 * profile was not saved") where cprofd may have acted on the request, and
 * return the negative errno from http_client__request(); -ECANCELED (a sink
 * failed) is left for the caller, which knows why.
 */
int send_request(const struct http_request *request, struct http_response *ret_response,
		 const char *lost_note)
{
	struct http_client *client;
	const char *detail;
	int ret, os_errno;

	client = http_client__new(global_options.socket_path);
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
		fail("cannot connect to %s: %s%s", global_options.socket_path, detail,
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
		fail("talking to cprofd at %s: %s%s", global_options.socket_path, detail,
		     lost_note);
		break;
	}
	http_client__free(client);
	return ret;
}

bool is_success(const struct http_response *response)
{
	return response->status >= 200 && response->status <= 299;
}

/* A non-2xx reply: print cprofd's {"error":"..."}, or the bare status. */
int report_http_error(const struct http_response *response)
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
void print_body(const struct http_response *response)
{
	if (!response->body_length)
		return;
	fwrite(response->body, 1, response->body_length, stdout);
	if (response->body[response->body_length - 1] != '\n')
		putchar('\n');
}

/* Write a counter of object (or "?" if it is missing) into a cell. */
const char *format_count(const struct json_value *object, const char *key, char *cell)
{
	uint64_t value;

	if (json__u64(json__object_get(object, key), &value) < 0)
		return "?";
	snprintf(cell, CELL_SIZE, "%" PRIu64, value);
	return cell;
}

const char *format_bytes(const struct json_value *object, const char *key, char *cell)
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

const char *format_seconds(uint64_t nanoseconds, char *cell)
{
	snprintf(cell, CELL_SIZE, "%.2f", nanoseconds / 1e9);
	return cell;
}

/* A string of object, cut to fit width columns (at most CELL_SIZE - 1). */
const char *format_string(const struct json_value *object, const char *key, size_t width,
			  char *cell)
{
	const char *text = json__string(json__object_get(object, key));

	if (!text)
		return "?";
	sanitize(text, cell, width + 1);
	return cell;
}

/* A request whose reply only needs to be a success; prints why not. */
int simple_request(const char *method, const char *target, const char *lost_note)
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

int get_json(const char *target, long timeout_seconds, const char *what,
	     struct json_value **ret_root)
{
	struct http_response response = { 0 };
	struct http_request request = {
		.method = "GET",
		.target = target,
		.timeout_seconds = timeout_seconds,
		.cancel = &interrupted,
	};
	struct json_value *root = NULL;
	int ret, status = EXIT_FAIL;

	if (send_request(&request, &response, "") < 0)
		return EXIT_FAIL;
	if (!is_success(&response)) {
		report_http_error(&response);
		goto out;
	}
	if (global_options.json_output) {
		print_body(&response);
		*ret_root = NULL;
		status = 0;
		goto out;
	}
	ret = response.body ? json__parse(response.body, response.body_length, &root) : -EINVAL;
	if (ret < 0 || json__type(root) != JSON_OBJECT) {
		fail("cannot read cprofd's %s reply: %s", what,
		     ret == -ENOMEM ? strerror(ENOMEM) : "not a JSON object");
		json__free(root);
		goto out;
	}
	*ret_root = root;
	status = 0;
out:
	http_response__fini(&response);
	return status;
}
