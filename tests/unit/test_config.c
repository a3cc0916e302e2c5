/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of daemon/config.c: defaults, every key, comments and blanks,
 * and the strictness that keeps a bad file from being applied in part.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "cprof_protocol.h"
#include "test.h"

static int parse(struct config *c, const char *text, char *err, size_t err_size)
{
	return config__parse(c, text, strlen(text), err, err_size);
}

static void test_defaults(void)
{
	struct config c;

	config__init(&c);
	ASSERT_EQ(c.hz, CPROF_DEFAULT_HZ);
	ASSERT_EQ(c.ring_buffer_bytes, 4 << 20);
	ASSERT_EQ(c.stack_table_bytes, 256 << 20);
	ASSERT_EQ(c.max_processes, 65536);
	ASSERT_TRUE(c.symbol_cache_bytes == 1ull << 30);
	ASSERT_EQ(c.drain_interval_ms, 100);
	ASSERT_STREQ(c.socket_group, "");
	ASSERT_STREQ(c.debuginfod_urls, "");
	ASSERT_EQ(c.debuginfod_timeout_s, 30);
	ASSERT_EQ(c.debuginfod_backoff_s, 60);
	ASSERT_EQ(c.set, 0);
}

static void test_every_key(void)
{
	const char *text = "# cprofd.conf\n"
			   "\n"
			   "hz = 49\n"
			   "ring_buffer_size=8M\n"
			   "\tstack_table_size =  1G  \n"
			   "max_processes = 1000\r\n"
			   "symbol_cache_size = 64M\n"
			   "drain_interval_ms = 250\n"
			   "   # indented comment\n"
			   "socket_group = cprof";
	char err[256] = "";
	struct config c;

	config__init(&c);
	if (!ASSERT_OK(parse(&c, text, err, sizeof(err))))
		printf("#   %s\n", err);
	ASSERT_EQ(c.hz, 49);
	ASSERT_EQ(c.ring_buffer_bytes, 8 << 20);
	ASSERT_EQ(c.stack_table_bytes, 1ull << 30);
	ASSERT_EQ(c.max_processes, 1000);
	ASSERT_EQ(c.symbol_cache_bytes, 64 << 20);
	ASSERT_EQ(c.drain_interval_ms, 250);
	ASSERT_STREQ(c.socket_group, "cprof");
	ASSERT_EQ(c.set, CONFIG_HZ | CONFIG_RING_BUFFER_SIZE | CONFIG_STACK_TABLE_SIZE |
				 CONFIG_MAX_PROCESSES | CONFIG_DRAIN_INTERVAL_MS |
				 CONFIG_SOCKET_GROUP | CONFIG_SYMBOL_CACHE_SIZE);
}

static void test_debuginfod_keys(void)
{
	const char *text = "debuginfod_urls = https://debuginfod.debian.net  http://127.0.0.1:8002\n"
			   "debuginfod_timeout = 5\n"
			   "debuginfod_backoff = 3600\n";
	char err[256] = "", long_urls[CONFIG_URLS_MAX + 32];
	struct config c;

	config__init(&c);
	if (!ASSERT_OK(parse(&c, text, err, sizeof(err))))
		printf("#   %s\n", err);
	ASSERT_STREQ(c.debuginfod_urls, "https://debuginfod.debian.net  http://127.0.0.1:8002");
	ASSERT_EQ(c.debuginfod_timeout_s, 5);
	ASSERT_EQ(c.debuginfod_backoff_s, 3600);
	ASSERT_EQ(c.set,
		  CONFIG_DEBUGINFOD_URLS | CONFIG_DEBUGINFOD_TIMEOUT | CONFIG_DEBUGINFOD_BACKOFF);
	/* Past CONFIG_URLS_MAX: refused, not cut. */
	config__init(&c);
	snprintf(long_urls, sizeof(long_urls), "debuginfod_urls = http://%0*d\n",
		 CONFIG_URLS_MAX, 0);
	ASSERT_EQ(parse(&c, long_urls, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(c.debuginfod_urls, "");
}

static void test_connection_keys(void)
{
	const char *text = "max_connections = 640\n"
			   "max_connections_per_uid = 80\n"
			   "root_reserved_connections = 80\n"
			   "header_timeout_ms = 500\n"
			   "idle_timeout = 30\n";
	char err[256] = "";
	struct config c;

	config__init(&c);
	ASSERT_EQ(c.max_connections, 64);
	ASSERT_EQ(c.max_connections_per_uid, 8);
	ASSERT_EQ(c.root_reserved_connections, 8);
	ASSERT_EQ(c.header_timeout_ms, 2000);
	ASSERT_EQ(c.idle_timeout_s, 10);
	if (!ASSERT_OK(parse(&c, text, err, sizeof(err))))
		printf("#   %s\n", err);
	ASSERT_EQ(c.max_connections, 640);
	ASSERT_EQ(c.max_connections_per_uid, 80);
	ASSERT_EQ(c.root_reserved_connections, 80);
	ASSERT_EQ(c.header_timeout_ms, 500);
	ASSERT_EQ(c.idle_timeout_s, 30);

	/* Shares left at their defaults shrink to fit a small total. */
	config__init(&c);
	ASSERT_OK(parse(&c, "max_connections = 4\n", err, sizeof(err)));
	ASSERT_EQ(c.max_connections_per_uid, 4);
	ASSERT_EQ(c.root_reserved_connections, 2);
	/* Shares given must fit. */
	config__init(&c);
	ASSERT_EQ(parse(&c, "max_connections = 4\nmax_connections_per_uid = 5\n", err, sizeof(err)),
		  -EINVAL);
	ASSERT_STREQ(err, "max_connections_per_uid (5) is more than max_connections (4)");
	ASSERT_EQ(c.max_connections, 64);
	ASSERT_EQ(
		parse(&c, "max_connections = 4\nroot_reserved_connections = 4\n", err, sizeof(err)),
		-EINVAL);
	ASSERT_STREQ(err, "root_reserved_connections (4) leaves none of max_connections (4) to "
			  "others");
}

static void test_continuous_keys(void)
{
	const char *text = "continuous = yes\n"
			   "continuous_hz = 29\n"
			   "window = 60\n"
			   "history_dir = /srv/cprofd history\n"
			   "history_max_size = 2G\n"
			   "history_max_age = 7d\n";
	static const char *const bad[] = {
		"continuous = maybe", "continuous_hz = 0", "window = 0", "window = 3601",
		"history_dir = relative/path", "history_max_size = 512K", "history_max_age = 1w",
		"history_max_age = -1h", "history_max_age = 3651d",
	};
	char err[256] = "";
	struct config c, d;

	config__init(&c);
	ASSERT_FALSE(c.continuous);
	ASSERT_EQ(c.continuous_hz, 19);
	ASSERT_EQ(c.window_s, 10);
	ASSERT_TRUE(c.history_max_bytes == 256u << 20);
	ASSERT_EQ(c.history_max_age_s, 24 * 3600);
	if (!ASSERT_OK(parse(&c, text, err, sizeof(err))))
		printf("#   %s\n", err);
	ASSERT_TRUE(c.continuous);
	ASSERT_EQ(c.continuous_hz, 29);
	ASSERT_EQ(c.window_s, 60);
	ASSERT_STREQ(c.history_dir, "/srv/cprofd history");
	ASSERT_TRUE(c.history_max_bytes == 2ull << 30);
	ASSERT_EQ(c.history_max_age_s, 7 * 86400);
	ASSERT_OK(parse(&c, "history_max_age = 90\nhistory_max_size = 0\ncontinuous = no\n", err,
			sizeof(err)));
	ASSERT_EQ(c.history_max_age_s, 90);
	ASSERT_EQ(c.history_max_bytes, 0);
	ASSERT_FALSE(c.continuous);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config__init(&d);
		if (!ASSERT_EQ(parse(&d, bad[i], err, sizeof(err)), -EINVAL))
			printf("#   accepted: %s\n", bad[i]);
	}
	/* The command line's values go over the file's, and only those. */
	config__init(&d);
	ASSERT_OK(parse(&d, "window = 2\n", err, sizeof(err)));
	config__override(&c, &d);
	ASSERT_EQ(c.window_s, 2);
	ASSERT_EQ(c.continuous_hz, 29);
	ASSERT_TRUE(c.set & CONFIG_WINDOW);
}

static void test_empty_file_keeps_values(void)
{
	char err[256];
	struct config c;

	config__init(&c);
	c.hz = 7;
	ASSERT_OK(parse(&c, "", err, sizeof(err)));
	ASSERT_OK(parse(&c, "\n# only comments\n\n", err, sizeof(err)));
	ASSERT_EQ(c.hz, 7);
	ASSERT_EQ(c.set, 0);
}

/* Every bad file is refused with the expected message, and *c stays as it was. */
static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{ "hz = 99\nhz2 = 5\n", "line 2: unknown key 'hz2'" },
		{ "hz 99\n", "line 1: expected 'key = value'" },
		{ "hz = 99\nhz = 50\n", "line 2: hz given twice" },
		{ "hz =\n", "line 1: hz: no value" },
		{ "hz = 0\n", "line 1: hz: '0' is not an integer from 1 to 10000" },
		{ "hz = 10001\n", "line 1: hz: '10001' is not an integer from 1 to 10000" },
		{ "hz = 99 # comment\n",
		  "line 1: hz: '99 # comment' is not an integer from 1 to 10000" },
		{ "hz = -5\n", "line 1: hz: '-5' is not an integer from 1 to 10000" },
		{ "hz = 99K\n", "line 1: hz: '99K' is not an integer from 1 to 10000" },
		{ "hz = 99999999999999999999999\n",
		  "line 1: hz: '99999999999999999999999' is not an integer from 1 to 10000" },
		{ "ring_buffer_size = 3M\n",
		  "line 1: ring_buffer_size: '3M' is not a power of two from 4K to 1G (suffix K, M or G)" },
		{ "ring_buffer_size = 2048\n",
		  "line 1: ring_buffer_size: '2048' is not a power of two from 4K to 1G (suffix K, M or G)" },
		{ "ring_buffer_size = 4T\n",
		  "line 1: ring_buffer_size: '4T' is not a power of two from 4K to 1G (suffix K, M or G)" },
		{ "stack_table_size = 1K\n",
		  "line 1: stack_table_size: '1K' is not a size from 64K to 1024G (suffix K, M or G)" },
		{ "stack_table_size = 99999999999G\n",
		  "line 1: stack_table_size: '99999999999G' is "
		  "not a size from 64K to 1024G (suffix K, M or G)" },
		{ "symbol_cache_size = 512K\n",
		  "line 1: symbol_cache_size: '512K' is not a size from 1M to 1024G (suffix K, M or G)" },
		{ "max_processes = 0\n",
		  "line 1: max_processes: '0' is not an integer from 1 to 4194304" },
		{ "drain_interval_ms = 10001\n",
		  "line 1: drain_interval_ms: '10001' is not an integer from 1 to 10000" },
		{ "socket_group = Cprof\n", "line 1: socket_group: 'Cprof' is not a group name "
					    "([a-z_][a-z0-9_-]*, at most 32)" },
		{ "socket_group = a b\n", "line 1: socket_group: 'a b' is not a group name "
					  "([a-z_][a-z0-9_-]*, at most 32)" },
		{ "socket_group = abcdefghijabcdefghijabcdefghijabc\n",
		  "line 1: socket_group: 'abcdefghijabcdefghijabcdefghijabc' is not a group name "
		  "([a-z_][a-z0-9_-]*, at most 32)" },
		{ "debuginfod_urls = ftp://example.org\n",
		  "line 1: debuginfod_urls: 'ftp://example.org' is not space-separated http://, "
		  "https:// or file:// URLs (at most 1024 characters)" },
		{ "debuginfod_urls = http://a\thttp://b\n",
		  "line 1: debuginfod_urls: 'http://a\thttp://b' is not space-separated http://, "
		  "https:// or file:// URLs (at most 1024 characters)" },
		{ "debuginfod_timeout = 0\n",
		  "line 1: debuginfod_timeout: '0' is not an integer from 1 to 3600" },
		{ "debuginfod_backoff = 86401\n",
		  "line 1: debuginfod_backoff: '86401' is not an integer from 1 to 86400" },
		{ "max_connections = 1\n",
		  "line 1: max_connections: '1' is not an integer from 2 to 4096" },
		{ "max_connections = 4097\n",
		  "line 1: max_connections: '4097' is not an integer from 2 to 4096" },
		{ "max_connections_per_uid = 0\n",
		  "line 1: max_connections_per_uid: '0' is not an integer from 1 to 4096" },
		{ "root_reserved_connections = 4096\n",
		  "line 1: root_reserved_connections: '4096' is not an integer from 0 to 4095" },
		{ "header_timeout_ms = 99\n",
		  "line 1: header_timeout_ms: '99' is not an integer from 100 to 60000" },
		{ "idle_timeout = 0\n",
		  "line 1: idle_timeout: '0' is not an integer from 1 to 3600" },
		{ "[cprofd]\n", "line 1: expected 'key = value'" },
		{ "= 5\n", "line 1: unknown key ''" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c, before;

		config__init(&c);
		before = c;
		err[0] = '\0';
		ASSERT_EQ(parse(&c, cases[i].text, err, sizeof(err)), -EINVAL);
		ASSERT_STREQ(err, cases[i].message);
		ASSERT_TRUE(memcmp(&c, &before, sizeof(c)) == 0);
	}
}

/* A good line before a bad one is not applied either. */
static void test_bad_file_applies_nothing(void)
{
	char err[256];
	struct config c;

	config__init(&c);
	ASSERT_EQ(parse(&c, "hz = 50\nring_buffer_size = 5\n", err, sizeof(err)), -EINVAL);
	ASSERT_EQ(c.hz, CPROF_DEFAULT_HZ);
	ASSERT_EQ(c.set, 0);
}

static void test_nul_and_size_limits(void)
{
	static char big[CONFIG_MAX_BYTES + 2];
	char err[256];
	struct config c;

	config__init(&c);
	ASSERT_EQ(config__parse(&c, "hz = 5\0\n", 8, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "contains a NUL byte");
	memset(big, '\n', sizeof(big) - 1);
	ASSERT_EQ(config__parse(&c, big, sizeof(big) - 1, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "longer than 65536 bytes");
	ASSERT_OK(config__parse(&c, big, CONFIG_MAX_BYTES, err, sizeof(err)));
	/* No error buffer at all is fine. */
	ASSERT_EQ(config__parse(&c, "x", 1, NULL, 0), -EINVAL);
}

static void test_sizes(void)
{
	size_t v;

	ASSERT_OK(config__parse_size("0", &v));
	ASSERT_EQ(v, 0);
	ASSERT_OK(config__parse_size("3K", &v));
	ASSERT_EQ(v, 3072);
	ASSERT_OK(config__parse_size("2G", &v));
	ASSERT_EQ(v, 2ull << 30);
	ASSERT_EQ(config__parse_size("", &v), -EINVAL);
	ASSERT_EQ(config__parse_size("K", &v), -EINVAL);
	ASSERT_EQ(config__parse_size("1k", &v), -EINVAL);
	ASSERT_EQ(config__parse_size("1KB", &v), -EINVAL);
	ASSERT_EQ(config__parse_size(" 1", &v), -EINVAL);
	ASSERT_EQ(config__parse_size("+1", &v), -EINVAL);
	ASSERT_EQ(config__parse_size("17179869184G", &v), -ERANGE);
}

static void test_load(void)
{
	char path[] = "/tmp/cprof-test-config.XXXXXX";
	char err[256];
	struct config c;
	int fd;

	config__init(&c);
	ASSERT_EQ(config__load(&c, "/nonexistent/cprofd.conf", err, sizeof(err)), -ENOENT);
	ASSERT_EQ(config__load(&c, "/tmp", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "not a regular file");
	fd = mkstemp(path);
	if (!ASSERT_TRUE(fd >= 0))
		return;
	ASSERT_EQ(write(fd, "hz = 333\n", 9), 9);
	close(fd);
	ASSERT_OK(config__load(&c, path, err, sizeof(err)));
	ASSERT_EQ(c.hz, 333);
	ASSERT_EQ(c.set, CONFIG_HZ);
	unlink(path);
}

int main(void)
{
	RUN_TEST(test_defaults);
	RUN_TEST(test_every_key);
	RUN_TEST(test_debuginfod_keys);
	RUN_TEST(test_connection_keys);
	RUN_TEST(test_continuous_keys);
	RUN_TEST(test_empty_file_keeps_values);
	RUN_TEST(test_errors);
	RUN_TEST(test_bad_file_applies_nothing);
	RUN_TEST(test_nul_and_size_limits);
	RUN_TEST(test_sizes);
	RUN_TEST(test_load);
	return TEST_SUMMARY();
}
