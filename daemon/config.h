/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The configuration file, /etc/cprofd/cprofd.conf: one "key = value" per
 * line, '#' starts a comment line, blank lines are ignored. The parser is
 * strict: an unknown or repeated key, a value out of range or trailing text
 * is an error naming the line, and nothing of a bad file is applied.
 *
 *   hz = 99                     default sampling rate
 *   ring_buffer_size = 4M       BPF ring buffer, a power of two >= 4K
 *   stack_table_size = 256M     bound of the stack table, >= 64K
 *   max_processes = 65536       bound of the process table
 *   drain_interval_ms = 100     how often the ring buffer is drained
 *   socket_group = cprof        group of the socket cprofd binds itself
 *   debuginfod_urls = URL ...   debuginfod servers (else $DEBUGINFOD_URLS)
 *   debuginfod_timeout = 30     seconds one debug file fetch may take
 *   debuginfod_backoff = 60     seconds before a build ID that failed is asked again (x10
 *                               when the servers said they do not have it)
 *   max_connections = 64        connections to the socket at once
 *   max_connections_per_uid = 8 of them, one uid's (root excepted)
 *   root_reserved_connections = 8  of them, for root only
 *   header_timeout_ms = 2000    from connect (or the last reply) to a whole request header
 *   idle_timeout = 10           seconds a connection may make no progress
 *   unwind_table_size = 32M     kernel memory for the rows of unwind tables; 0: frame pointers
 *   continuous = no             sample every process, all the time, into a local history
 *   continuous_hz = 19          its rate (sessions keep their own)
 *   window = 10                 seconds per window of the history (1 to 3600)
 *   history_dir = PATH          where the history is kept (default: STATE_DIRECTORY/history)
 *   history_max_size = 256M     the history's bound on disk; 0: none (the disk's)
 *   history_max_age = 24h       windows older are removed (s, m, h or d; 0: kept)
 *
 * Sizes take a K, M or G suffix (powers of 1024).
 */
#ifndef CPROF_CONFIG_H
#define CPROF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH "/etc/cprofd/cprofd.conf"
/* A longer file is refused: a configuration is a few lines. */
#define CONFIG_MAX_BYTES (64 * 1024)
#define CONFIG_GROUP_NAME_MAX 32
#define CONFIG_URLS_MAX 1024
#define CONFIG_PATH_MAX 1024

/* Bits of config.set: which keys the file (or command line) gave. */
enum config_key {
	CONFIG_HZ = 1u << 0,
	CONFIG_RING_BUFFER_SIZE = 1u << 1,
	CONFIG_STACK_TABLE_SIZE = 1u << 2,
	CONFIG_MAX_PROCESSES = 1u << 3,
	CONFIG_DRAIN_INTERVAL_MS = 1u << 4,
	CONFIG_SOCKET_GROUP = 1u << 5,
	CONFIG_SYMBOL_CACHE_SIZE = 1u << 6,
	CONFIG_DEBUGINFOD_URLS = 1u << 7,
	CONFIG_DEBUGINFOD_TIMEOUT = 1u << 8,
	CONFIG_DEBUGINFOD_BACKOFF = 1u << 9,
	CONFIG_MAX_CONNECTIONS = 1u << 10,
	CONFIG_MAX_CONNECTIONS_PER_UID = 1u << 11,
	CONFIG_ROOT_RESERVED_CONNECTIONS = 1u << 12,
	CONFIG_HEADER_TIMEOUT_MS = 1u << 13,
	CONFIG_IDLE_TIMEOUT = 1u << 14,
	CONFIG_UNWIND_TABLE_SIZE = 1u << 15,
	CONFIG_CONTINUOUS = 1u << 16,
	CONFIG_CONTINUOUS_HZ = 1u << 17,
	CONFIG_WINDOW = 1u << 18,
	CONFIG_HISTORY_DIR = 1u << 19,
	CONFIG_HISTORY_MAX_SIZE = 1u << 20,
	CONFIG_HISTORY_MAX_AGE = 1u << 21,
};

struct config {
	unsigned int hz; /* CPROF_MIN_HZ..CPROF_MAX_HZ */
	size_t ring_buffer_bytes; /* power of two, >= 4096 */
	size_t stack_table_bytes; /* >= 64 KiB */
	size_t max_processes; /* >= 1 */
	size_t symbol_cache_bytes; /* >= 1 MiB: symbol tables and DWARF kept */
	size_t unwind_table_bytes; /* 0 (frame pointers only), or 64 KiB to 4 GiB of rows */
	unsigned int drain_interval_ms; /* 1..10000 */
	char socket_group[CONFIG_GROUP_NAME_MAX + 1]; /* "": leave the socket's group alone */
	char debuginfod_urls[CONFIG_URLS_MAX + 1]; /* "": $DEBUGINFOD_URLS, if any */
	unsigned int debuginfod_timeout_s; /* 1..3600 */
	unsigned int debuginfod_backoff_s; /* 1..86400 */
	/* The socket's connections: 2..CPROF_MAX_CONNECTIONS in all. */
	unsigned int max_connections;
	unsigned int max_connections_per_uid; /* 1..max_connections; root has no share */
	unsigned int root_reserved_connections; /* 0..max_connections - 1 */
	unsigned int header_timeout_ms; /* 100..60000 */
	unsigned int idle_timeout_s; /* 1..3600 */
	bool continuous;
	unsigned int continuous_hz; /* CPROF_MIN_HZ..CPROF_MAX_HZ */
	unsigned int window_s; /* 1..3600 */
	char history_dir[CONFIG_PATH_MAX + 1]; /* "": the state directory's history/ */
	size_t history_max_bytes; /* 0: no bound, else >= 1 MiB */
	uint64_t history_max_age_s; /* 0: no bound */
	unsigned int set; /* enum config_key bits given explicitly */
};

/* Fills *c with the built-in defaults; set is 0. */
void config__init(struct config *c);

/*
 * Parses text (size bytes, not necessarily NUL-terminated) over the values
 * already in *c. Returns 0, or -EINVAL with a one-line reason such as
 * "line 3: unknown key 'hz2'" in err; *c is left untouched on error.
 */
int config__parse(struct config *c, const char *text, size_t size, char *err, size_t err_size);

/*
 * Reads and parses the file at path over *c. Returns 0, -ENOENT when the
 * file does not exist (*c untouched), or another negative errno with the
 * reason in err (*c untouched).
 */
int config__load(struct config *c, const char *path, char *err, size_t err_size);

/* Copies into *c every value g gives (g->set), and adds them to c->set. */
void config__override(struct config *c, const struct config *g);

/*
 * Validators shared with the command line. Each returns 0 and writes
 * *ret, or -EINVAL (-ERANGE when well-formed but out of range).
 */
int config__parse_size(const char *s, size_t *ret);
int config__parse_hz(const char *s, unsigned int *ret);
int config__parse_ring_buffer_size(const char *s, size_t *ret);
int config__parse_stack_table_size(const char *s, size_t *ret);
int config__parse_max_processes(const char *s, size_t *ret);
int config__parse_symbol_cache_size(const char *s, size_t *ret);
int config__parse_unwind_table_size(const char *s, size_t *ret);
int config__parse_drain_interval_ms(const char *s, unsigned int *ret);
int config__parse_group_name(const char *s, char *ret, size_t ret_size);
/* Space-separated http://, https:// or file:// URLs, printable ASCII. */
int config__parse_urls(const char *s, char *ret, size_t ret_size);
/* "yes" or "no" (also "true"/"false", "1"/"0"). */
int config__parse_bool(const char *s, bool *ret);
/* Seconds, or a number with s, m, h or d; 0 allowed; at most 10 years. */
int config__parse_duration(const char *s, uint64_t *ret_seconds);
/* An absolute path of printable characters, at most CONFIG_PATH_MAX. */
int config__parse_path(const char *s, char *ret, size_t ret_size);
int config__parse_history_size(const char *s, size_t *ret);

#endif /* CPROF_CONFIG_H */
