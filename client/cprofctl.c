/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cprofctl: the command-line client of cprofd.
 *
 * Each command is one HTTP request to the daemon's Unix socket. The client
 * checks the syntax of what it sends, saves profiles and formats replies;
 * cprofd decides everything else (ranges, permissions, whether a PID exists).
 *
 * This file is main(): the global options, the command table, dispatch
 * and usage. Each command group has its own file (sessions.c, profile.c,
 * status.c) over the shared core in cprofctl.h.
 *
 * Exit status: 0 on success, 1 when a request or a save failed, 2 when the
 * command line is wrong. Every error is one line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cprof_protocol.h"

#include "cprofctl.h"

static const struct command *find_command(const char *name);

#define COMMON_HELP                                                                                \
	"  --json             print JSON instead of text\n"                                        \
	"  --socket PATH      cprofd's socket (default: $CPROF_SOCKET, else\n"                     \
	"                     " CPROF_DEFAULT_SOCKET ")\n"                                         \
	"  -h, --help         show this help\n"

static const struct option help_options[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };

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

static const struct command help_command = {
	.name = "help",
	.synopsis = "[COMMAND]",
	.summary = "show the help of cprofctl or of COMMAND",
	.help = "Show the help of cprofctl, or of COMMAND.\n",
	.short_options = ":hj",
	.long_options = help_options,
	.max_operands = 1,
	.run = do_help,
};

/* In the order of cprofctl --help; a new command is a line here and its extern in cprofctl.h. */
static const struct command *const commands[] = {
	&start_command, /* sessions.c */
	&stop_command, /* sessions.c */
	&profile_command, /* profile.c */
	&status_command, /* status.c */
	&query_command, /* query.c */
	&help_command,
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < COMMAND_COUNT; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
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
		snprintf(usage, sizeof(usage), "%s %s", commands[i]->name, commands[i]->synopsis);
		if (strlen(usage) <= 26)
			fprintf(out, "  %-26s %s\n", usage, commands[i]->summary);
		else
			fprintf(out, "  %s\n  %-26s %s\n", usage, "", commands[i]->summary);
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

	if (!*global_options.socket_path)
		return usage_error(command, "empty socket path");
	if (strlen(global_options.socket_path) >= sizeof(address.sun_path))
		return usage_error(command, "socket path '%s' is longer than %zu bytes",
				   global_options.socket_path, sizeof(address.sun_path) - 1);
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
			global_options.json_output = true;
			break;
		case 'o':
			args.output = optarg;
			break;
		case OPTION_SOCKET:
			global_options.socket_path = optarg;
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
		case OPTION_SINCE:
			args.since = optarg;
			break;
		case OPTION_UNTIL:
			args.until = optarg;
			break;
		case OPTION_PID:
			args.pid = optarg;
			break;
		case OPTION_COMM:
			args.comm = optarg;
			break;
		case OPTION_UNIT:
			args.unit = optarg;
			break;
		case OPTION_CONTAINER:
			args.container = optarg;
			break;
		case OPTION_LIST:
			args.list = true;
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

	global_options.socket_path = getenv("CPROF_SOCKET");
	if (!global_options.socket_path || !*global_options.socket_path)
		global_options.socket_path = CPROF_DEFAULT_SOCKET;
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
			global_options.json_output = true;
			break;
		case OPTION_SOCKET:
			global_options.socket_path = optarg;
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
