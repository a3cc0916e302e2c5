// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the ring-buffer record decoder (daemon/sampler/record.c). The input is
 * copied to a buffer of exactly its size, 8-byte aligned as the ring buffer
 * hands records out, so that ASan catches any read past it; an accepted
 * record has every field and every address of its stack read.
 */
#include <linux/types.h>

#include "fuzz.h"
#include "sampler/record.h"

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cprof_sample_record *r;
	uint64_t sum = 0;
	void *copy;

	/* malloc() aligns to 16; ASan poisons whatever follows size. */
	copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy && ((uintptr_t)copy & 7) == 0);
	memcpy(copy, data, size);

	r = record__decode_sample(copy, size);
	if (r) {
		size_t depth = (size_t)r->kernel_depth + r->user_depth;

		FUZZ_CHECK((const void *)r == copy);
		FUZZ_CHECK(r->header.type == CPROF_RECORD_SAMPLE);
		FUZZ_CHECK(r->header.size == size);
		FUZZ_CHECK(r->session_slot < CPROF_COUNTER_SLOTS);
		FUZZ_CHECK(r->kernel_depth <= CPROF_MAX_KERNEL_FRAMES);
		FUZZ_CHECK(r->user_depth <= CPROF_MAX_USER_FRAMES);
		FUZZ_CHECK(r->leaf_stack_words <= CPROF_LEAF_STACK_WORDS);
		sum = r->tgid + r->tid + r->cpu + r->time_ns + r->flags;
		sum += strnlen(r->comm, sizeof(r->comm));
		for (size_t i = 0; i < r->leaf_stack_words; i++)
			sum += r->leaf_stack[i];
		for (size_t i = 0; i < depth; i++)
			sum += r->ips[i];
	}
	/* A misaligned copy of an accepted record is refused. */
	if (r) {
		uint8_t *shifted = malloc(size + 1);

		FUZZ_CHECK(shifted);
		memcpy(shifted + 1, data, size);
		FUZZ_CHECK(record__decode_sample(shifted + 1, size) == NULL);
		free(shifted);
	}
	FUZZ_CHECK(record__decode_sample(NULL, size) == NULL);
	sink = sum;
	free(copy);
	return 0;
}
