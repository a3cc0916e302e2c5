// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of daemon/server/admission.c: a uid's share, the share of all
 * but root, root's reserve, unknown peers as one uid, release, reloads.
 */
#include <errno.h>
#include <stdint.h>

#include "server/admission.h"
#include "test.h"

static const struct admission_limits limits = {
	.max_connections = 10,
	.max_per_uid = 3,
	.root_reserved = 4,
};

static void test_shares(void)
{
	struct admission *a = admission__new(&limits);
	struct admission_stats st;

	if (!ASSERT_NOT_NULL(a))
		return;
	/* One uid: its share, then refused by name. */
	for (int i = 0; i < 3; i++)
		ASSERT_OK(admission__admit(a, 1000, true));
	ASSERT_EQ(admission__admit(a, 1000, true), -EUSERS);
	/* Others fill the share of all but root: 6 of 10. */
	ASSERT_OK(admission__admit(a, 1001, true));
	ASSERT_OK(admission__admit(a, 1001, true));
	ASSERT_OK(admission__admit(a, 1002, true));
	ASSERT_EQ(admission__admit(a, 1003, true), -EMFILE);
	/* Root still has its reserve, and no more than the whole. */
	for (int i = 0; i < 4; i++) {
		ASSERT_FALSE(admission__full(a));
		ASSERT_OK(admission__admit(a, 0, true));
	}
	ASSERT_TRUE(admission__full(a));
	ASSERT_EQ(admission__admit(a, 0, true), -EMFILE);
	admission__stats(a, &st);
	ASSERT_EQ(st.open, 10);
	ASSERT_EQ(st.open_root, 4);
	ASSERT_EQ(st.uids, 4);
	ASSERT_EQ(st.admitted, 10);
	ASSERT_EQ(st.events[ADMISSION_REFUSED_PER_UID], 1);
	ASSERT_EQ(st.events[ADMISSION_REFUSED_FULL], 2);

	/* A release makes room for that uid again, and for the others. */
	admission__release(a, 1000, true);
	ASSERT_OK(admission__admit(a, 1003, true));
	ASSERT_EQ(admission__admit(a, 1000, true), -EMFILE);
	admission__release(a, 1003, true);
	ASSERT_OK(admission__admit(a, 1000, true));
	admission__stats(a, &st);
	ASSERT_EQ(st.open, 10);
	ASSERT_EQ(st.uids, 4);
	admission__free(a);
}

/* Root may use the others' share too when they leave it free. */
static void test_root_uses_everything(void)
{
	struct admission *a = admission__new(&limits);
	struct admission_stats st;

	if (!ASSERT_NOT_NULL(a))
		return;
	for (int i = 0; i < 10; i++)
		ASSERT_OK(admission__admit(a, 0, true));
	ASSERT_EQ(admission__admit(a, 0, true), -EMFILE);
	ASSERT_EQ(admission__admit(a, 1000, true), -EMFILE);
	for (int i = 0; i < 10; i++)
		admission__release(a, 0, true);
	admission__stats(a, &st);
	ASSERT_EQ(st.open, 0);
	ASSERT_EQ(st.open_root, 0);
	ASSERT_EQ(st.uids, 0);
	admission__free(a);
}

/* Peers without a uid are one peer, and never root. */
static void test_unknown_peers(void)
{
	struct admission *a = admission__new(&limits);
	struct admission_stats st;

	if (!ASSERT_NOT_NULL(a))
		return;
	for (int i = 0; i < 3; i++)
		ASSERT_OK(admission__admit(a, 0, false));
	ASSERT_EQ(admission__admit(a, 0, false), -EUSERS);
	admission__stats(a, &st);
	ASSERT_EQ(st.open_root, 0);
	/* A stray release changes nothing. */
	admission__release(a, 4242, true);
	admission__stats(a, &st);
	ASSERT_EQ(st.open, 3);
	admission__free(a);
}

static void test_limits(void)
{
	struct admission_limits bad = limits, lower = limits, got;
	struct admission *a;

	bad.root_reserved = bad.max_connections;
	ASSERT_TRUE(admission__new(&bad) == NULL);
	bad = limits;
	bad.max_per_uid = 0;
	ASSERT_TRUE(admission__new(&bad) == NULL);
	bad = limits;
	bad.max_per_uid = bad.max_connections + 1;
	ASSERT_TRUE(admission__new(&bad) == NULL);

	a = admission__new(&limits);
	if (!ASSERT_NOT_NULL(a))
		return;
	ASSERT_EQ(admission__set_limits(a, &bad), -EINVAL);
	admission__limits(a, &got);
	ASSERT_EQ(got.max_per_uid, limits.max_per_uid);
	/* Lowered below what is held: those stay, new ones wait. */
	for (int i = 0; i < 3; i++)
		ASSERT_OK(admission__admit(a, 1000, true));
	lower.max_per_uid = 1;
	ASSERT_OK(admission__set_limits(a, &lower));
	ASSERT_EQ(admission__admit(a, 1000, true), -EUSERS);
	admission__release(a, 1000, true);
	admission__release(a, 1000, true);
	ASSERT_EQ(admission__admit(a, 1000, true), -EUSERS);
	admission__release(a, 1000, true);
	ASSERT_OK(admission__admit(a, 1000, true));
	ASSERT_STREQ(admission__event_name(ADMISSION_CLOSED_HEADER_DEADLINE),
		     "closed_header_deadline");
	admission__count(a, ADMISSION_CLOSED_IDLE);
	admission__count(a, ADMISSION_N_EVENTS); /* out of range: ignored */
	{
		struct admission_stats st;

		admission__stats(a, &st);
		ASSERT_EQ(st.events[ADMISSION_CLOSED_IDLE], 1);
	}
	admission__free(a);
	admission__free(NULL);
}

int main(void)
{
	RUN_TEST(test_shares);
	RUN_TEST(test_root_uses_everything);
	RUN_TEST(test_unknown_peers);
	RUN_TEST(test_limits);
	return TEST_SUMMARY();
}
