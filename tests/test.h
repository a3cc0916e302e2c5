/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small test harness. A test file defines test functions and a main that
 * runs them with RUN_TEST(); each prints one line:
 *
 *   ok - name
 *   not ok - name            (after the failed assertions, with file:line)
 *   skip - name: why
 *
 * and TEST_SUMMARY() prints "N passed, N failed[, N skipped]" and gives the
 * exit status. Under CI=true a skip counts as a failure: CI has root and
 * every tool, so nothing there has a reason to skip.
 */
#ifndef CPROF_TEST_H
#define CPROF_TEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test__passed, test__failed, test__skipped;
static bool test__current_failed, test__current_skipped;
static char test__skip_reason[256];

#define TEST_FAIL_AT(fmt, ...)                                                                    \
	do {                                                                                      \
		test__current_failed = true;                                                      \
		fprintf(stdout, "#   %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__);          \
	} while (0)

#define ASSERT_TRUE(cond)                                                                         \
	({                                                                                        \
		bool test__ok = (cond);                                                           \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("expected true: %s", #cond);                                 \
		test__ok;                                                                         \
	})

#define ASSERT_FALSE(cond) ASSERT_TRUE(!(cond))

#define ASSERT_EQ(a, b)                                                                           \
	({                                                                                        \
		long long test__a = (long long)(a), test__b = (long long)(b);                     \
		bool test__ok = test__a == test__b;                                               \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("%s == %s: %lld != %lld", #a, #b, test__a, test__b);         \
		test__ok;                                                                         \
	})

#define ASSERT_NE(a, b)                                                                           \
	({                                                                                        \
		long long test__a = (long long)(a), test__b = (long long)(b);                     \
		bool test__ok = test__a != test__b;                                               \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("%s != %s: both %lld", #a, #b, test__a);                     \
		test__ok;                                                                         \
	})

#define ASSERT_GE(a, b)                                                                           \
	({                                                                                        \
		long long test__a = (long long)(a), test__b = (long long)(b);                     \
		bool test__ok = test__a >= test__b;                                               \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("%s >= %s: %lld < %lld", #a, #b, test__a, test__b);          \
		test__ok;                                                                         \
	})

#define ASSERT_STREQ(a, b)                                                                        \
	({                                                                                        \
		const char *test__a = (a), *test__b = (b);                                        \
		bool test__ok = test__a && test__b && strcmp(test__a, test__b) == 0;              \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b,                        \
				     test__a ? test__a : "(null)", test__b ? test__b : "(null)");  \
		test__ok;                                                                         \
	})

#define ASSERT_OK(err)                                                                            \
	({                                                                                        \
		long long test__e = (long long)(err);                                             \
		bool test__ok = test__e == 0;                                                     \
		if (!test__ok)                                                                    \
			TEST_FAIL_AT("%s: error %lld (%s)", #err, test__e,                        \
				     test__e < 0 ? strerror((int)-test__e) : "positive");          \
		test__ok;                                                                         \
	})

#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)

/* Ends the current test as skipped; say why. */
#define TEST_SKIP(fmt, ...)                                                                       \
	do {                                                                                      \
		test__current_skipped = true;                                                     \
		snprintf(test__skip_reason, sizeof(test__skip_reason), fmt, ##__VA_ARGS__);       \
		return;                                                                           \
	} while (0)

static inline void test__run(const char *name, void (*fn)(void))
{
	test__current_failed = false;
	test__current_skipped = false;
	fn();
	fflush(stderr);
	if (test__current_failed) {
		test__failed++;
		printf("not ok - %s\n", name);
	} else if (test__current_skipped) {
		const char *ci = getenv("CI");
		if (ci && strcmp(ci, "true") == 0) {
			test__failed++;
			printf("not ok - %s: skipped under CI: %s\n", name, test__skip_reason);
		} else {
			test__skipped++;
			printf("skip - %s: %s\n", name, test__skip_reason);
		}
	} else {
		test__passed++;
		printf("ok - %s\n", name);
	}
	fflush(stdout);
}

#define RUN_TEST(fn) test__run(#fn, fn)

#define TEST_SUMMARY()                                                                            \
	({                                                                                        \
		if (test__skipped)                                                                \
			printf("%d passed, %d failed, %d skipped\n", test__passed, test__failed,  \
			       test__skipped);                                                    \
		else                                                                              \
			printf("%d passed, %d failed\n", test__passed, test__failed);             \
		test__failed ? 1 : 0;                                                             \
	})

#endif /* CPROF_TEST_H */
