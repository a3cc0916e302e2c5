// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cprofd: options, the listening socket, and the event loop that ties the
 * ring-buffer drain, the HTTP server and signals together.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include <linux/types.h>

#include "cprof_protocol.h"
#include "cprof_record.h"
#include "cprofd.h"
#include "http_server.h"
#include "log.h"

struct config {
	const char *socket_path;
	struct cprofd_options cprofd;
	unsigned int drain_interval_ms;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cprofd [OPTIONS]\n"
		"A sampling profiler daemon: serves pprof profiles of processes over a Unix socket.\n"
		"\n"
		"  --socket PATH            listen on PATH (default %s)\n"
		"  --hz HZ                  default sampling rate (default %d)\n"
		"  --ring-buffer-size BYTES ring buffer size, a power of two (default 4 MiB)\n"
		"  --stack-table-size BYTES bound of the stack table (default 256 MiB)\n"
		"  --symbol-cache-size BYTES bound of cached symbols and DWARF (default 1 GiB)\n"
		"  --drain-interval-ms MS   how often the ring buffer is drained (default 100)\n"
		"  --foreground             run in the foreground (always the case; for scripts)\n"
		"  --verbose                log debug messages\n"
		"  --help, --version\n",
		CPROF_DEFAULT_SOCKET, CPROF_DEFAULT_HZ);
}

/* Parses a size with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *s, size_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'G':
		v <<= 10; /* fall through */
	case 'M':
		v <<= 10; /* fall through */
	case 'K':
		v <<= 10;
		end++;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct config *c)
{
	enum {
		OPT_SOCKET = 256,
		OPT_HZ,
		OPT_RING,
		OPT_STACKS,
		OPT_SYMBOLS,
		OPT_DRAIN,
		OPT_FG,
		OPT_VERBOSE,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option options[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "hz", required_argument, NULL, OPT_HZ },
		{ "ring-buffer-size", required_argument, NULL, OPT_RING },
		{ "stack-table-size", required_argument, NULL, OPT_STACKS },
		{ "symbol-cache-size", required_argument, NULL, OPT_SYMBOLS },
		{ "drain-interval-ms", required_argument, NULL, OPT_DRAIN },
		{ "foreground", no_argument, NULL, OPT_FG },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	size_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_SOCKET:
			c->socket_path = optarg;
			break;
		case OPT_HZ:
			if (parse_size(optarg, &v) || v < CPROF_MIN_HZ || v > CPROF_MAX_HZ) {
				fprintf(stderr, "cprofd: --hz must be %d to %d\n", CPROF_MIN_HZ,
					CPROF_MAX_HZ);
				return -1;
			}
			c->cprofd.default_hz = v;
			break;
		case OPT_RING:
			if (parse_size(optarg, &v) || v < 4096 || (v & (v - 1))) {
				fprintf(stderr, "cprofd: --ring-buffer-size must be a power of two "
						"of at least 4096\n");
				return -1;
			}
			c->cprofd.ring_buffer_bytes = v;
			break;
		case OPT_STACKS:
			if (parse_size(optarg, &v) || v < (1 << 16)) {
				fprintf(stderr,
					"cprofd: --stack-table-size must be at least 64K\n");
				return -1;
			}
			c->cprofd.stack_table_bytes = v;
			break;
		case OPT_SYMBOLS:
			if (parse_size(optarg, &v) || v < (1 << 20)) {
				fprintf(stderr,
					"cprofd: --symbol-cache-size must be at least 1M\n");
				return -1;
			}
			c->cprofd.symbol_cache_bytes = v;
			break;
		case OPT_DRAIN:
			if (parse_size(optarg, &v) || v < 1 || v > 10000) {
				fprintf(stderr, "cprofd: --drain-interval-ms must be 1 to 10000\n");
				return -1;
			}
			c->drain_interval_ms = v;
			break;
		case OPT_FG:
			break;
		case OPT_VERBOSE:
			log_set_max_priority(LOG_DEBUG);
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("cprofd %s (protocol %d, record format %d)\n", CPROF_VERSION,
			       CPROF_PROTOCOL_VERSION, CPROF_RECORD_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cprofd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* Creates every missing directory above path (mode 0755). */
static void make_parent_dirs(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
}

/*
 * Binds the Unix socket, mode 0660. A stale socket file is replaced, but
 * never one a live daemon still answers on.
 */
static int listen_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	make_parent_dirs(path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || chmod(path, 0660) ||
	    listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

struct loop_ctx {
	struct cprofd *cprofd;
	sd_event_source *drain_timer;
	uint64_t drain_interval_us;
};

static int on_ring_ready(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct loop_ctx *ctx = userdata;

	cprofd__drain(ctx->cprofd);
	return 0;
}

static int on_drain_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct loop_ctx *ctx = userdata;
	int err;

	err = cprofd__drain(ctx->cprofd);
	if (err < 0)
		log_warn("draining the ring buffer: %s, retrying", strerror(-err));
	sd_event_source_set_time(source, usec + ctx->drain_interval_us);
	return 0;
}

int main(int argc, char **argv)
{
	struct config config = {
		.socket_path = CPROF_DEFAULT_SOCKET,
		.cprofd = {
			.ring_buffer_bytes = 4 << 20,
			.stack_table_bytes = 256 << 20,
			.max_processes = 65536,
			.default_hz = CPROF_DEFAULT_HZ,
		},
		.drain_interval_ms = 100,
	};
	struct loop_ctx ctx = {};
	struct http_server *http = NULL;
	sd_event_source *ring_source = NULL;
	sd_event *loop = NULL;
	bool own_socket = false;
	int listen_fd = -1, err, n_fds;
	sigset_t signals;

	if (parse_args(argc, argv, &config))
		return 2;

	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	ctx.cprofd = cprofd__new(&config.cprofd);
	if (!ctx.cprofd) {
		log_err("loading the BPF sampler: %s", strerror(errno));
		return 1;
	}

	n_fds = sd_listen_fds(1);
	if (n_fds == 1) {
		listen_fd = SD_LISTEN_FDS_START;
	} else {
		listen_fd = listen_unix(config.socket_path);
		if (listen_fd < 0) {
			log_err("listening on %s: %s", config.socket_path,
				listen_fd == -EADDRINUSE ? "another cprofd answers there"
							 : strerror(-listen_fd));
			err = 1;
			goto out;
		}
		own_socket = true;
	}

	err = sd_event_default(&loop);
	if (err < 0)
		goto out_loop_error;
	err = sd_event_add_signal(loop, NULL, SIGTERM, NULL, NULL);
	if (err >= 0)
		err = sd_event_add_signal(loop, NULL, SIGINT, NULL, NULL);
	if (err < 0)
		goto out_loop_error;
	err = sd_event_add_io(loop, &ring_source, cprofd__ring_fd(ctx.cprofd), EPOLLIN,
			      on_ring_ready, &ctx);
	if (err < 0)
		goto out_loop_error;
	ctx.drain_interval_us = config.drain_interval_ms * 1000ull;
	err = sd_event_add_time_relative(loop, &ctx.drain_timer, CLOCK_MONOTONIC,
					 ctx.drain_interval_us, 0, on_drain_timer, &ctx);
	if (err < 0)
		goto out_loop_error;
	sd_event_source_set_enabled(ctx.drain_timer, SD_EVENT_ON);

	http = http_server__new(loop, listen_fd, ctx.cprofd);
	if (!http) {
		err = -errno;
		goto out_loop_error;
	}

	log_info("listening on %s", own_socket ? config.socket_path : "the socket from systemd");
	sd_notify(0, "READY=1\nSTATUS=Waiting for sessions");
	err = sd_event_loop(loop);
	sd_notify(0, "STOPPING=1");
	log_info("stopping");
	if (err < 0)
		goto out_loop_error;
	err = 0;
	goto out;

out_loop_error:
	log_err("event loop: %s", strerror(-err));
	err = 1;
out:
	/* Timed profiles get what they have; then nothing stays attached. */
	http_server__free(http);
	sd_event_source_disable_unref(ctx.drain_timer);
	sd_event_source_disable_unref(ring_source);
	cprofd__free(ctx.cprofd);
	sd_event_unref(loop);
	if (own_socket) {
		close(listen_fd);
		unlink(config.socket_path);
	}
	return err;
}
