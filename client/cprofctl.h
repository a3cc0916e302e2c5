/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The core every cprofctl command shares: the command type, the options
 * common to all commands, and helpers to talk to cprofd, report errors,
 * parse numbers and format cells.
 *
 * A command group is one file (sessions.c, profile.c, status.c) that
 * defines a struct command per command; cprofctl.c lists them in its
 * table, parses the command line and runs the command.
 *
 * Exit status: 0 on success, EXIT_FAIL when a request or a save failed,
 * EXIT_USAGE when the command line is wrong. Every error is one line on
 * stderr.
 */
#ifndef CPROF_CLIENT_CPROFCTL_H
#define CPROF_CLIENT_CPROFCTL_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct json_value;

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* start, stop, status: stop may have to symbolize and compress a big profile first. */
#define REQUEST_TIMEOUT_SECONDS 60
/* Room for one formatted table cell or number. */
#define CELL_SIZE 32

/* getopt_long() values of the long options that have no short form. */
enum {
	OPTION_SOCKET = 0x100,
	OPTION_HZ,
	OPTION_SECONDS,
	OPTION_CHILDREN,
	OPTION_SINCE,
	OPTION_UNTIL,
	OPTION_PID,
	OPTION_COMM,
	OPTION_UNIT,
	OPTION_CONTAINER,
	OPTION_LIST,
};

/*
 * Global options are also accepted after the command, since people type
 * "cprofctl status --json"; every command's long_options start with these.
 */
/* clang-format off */
#define COMMON_OPTIONS                                        \
	{ "help", no_argument, NULL, 'h' },                   \
	{ "json", no_argument, NULL, 'j' },                   \
	{ "socket", required_argument, NULL, OPTION_SOCKET }
/* clang-format on */

/* The options every command shares, set by main() and run_command(). */
struct global_options {
	/* From the global options, $CPROF_SOCKET, or a command's own --socket. */
	const char *socket_path;
	/* --json, before or after the command's name. */
	bool json_output;
};

extern struct global_options global_options;

/* Set by SIGINT and SIGTERM, so that a transfer stops and removes its temporary file. */
extern volatile sig_atomic_t interrupted;

/* What a command line says after the command's name; options are kept as written. */
struct command_args {
	/* --hz, --seconds and -o, or NULL where not given. */
	const char *hz;
	const char *seconds;
	const char *output;
	bool children; /* --children */
	/* query: --since, --until, --pid, --comm, --unit, --container, or NULL; --list. */
	const char *since, *until, *pid, *comm, *unit, *container;
	bool list;
	/* The words that are not options, e.g. the PID. */
	char **operands;
	int operand_count;
};

struct command;

/*
 * Runs a command whose options and operand count have been checked;
 * returns the exit status.
 */
typedef int command_fn(const struct command *command, const struct command_args *args);

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
	command_fn *run;
};

/* The commands, one group per file; cprofctl.c lists them in its table. */
extern const struct command start_command; /* sessions.c */
extern const struct command stop_command; /* sessions.c */
extern const struct command profile_command; /* profile.c */
extern const struct command status_command; /* status.c */
extern const struct command query_command; /* query.c */

/* Print "cprofctl: MESSAGE" on stderr; returns EXIT_FAIL. */
int fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * Print "cprofctl: COMMAND: MESSAGE (see ...)" on stderr, without the
 * command where it is NULL; returns EXIT_USAGE.
 */
int usage_error(const struct command *command, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Copy text that came from cprofd into out (size bytes, NUL included) for
 * a terminal: control characters become '?' and long text is cut.
 */
void sanitize(const char *text, char *out, size_t size);

/*
 * A decimal integer in [min, max]: no blanks, no '+', no base prefix.
 * Returns 0, -EINVAL if text is not such a number, -ERANGE if it is out of range.
 */
int parse_integer(const char *text, long long min, long long max, long long *ret_value);

/* A header value or other unsigned decimal from cprofd. Returns 0 or -EINVAL. */
int parse_u64(const char *text, uint64_t *ret_value);

/* The PID operand: a positive int. Returns 0, or -EINVAL after printing the usage error. */
int parse_pid(const struct command *command, const char *text, int *ret_pid);

/*
 * An integer option such as --hz; its range is cprofd's to judge. Returns 0,
 * or a negative errno after printing the usage error, which names option.
 */
int parse_int_option(const struct command *command, const char *option, const char *text,
		     int *ret_value);

/*
 * Send one request to cprofd at global_options.socket_path. Returns 0 and
 * fills *ret_response (release it with http_response__fini()) for a reply
 * of any status, or a negative errno from http_client__request() after
 * printing why; lost_note (e.g. "; the profile was not saved", or "") is
 * added where cprofd may have acted on the request. -ECANCELED (a sink
 * failed) is left for the caller to explain.
 */
int send_request(const struct http_request *request, struct http_response *ret_response,
		 const char *lost_note);

/* Whether cprofd replied with a 2xx status. */
bool is_success(const struct http_response *response);

/* A non-2xx reply: print cprofd's {"error":"..."}, or the bare status; returns EXIT_FAIL. */
int report_http_error(const struct http_response *response);

/* --json: print the reply as it came, one document per line. */
void print_body(const struct http_response *response);

/*
 * GET target and read its JSON reply into *ret_root (json__free() it), or
 * with --json print the reply as it came and set *ret_root to NULL. what
 * names the reply in messages ("status"). Returns 0, or EXIT_FAIL after
 * printing why not.
 */
int get_json(const char *target, long timeout_seconds, const char *what,
	     struct json_value **ret_root);

/*
 * A request whose reply only needs to be a success. Returns 0, or
 * EXIT_FAIL after printing why not (with lost_note, as send_request()).
 */
int simple_request(const char *method, const char *target, const char *lost_note);

/*
 * Table cells: each writes into cell (CELL_SIZE bytes) and returns it, or
 * returns "?" when object has no such member of the right type.
 */
/* A counter of object. */
const char *format_count(const struct json_value *object, const char *key, char *cell);
/* A size in bytes of object, e.g. "512 B" or "1.5 MiB". */
const char *format_bytes(const struct json_value *object, const char *key, char *cell);
/* Nanoseconds as seconds with two decimals; never "?". */
const char *format_seconds(uint64_t nanoseconds, char *cell);
/* A string of object, sanitized and cut to fit width columns (at most CELL_SIZE - 1). */
const char *format_string(const struct json_value *object, const char *key, size_t width,
			  char *cell);

#endif /* CPROF_CLIENT_CPROFCTL_H */
