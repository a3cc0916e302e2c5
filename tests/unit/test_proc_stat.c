// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "procs/proc_stat.h"

/* Field 22 of a stat line whose command is comm; the fields in between are 0. */
static void make_line(char *buf, size_t size, const char *comm, const char *start)
{
	snprintf(buf, size,
		 "4242 (%s) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %s "
		 "12345678 400 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		 comm, start);
}

static void test_parse(void)
{
	static const struct {
		const char *comm, *start;
		uint64_t want;
	} good[] = {
		{ "cat", "123456", 123456 },
		{ "with space", "7", 7 },
		{ "a) (b) c", "99", 99 },    /* ')' inside the name: the last one counts */
		{ "", "0", 0 },
		{ ")", "18446744073709551606", 18446744073709551606ull },
	};
	char line[512];
	uint64_t ticks;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		make_line(line, sizeof(line), good[i].comm, good[i].start);
		ticks = 1;
		if (!ASSERT_OK(proc_stat__parse_start_ticks(line, strlen(line), &ticks)) ||
		    !ASSERT_TRUE(ticks == good[i].want))
			printf("#   line: %s", line);
	}
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
		"",
		"4242 cat S 1",             /* no parentheses */
		"4242 (cat)",               /* nothing after */
		"4242 (cat)S 1 2",          /* no space after ')' */
		"4242 (cat) S 1 2 3 4 5",   /* too few fields */
	};
	char line[512];
	uint64_t ticks = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(proc_stat__parse_start_ticks(bad[i], strlen(bad[i]), &ticks), -EINVAL);
	make_line(line, sizeof(line), "cat", "-5");
	ASSERT_EQ(proc_stat__parse_start_ticks(line, strlen(line), &ticks), -EINVAL);
	make_line(line, sizeof(line), "cat", "12x");
	ASSERT_EQ(proc_stat__parse_start_ticks(line, strlen(line), &ticks), -EINVAL);
	make_line(line, sizeof(line), "cat", "18446744073709551616"); /* 2^64 */
	ASSERT_EQ(proc_stat__parse_start_ticks(line, strlen(line), &ticks), -EINVAL);
	/* Cut in the middle of field 22: the digits read must not run past len. */
	make_line(line, sizeof(line), "cat", "123456");
	ASSERT_OK(proc_stat__parse_start_ticks(line, strstr(line, "123456") + 3 - line, &ticks));
	ASSERT_EQ(ticks, 123);
	ASSERT_EQ(ticks == 77, 0);
}

static void test_real(void)
{
	uint64_t mine, parent, again;

	ASSERT_OK(proc_stat__start_ticks(getpid(), &mine));
	ASSERT_OK(proc_stat__start_ticks(getppid(), &parent));
	/* A parent starts no later than its child; the value is stable. */
	ASSERT_TRUE(parent <= mine);
	ASSERT_OK(proc_stat__start_ticks(getpid(), &again));
	ASSERT_EQ(again, mine);
	ASSERT_EQ(proc_stat__start_ticks(0x7ffffff0, &again), -ESRCH);
}

int main(void)
{
	RUN_TEST(test_parse);
	RUN_TEST(test_parse_bad);
	RUN_TEST(test_real);
	return TEST_SUMMARY();
}
