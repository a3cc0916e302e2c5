// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "test.h"
#include "util/array.h"

static void test_growth(void)
{
	size_t capacity = 0, count = 0;
	uint32_t *items = NULL;
	void *grown;

	/* Doubling from the initial size, keeping what was stored. */
	for (uint32_t i = 0; i < 1000; i++) {
		if (!ASSERT_OK(array__reserve(items, sizeof(*items), &capacity, count, 1, 4, SIZE_MAX,
					      &grown)))
			break;
		items = grown;
		items[count++] = i;
	}
	ASSERT_EQ(capacity, 1024);
	for (uint32_t i = 0; i < count; i++)
		if (items[i] != i) {
			TEST_FAIL_AT("item %u is %u", i, items[i]);
			break;
		}
	/* Room already there: nothing moves. */
	ASSERT_OK(array__reserve(items, sizeof(*items), &capacity, count, 24, 4, SIZE_MAX, &grown));
	ASSERT_TRUE(grown == items);
	ASSERT_EQ(capacity, 1024);
	/* Several at once grows as far as needed. */
	ASSERT_OK(array__reserve(items, sizeof(*items), &capacity, count, 5000, 4, SIZE_MAX, &grown));
	items = grown;
	ASSERT_EQ(capacity, 8192);
	free(items);
}

static void test_bounds(void)
{
	size_t capacity = 0;
	char *items = NULL;
	void *grown;

	/* Growth stops at the bound, and past it is -E2BIG with the array untouched. */
	ASSERT_OK(array__reserve(items, 1, &capacity, 0, 100, 64, 100, &grown));
	items = grown;
	ASSERT_EQ(capacity, 100);
	ASSERT_EQ(array__reserve(items, 1, &capacity, 100, 1, 64, 100, &grown), -E2BIG);
	ASSERT_EQ(capacity, 100);
	ASSERT_EQ(array__reserve(items, 1, &capacity, 50, SIZE_MAX, 64, SIZE_MAX, &grown), -E2BIG);
	/* An item size that overflows the byte count is refused, not wrapped. */
	capacity = 0;
	ASSERT_EQ(array__reserve(NULL, SIZE_MAX / 2, &capacity, 0, 4, 4, SIZE_MAX, &grown), -ENOMEM);
	ASSERT_EQ(capacity, 0);
	free(items);
}

int main(void)
{
	RUN_TEST(test_growth);
	RUN_TEST(test_bounds);
	return TEST_SUMMARY();
}
