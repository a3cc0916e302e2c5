// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of daemon/profiles/profile.c: a sample whose leaf is in no
 * mapping the process table knows goes under the PROFILE_UNMAPPED marker
 * and is counted; one whose leaf is this program's code is named and not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cprof_record.h"
#include "procs/process_table.h"
#include "profiles/profile.h"
#include "profiles/session.h"
#include "profiles/stack_table.h"
#include "symbols/symbolizer.h"
#include "test.h"

static __attribute__((noinline)) int named_leaf(void)
{
	return 42;
}

/* Adds count samples of this process with a one-frame user stack at ip. */
static void add(struct session *s, struct stack_table *stacks, struct process_table *processes,
		uint64_t ip, int count)
{
	size_t size = sizeof(struct cprof_sample_record) + sizeof(uint64_t);
	struct cprof_sample_record *r = aligned_alloc(8, (size + 7) & ~(size_t)7);

	if (!ASSERT_NOT_NULL(r))
		return;
	memset(r, 0, size);
	r->header.type = CPROF_RECORD_SAMPLE;
	r->header.version = CPROF_RECORD_VERSION;
	r->header.size = size;
	r->tgid = r->tid = getpid();
	r->user_depth = 1;
	r->ips[0] = ip;
	strcpy(r->comm, "test_profile");
	ASSERT_OK(session__hold_process(s, processes, getpid()));
	for (int i = 0; i < count; i++)
		ASSERT_OK(session__add_sample(s, stacks, processes, r));
	free(r);
}

/* Whether the gzipped profile holds text among its strings. */
static bool profile_has(const void *data, size_t size, const char *text)
{
	size_t room = 16 << 20;
	unsigned char *out = malloc(room);
	z_stream z = { .next_in = (unsigned char *)data, .avail_in = size };
	bool found = false;

	if (!out || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(out);
		return false;
	}
	z.next_out = out;
	z.avail_out = room;
	if (inflate(&z, Z_FINISH) == Z_STREAM_END)
		found = memmem(out, z.total_out, text, strlen(text)) != NULL;
	inflateEnd(&z);
	free(out);
	return found;
}

static void test_unmapped_leaf(void)
{
	struct stack_table *stacks = stack_table__new(1 << 20);
	struct process_table *processes = process_table__new(16);
	struct symbolizer *symbols = symbolizer__new(NULL);
	struct session *s = session__new(getpid(), 0, 99);
	uint64_t unmapped = 1234;
	void *data = NULL;
	size_t size = 0;

	if (!ASSERT_NOT_NULL(stacks) || !ASSERT_NOT_NULL(processes) || !ASSERT_NOT_NULL(symbols) ||
	    !ASSERT_NOT_NULL(s))
		goto out;
	named_leaf();
	add(s, stacks, processes, (uint64_t)(uintptr_t)&named_leaf + 1, 3);
	/* No process maps the first page. */
	add(s, stacks, processes, 0x1000, 2);
	if (!ASSERT_OK(profile__build(s, stacks, processes, symbols, &data, &size, &unmapped)))
		goto out;
	ASSERT_EQ(unmapped, 2);
	ASSERT_TRUE(profile_has(data, size, PROFILE_UNMAPPED));
	ASSERT_TRUE(profile_has(data, size, "named_leaf"));
	free(data);
	data = NULL;

	/* Without such a sample, no marker and nothing counted. */
	session__free(s, stacks, processes);
	s = session__new(getpid(), 0, 99);
	if (!ASSERT_NOT_NULL(s))
		goto out;
	add(s, stacks, processes, (uint64_t)(uintptr_t)&named_leaf + 1, 1);
	if (!ASSERT_OK(profile__build(s, stacks, processes, symbols, &data, &size, &unmapped)))
		goto out;
	ASSERT_EQ(unmapped, 0);
	ASSERT_FALSE(profile_has(data, size, PROFILE_UNMAPPED));
out:
	free(data);
	session__free(s, stacks, processes);
	symbolizer__free(symbols);
	process_table__free(processes);
	stack_table__free(stacks);
}

int main(void)
{
	RUN_TEST(test_unmapped_leaf);
	return TEST_SUMMARY();
}
