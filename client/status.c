/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cprofctl status: cprofd's counters and one line per session, as a
 * table or as cprofd's JSON.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cprof_protocol.h"

#include "cprofctl.h"
#include "json.h"

static const struct option status_options[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };

/* The socket's connections: what is open, and what the limits refused or ended. */
static void print_connections(const struct json_value *connections)
{
	char cells[9][CELL_SIZE];

	if (!connections || json__type(connections) != JSON_OBJECT)
		return;
	printf("connections %s open (%s root's) of %s, %s per uid; refused %s (uid's share) "
	       "and %s (full), ended %s (header deadline), %s (incomplete), %s (idle)\n",
	       format_count(connections, "open", cells[0]),
	       format_count(connections, "open_root", cells[1]),
	       format_count(connections, "max_connections", cells[2]),
	       format_count(connections, "max_connections_per_uid", cells[3]),
	       format_count(connections, "refused_per_uid", cells[4]),
	       format_count(connections, "refused_full", cells[5]),
	       format_count(connections, "closed_header_deadline", cells[6]),
	       format_count(connections, "closed_incomplete", cells[7]),
	       format_count(connections, "closed_idle", cells[8]));
}

/* The unwind tables: kernel memory, and what did not fit in it. */
static void print_unwind(const struct json_value *unwind)
{
	char cells[8][CELL_SIZE];

	if (!unwind || json__type(unwind) != JSON_OBJECT)
		return;
	printf("unwind tables %s", format_string(unwind, "state", 16, cells[0]));
	if (!json__object_get(unwind, "files")) {
		printf(" (frame pointers only)\n");
		return;
	}
	printf(": %s files (%s loaded), %s of %s rows, %s of kernel memory; %s evicted, "
	       "%s too big\n",
	       format_count(unwind, "files", cells[1]), format_count(unwind, "files_loaded", cells[2]),
	       format_count(unwind, "rows", cells[3]), format_count(unwind, "rows_capacity", cells[4]),
	       format_bytes(unwind, "kernel_bytes", cells[5]),
	       format_count(unwind, "evictions", cells[6]), format_count(unwind, "too_big", cells[7]));
}

static void print_status_table(const struct json_value *daemon, const struct json_value *sessions,
			       const struct json_value *connections)
{
	char cells[9][CELL_SIZE];
	const struct json_value *session, *unwind;
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
	print_unwind(json__object_get(daemon, "unwind"));
	print_connections(connections);
	if (json__array_length(sessions) == 0) {
		printf("no sessions\n");
		return;
	}
	printf("\n%8s %6s  %-8s %9s %12s %10s %8s %10s %10s\n", "PID", "HZ", "STATE", "SECONDS",
	       "SAMPLES", "LOST", "STACKS", "BY TABLE", "NO TABLE");
	for (i = 0; i < json__array_length(sessions); i++) {
		session = json__array_at(sessions, i);
		strcpy(cells[3], "?");
		if (json__u64(json__object_get(session, CPROF_JSON_DURATION_NS), &duration_ns) == 0)
			format_seconds(duration_ns, cells[3]);
		unwind = json__object_get(session, "unwind");
		printf("%8s %6s  %-8s %9s %12s %10s %8s %10s %10s\n",
		       format_count(session, CPROF_JSON_PID, cells[0]),
		       format_count(session, CPROF_JSON_HZ, cells[1]),
		       format_string(session, CPROF_JSON_STATE, 8, cells[2]), cells[3],
		       format_count(session, CPROF_JSON_SAMPLES, cells[4]),
		       format_count(session, CPROF_JSON_LOST, cells[5]),
		       format_count(session, CPROF_JSON_STACKS, cells[6]),
		       unwind ? format_count(unwind, "samples_by_table", cells[7]) : "-",
		       unwind ? format_count(unwind, "samples_without_table", cells[8]) : "-");
	}
}

static int do_status(const struct command *command, const struct command_args *args)
{
	const struct json_value *daemon, *sessions;
	struct json_value *root = NULL;
	int status = EXIT_FAIL;

	if (get_json(CPROF_ROUTE_STATUS, REQUEST_TIMEOUT_SECONDS, "status", &root))
		return EXIT_FAIL;
	if (!root)
		return 0; /* --json: printed as it came */
	daemon = json__object_get(root, "daemon");
	sessions = json__object_get(root, "sessions");
	if (!daemon || json__type(daemon) != JSON_OBJECT || !sessions ||
	    json__type(sessions) != JSON_ARRAY) {
		fail("cannot read cprofd's status reply: %s",
		     "no \"daemon\" object or no \"sessions\" array");
		goto out;
	}
	print_status_table(daemon, sessions, json__object_get(root, "connections"));
	status = 0;
out:
	json__free(root);
	return status;
}

const struct command status_command = {
	.name = "status",
	.synopsis = "",
	.summary = "show cprofd's state and its sessions",
	.help = "Show cprofd's memory use and counters, and one line per session. With\n"
		"--json, print cprofd's reply as it is.\n",
	.short_options = ":hj",
	.long_options = status_options,
	.run = do_status,
};
