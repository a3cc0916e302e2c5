// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprof_protocol.h"

#define MIN_RING_BUFFER_BYTES 4096
#define MAX_RING_BUFFER_BYTES (1ull << 30)
#define MIN_STACK_TABLE_BYTES (1ull << 16)
#define MAX_STACK_TABLE_BYTES (1ull << 40)
#define MIN_SYMBOL_CACHE_BYTES (1ull << 20)
#define MAX_SYMBOL_CACHE_BYTES (1ull << 40)
#define MAX_MAX_PROCESSES (1u << 22)
#define MIN_UNWIND_TABLE_BYTES (64ull << 10)
#define MAX_UNWIND_TABLE_BYTES (4ull << 30)
#define MAX_DRAIN_INTERVAL_MS 10000
/* Longest key or value quoted in an error message. */
#define MAX_KEY_LEN 64

void config__init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->hz = CPROF_DEFAULT_HZ;
	c->ring_buffer_bytes = 4 << 20;
	c->stack_table_bytes = 256 << 20;
	c->symbol_cache_bytes = 1ull << 30;
	/* 4M rows: libc takes ~24k, python3 ~60k; a machine's worth of binaries fits. */
	c->unwind_table_bytes = 32 << 20;
	c->max_processes = 65536;
	c->drain_interval_ms = 100;
	c->debuginfod_timeout_s = 30;
	c->debuginfod_backoff_s = 60;
	/*
	 * cprofctl holds one connection per command, a scraper one per profile:
	 * 8 is room for a busy user, and 7 of them fill the share of all but
	 * root, whose 8 stay free for root's status and stop.
	 */
	c->max_connections = 64;
	c->max_connections_per_uid = 8;
	c->root_reserved_connections = 8;
	c->header_timeout_ms = 2000;
	c->idle_timeout_s = 10;
	/* A prime, as fleets choose it: never in step with a program's own timers. */
	c->continuous_hz = 19;
	c->window_s = 10;
	c->history_max_bytes = 256 << 20;
	c->history_max_age_s = 24 * 3600;
}

int config__parse_size(const char *s, size_t *ret)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case 'G':
		shift = 30;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'K':
		shift = 10;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (~0ull >> shift))
		return -ERANGE;
	v <<= shift;
	if (v > SIZE_MAX)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* A plain decimal number (no suffix) within [min, max]. */
static int parse_number(const char *s, unsigned long long min, unsigned long long max,
			unsigned long long *ret)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int config__parse_hz(const char *s, unsigned int *ret)
{
	unsigned long long v;
	int err = parse_number(s, CPROF_MIN_HZ, CPROF_MAX_HZ, &v);

	if (!err)
		*ret = v;
	return err;
}

int config__parse_ring_buffer_size(const char *s, size_t *ret)
{
	size_t v;
	int err = config__parse_size(s, &v);

	if (err)
		return err;
	if (v < MIN_RING_BUFFER_BYTES || v > MAX_RING_BUFFER_BYTES || (v & (v - 1)))
		return -ERANGE;
	*ret = v;
	return 0;
}

int config__parse_stack_table_size(const char *s, size_t *ret)
{
	size_t v;
	int err = config__parse_size(s, &v);

	if (err)
		return err;
	if (v < MIN_STACK_TABLE_BYTES || v > MAX_STACK_TABLE_BYTES)
		return -ERANGE;
	*ret = v;
	return 0;
}

int config__parse_symbol_cache_size(const char *s, size_t *ret)
{
	size_t v;
	int err = config__parse_size(s, &v);

	if (err)
		return err;
	if (v < MIN_SYMBOL_CACHE_BYTES || v > MAX_SYMBOL_CACHE_BYTES)
		return -ERANGE;
	*ret = v;
	return 0;
}

int config__parse_unwind_table_size(const char *s, size_t *ret)
{
	size_t v;
	int err = config__parse_size(s, &v);

	if (err)
		return err;
	if (v && (v < MIN_UNWIND_TABLE_BYTES || v > MAX_UNWIND_TABLE_BYTES))
		return -ERANGE;
	*ret = v;
	return 0;
}

int config__parse_max_processes(const char *s, size_t *ret)
{
	unsigned long long v;
	int err = parse_number(s, 1, MAX_MAX_PROCESSES, &v);

	if (!err)
		*ret = v;
	return err;
}

int config__parse_drain_interval_ms(const char *s, unsigned int *ret)
{
	unsigned long long v;
	int err = parse_number(s, 1, MAX_DRAIN_INTERVAL_MS, &v);

	if (!err)
		*ret = v;
	return err;
}

/* As useradd and systemd-sysusers accept them: [a-z_][a-z0-9_-]*, at most 32. */
int config__parse_group_name(const char *s, char *ret, size_t ret_size)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_GROUP_NAME_MAX || n >= ret_size)
		return -EINVAL;
	if (!(islower((unsigned char)s[0]) || s[0] == '_'))
		return -EINVAL;
	for (size_t i = 1; i < n; i++) {
		unsigned char ch = s[i];

		if (!(islower(ch) || isdigit(ch) || ch == '_' || ch == '-'))
			return -EINVAL;
	}
	memcpy(ret, s, n + 1);
	return 0;
}

int config__parse_urls(const char *s, char *ret, size_t ret_size)
{
	size_t n = strlen(s);
	const char *p = s;

	if (n == 0 || n > CONFIG_URLS_MAX || n >= ret_size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] > '~')
			return -EINVAL;
	/* libdebuginfod takes other schemes too; these are the ones that make sense here. */
	while (*p) {
		size_t len = strcspn(p, " ");

		if (len && strncmp(p, "http://", 7) && strncmp(p, "https://", 8) &&
		    strncmp(p, "file://", 7))
			return -EINVAL;
		p += len;
		p += strspn(p, " ");
	}
	memcpy(ret, s, n + 1);
	return 0;
}

int config__parse_bool(const char *s, bool *ret)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

int config__parse_duration(const char *s, uint64_t *ret_seconds)
{
	static const struct {
		char suffix;
		uint64_t seconds;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char number[32];
	size_t n = strlen(s);
	uint64_t unit = 1;
	unsigned long long v;
	int err;

	if (n == 0 || n >= sizeof(number))
		return -EINVAL;
	memcpy(number, s, n + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (number[n - 1] == units[i].suffix) {
			unit = units[i].seconds;
			number[--n] = '\0';
			break;
		}
	}
	err = parse_number(number, 0, 3650ull * 86400 / unit, &v);
	if (!err)
		*ret_seconds = v * unit;
	return err;
}

int config__parse_path(const char *s, char *ret, size_t ret_size)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] != '/' || n > CONFIG_PATH_MAX || n >= ret_size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return -EINVAL;
	memcpy(ret, s, n + 1);
	return 0;
}

int config__parse_history_size(const char *s, size_t *ret)
{
	size_t v;
	int err = config__parse_size(s, &v);

	if (err)
		return err;
	if (v && v < (1u << 20))
		return -ERANGE;
	*ret = v;
	return 0;
}

struct key {
	const char *name;
	enum config_key bit;
	const char *expected; /* for the error message */
};

static const struct key keys[] = {
	{ "hz", CONFIG_HZ, "an integer from 1 to 10000" },
	{ "ring_buffer_size", CONFIG_RING_BUFFER_SIZE,
	  "a power of two from 4K to 1G (suffix K, M or G)" },
	{ "stack_table_size", CONFIG_STACK_TABLE_SIZE,
	  "a size from 64K to 1024G (suffix K, M or G)" },
	{ "max_processes", CONFIG_MAX_PROCESSES, "an integer from 1 to 4194304" },
	{ "symbol_cache_size", CONFIG_SYMBOL_CACHE_SIZE,
	  "a size from 1M to 1024G (suffix K, M or G)" },
	{ "drain_interval_ms", CONFIG_DRAIN_INTERVAL_MS, "an integer from 1 to 10000" },
	{ "socket_group", CONFIG_SOCKET_GROUP, "a group name ([a-z_][a-z0-9_-]*, at most 32)" },
	{ "debuginfod_urls", CONFIG_DEBUGINFOD_URLS,
	  "space-separated http://, https:// or file:// URLs (at most 1024 characters)" },
	{ "debuginfod_timeout", CONFIG_DEBUGINFOD_TIMEOUT, "an integer from 1 to 3600" },
	{ "debuginfod_backoff", CONFIG_DEBUGINFOD_BACKOFF, "an integer from 1 to 86400" },
	{ "max_connections", CONFIG_MAX_CONNECTIONS, "an integer from 2 to 4096" },
	{ "max_connections_per_uid", CONFIG_MAX_CONNECTIONS_PER_UID, "an integer from 1 to 4096" },
	{ "root_reserved_connections", CONFIG_ROOT_RESERVED_CONNECTIONS,
	  "an integer from 0 to 4095" },
	{ "header_timeout_ms", CONFIG_HEADER_TIMEOUT_MS, "an integer from 100 to 60000" },
	{ "idle_timeout", CONFIG_IDLE_TIMEOUT, "an integer from 1 to 3600" },
	{ "unwind_table_size", CONFIG_UNWIND_TABLE_SIZE,
	  "0 or a size from 64K to 4G (suffix K, M or G)" },
	{ "continuous", CONFIG_CONTINUOUS, "yes or no" },
	{ "continuous_hz", CONFIG_CONTINUOUS_HZ, "an integer from 1 to 10000" },
	{ "window", CONFIG_WINDOW, "seconds from 1 to 3600" },
	{ "history_dir", CONFIG_HISTORY_DIR, "an absolute path (at most 1024 characters)" },
	{ "history_max_size", CONFIG_HISTORY_MAX_SIZE, "0 or a size of 1M or more (suffix K, M or G)" },
	{ "history_max_age", CONFIG_HISTORY_MAX_AGE,
	  "0 or a duration (seconds, or with suffix s, m, h or d)" },
};

/* Keys whose value is a plain number in a range, and where it goes. */
static const struct {
	enum config_key bit;
	unsigned long long min, max;
	size_t offset; /* of an unsigned int in struct config */
} number_keys[] = {
	{ CONFIG_MAX_CONNECTIONS, 2, CPROF_MAX_CONNECTIONS,
	  offsetof(struct config, max_connections) },
	{ CONFIG_MAX_CONNECTIONS_PER_UID, 1, CPROF_MAX_CONNECTIONS,
	  offsetof(struct config, max_connections_per_uid) },
	{ CONFIG_ROOT_RESERVED_CONNECTIONS, 0, CPROF_MAX_CONNECTIONS - 1,
	  offsetof(struct config, root_reserved_connections) },
	{ CONFIG_HEADER_TIMEOUT_MS, 100, 60000, offsetof(struct config, header_timeout_ms) },
	{ CONFIG_IDLE_TIMEOUT, 1, 3600, offsetof(struct config, idle_timeout_s) },
	{ CONFIG_CONTINUOUS_HZ, CPROF_MIN_HZ, CPROF_MAX_HZ, offsetof(struct config, continuous_hz) },
	{ CONFIG_WINDOW, 1, 3600, offsetof(struct config, window_s) },
};

static int set_value(struct config *c, enum config_key bit, const char *value)
{
	for (size_t i = 0; i < sizeof(number_keys) / sizeof(number_keys[0]); i++) {
		unsigned long long v;
		int err;

		if (number_keys[i].bit != bit)
			continue;
		err = parse_number(value, number_keys[i].min, number_keys[i].max, &v);
		if (!err)
			*(unsigned int *)((char *)c + number_keys[i].offset) = (unsigned int)v;
		return err;
	}
	switch (bit) {
	case CONFIG_HZ:
		return config__parse_hz(value, &c->hz);
	case CONFIG_RING_BUFFER_SIZE:
		return config__parse_ring_buffer_size(value, &c->ring_buffer_bytes);
	case CONFIG_STACK_TABLE_SIZE:
		return config__parse_stack_table_size(value, &c->stack_table_bytes);
	case CONFIG_MAX_PROCESSES:
		return config__parse_max_processes(value, &c->max_processes);
	case CONFIG_SYMBOL_CACHE_SIZE:
		return config__parse_symbol_cache_size(value, &c->symbol_cache_bytes);
	case CONFIG_UNWIND_TABLE_SIZE:
		return config__parse_unwind_table_size(value, &c->unwind_table_bytes);
	case CONFIG_DRAIN_INTERVAL_MS:
		return config__parse_drain_interval_ms(value, &c->drain_interval_ms);
	case CONFIG_CONTINUOUS:
		return config__parse_bool(value, &c->continuous);
	case CONFIG_HISTORY_DIR:
		return config__parse_path(value, c->history_dir, sizeof(c->history_dir));
	case CONFIG_HISTORY_MAX_SIZE:
		return config__parse_history_size(value, &c->history_max_bytes);
	case CONFIG_HISTORY_MAX_AGE:
		return config__parse_duration(value, &c->history_max_age_s);
	case CONFIG_SOCKET_GROUP:
		return config__parse_group_name(value, c->socket_group, sizeof(c->socket_group));
	case CONFIG_DEBUGINFOD_URLS:
		return config__parse_urls(value, c->debuginfod_urls, sizeof(c->debuginfod_urls));
	case CONFIG_DEBUGINFOD_TIMEOUT:
	case CONFIG_DEBUGINFOD_BACKOFF: {
		unsigned long long v;
		int err = parse_number(value, 1, bit == CONFIG_DEBUGINFOD_TIMEOUT ? 3600 : 86400,
				       &v);

		if (!err)
			*(bit == CONFIG_DEBUGINFOD_TIMEOUT ? &c->debuginfod_timeout_s
							   : &c->debuginfod_backoff_s) =
				(unsigned int)v;
		return err;
	}
	default: /* the number keys, above */
		return -EINVAL;
	}
}

static void set_error(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Strips blanks at both ends of [*start, *end). */
static void trim(char **start, char **end)
{
	while (*start < *end && is_blank(**start))
		(*start)++;
	while (*end > *start && is_blank((*end)[-1]))
		(*end)--;
}

/* Parses one line (NUL-terminated, no newline) into *c. */
static int parse_line(struct config *c, char *line, unsigned int number, char *err, size_t err_size)
{
	char *key = line, *key_end, *value, *value_end = line + strlen(line);
	const struct key *k = NULL;
	char *eq;
	int ret;

	if (value_end > line && value_end[-1] == '\r')
		value_end--;
	trim(&key, &value_end);
	if (key == value_end || *key == '#')
		return 0;
	eq = memchr(key, '=', value_end - key);
	if (!eq) {
		set_error(err, err_size, "line %u: expected 'key = value'", number);
		return -EINVAL;
	}
	key_end = eq;
	value = eq + 1;
	trim(&key, &key_end);
	trim(&value, &value_end);
	*key_end = '\0';
	*value_end = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].name, key) == 0) {
			k = &keys[i];
			break;
		}
	}
	if (!k) {
		set_error(err, err_size, "line %u: unknown key '%.*s'", number, MAX_KEY_LEN, key);
		return -EINVAL;
	}
	if (c->set & k->bit) {
		set_error(err, err_size, "line %u: %s given twice", number, k->name);
		return -EINVAL;
	}
	if (!*value) {
		set_error(err, err_size, "line %u: %s: no value", number, k->name);
		return -EINVAL;
	}
	ret = set_value(c, k->bit, value);
	if (ret) {
		set_error(err, err_size, "line %u: %s: '%.*s' is not %s", number, k->name,
			  MAX_KEY_LEN, value, k->expected);
		return -EINVAL;
	}
	c->set |= k->bit;
	return 0;
}

/*
 * The connection limits must fit in each other. Shares left at their
 * defaults shrink to fit a small max_connections; ones given must fit.
 */
static int check_connections(struct config *c, char *err, size_t err_size)
{
	if (!(c->set & CONFIG_MAX_CONNECTIONS_PER_UID) &&
	    c->max_connections_per_uid > c->max_connections)
		c->max_connections_per_uid = c->max_connections;
	if (!(c->set & CONFIG_ROOT_RESERVED_CONNECTIONS) &&
	    c->root_reserved_connections >= c->max_connections)
		c->root_reserved_connections = c->max_connections / 2;
	if (c->max_connections_per_uid > c->max_connections) {
		set_error(err, err_size,
			  "max_connections_per_uid (%u) is more than max_connections (%u)",
			  c->max_connections_per_uid, c->max_connections);
		return -EINVAL;
	}
	if (c->root_reserved_connections >= c->max_connections) {
		set_error(
			err, err_size,
			"root_reserved_connections (%u) leaves none of max_connections (%u) to others",
			c->root_reserved_connections, c->max_connections);
		return -EINVAL;
	}
	return 0;
}

int config__parse(struct config *c, const char *text, size_t size, char *err, size_t err_size)
{
	struct config next = *c;
	unsigned int number = 0;
	char *copy, *line, *end;
	int ret = 0;

	next.set = 0;
	if (size > CONFIG_MAX_BYTES) {
		set_error(err, err_size, "longer than %d bytes", CONFIG_MAX_BYTES);
		return -EINVAL;
	}
	if (memchr(text, '\0', size)) {
		set_error(err, err_size, "contains a NUL byte");
		return -EINVAL;
	}
	copy = malloc(size + 1);
	if (!copy) {
		set_error(err, err_size, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, text, size);
	copy[size] = '\0';
	for (line = copy; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		ret = parse_line(&next, line, ++number, err, err_size);
		if (ret || !end)
			break;
	}
	free(copy);
	if (ret)
		return ret;
	ret = check_connections(&next, err, err_size);
	if (ret)
		return ret;
	*c = next;
	return 0;
}

int config__load(struct config *c, const char *path, char *err, size_t err_size)
{
	char buf[CONFIG_MAX_BYTES + 1];
	size_t size = 0;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		set_error(err, err_size, "%s", strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		set_error(err, err_size, "%s", strerror(errno));
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		set_error(err, err_size, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	/* Read one byte past the limit so that an over-long file is seen as such. */
	while (size < sizeof(buf)) {
		ssize_t n = read(fd, buf + size, sizeof(buf) - size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			set_error(err, err_size, "%s", strerror(errno));
			close(fd);
			return ret;
		}
		if (n == 0)
			break;
		size += n;
	}
	close(fd);
	return config__parse(c, buf, size, err, err_size);
}

void config__override(struct config *c, const struct config *g)
{
#define OVERRIDE(bit, field)                                                                       \
	do {                                                                                       \
		if (g->set & (bit))                                                                \
			memcpy(&c->field, &g->field, sizeof(c->field));                            \
	} while (0)
	OVERRIDE(CONFIG_HZ, hz);
	OVERRIDE(CONFIG_RING_BUFFER_SIZE, ring_buffer_bytes);
	OVERRIDE(CONFIG_STACK_TABLE_SIZE, stack_table_bytes);
	OVERRIDE(CONFIG_MAX_PROCESSES, max_processes);
	OVERRIDE(CONFIG_DRAIN_INTERVAL_MS, drain_interval_ms);
	OVERRIDE(CONFIG_SOCKET_GROUP, socket_group);
	OVERRIDE(CONFIG_SYMBOL_CACHE_SIZE, symbol_cache_bytes);
	OVERRIDE(CONFIG_DEBUGINFOD_URLS, debuginfod_urls);
	OVERRIDE(CONFIG_DEBUGINFOD_TIMEOUT, debuginfod_timeout_s);
	OVERRIDE(CONFIG_DEBUGINFOD_BACKOFF, debuginfod_backoff_s);
	OVERRIDE(CONFIG_MAX_CONNECTIONS, max_connections);
	OVERRIDE(CONFIG_MAX_CONNECTIONS_PER_UID, max_connections_per_uid);
	OVERRIDE(CONFIG_ROOT_RESERVED_CONNECTIONS, root_reserved_connections);
	OVERRIDE(CONFIG_HEADER_TIMEOUT_MS, header_timeout_ms);
	OVERRIDE(CONFIG_IDLE_TIMEOUT, idle_timeout_s);
	OVERRIDE(CONFIG_UNWIND_TABLE_SIZE, unwind_table_bytes);
	OVERRIDE(CONFIG_CONTINUOUS, continuous);
	OVERRIDE(CONFIG_CONTINUOUS_HZ, continuous_hz);
	OVERRIDE(CONFIG_WINDOW, window_s);
	OVERRIDE(CONFIG_HISTORY_DIR, history_dir);
	OVERRIDE(CONFIG_HISTORY_MAX_SIZE, history_max_bytes);
	OVERRIDE(CONFIG_HISTORY_MAX_AGE, history_max_age_s);
#undef OVERRIDE
	c->set |= g->set;
}
