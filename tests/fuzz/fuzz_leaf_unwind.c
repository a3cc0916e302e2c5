// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the unwind-rule lookup of leaf-caller recovery (daemon/sampler/leaf_unwind.c):
 * the input is an ELF file, as a target process may map any, read from
 * memory by libelf; its .eh_frame or .debug_frame is asked for the rule at
 * every few bytes of the file taken as a file offset and at a few extreme
 * offsets. A rule found must be one the daemon can use: within the bound.
 * Seeds (corpus/leaf_unwind/) come from make-elf-seeds.sh.
 */
#include <gelf.h>

#include "fuzz.h"
#include "sampler/leaf_unwind.h"

#define SWEEP_STEP 4
#define MAX_SWEEP_BYTES (64u << 10)

static void rule(Elf *elf, uint64_t offset)
{
	uint32_t sp_offset = UINT32_MAX;
	int err = leaf_unwind__elf_rule(elf, offset, &sp_offset);

	FUZZ_CHECK(err == 0 || err == -ENOENT || err == -ENODATA || err == -EINVAL);
	if (err == 0)
		FUZZ_CHECK(sp_offset <= (1u << 20));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t extremes[] = { UINT64_MAX, UINT64_MAX - 1, 1ull << 63 };
	char *copy = malloc(size ? size : 1);
	Elf *elf;

	FUZZ_CHECK(copy);
	memcpy(copy, data, size);
	elf_version(EV_CURRENT);
	elf = elf_memory(copy, size);
	if (elf) {
		for (uint64_t offset = 0; offset < size && offset < MAX_SWEEP_BYTES;
		     offset += SWEEP_STEP)
			rule(elf, offset);
		for (size_t i = 0; i < sizeof(extremes) / sizeof(extremes[0]); i++)
			rule(elf, extremes[i]);
		elf_end(elf);
	}
	free(copy);
	return 0;
}
