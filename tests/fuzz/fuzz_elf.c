// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the ELF symbol loader (daemon/symbols/elf.c, debug_files.c,
 * dwarf.c, inlines.c). The symbolizer reads binaries by path, so each input
 * is written to one scratch file, reused for the whole run, and a fresh
 * symbolizer loads it: a cached one would re-stat the file at most once a
 * second and could answer for the input before. Then the build ID is asked
 * for, and the function at every few bytes of the file taken as a file
 * offset (and its frames, from DWARF, at every 16th), and at a few extreme
 * offsets.
 * An input with a build ID is then loaded once more with a copy of itself
 * as its separate debug file (DEBUG_ROOT/.build-id/xx/yyyy.debug).
 */
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "symbols/symbolizer.h"

/* Offsets swept after loading: every SWEEP_STEP bytes of the file, up to a bound. */
#define SWEEP_STEP 4
#define MAX_SWEEP_BYTES (64u << 10)

static char *binary_path;
static char *debug_root; /* an empty directory: no debug file from elsewhere */
static volatile size_t string_bytes; /* strings read, so that ASan sees them read */

static void remove_scratch(void)
{
	rmdir(debug_root);
	fuzz__remove_scratch(binary_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *slash;

	binary_path = fuzz__scratch_path("binary");
	debug_root = strdup(binary_path);
	FUZZ_CHECK(debug_root);
	slash = strrchr(debug_root, '/');
	strcpy(slash + 1, "debug");
	if (mkdir(debug_root, 0700) < 0) {
		perror(debug_root);
		exit(1);
	}
	atexit(remove_scratch);
	return 0;
}

/* Asks for the frames at offset (DWARF's inlined functions, files, lines): readable strings. */
static void lookup_frames(struct symbolizer *s, uint64_t offset)
{
	const struct symbolizer_file file = { .path = binary_path };
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	size_t n = 0, i;
	int err = symbolizer__lookup_frames(s, &file, offset, frames, SYMBOLIZER_MAX_FRAMES, &n);

	FUZZ_CHECK(err <= 0);
	if (err)
		return;
	FUZZ_CHECK(n >= 1 && n <= SYMBOLIZER_MAX_FRAMES);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(strlen(frames[i].function) > 0 && strlen(frames[i].system_name) > 0);
		if (frames[i].file)
			string_bytes += strlen(frames[i].file);
	}
}

/* Asks for the function at offset; with twice, asks again and expects the same answer. */
static void lookup(struct symbolizer *s, uint64_t offset, bool twice)
{
	struct symbol sym, again;
	int err = symbolizer__lookup_user(s, binary_path, offset, &sym);
	size_t len;

	if (offset % 16 == 0)
		lookup_frames(s, offset);

	FUZZ_CHECK(err <= 0);
	if (err)
		return;
	/* ASan checks the name is a readable, NUL-terminated string. */
	len = strlen(sym.name);
	FUZZ_CHECK(len > 0 && len <= 4096);
	FUZZ_CHECK(sym.module == NULL);
	if (!twice)
		return;
	FUZZ_CHECK(symbolizer__lookup_user(s, binary_path, offset, &again) == 0);
	FUZZ_CHECK(strcmp(sym.name, again.name) == 0 && sym.offset == again.offset);
}

/*
 * Loads the file at binary_path with a fresh symbolizer and asks for its
 * build ID and functions. Returns a copy of the build ID or NULL.
 */
static char *symbolize(size_t size)
{
	struct symbolizer_options opts = { .debug_root = debug_root, .max_binaries = 2 };
	static const uint64_t extremes[] = { UINT64_MAX, UINT64_MAX - 1, 1ull << 63 };
	struct symbolizer *s = symbolizer__new(&opts);
	char *build_id = NULL;
	const char *hex;
	int err;

	FUZZ_CHECK(s);
	err = symbolizer__build_id(s, binary_path, &hex);
	if (err == 0) {
		size_t len = strlen(hex);

		FUZZ_CHECK(len > 0 && len % 2 == 0 && len <= 128);
		FUZZ_CHECK(strspn(hex, "0123456789abcdef") == len);
		build_id = strdup(hex);
		FUZZ_CHECK(build_id);
	} else {
		FUZZ_CHECK(err < 0);
	}
	/* Loading is the costly part; once loaded, asking is cheap: sweep the file. */
	for (uint64_t offset = 0; offset <= size && offset < MAX_SWEEP_BYTES; offset += SWEEP_STEP)
		lookup(s, offset, offset % 256 == 0);
	for (size_t i = 0; i < sizeof(extremes) / sizeof(extremes[0]); i++)
		lookup(s, extremes[i], true);
	FUZZ_CHECK(symbolizer__memory(s) > 0);
	symbolizer__free(s);
	return build_id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ids_dir[PATH_MAX], dir[PATH_MAX], debug_path[PATH_MAX];
	char *build_id;

	fuzz__write_file(binary_path, data, size);
	build_id = symbolize(size);
	if (!build_id || strlen(build_id) < 4) {
		free(build_id);
		return 0;
	}

	/*
	 * Again, with a copy of the input where the symbolizer looks for the
	 * debug file of that build ID, so the debug file path runs too.
	 */
	snprintf(ids_dir, sizeof(ids_dir), "%s/.build-id", debug_root);
	snprintf(dir, sizeof(dir), "%s/%.2s", ids_dir, build_id);
	snprintf(debug_path, sizeof(debug_path), "%s/%s.debug", dir, build_id + 2);
	FUZZ_CHECK((mkdir(ids_dir, 0700) == 0 || errno == EEXIST) &&
		   (mkdir(dir, 0700) == 0 || errno == EEXIST));
	fuzz__write_file(debug_path, data, size);
	free(symbolize(size));
	unlink(debug_path);
	rmdir(dir);
	rmdir(ids_dir);
	free(build_id);
	return 0;
}
