/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cprofctl start and stop: a session that samples a process until it is
 * stopped, and then its profile.
 */
#include <stdio.h>

#include "cprof_protocol.h"

#include "cprofctl.h"
#include "fetch_profile.h"
#include "json.h"

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
	if (global_options.json_output) {
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
	snprintf(note, sizeof(note),
		 "cprofd keeps the stopped session: run 'cprofctl stop %d' again", pid);
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

const struct command start_command = {
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
};

const struct command stop_command = {
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
};
