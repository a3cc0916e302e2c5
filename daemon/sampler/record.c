// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "record.h"

#include <stdint.h>

const struct cprof_sample_record *record__decode_sample(const void *data, size_t size)
{
	const struct cprof_sample_record *r = data;

	if (!data || ((uintptr_t)data & 7) || size < sizeof(*r))
		return NULL;
	if (r->header.type != CPROF_RECORD_SAMPLE || r->header.version != CPROF_RECORD_VERSION ||
	    r->header.size != size)
		return NULL;
	if (r->kernel_depth > CPROF_MAX_KERNEL_FRAMES || r->user_depth > CPROF_MAX_USER_FRAMES ||
	    size != sizeof(*r) + ((size_t)r->kernel_depth + r->user_depth) * sizeof(__u64))
		return NULL;
	if (r->leaf_stack_words > CPROF_LEAF_STACK_WORDS)
		return NULL;
	if (r->session_slot >= CPROF_COUNTER_SLOTS || r->reserved2)
		return NULL;
	return r;
}
