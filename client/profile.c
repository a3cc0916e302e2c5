/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cprofctl profile: sample a process for a number of seconds in one
 * request, and save the profile.
 */
#include <stdio.h>

#include "cprof_protocol.h"

#include "cprofctl.h"
#include "fetch_profile.h"

/* profile: cprofd holds the request for --seconds, then stops the session like stop. */
#define PROFILE_TIMEOUT_MARGIN_SECONDS REQUEST_TIMEOUT_SECONDS

static const struct option profile_options[] = {
	COMMON_OPTIONS,
	{ "hz", required_argument, NULL, OPTION_HZ },
	{ "seconds", required_argument, NULL, OPTION_SECONDS },
	{ "children", no_argument, NULL, OPTION_CHILDREN },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

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

const struct command profile_command = {
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
};
