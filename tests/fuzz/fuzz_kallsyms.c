// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the kallsyms parser of daemon/symbols/kallsyms.c: the input is written
 * to one scratch file, reused for the whole run, that a fresh symbolizer
 * reads as its kallsyms. Kernel lookups are made at fixed addresses and at
 * addresses taken from the input, and every answer must point at a name.
 */
#include <ctype.h>

#include "fuzz.h"
#include "symbols/symbolizer.h"

#define MAX_INPUT_ADDRESSES 8

static char *kallsyms_path;

static void remove_scratch(void)
{
	fuzz__remove_scratch(kallsyms_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	kallsyms_path = fuzz__scratch_path("kallsyms");
	atexit(remove_scratch);
	return 0;
}

/* Takes the leading hex number of the first lines, and the address after it. */
static size_t input_addresses(const uint8_t *data, size_t size, uint64_t *ret, size_t max)
{
	size_t n = 0, i = 0;

	while (i < size && n + 2 <= max) {
		uint64_t address = 0;

		for (; i < size && isxdigit(data[i]); i++)
			address = address << 4 |
				  (uint64_t)(isdigit(data[i]) ? data[i] - '0'
							      : (data[i] | 0x20) - 'a' + 10);
		ret[n++] = address;
		ret[n++] = address + 1;
		while (i < size && data[i] != '\n')
			i++;
		i++;
	}
	return n;
}

static void lookup(struct symbolizer *s, uint64_t address)
{
	struct symbol sym;
	int err = symbolizer__lookup_kernel(s, address, &sym);

	FUZZ_CHECK(err == 0 || err == -ENOENT || err == -ENOMEM);
	if (err)
		return;
	/* ASan checks both are readable, NUL-terminated strings. */
	FUZZ_CHECK(strlen(sym.name) > 0);
	FUZZ_CHECK(!sym.module || strlen(sym.module) > 0);
	FUZZ_CHECK(sym.offset <= address);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct symbolizer_options opts = { .kallsyms_path = kallsyms_path };
	static const uint64_t fixed[] = { 0, 1, 0xffffffff81000000ull, 0xffffffffc0000000ull,
					  UINT64_MAX };
	uint64_t from_input[MAX_INPUT_ADDRESSES];
	struct symbolizer *s;
	size_t n;

	fuzz__write_file(kallsyms_path, data, size);
	s = symbolizer__new(&opts);
	FUZZ_CHECK(s);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		lookup(s, fixed[i]);
	n = input_addresses(data, size, from_input, MAX_INPUT_ADDRESSES);
	for (size_t i = 0; i < n; i++)
		lookup(s, from_input[i]);
	symbolizer__free(s);
	return 0;
}
