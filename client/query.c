/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cprofctl query: continuous mode's history. A merged profile of the
 * windows and processes picked (saved like stop saves one), or with --list
 * what the history keeps.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cprof_protocol.h"

#include "cprofctl.h"
#include "fetch_profile.h"
#include "json.h"

/* Merging an hour of windows is quick; a day of a busy machine may not be. */
#define QUERY_TIMEOUT_SECONDS 300

static const struct option query_options[] = {
	COMMON_OPTIONS,
	{ "since", required_argument, NULL, OPTION_SINCE },
	{ "until", required_argument, NULL, OPTION_UNTIL },
	{ "pid", required_argument, NULL, OPTION_PID },
	{ "comm", required_argument, NULL, OPTION_COMM },
	{ "unit", required_argument, NULL, OPTION_UNIT },
	{ "container", required_argument, NULL, OPTION_CONTAINER },
	{ "list", no_argument, NULL, OPTION_LIST },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

/*
 * A time as cprofd takes it: "10m" style durations (ago) pass as they are;
 * "YYYY-MM-DD HH:MM[:SS]" (or with a T), local time, becomes seconds since
 * the epoch; so does a plain number, which already is. Returns 0 or -EINVAL.
 */
static int time_param(const char *text, char *out, size_t size)
{
	struct tm tm = { 0 };
	const char *end;
	time_t t;
	size_t n = strlen(text);

	if (n == 0 || n >= 32)
		return -EINVAL;
	if (strspn(text, "0123456789") == n ||
	    (strspn(text, "0123456789") == n - 1 && strchr("smhd", text[n - 1]))) {
		snprintf(out, size, "%s", text);
		return 0;
	}
	end = strptime(text, "%Y-%m-%d", &tm);
	if (!end)
		return -EINVAL;
	if (*end == 'T' || *end == ' ') {
		const char *rest = strptime(end + 1, "%H:%M:%S", &tm);

		end = rest ? rest : strptime(end + 1, "%H:%M", &tm);
		if (!end)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 || t < 0)
		return -EINVAL;
	snprintf(out, size, "%lld", (long long)t);
	return 0;
}

/* Appends "&name=value" to target, value percent-encoded. Returns 0 or -E2BIG. */
static int add_param(char *target, size_t size, const char *name, const char *value)
{
	size_t n = strlen(target);
	int w = snprintf(target + n, size - n, "%c%s=", strchr(target, '?') ? '&' : '?', name);

	if (w < 0 || (size_t)w >= size - n)
		return -E2BIG;
	n += w;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("-_.~", *p);

		if (n + 4 >= size)
			return -E2BIG;
		n += plain ? (size_t)snprintf(target + n, size - n, "%c", *p)
			   : (size_t)snprintf(target + n, size - n, "%%%02X", *p);
	}
	return 0;
}

static void print_list(const struct json_value *root)
{
	const struct json_value *processes = json__object_get(root, "processes");
	const struct json_value *groups;
	char cells[8][CELL_SIZE];

	printf("%s windows, %s on disk\n", format_count(root, "windows", cells[0]),
	       format_bytes(root, "bytes", cells[1]));
	printf("\n%8s %6s  %-15s %8s %10s  %-28s %s\n", "PID", "UID", "COMM", "WINDOWS", "SAMPLES",
	       "UNIT", "CONTAINER");
	for (size_t i = 0; i < json__array_length(processes); i++) {
		const struct json_value *p = json__array_at(processes, i);
		const struct json_value *container = json__object_get(p, "container");

		printf("%8s %6s  %-15s %8s %10s  %-28s %s\n", format_count(p, "pid", cells[0]),
		       format_count(p, "uid", cells[1]), format_string(p, "comm", 15, cells[2]),
		       format_count(p, "windows", cells[3]), format_count(p, "samples", cells[4]),
		       json__type(json__object_get(p, "unit")) == JSON_STRING
			       ? format_string(p, "unit", 28, cells[5])
			       : "-",
		       json__type(container) == JSON_STRING ? format_string(p, "container", 12, cells[6])
							    : "-");
	}
	groups = json__object_get(root, "units");
	if (json__array_length(groups))
		printf("\n%-40s %10s %10s\n", "UNIT", "PROCESSES", "SAMPLES");
	for (size_t i = 0; i < json__array_length(groups); i++) {
		const struct json_value *g = json__array_at(groups, i);

		printf("%-40s %10s %10s\n", format_string(g, "name", 40, cells[0]),
		       format_count(g, "processes", cells[1]), format_count(g, "samples", cells[2]));
	}
}

static int list(const char *target)
{
	struct json_value *root = NULL;

	if (get_json(target, QUERY_TIMEOUT_SECONDS, "history listing", &root))
		return EXIT_FAIL;
	if (root)
		print_list(root);
	json__free(root);
	return 0;
}

static int do_query(const struct command *command, const struct command_args *args)
{
	char target[1024], value[40];
	int pid;

	snprintf(target, sizeof(target), "%s", args->list ? CPROF_ROUTE_QUERY_LIST : CPROF_ROUTE_QUERY);
	if (args->since) {
		if (time_param(args->since, value, sizeof(value)))
			return usage_error(command, "--since: give 10m (s, m, h or d ago), a date "
						    "and time (2026-12-04 10:30), or epoch seconds");
		add_param(target, sizeof(target), CPROF_PARAM_SINCE, value);
	}
	if (args->until) {
		if (time_param(args->until, value, sizeof(value)))
			return usage_error(command, "--until: give 10m (s, m, h or d ago), a date "
						    "and time (2026-12-04 10:30), or epoch seconds");
		add_param(target, sizeof(target), CPROF_PARAM_UNTIL, value);
	}
	if (args->pid) {
		if (parse_pid(command, args->pid, &pid) < 0)
			return EXIT_USAGE;
		snprintf(value, sizeof(value), "%d", pid);
		add_param(target, sizeof(target), CPROF_PARAM_PID, value);
	}
	/* Their syntax is cprofd's to judge, like any other value. */
	if ((args->comm && add_param(target, sizeof(target), CPROF_PARAM_COMM, args->comm)) ||
	    (args->unit && add_param(target, sizeof(target), CPROF_PARAM_UNIT, args->unit)) ||
	    (args->container &&
	     add_param(target, sizeof(target), CPROF_PARAM_CONTAINER, args->container)))
		return usage_error(command, "--comm, --unit or --container is too long");
	if (args->list)
		return args->output ? usage_error(command, "--list prints; -o is for a profile")
				    : list(target);
	if (!args->output || !*args->output)
		return usage_error(command, "missing -o FILE (- for standard output)");
	return fetch_profile("GET", target, QUERY_TIMEOUT_SECONDS, 0, args->output,
			     "nothing was saved", "");
}

const struct command query_command = {
	.name = "query",
	.synopsis = "[--since T] [--until T] [--pid P|--comm C|--unit U|--container ID] "
		    "(-o FILE | --list)",
	.summary = "a profile from continuous mode's history, or what it keeps",
	.help = "Merge the windows of continuous mode's history between --since and --until\n"
		"into one profile of the processes picked, saved to FILE; or, with --list, show\n"
		"the processes, units and containers the history keeps. Root sees every\n"
		"process; others see the processes that ran as them.\n"
		"\n"
		"Options:\n"
		"  --since T          from T: 10m, 2h, 1d (that long ago), 2026-12-04 10:30\n"
		"                     (local time) or seconds since the epoch (default: all)\n"
		"  --until T          up to T, as --since (default: now)\n"
		"  --pid P            only process P\n"
		"  --comm C           only processes named C (as in /proc/PID/comm)\n"
		"  --unit U           only processes of systemd unit U (nginx.service)\n"
		"  --container ID     only processes of container ID (or its first digits)\n"
		"  --list             show what is kept instead of saving a profile\n"
		"  -o, --output FILE  where to save the profile (- for standard output)\n",
	.short_options = ":hjo:",
	.long_options = query_options,
	.min_operands = 0,
	.max_operands = 0,
	.operand_name = "",
	.run = do_query,
};
