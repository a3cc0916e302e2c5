// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cprofd: options, the listening socket, and the event loop that ties the
 * ring-buffer drain, the HTTP server and signals together.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include <linux/types.h>

#include "config.h"
#include "cprof_protocol.h"
#include "cprof_record.h"
#include "cprof_unwind.h"
#include "cprofd.h"
#include "listen_socket.h"
#include "server/http_server.h"
#include "util/clock.h"
#include "util/log.h"

/* How often a changed state is reported to systemd (STATUS=). */
#define STATUS_INTERVAL_US (1000 * 1000)
/* Profiles saved at shutdown stop being written past this many files. */
#define MAX_SAVED_PROFILES 256
/* At shutdown, all the profiles saved wait this long in all for their symbols. */
#define SAVE_SYMBOLS_WAIT_MS 10000
/* Where fetched debug files go outside systemd (which gives CacheDirectory=). */
#define DEFAULT_DEBUGINFOD_CACHE "/var/cache/cprofd/debuginfod"
/* libdebuginfod gives up a server that sends nothing for this long (at most). */
#define DEBUGINFOD_STALL_S 10

/* What the command line says; its values override the configuration file's. */
struct options {
	const char *socket_path;
	const char *config_path;
	bool config_path_given; /* then a missing file is an error */
	struct config given; /* .set says which values were given */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cprofd [OPTIONS]\n"
		"A sampling profiler daemon: serves pprof profiles of processes over a Unix socket.\n"
		"\n"
		"  --socket PATH            listen on PATH (default %s)\n"
		"  --config PATH            read PATH (default %s, if it exists)\n"
		"  --hz HZ                  default sampling rate (default %d)\n"
		"  --ring-buffer-size BYTES ring buffer size, a power of two (default 4 MiB)\n"
		"  --stack-table-size BYTES bound of the stack table (default 256 MiB)\n"
		"  --max-processes N        bound of the process table (default 65536)\n"
		"  --symbol-cache-size BYTES bound of cached symbols and DWARF (default 1G)\n"
		"  --unwind-table-size BYTES kernel memory for unwind tables (default 32M; 0: frame\n"
		"                            pointers only)\n"
		"  --drain-interval-ms MS   how often the ring buffer is drained (default 100)\n"
		"  --socket-group GROUP     group of the socket cprofd binds itself\n"
		"  --continuous             sample every process, all the time, into a history\n"
		"  --continuous-hz HZ       continuous mode's rate (default 19)\n"
		"  --window SECONDS         continuous mode's window (default 10)\n"
		"  --history-dir PATH       where the history is kept (default STATE_DIRECTORY/history)\n"
		"  --foreground             run in the foreground (always the case; for scripts)\n"
		"  --verbose                log debug messages\n"
		"  --help, --version\n"
		"\n"
		"Options override the configuration file. SIGHUP reloads it. See cprofd(8).\n",
		CPROF_DEFAULT_SOCKET, CONFIG_DEFAULT_PATH, CPROF_DEFAULT_HZ);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SOCKET = 256,
		OPT_CONFIG,
		OPT_HZ,
		OPT_RING,
		OPT_STACKS,
		OPT_PROCESSES,
		OPT_SYMBOLS,
		OPT_UNWIND,
		OPT_DRAIN,
		OPT_GROUP,
		OPT_CONTINUOUS,
		OPT_CONTINUOUS_HZ,
		OPT_WINDOW,
		OPT_HISTORY_DIR,
		OPT_FG,
		OPT_VERBOSE,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option options[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "hz", required_argument, NULL, OPT_HZ },
		{ "ring-buffer-size", required_argument, NULL, OPT_RING },
		{ "stack-table-size", required_argument, NULL, OPT_STACKS },
		{ "max-processes", required_argument, NULL, OPT_PROCESSES },
		{ "symbol-cache-size", required_argument, NULL, OPT_SYMBOLS },
		{ "unwind-table-size", required_argument, NULL, OPT_UNWIND },
		{ "drain-interval-ms", required_argument, NULL, OPT_DRAIN },
		{ "socket-group", required_argument, NULL, OPT_GROUP },
		{ "continuous", no_argument, NULL, OPT_CONTINUOUS },
		{ "continuous-hz", required_argument, NULL, OPT_CONTINUOUS_HZ },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "history-dir", required_argument, NULL, OPT_HISTORY_DIR },
		{ "foreground", no_argument, NULL, OPT_FG },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	struct config *g = &o->given;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_SOCKET:
			o->socket_path = optarg;
			break;
		case OPT_CONFIG:
			o->config_path = optarg;
			o->config_path_given = true;
			break;
		case OPT_HZ:
			if (config__parse_hz(optarg, &g->hz)) {
				fprintf(stderr, "cprofd: --hz must be %d to %d\n", CPROF_MIN_HZ,
					CPROF_MAX_HZ);
				return -1;
			}
			g->set |= CONFIG_HZ;
			break;
		case OPT_RING:
			if (config__parse_ring_buffer_size(optarg, &g->ring_buffer_bytes)) {
				fprintf(stderr, "cprofd: --ring-buffer-size must be a power of two "
						"from 4K to 1G\n");
				return -1;
			}
			g->set |= CONFIG_RING_BUFFER_SIZE;
			break;
		case OPT_STACKS:
			if (config__parse_stack_table_size(optarg, &g->stack_table_bytes)) {
				fprintf(stderr,
					"cprofd: --stack-table-size must be from 64K to 1024G\n");
				return -1;
			}
			g->set |= CONFIG_STACK_TABLE_SIZE;
			break;
		case OPT_PROCESSES:
			if (config__parse_max_processes(optarg, &g->max_processes)) {
				fprintf(stderr, "cprofd: --max-processes must be 1 to 4194304\n");
				return -1;
			}
			g->set |= CONFIG_MAX_PROCESSES;
			break;
		case OPT_SYMBOLS:
			if (config__parse_symbol_cache_size(optarg, &g->symbol_cache_bytes)) {
				fprintf(stderr,
					"cprofd: --symbol-cache-size must be from 1M to 1024G\n");
				return -1;
			}
			g->set |= CONFIG_SYMBOL_CACHE_SIZE;
			break;
		case OPT_UNWIND:
			if (config__parse_unwind_table_size(optarg, &g->unwind_table_bytes)) {
				fprintf(stderr,
					"cprofd: --unwind-table-size must be 0 or from 64K to 4G\n");
				return -1;
			}
			g->set |= CONFIG_UNWIND_TABLE_SIZE;
			break;
		case OPT_DRAIN:
			if (config__parse_drain_interval_ms(optarg, &g->drain_interval_ms)) {
				fprintf(stderr, "cprofd: --drain-interval-ms must be 1 to 10000\n");
				return -1;
			}
			g->set |= CONFIG_DRAIN_INTERVAL_MS;
			break;
		case OPT_GROUP:
			if (config__parse_group_name(optarg, g->socket_group,
						     sizeof(g->socket_group))) {
				fprintf(stderr, "cprofd: --socket-group: not a group name\n");
				return -1;
			}
			g->set |= CONFIG_SOCKET_GROUP;
			break;
		case OPT_CONTINUOUS:
			g->continuous = true;
			g->set |= CONFIG_CONTINUOUS;
			break;
		case OPT_CONTINUOUS_HZ:
		case OPT_WINDOW:
		case OPT_HISTORY_DIR: {
			static const char *const keys[] = { "continuous_hz", "window", "history_dir" };
			char line[CONFIG_PATH_MAX + 32], why[256];
			struct config one;

			/* As the file would say it, so both are checked alike. */
			config__init(&one);
			snprintf(line, sizeof(line), "%s = %s\n", keys[opt - OPT_CONTINUOUS_HZ], optarg);
			if (config__parse(&one, line, strlen(line), why, sizeof(why))) {
				fprintf(stderr, "cprofd: --%s: %s\n", options[opt - OPT_SOCKET].name,
					strchr(why, ':') ? strchr(why, ':') + 2 : why);
				return -1;
			}
			config__override(g, &one);
			break;
		}
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

/*
 * The configuration in force: built-in defaults, then the file, then the
 * command line. A missing file is fine unless --config named it. Returns 0,
 * or a negative errno with the reason in err.
 */
static int load_config(const struct options *o, struct config *ret, char *err, size_t err_size)
{
	const struct config *g = &o->given;
	struct config c;
	int r;

	config__init(&c);
	r = config__load(&c, o->config_path, err, err_size);
	if (r == -ENOENT && !o->config_path_given)
		r = 0;
	if (r)
		return r;
	config__override(&c, g);
	*ret = c;
	return 0;
}

struct loop_ctx {
	struct cprofd *cprofd;
	struct http_server *http;
	const struct options *options;
	struct config config; /* in force */
	bool own_socket; /* bound by us, not passed by systemd */
	sd_event_source *drain_timer;
	sd_event_source *status_timer;
	uint64_t drain_interval_us;
	/* What the last STATUS= said, so that an unchanged state is not sent again. */
	size_t status_sessions;
	uint64_t status_samples;
	unsigned int status_hz;
	bool status_sent;
};

/*
 * Each connection is an fd: take the hard limit of open files, as far as
 * max_connections could need, rather than the soft one (1024 under
 * systemd's default) that would make accept() fail first.
 */
static void raise_fd_limit(const struct config *c)
{
	struct rlimit r;
	rlim_t want = (rlim_t)CPROF_MAX_CONNECTIONS + 1024;

	if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur >= want)
		return;
	r.rlim_cur = r.rlim_max < want ? r.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &r))
		log_debug("raising the limit of open files: %s", strerror(errno));
	if (r.rlim_cur < (rlim_t)c->max_connections + 256)
		log_msg(LOG_NOTICE,
			"%llu open files at most: fewer than max_connections (%u) needs",
			(unsigned long long)r.rlim_cur, c->max_connections);
}

/* The limits on the socket's connections, as the configuration gives them. */
static struct connection_limits connection_limits(const struct config *c)
{
	return (struct connection_limits){
		.admission = {
			.max_connections = c->max_connections,
			.max_per_uid = c->max_connections_per_uid,
			.root_reserved = c->root_reserved_connections,
		},
		.header_timeout_ms = c->header_timeout_ms,
		.idle_timeout_s = c->idle_timeout_s,
	};
}

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

/* Tells systemd (systemctl status) how many sessions run and what they sampled. */
static void send_status(struct loop_ctx *ctx, bool force)
{
	size_t sessions = cprofd__n_sessions(ctx->cprofd);
	uint64_t samples = cprofd__total_samples(ctx->cprofd);
	unsigned int hz = cprofd__default_hz(ctx->cprofd);

	if (!force && ctx->status_sent && sessions == ctx->status_sessions &&
	    samples == ctx->status_samples && hz == ctx->status_hz)
		return;
	ctx->status_sessions = sessions;
	ctx->status_samples = samples;
	ctx->status_hz = hz;
	ctx->status_sent = true;
	sd_notifyf(0,
		   "STATUS=%zu session%s running, %" PRIu64 " samples since start, default %u Hz",
		   sessions, sessions == 1 ? "" : "s", samples, hz);
}

static int on_status_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct loop_ctx *ctx = userdata;

	send_status(ctx, false);
	sd_event_source_set_time(source, usec + STATUS_INTERVAL_US);
	return 0;
}

/* Logs a setting that cannot change while the BPF objects and tables are loaded. */
static void note_restart_needed(const char *key, size_t running, size_t wanted)
{
	if (running != wanted)
		log_msg(LOG_NOTICE,
			"%s changed from %zu to %zu: applies at the next restart of cprofd", key,
			running, wanted);
}

/*
 * SIGHUP: reads the configuration again. A bad file changes nothing. The
 * rate, the drain interval and the socket's group apply at once; the ring
 * buffer and the table bounds size objects made at start, so they wait for
 * the next restart (and say so).
 */
static bool continuous_changed(const struct config *a, const struct config *b)
{
	return a->continuous != b->continuous || a->continuous_hz != b->continuous_hz ||
	       a->window_s != b->window_s || strcmp(a->history_dir, b->history_dir) ||
	       a->history_max_bytes != b->history_max_bytes ||
	       a->history_max_age_s != b->history_max_age_s;
}

static int on_reload(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata)
{
	struct loop_ctx *ctx = userdata;
	struct config next, *cur = &ctx->config;
	struct connection_limits limits;
	char err[256];
	int r;

	sd_notify(0, "RELOADING=1\nSTATUS=Reloading the configuration");
	r = load_config(ctx->options, &next, err, sizeof(err));
	if (r) {
		log_err("reloading %s: %s; keeping the running configuration",
			ctx->options->config_path, err);
		goto out;
	}
	if (ctx->own_socket && strcmp(next.socket_group, cur->socket_group)) {
		r = listen_socket__set_group(ctx->options->socket_path, next.socket_group);
		if (r) {
			log_err("reloading %s: socket_group %s: %s; keeping the running "
				"configuration",
				ctx->options->config_path, next.socket_group,
				r == -ENOENT ? "no such group" : strerror(-r));
			goto out;
		}
	} else if (!ctx->own_socket && strcmp(next.socket_group, cur->socket_group)) {
		log_msg(LOG_NOTICE, "socket_group changed: the socket from systemd keeps the "
				    "group of cprofd.socket (SocketGroup=)");
	}
	note_restart_needed("ring_buffer_size", cur->ring_buffer_bytes, next.ring_buffer_bytes);
	note_restart_needed("stack_table_size", cur->stack_table_bytes, next.stack_table_bytes);
	note_restart_needed("max_processes", cur->max_processes, next.max_processes);
	note_restart_needed("symbol_cache_size", cur->symbol_cache_bytes, next.symbol_cache_bytes);
	note_restart_needed("unwind_table_size", cur->unwind_table_bytes, next.unwind_table_bytes);
	note_restart_needed("debuginfod_timeout", cur->debuginfod_timeout_s,
			    next.debuginfod_timeout_s);
	note_restart_needed("debuginfod_backoff", cur->debuginfod_backoff_s,
			    next.debuginfod_backoff_s);
	if (strcmp(cur->debuginfod_urls, next.debuginfod_urls))
		log_msg(LOG_NOTICE,
			"debuginfod_urls changed: applies at the next restart of cprofd");
	/* Remember what runs, not what waits for a restart. */
	next.ring_buffer_bytes = cur->ring_buffer_bytes;
	next.stack_table_bytes = cur->stack_table_bytes;
	next.max_processes = cur->max_processes;
	next.symbol_cache_bytes = cur->symbol_cache_bytes;
	next.unwind_table_bytes = cur->unwind_table_bytes;
	next.debuginfod_timeout_s = cur->debuginfod_timeout_s;
	next.debuginfod_backoff_s = cur->debuginfod_backoff_s;
	memcpy(next.debuginfod_urls, cur->debuginfod_urls, sizeof(next.debuginfod_urls));

	limits = connection_limits(&next);
	if (ctx->http && http_server__set_limits(ctx->http, &limits)) {
		log_err("reloading %s: connection limits do not fit together; keeping the running "
			"configuration",
			ctx->options->config_path);
		goto out;
	}
	if (continuous_changed(cur, &next)) {
		/* A history that cannot be opened leaves continuous mode off, and says so. */
		r = cprofd__configure_continuous(ctx->cprofd, &next, err, sizeof(err));
		log_msg(r ? LOG_ERR : LOG_INFO, "reloading %s: %s", ctx->options->config_path, err);
		next.continuous = cprofd__continuous_on(ctx->cprofd);
	}
	cprofd__set_default_hz(ctx->cprofd, next.hz);
	ctx->drain_interval_us = next.drain_interval_ms * 1000ull;
	*cur = next;
	log_info("reloaded %s: default %u Hz, drain every %u ms, socket group %s",
		 ctx->options->config_path, cur->hz, cur->drain_interval_ms,
		 *cur->socket_group ? cur->socket_group : "unchanged");
out:
	sd_notify(0, "READY=1");
	send_status(ctx, true);
	return 0;
}

/* Files in dir, up to limit (a bound on what saving at shutdown may pile up). */
static size_t count_files(const char *dir, size_t limit)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while (n < limit && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	const char *p = data;
	int err = 0;

	if (fd < 0)
		return -errno;
	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		p += n;
		size -= n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (err)
		unlink(path);
	return err;
}

/*
 * At shutdown, sessions nobody stopped are ended; under systemd
 * ($STATE_DIRECTORY) their profiles are saved there as
 * pid-PID-UNIXTIME.pb.gz, up to MAX_SAVED_PROFILES files in the directory.
 */
static void save_sessions(struct cprofd *d)
{
	const char *state = getenv("STATE_DIRECTORY");
	pid_t pids[CPROF_MAX_SESSIONS];
	char dir[PATH_MAX], path[PATH_MAX + 64];
	size_t n = cprofd__session_pids(d, pids, CPROF_MAX_SESSIONS);
	uint64_t wait_end = monotonic_ms() + SAVE_SYMBOLS_WAIT_MS;

	if (!n)
		return;
	if (!state || !*state) {
		log_info("ending %zu session%s; without a state directory their profiles are "
			 "discarded",
			 n, n == 1 ? "" : "s");
		return;
	}
	/* systemd gives a colon-separated list; the first is ours. */
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(state, ":"), state);
	for (size_t i = 0; i < n; i++) {
		struct cprofd_summary summary;
		void *data;
		size_t size;
		int err;

		if (count_files(dir, MAX_SAVED_PROFILES) >= MAX_SAVED_PROFILES) {
			log_warn("%s holds %d files or more: not saving the profile of pid %d", dir,
				 MAX_SAVED_PROFILES, (int)pids[i]);
			continue;
		}
		/* No loop runs now: wait here, boundedly, for the symbols to load. */
		cprofd__end_sampling(d, pids[i]);
		if (monotonic_ms() < wait_end)
			cprofd__wait_symbols(d, pids[i], (int)(wait_end - monotonic_ms()));
		err = cprofd__stop_session(d, pids[i], &data, &size, &summary);
		if (err) {
			log_warn("ending the session of pid %d: %s, discarding it", (int)pids[i],
				 strerror(-err));
			continue;
		}
		snprintf(path, sizeof(path), "%s/pid-%d-%lld.pb.gz", dir, (int)pids[i],
			 (long long)time(NULL));
		err = write_file(path, data, size);
		if (err)
			log_warn("saving the profile of pid %d to %s: %s, discarding it",
				 (int)pids[i], path, strerror(-err));
		else
			log_info("saved the profile of pid %d to %s: %" PRIu64 " samples, %" PRIu64
				 " lost",
				 (int)pids[i], path, summary.samples, summary.lost);
		free(data);
	}
}

/*
 * libdebuginfod reads its settings from the environment: they are set here,
 * once, before the worker thread that reads them exists. The URLs are the
 * configuration's, else $DEBUGINFOD_URLS; the cache is $CACHE_DIRECTORY
 * (systemd's CacheDirectory=)/debuginfod unless $DEBUGINFOD_CACHE_PATH says.
 * Returns whether debuginfod is to be asked at all.
 */
static bool setup_debuginfod(const struct config *c)
{
	const char *urls = c->debuginfod_urls[0] ? c->debuginfod_urls : getenv("DEBUGINFOD_URLS");
	const char *cache = getenv("CACHE_DIRECTORY");
	char value[PATH_MAX];
	unsigned int stall_s;

	if (!urls || !urls[0])
		return false;
	if (setenv("DEBUGINFOD_URLS", urls, 1))
		return false;
	if (!getenv("DEBUGINFOD_CACHE_PATH")) {
		if (cache && cache[0])
			snprintf(value, sizeof(value), "%.*s/debuginfod", (int)strcspn(cache, ":"),
				 cache);
		else
			snprintf(value, sizeof(value), "%s", DEFAULT_DEBUGINFOD_CACHE);
		setenv("DEBUGINFOD_CACHE_PATH", value, 1);
	}
	stall_s = c->debuginfod_timeout_s < DEBUGINFOD_STALL_S ? c->debuginfod_timeout_s
							      : DEBUGINFOD_STALL_S;
	snprintf(value, sizeof(value), "%u", stall_s);
	setenv("DEBUGINFOD_TIMEOUT", value, 1);
	snprintf(value, sizeof(value), "%u", c->debuginfod_timeout_s);
	setenv("DEBUGINFOD_MAXTIME", value, 1);
	log_info("debug files from debuginfod at %s, kept in %s, %u s per fetch, %u s after a "
		 "failure",
		 urls, getenv("DEBUGINFOD_CACHE_PATH"), c->debuginfod_timeout_s,
		 c->debuginfod_backoff_s);
	return true;
}

int main(int argc, char **argv)
{
	struct options options = {
		.socket_path = CPROF_DEFAULT_SOCKET,
		.config_path = CONFIG_DEFAULT_PATH,
	};
	struct loop_ctx ctx = { .options = &options };
	struct cprofd_options cprofd_options = {};
	struct http_server *http = NULL;
	struct connection_limits limits;
	sd_event_source *ring_source = NULL;
	sd_event *loop = NULL;
	int listen_fd = -1, err;
	sigset_t signals;
	char reason[256];

	if (parse_args(argc, argv, &options))
		return 2;
	err = load_config(&options, &ctx.config, reason, sizeof(reason));
	if (err) {
		log_err("reading %s: %s", options.config_path, reason);
		sd_notifyf(0, "STATUS=Bad configuration: %s: %s\nERRNO=%d", options.config_path,
			   reason, -err);
		return 2;
	}

	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	cprofd_options.ring_buffer_bytes = ctx.config.ring_buffer_bytes;
	cprofd_options.stack_table_bytes = ctx.config.stack_table_bytes;
	cprofd_options.max_processes = ctx.config.max_processes;
	cprofd_options.symbol_cache_bytes = ctx.config.symbol_cache_bytes;
	cprofd_options.unwind_rows = ctx.config.unwind_table_bytes / sizeof(struct cprof_unwind_row);
	cprofd_options.default_hz = ctx.config.hz;
	/* Symbols load on a worker thread: the loop never stalls on a big binary. */
	cprofd_options.background_symbols = true;
	cprofd_options.debuginfod = setup_debuginfod(&ctx.config);
	cprofd_options.debuginfod_backoff_s = ctx.config.debuginfod_backoff_s;
	ctx.cprofd = cprofd__new(&cprofd_options);
	if (!ctx.cprofd) {
		err = errno;
		log_err("loading the BPF sampler: %s", strerror(err));
		sd_notifyf(0, "STATUS=Loading the BPF sampler: %s\nERRNO=%d", strerror(err), err);
		return 1;
	}

	if (ctx.config.continuous) {
		err = cprofd__configure_continuous(ctx.cprofd, &ctx.config, reason, sizeof(reason));
		if (err) {
			log_err("%s", reason);
			sd_notifyf(0, "STATUS=%s\nERRNO=%d", reason, -err);
			err = 1;
			goto out;
		}
		log_info("%s", reason);
	}

	raise_fd_limit(&ctx.config);
	listen_fd = listen_socket__from_systemd();
	if (listen_fd == -ENOENT) {
		listen_fd = listen_socket__bind(options.socket_path);
		if (listen_fd < 0) {
			log_err("listening on %s: %s", options.socket_path,
				listen_fd == -EADDRINUSE ? "another cprofd answers there"
							 : strerror(-listen_fd));
			err = 1;
			goto out;
		}
		ctx.own_socket = true;
		err = listen_socket__set_group(options.socket_path, ctx.config.socket_group);
		if (err) {
			log_err("giving %s to group %s: %s", options.socket_path,
				ctx.config.socket_group,
				err == -ENOENT ? "no such group" : strerror(-err));
			err = 1;
			goto out;
		}
	} else if (listen_fd < 0) {
		log_err("the socket from systemd: %s",
			listen_fd == -EBADF ? "expected one listening Unix stream socket"
					    : strerror(-listen_fd));
		err = 1;
		goto out;
	}

	err = sd_event_default(&loop);
	if (err < 0)
		goto out_loop_error;
	err = sd_event_add_signal(loop, NULL, SIGTERM, NULL, NULL);
	if (err >= 0)
		err = sd_event_add_signal(loop, NULL, SIGINT, NULL, NULL);
	if (err >= 0)
		err = sd_event_add_signal(loop, NULL, SIGHUP, on_reload, &ctx);
	if (err < 0)
		goto out_loop_error;
	/* Pings WATCHDOG=1 at half of WatchdogSec= whenever the loop runs. */
	err = sd_event_set_watchdog(loop, true);
	if (err < 0)
		goto out_loop_error;
	err = sd_event_add_io(loop, &ring_source, cprofd__ring_fd(ctx.cprofd), EPOLLIN,
			      on_ring_ready, &ctx);
	if (err < 0)
		goto out_loop_error;
	ctx.drain_interval_us = ctx.config.drain_interval_ms * 1000ull;
	err = sd_event_add_time_relative(loop, &ctx.drain_timer, CLOCK_MONOTONIC,
					 ctx.drain_interval_us, 0, on_drain_timer, &ctx);
	if (err < 0)
		goto out_loop_error;
	sd_event_source_set_enabled(ctx.drain_timer, SD_EVENT_ON);
	err = sd_event_add_time_relative(loop, &ctx.status_timer, CLOCK_MONOTONIC,
					 STATUS_INTERVAL_US, 0, on_status_timer, &ctx);
	if (err < 0)
		goto out_loop_error;
	sd_event_source_set_enabled(ctx.status_timer, SD_EVENT_ON);

	limits = connection_limits(&ctx.config);
	http = http_server__new(loop, listen_fd, ctx.cprofd, &limits);
	if (!http) {
		err = -errno;
		goto out_loop_error;
	}
	ctx.http = http;

	/*
	 * Ready means loaded: the program and its maps are in the kernel. Perf
	 * events are opened and attached only while a session runs.
	 */
	log_info("BPF sampler loaded, listening on %s",
		 ctx.own_socket ? options.socket_path : "the socket from systemd");
	sd_notify(0, "READY=1");
	send_status(&ctx, true);
	err = sd_event_loop(loop);
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping: ending sessions");
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
	sd_event_source_disable_unref(ctx.status_timer);
	sd_event_source_disable_unref(ctx.drain_timer);
	sd_event_source_disable_unref(ring_source);
	if (ctx.cprofd)
		save_sessions(ctx.cprofd);
	cprofd__free(ctx.cprofd);
	sd_event_unref(loop);
	if (ctx.own_socket) {
		close(listen_fd);
		unlink(options.socket_path);
	}
	log_info("stopped; BPF sampler unloaded");
	return err;
}
