/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests of the symbolizer: daemon/symbols/symbolizer.c and the files
 * symbolizer_impl.h lists. Binaries are built at test time from a small C
 * file (cc, strip, objcopy), and what the symbolizer says is checked against
 * what nm and readelf say about them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "symbols/symbolizer.h"

static const char test_source[] =
	"const char cprof_rodata_marker[256] = \"a marker in .rodata, far from functions\";\n"
	"volatile int cprof_variant = VARIANT;\n"
	"__attribute__((noinline)) int cprof_alpha(int x)\n"
	"{\n"
	"	int sum = cprof_variant;\n"
	"	for (int i = 0; i < x * 100; i++)\n"
	"		sum += (i * x) ^ (sum >> 3);\n"
	"	return sum;\n"
	"}\n"
	"/* Aliases at the same address: the global, shorter name must win. */\n"
	"extern int cprof_a(int) __attribute__((weak, alias(\"cprof_alpha\")));\n"
	"extern int cprof_alpha_alias_with_a_long_name(int)\n"
	"	__attribute__((alias(\"cprof_alpha\")));\n"
	"__attribute__((noinline)) int cprof_beta(int x)\n"
	"{\n"
	"	int product = 1;\n"
	"	for (int i = 1; i < x * 10; i++)\n"
	"		product = product * 31 + i;\n"
	"	return product;\n"
	"}\n"
	"static __attribute__((noinline)) int cprof_local_gamma(int x)\n"
	"{\n"
	"	int v = x;\n"
	"	for (int i = 0; i < 7 * x; i++)\n"
	"		v = v * 3 + (v >> 2) + i;\n"
	"	return v;\n"
	"}\n"
	"/* A function without a size, as hand-written assembly often is. */\n"
	"__asm__(\".text\\n.globl cprof_asm_nosize\\n.type cprof_asm_nosize, STT_FUNC\\n\"\n"
	"	\"cprof_asm_nosize:\\n\\tnop\\n\\tnop\\n\\tnop\\n\\tnop\\n\"\n"
	"	\"\\tnop\\n\\tnop\\n\\tret\\n\");\n"
	"int cprof_asm_nosize(void);\n"
	"#if VARIANT == 5\n"
	"int cprof_only_in_variant_5(int x)\n"
	"{\n"
	"	return x * 7;\n"
	"}\n"
	"#endif\n"
	"#ifdef LIBRARY\n"
	"int cprof_lib_entry(int x)\n"
	"{\n"
	"	return cprof_local_gamma(x) + cprof_asm_nosize();\n"
	"}\n"
	"#else\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	return cprof_alpha(argc) + cprof_beta(argc) + cprof_local_gamma(argc) +\n"
	"	       cprof_asm_nosize() + cprof_rodata_marker[argc];\n"
	"}\n"
	"#endif\n";

#define MAX_LOADS 16

/* A PT_LOAD as readelf -lW shows it. */
struct load {
	uint64_t offset, vaddr, file_size;
};

static struct {
	bool ready;
	char why[512]; /* when not ready */
	char dir[PATH_MAX];
	char empty_root[PATH_MAX]; /* a debug root with nothing in it */
	char debug_root[PATH_MAX];
	char prog[PATH_MAX]; /* PIE, -g, with .symtab */
	char exec[PATH_MAX]; /* not PIE: ET_EXEC, addresses far from file offsets */
	char lib[PATH_MAX];  /* shared library stripped to .dynsym */
	char lib_full[PATH_MAX];
	char bid[PATH_MAX]; /* stripped, debug file under debug_root/.build-id */
	char bid_full[PATH_MAX];
	char link_full[PATH_MAX]; /* built without a build ID, for .gnu_debuglink */
	char link_same_dir[PATH_MAX];
	char link_dot_debug[PATH_MAX];
	char link_debug_root[PATH_MAX];
	char link_bad_crc[PATH_MAX];
	char not_elf[PATH_MAX];
} fx;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		snprintf(fx.why, sizeof(fx.why), "command failed (%d): %.400s", status, cmd);
	return status;
}

/* Runs cmd and gives its whole stdout, NUL-terminated; free() it. */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
	char cmd[8192], *out = NULL;
	size_t len = 0, size = 0;
	va_list ap;
	FILE *pipe;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pipe = popen(cmd, "r");
	if (!pipe)
		return NULL;
	for (;;) {
		size_t n;

		if (size - len < 4096) {
			char *grown = realloc(out, size + 65536);

			if (!grown)
				break;
			out = grown;
			size += 65536;
		}
		n = fread(out + len, 1, size - len - 1, pipe);
		if (n == 0)
			break;
		len += n;
	}
	if (pclose(pipe) != 0 || !out) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

/* The value and size nm gives a symbol (dynamic: nm -D). */
static bool nm_symbol(const char *path, bool dynamic, const char *name, uint64_t *ret_value,
		      uint64_t *ret_size)
{
	char *out = capture("nm -S --defined-only %s '%s' 2>/dev/null", dynamic ? "-D" : "", path);
	char *line, *save = NULL;
	bool found = false;

	if (!out)
		return false;
	for (line = strtok_r(out, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long value, size;
		char type, sym[512];

		if (sscanf(line, "%llx %llx %c %511s", &value, &size, &type, sym) == 4 &&
		    strcmp(sym, name) == 0) {
			*ret_value = value;
			*ret_size = size;
			found = true;
		} else if (sscanf(line, "%llx %c %511s", &value, &type, sym) == 3 &&
			   strcmp(sym, name) == 0) {
			*ret_value = value;
			*ret_size = 0;
			found = true;
		}
	}
	free(out);
	return found;
}

static size_t readelf_loads(const char *path, struct load *loads)
{
	char *out = capture("readelf -lW '%s' 2>/dev/null", path);
	char *line, *save = NULL;
	size_t n = 0;

	if (!out)
		return 0;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long offset, vaddr, paddr, file_size;

		if (n < MAX_LOADS && sscanf(line, " LOAD %llx %llx %llx %llx", &offset, &vaddr,
					    &paddr, &file_size) == 4)
			loads[n++] = (struct load){ offset, vaddr, file_size };
	}
	free(out);
	return n;
}

/* What the file offset of symbol name is, from nm on symbols_path and readelf on path. */
static bool expected_offset(const char *path, const char *symbols_path, bool dynamic,
			    const char *name, uint64_t *ret_offset, uint64_t *ret_size)
{
	struct load loads[MAX_LOADS];
	uint64_t value, size;
	size_t n, i;

	if (!nm_symbol(symbols_path, dynamic, name, &value, &size))
		return false;
	n = readelf_loads(path, loads);
	for (i = 0; i < n; i++) {
		if (value >= loads[i].vaddr && value - loads[i].vaddr < loads[i].file_size) {
			*ret_offset = value - loads[i].vaddr + loads[i].offset;
			*ret_size = size;
			return true;
		}
	}
	return false;
}

static bool readelf_build_id(const char *path, char *hex, size_t size)
{
	char *out = capture("readelf -n '%s' 2>/dev/null", path), *p;
	bool found = false;

	if (!out)
		return false;
	p = strstr(out, "Build ID: ");
	if (p && sscanf(p + strlen("Build ID: "), "%127s", hex) == 1 && strlen(hex) < size)
		found = true;
	free(out);
	return found;
}

/* Formats into a PATH_MAX buffer; the paths here are short, under a mkdtemp() dir. */
static void path_format(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path_format(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
}

static void path_join(char *buf, const char *dir, const char *name)
{
	path_format(buf, "%s/%s", dir, name);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Builds the binaries every test uses; on failure says why in fx.why. */
static void build_fixture(void)
{
	const char *cc_flags = "-O1 -g -fno-inline -fno-omit-frame-pointer";
	char src[PATH_MAX], hex[256], path[PATH_MAX], debug_file[PATH_MAX];
	FILE *file;

	snprintf(fx.dir, sizeof(fx.dir), "/tmp/cprof-symbolizer-XXXXXX");
	if (!mkdtemp(fx.dir)) {
		snprintf(fx.why, sizeof(fx.why), "mkdtemp: %s", strerror(errno));
		fx.dir[0] = '\0';
		return;
	}
	if (run("command -v cc >/dev/null && command -v strip >/dev/null && "
		"command -v objcopy >/dev/null && command -v nm >/dev/null && "
		"command -v readelf >/dev/null")) {
		snprintf(fx.why, sizeof(fx.why), "needs cc, strip, objcopy, nm and readelf");
		return;
	}
	path_join(src, fx.dir, "sample.c");
	file = fopen(src, "w");
	if (!file || fputs(test_source, file) < 0 || fclose(file) != 0) {
		snprintf(fx.why, sizeof(fx.why), "writing %.400s failed", src);
		return;
	}
	path_join(fx.empty_root, fx.dir, "empty-root");
	path_join(fx.debug_root, fx.dir, "debug-root");
	path_join(fx.prog, fx.dir, "prog");
	path_join(fx.lib_full, fx.dir, "libsample-full.so");
	path_join(fx.lib, fx.dir, "libsample.so");
	path_join(fx.bid_full, fx.dir, "bid-full");
	path_join(fx.bid, fx.dir, "bid");
	path_join(fx.link_full, fx.dir, "link-full");
	path_join(fx.not_elf, fx.dir, "not-elf");
	if (run("mkdir -p '%s' '%s'", fx.empty_root, fx.debug_root))
		return;

	/* (a) A PIE executable with its .symtab. */
	if (run("cc %s -DVARIANT=1 -fPIE -pie -Wl,--build-id=sha1 '%s' -o '%s'", cc_flags, src,
		fx.prog))
		return;
	path_join(fx.exec, fx.dir, "exec");
	if (run("cc %s -DVARIANT=6 -fno-PIE -no-pie '%s' -o '%s'", cc_flags, src, fx.exec))
		return;
	/* (b) A shared library stripped down to .dynsym. */
	if (run("cc %s -DVARIANT=2 -DLIBRARY -fPIC -shared -Wl,--build-id=sha1 '%s' -o '%s' && "
		"strip '%s' -o '%s'",
		cc_flags, src, fx.lib_full, fx.lib_full, fx.lib))
		return;
	/* (c) Stripped, with the symbols in DEBUG_ROOT/.build-id/xx/yyyy.debug. */
	if (run("cc %s -DVARIANT=3 -fPIE -pie -Wl,--build-id=sha1 '%s' -o '%s' && "
		"objcopy --only-keep-debug '%s' '%s.debug' && "
		"strip --strip-debug --strip-unneeded '%s' -o '%s'",
		cc_flags, src, fx.bid_full, fx.bid_full, fx.bid, fx.bid_full, fx.bid))
		return;
	if (!readelf_build_id(fx.bid, hex, sizeof(hex)) || strlen(hex) < 4) {
		snprintf(fx.why, sizeof(fx.why), "no build ID in %.400s", fx.bid);
		return;
	}
	if (run("mkdir -p '%s/.build-id/%.2s' && cp '%s.debug' '%s/.build-id/%.2s/%s.debug'",
		fx.debug_root, hex, fx.bid, fx.debug_root, hex, hex + 2))
		return;

	/*
	 * (d) No build ID, so only .gnu_debuglink can find the debug file; copies
	 * of the stripped binary with the debug file in each place looked at.
	 */
	if (run("cc %s -DVARIANT=4 -fPIE -pie -Wl,--build-id=none '%s' -o '%s' && "
		"objcopy --only-keep-debug '%s' '%s/link.debug' && "
		"strip --strip-debug --strip-unneeded '%s' -o '%s/link' && "
		"cd '%s' && objcopy --add-gnu-debuglink=link.debug link",
		cc_flags, src, fx.link_full, fx.link_full, fx.dir, fx.link_full, fx.dir, fx.dir))
		return;
	path_format(fx.link_same_dir, "%s/same-dir/link", fx.dir);
	path_format(fx.link_dot_debug, "%s/dot-debug/link", fx.dir);
	path_format(fx.link_debug_root, "%s/in-root/link", fx.dir);
	path_format(fx.link_bad_crc, "%s/bad-crc/link", fx.dir);
	if (run("cd '%s' && mkdir -p same-dir dot-debug/.debug in-root bad-crc "
		"'%s%s/in-root' && "
		"cp link link.debug same-dir/ && cp link dot-debug/ && "
		"cp link.debug dot-debug/.debug/ && cp link in-root/ && "
		"cp link.debug '%s%s/in-root/' && cp link bad-crc/",
		fx.dir, fx.debug_root, fx.dir, fx.debug_root, fx.dir))
		return;
	/* A debug file of the right name but another build (more code): its CRC differs. */
	path_join(path, fx.dir, "other-full");
	path_format(debug_file, "%s/bad-crc/link.debug", fx.dir);
	if (run("cc %s -DVARIANT=5 -fPIE -pie -Wl,--build-id=none '%s' -o '%s' && "
		"objcopy --only-keep-debug '%s' '%s'",
		cc_flags, src, path, path, debug_file))
		return;

	file = fopen(fx.not_elf, "w");
	if (!file || fputs("#!/bin/sh\necho this is not an ELF file\n", file) < 0 ||
	    fclose(file) != 0) {
		snprintf(fx.why, sizeof(fx.why), "writing %.400s failed", fx.not_elf);
		return;
	}
	fx.ready = true;
}

#define NEED_FIXTURE()                                                                 \
	do {                                                                           \
		if (!fx.ready)                                                         \
			TEST_SKIP("test binaries could not be built: %.200s", fx.why); \
	} while (0)

static struct symbolizer *new_symbolizer(const char *debug_root, size_t max_binaries)
{
	struct symbolizer_options opts = {
		.debug_root = debug_root,
		.max_binaries = max_binaries,
	};

	return symbolizer__new(&opts);
}

/*
 * Checks a binary: the function's start and start + 5 resolve to it, the
 * .rodata marker and an offset past the file resolve to nothing, and the build
 * ID is readelf's. symbols_path is where nm finds the names.
 */
static void check_binary(struct symbolizer *s, const char *path, const char *symbols_path,
			 bool dynamic, const char *function)
{
	uint64_t offset, size, marker_offset, marker_size;
	struct symbol sym = { .name = "untouched" };
	char hex[256];
	const char *build_id;

	if (!ASSERT_TRUE(expected_offset(path, symbols_path, dynamic, function, &offset, &size)))
		return;
	ASSERT_TRUE(size > 8);
	if (ASSERT_OK(symbolizer__lookup_user(s, path, offset, &sym))) {
		ASSERT_STREQ(sym.name, function);
		ASSERT_EQ(sym.offset, 0);
		ASSERT_TRUE(sym.module == NULL);
	}
	if (ASSERT_OK(symbolizer__lookup_user(s, path, offset + 5, &sym))) {
		ASSERT_STREQ(sym.name, function);
		ASSERT_EQ(sym.offset, 5);
	}
	if (ASSERT_OK(symbolizer__lookup_user(s, path, offset + size - 1, &sym))) {
		ASSERT_STREQ(sym.name, function);
		ASSERT_EQ(sym.offset, size - 1);
	}

	/* Data is not in any function; nor is a byte past the end of the file. */
	if (ASSERT_TRUE(expected_offset(path, symbols_path, dynamic, "cprof_rodata_marker",
					&marker_offset, &marker_size))) {
		sym.name = "untouched";
		ASSERT_EQ(symbolizer__lookup_user(s, path, marker_offset + 16, &sym), -ENOENT);
		ASSERT_STREQ(sym.name, "untouched");
	}
	ASSERT_EQ(symbolizer__lookup_user(s, path, 1ull << 40, &sym), -ENOENT);
	ASSERT_EQ(symbolizer__lookup_user(s, path, UINT64_MAX, &sym), -ENOENT);

	if (readelf_build_id(path, hex, sizeof(hex))) {
		if (ASSERT_OK(symbolizer__build_id(s, path, &build_id)))
			ASSERT_STREQ(build_id, hex);
	} else {
		ASSERT_EQ(symbolizer__build_id(s, path, &build_id), -ENODATA);
	}
}

static void test_pie_with_symtab(void)
{
	uint64_t offset, size;
	struct symbolizer *s;
	struct symbol sym;

	NEED_FIXTURE();
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	check_binary(s, fx.prog, fx.prog, false, "cprof_alpha");
	check_binary(s, fx.prog, fx.prog, false, "cprof_beta");
	/* Locals are in .symtab only. */
	check_binary(s, fx.prog, fx.prog, false, "cprof_local_gamma");
	check_binary(s, fx.prog, fx.prog, false, "main");

	/* A symbol without a size stands until the next one. */
	if (ASSERT_TRUE(
		    expected_offset(fx.prog, fx.prog, false, "cprof_asm_nosize", &offset, &size))) {
		ASSERT_EQ(size, 0);
		if (ASSERT_OK(symbolizer__lookup_user(s, fx.prog, offset + 3, &sym))) {
			ASSERT_STREQ(sym.name, "cprof_asm_nosize");
			ASSERT_EQ(sym.offset, 3);
		}
	}
	/* The ELF header is mapped, but is no function. */
	ASSERT_EQ(symbolizer__lookup_user(s, fx.prog, 0, &sym), -ENOENT);
	ASSERT_TRUE(symbolizer__memory(s) > 0);
	symbolizer__free(s);
}

static void test_exec_not_pie(void)
{
	struct load loads[MAX_LOADS];
	struct symbolizer *s;
	char *out;
	size_t n, i;
	bool moved = false;

	NEED_FIXTURE();
	/* The premise: an ET_EXEC whose code is not at its file offset. */
	out = capture("readelf -hW '%s'", fx.exec);
	if (ASSERT_NOT_NULL(out)) {
		ASSERT_TRUE(strstr(out, "EXEC (Executable file)") != NULL);
		free(out);
	}
	n = readelf_loads(fx.exec, loads);
	for (i = 0; i < n; i++)
		moved |= loads[i].vaddr != loads[i].offset;
	ASSERT_TRUE(moved);

	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	check_binary(s, fx.exec, fx.exec, false, "cprof_alpha");
	check_binary(s, fx.exec, fx.exec, false, "cprof_local_gamma");
	symbolizer__free(s);
}

static void test_stripped_library_dynsym(void)
{
	struct symbolizer *s;
	char *out;

	NEED_FIXTURE();
	/* The premise: strip left no .symtab. */
	out = capture("readelf -SW '%s'", fx.lib);
	if (ASSERT_NOT_NULL(out)) {
		ASSERT_TRUE(strstr(out, ".symtab") == NULL);
		ASSERT_TRUE(strstr(out, ".dynsym") != NULL);
		free(out);
	}
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	check_binary(s, fx.lib, fx.lib, true, "cprof_alpha");
	check_binary(s, fx.lib, fx.lib, true, "cprof_beta");
	check_binary(s, fx.lib, fx.lib, true, "cprof_lib_entry");
	/* Only in the unstripped one: .dynsym has no locals. */
	ASSERT_FALSE(
		nm_symbol(fx.lib, true, "cprof_local_gamma", &(uint64_t){ 0 }, &(uint64_t){ 0 }));
	ASSERT_TRUE(nm_symbol(fx.lib_full, false, "cprof_local_gamma", &(uint64_t){ 0 },
			      &(uint64_t){ 0 }));
	symbolizer__free(s);
}

static void test_build_id_debug_file(void)
{
	uint64_t offset, size;
	struct symbolizer *s;
	struct symbol sym;

	NEED_FIXTURE();
	/* Without the debug file there is nothing to name cprof_alpha with. */
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	if (ASSERT_TRUE(expected_offset(fx.bid, fx.bid_full, false, "cprof_alpha", &offset, &size)))
		ASSERT_EQ(symbolizer__lookup_user(s, fx.bid, offset, &sym), -ENOENT);
	symbolizer__free(s);

	s = new_symbolizer(fx.debug_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	check_binary(s, fx.bid, fx.bid_full, false, "cprof_alpha");
	check_binary(s, fx.bid, fx.bid_full, false, "cprof_local_gamma");
	check_binary(s, fx.bid, fx.bid_full, false, "main");
	symbolizer__free(s);
}

static void test_debuglink(void)
{
	const char *found[] = { fx.link_same_dir, fx.link_dot_debug, fx.link_debug_root };
	uint64_t offset, size;
	struct symbolizer *s;
	struct symbol sym;
	size_t i;

	NEED_FIXTURE();
	s = new_symbolizer(fx.debug_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	for (i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		printf("#   %s\n", found[i]);
		check_binary(s, found[i], fx.link_full, false, "cprof_alpha");
		check_binary(s, found[i], fx.link_full, false, "cprof_local_gamma");
	}
	/* The debug file there has the right name but the wrong CRC: not used. */
	if (ASSERT_TRUE(expected_offset(fx.link_bad_crc, fx.link_full, false, "cprof_alpha",
					&offset, &size)))
		ASSERT_EQ(symbolizer__lookup_user(s, fx.link_bad_crc, offset, &sym), -ENOENT);
	ASSERT_EQ(symbolizer__build_id(s, fx.link_bad_crc, &(const char *){ NULL }), -ENODATA);
	symbolizer__free(s);
}

static void test_aliases(void)
{
	uint64_t offset, size, alias_offset, alias_size;
	struct symbolizer *s;
	struct symbol sym;

	NEED_FIXTURE();
	/* The premise: three names at one address. */
	if (!ASSERT_TRUE(expected_offset(fx.prog, fx.prog, false, "cprof_alpha", &offset, &size)) ||
	    !ASSERT_TRUE(expected_offset(fx.prog, fx.prog, false, "cprof_a", &alias_offset,
					 &alias_size)))
		return;
	ASSERT_EQ(alias_offset, offset);
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	/* Weak "cprof_a" is shorter, but global "cprof_alpha" wins; and beats the long alias. */
	if (ASSERT_OK(symbolizer__lookup_user(s, fx.prog, offset + 1, &sym)))
		ASSERT_STREQ(sym.name, "cprof_alpha");
	symbolizer__free(s);
}

/* Writes the first len bytes of from to to, with byte flips at the given offsets. */
static bool write_mangled(const char *from, const char *to, size_t len, const size_t *flips,
			  size_t n_flips)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	unsigned char *buf = malloc(len ? len : 1);
	bool ok = false;
	size_t i;

	if (!in || !out || !buf)
		goto out;
	if (fread(buf, 1, len, in) != len)
		goto out;
	for (i = 0; i < n_flips; i++)
		buf[flips[i] % len] ^= (unsigned char)(0x5a + i);
	ok = fwrite(buf, 1, len, out) == len;
out:
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = false;
	free(buf);
	return ok;
}

static void test_bad_files(void)
{
	uint64_t offset, size, seed = 0x9e3779b97f4a7c15ull;
	char path[PATH_MAX];
	struct symbolizer *s;
	struct symbol sym = { .name = "untouched" };
	const char *hex = "untouched";
	struct stat st;
	size_t len;
	int err, i;

	NEED_FIXTURE();
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	/* Not ELF, twice (the second from the cache), missing, a directory, a FIFO. */
	err = symbolizer__lookup_user(s, fx.not_elf, 0, &sym);
	ASSERT_TRUE(err < 0 && err != -ENOENT);
	ASSERT_EQ(symbolizer__lookup_user(s, fx.not_elf, 0, &sym), err);
	ASSERT_EQ(symbolizer__build_id(s, fx.not_elf, &hex), err);
	ASSERT_STREQ(sym.name, "untouched");
	ASSERT_STREQ(hex, "untouched");
	path_join(path, fx.dir, "does-not-exist");
	ASSERT_EQ(symbolizer__lookup_user(s, path, 0, &sym), -ENOENT);
	ASSERT_TRUE(symbolizer__lookup_user(s, fx.dir, 0, &sym) < 0);
	path_join(path, fx.dir, "fifo");
	if (ASSERT_OK(mkfifo(path, 0600)))
		ASSERT_TRUE(symbolizer__lookup_user(s, path, 0, &sym) < 0);
	ASSERT_EQ(symbolizer__lookup_user(s, "", 0, &sym), -ENOENT);

	/* Truncated anywhere: an error, never a crash. */
	if (!ASSERT_OK(stat(fx.prog, &st)) ||
	    !ASSERT_TRUE(expected_offset(fx.prog, fx.prog, false, "cprof_alpha", &offset, &size)))
		goto out;
	path_join(path, fx.dir, "truncated");
	for (len = 0; len < (size_t)st.st_size; len += len < 4096 ? 61 : 1021) {
		struct symbolizer *fresh = new_symbolizer(fx.empty_root, 0);

		if (!ASSERT_NOT_NULL(fresh))
			break;
		if (!ASSERT_TRUE(write_mangled(fx.prog, path, len, NULL, 0)))
			break;
		err = symbolizer__lookup_user(fresh, path, offset, &sym);
		if (!ASSERT_TRUE(err < 0))
			printf("#   truncated to %zu bytes: %s\n", len, sym.name);
		symbolizer__build_id(fresh, path, &hex);
		symbolizer__free(fresh);
	}

	/* Bytes flipped at random: any answer but a crash (ASan watches). */
	path_join(path, fx.dir, "mangled");
	for (i = 0; i < 300; i++) {
		struct symbolizer *fresh = new_symbolizer(fx.empty_root, 0);
		size_t flips[4];
		size_t j;

		if (!ASSERT_NOT_NULL(fresh))
			break;
		for (j = 0; j < 4; j++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			/* Most headers are early in the file and the tables late: hit both. */
			flips[j] = (size_t)(seed % (j % 2 ? 256 : (uint64_t)st.st_size));
		}
		if (!ASSERT_TRUE(write_mangled(fx.prog, path, (size_t)st.st_size, flips, 4)))
			break;
		err = symbolizer__lookup_user(fresh, path, offset + 2, &sym);
		if (err == 0)
			ASSERT_NOT_NULL(sym.name);
		symbolizer__build_id(fresh, path, &hex);
		symbolizer__free(fresh);
	}
out:
	symbolizer__free(s);
}

static void test_negative_cache_and_revalidation(void)
{
	char path[PATH_MAX], staged[PATH_MAX];
	uint64_t offset, size;
	struct symbolizer *s;
	struct symbol sym;
	int err;

	NEED_FIXTURE();
	path_join(path, fx.dir, "changes");
	path_join(staged, fx.dir, "changes.staged");
	if (!ASSERT_OK(run("cp '%s' '%s' && cp '%s' '%s'", fx.not_elf, path, fx.prog, staged)) ||
	    !ASSERT_TRUE(expected_offset(fx.prog, fx.prog, false, "cprof_beta", &offset, &size)))
		return;
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	err = symbolizer__lookup_user(s, path, offset, &sym);
	ASSERT_TRUE(err < 0 && err != -ENOENT);
	/* Replaced by a good binary: the bad result is remembered for a while, not per frame... */
	if (!ASSERT_OK(rename(staged, path)))
		goto out;
	ASSERT_EQ(symbolizer__lookup_user(s, path, offset, &sym), err);
	/* ...and then the file is looked at again. */
	usleep(1100 * 1000);
	if (ASSERT_OK(symbolizer__lookup_user(s, path, offset, &sym)))
		ASSERT_STREQ(sym.name, "cprof_beta");
out:
	symbolizer__free(s);
}

/* Memory a symbolizer with room for max_binaries holds after loading path alone. */
static size_t memory_of(const char *path, size_t max_binaries, size_t *ret_empty)
{
	struct symbolizer *s = new_symbolizer(fx.debug_root, max_binaries);
	const char *hex;
	size_t memory;

	if (!s)
		return 0;
	*ret_empty = symbolizer__memory(s);
	symbolizer__build_id(s, path, &hex);
	memory = symbolizer__memory(s);
	symbolizer__free(s);
	return memory - *ret_empty;
}

static void test_cache_eviction(void)
{
	size_t empty, mem_prog, mem_lib, mem_bid, mem_bad;
	struct symbolizer *s;
	const char *hex;
	uint64_t offset, size;
	struct symbol sym;

	NEED_FIXTURE();
	mem_prog = memory_of(fx.prog, 2, &empty);
	mem_lib = memory_of(fx.lib, 2, &empty);
	mem_bid = memory_of(fx.bid, 2, &empty);
	/* Distinct sizes, so the total says which two are held. */
	if (!ASSERT_TRUE(mem_prog > 0 && mem_lib > 0 && mem_bid > 0) ||
	    !ASSERT_TRUE(mem_prog != mem_lib && mem_lib != mem_bid && mem_prog != mem_bid))
		return;
	/* What is counted grows with the tables: a known-bad file holds the least. */
	mem_bad = memory_of(fx.not_elf, 2, &empty);
	ASSERT_TRUE(mem_bad > 0);
	ASSERT_TRUE(mem_bad < mem_prog && mem_bad < mem_lib && mem_bad < mem_bid);

	s = new_symbolizer(fx.debug_root, 2);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_EQ(symbolizer__memory(s), empty);
	ASSERT_OK(symbolizer__build_id(s, fx.prog, &hex));
	ASSERT_OK(symbolizer__build_id(s, fx.lib, &hex));
	ASSERT_EQ(symbolizer__memory(s), empty + mem_prog + mem_lib);
	/* prog is used again, so lib is the least recently used when bid comes. */
	ASSERT_OK(symbolizer__build_id(s, fx.prog, &hex));
	ASSERT_OK(symbolizer__build_id(s, fx.bid, &hex));
	ASSERT_EQ(symbolizer__memory(s), empty + mem_prog + mem_bid);
	/* lib comes back, prog goes. */
	if (ASSERT_TRUE(expected_offset(fx.lib, fx.lib, true, "cprof_beta", &offset, &size)) &&
	    ASSERT_OK(symbolizer__lookup_user(s, fx.lib, offset, &sym)))
		ASSERT_STREQ(sym.name, "cprof_beta");
	ASSERT_EQ(symbolizer__memory(s), empty + mem_lib + mem_bid);
	/* And a path that fails is cached, and evicts, like any other. */
	ASSERT_TRUE(symbolizer__build_id(s, fx.not_elf, &hex) < 0);
	ASSERT_TRUE(symbolizer__memory(s) < empty + mem_lib + mem_bid);
	symbolizer__free(s);
}

static bool write_file(const char *path, const char *text)
{
	FILE *file = fopen(path, "w");

	if (!file)
		return false;
	if (fputs(text, file) < 0) {
		fclose(file);
		return false;
	}
	return fclose(file) == 0;
}

static void test_kernel_fake_kallsyms(void)
{
	static const char kallsyms[] = "0000000000000000 A fixed_percpu_data\n"
				       "ffffffff81000000 T _stext\n"
				       "ffffffff81000000 T _text\n"
				       "ffffffff81000100 t local_helper\n"
				       "ffffffff81000200 T schedule\n"
				       "ffffffff81000300 W weak_thing\n"
				       "ffffffff81001000 D some_data\n"
				       "this line is garbage\n"
				       "ffffffff81002000 T last_in_vmlinux\n"
				       "ffffffffc0001000 t mod_a_first\t[mod_a]\n"
				       "ffffffffc0001100 T mod_a_second\t[mod_a]\n"
				       "ffffffffc0001080 d mod_a_data\t[mod_a]\n"
				       "ffffffffc0003000 t mod_b_only\t[mod_b]\n";
	struct symbolizer_options opts = {};
	char path[PATH_MAX];
	struct symbolizer *s;
	struct symbol sym = { .name = "untouched" };
	size_t before;

	path_join(path, fx.dir[0] ? fx.dir : "/tmp", "kallsyms");
	if (!ASSERT_TRUE(write_file(path, kallsyms)))
		return;
	opts.kallsyms_path = path;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	before = symbolizer__memory(s);

	ASSERT_EQ(symbolizer__lookup_kernel(s, 0x1000, &sym), -ENOENT);
	ASSERT_EQ(symbolizer__lookup_kernel(s, 0xffffffff80ffffffull, &sym), -ENOENT);
	ASSERT_STREQ(sym.name, "untouched");
	/* The file is read once, on first use. */
	ASSERT_TRUE(symbolizer__memory(s) > before);

	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81000200ull, &sym))) {
		ASSERT_STREQ(sym.name, "schedule");
		ASSERT_EQ(sym.offset, 0);
		ASSERT_TRUE(sym.module == NULL);
	}
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81000234ull, &sym))) {
		ASSERT_STREQ(sym.name, "schedule");
		ASSERT_EQ(sym.offset, 0x34);
	}
	/* Aliases: the shorter of two globals. */
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81000010ull, &sym)))
		ASSERT_STREQ(sym.name, "_text");
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff810001ffull, &sym))) {
		ASSERT_STREQ(sym.name, "local_helper");
		ASSERT_EQ(sym.offset, 0xff);
	}
	/* Data symbols are not functions: the text before them owns the address. */
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81001008ull, &sym))) {
		ASSERT_STREQ(sym.name, "weak_thing");
		ASSERT_EQ(sym.offset, 0xd08);
	}
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81002000ull, &sym)))
		ASSERT_STREQ(sym.name, "last_in_vmlinux");
	/* Modules. */
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffffc0001090ull, &sym))) {
		ASSERT_STREQ(sym.name, "mod_a_first");
		ASSERT_STREQ(sym.module, "mod_a");
		ASSERT_EQ(sym.offset, 0x90);
	}
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffffc0001100ull, &sym))) {
		ASSERT_STREQ(sym.name, "mod_a_second");
		ASSERT_STREQ(sym.module, "mod_a");
	}
	/* Past the last symbol of a module: still the nearest one below. */
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffffc0002000ull, &sym))) {
		ASSERT_STREQ(sym.name, "mod_a_second");
		ASSERT_EQ(sym.offset, 0xf00);
	}
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffffc0003004ull, &sym))) {
		ASSERT_STREQ(sym.name, "mod_b_only");
		ASSERT_STREQ(sym.module, "mod_b");
	}
	if (ASSERT_OK(symbolizer__lookup_kernel(s, UINT64_MAX, &sym)))
		ASSERT_STREQ(sym.name, "mod_b_only");
	symbolizer__free(s);
}

static void test_kernel_unusable(void)
{
	static const char restricted[] = "0000000000000000 T _stext\n"
					 "0000000000000000 T schedule\n"
					 "0000000000000000 t helper\t[mod]\n";
	struct symbolizer_options opts = {};
	char path[PATH_MAX];
	struct symbolizer *s;
	struct symbol sym;

	/* kptr_restrict: every address 0. */
	path_join(path, fx.dir[0] ? fx.dir : "/tmp", "kallsyms-restricted");
	if (!ASSERT_TRUE(write_file(path, restricted)))
		return;
	opts.kallsyms_path = path;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_EQ(symbolizer__lookup_kernel(s, 0, &sym), -ENOENT);
	ASSERT_EQ(symbolizer__lookup_kernel(s, 0xffffffff81000000ull, &sym), -ENOENT);
	symbolizer__free(s);

	/* No file; an empty one. */
	path_join(path, fx.dir[0] ? fx.dir : "/tmp", "kallsyms-missing");
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_EQ(symbolizer__lookup_kernel(s, 0xffffffff81000000ull, &sym), -ENOENT);
	symbolizer__free(s);
	path_join(path, fx.dir[0] ? fx.dir : "/tmp", "kallsyms-empty");
	if (!ASSERT_TRUE(write_file(path, "")))
		return;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_EQ(symbolizer__lookup_kernel(s, 0xffffffff81000000ull, &sym), -ENOENT);
	symbolizer__free(s);
}

/* A NUL inside a line spoils that line only, not the one after it. */
static void test_kernel_nul_in_line(void)
{
	static const char text[] = "ffffffff81000000 T bad\0name\n"
				   "ffffffff81000100 T second\n"
				   "ffffffff81000200 T third\n";
	struct symbolizer_options opts = {};
	char path[PATH_MAX];
	struct symbolizer *s;
	struct symbol sym;
	FILE *f;

	path_join(path, fx.dir[0] ? fx.dir : "/tmp", "kallsyms-nul");
	f = fopen(path, "w");
	if (!ASSERT_NOT_NULL(f))
		return;
	fwrite(text, 1, sizeof(text) - 1, f);
	fclose(f);
	opts.kallsyms_path = path;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81000150ull, &sym)))
		ASSERT_STREQ(sym.name, "second");
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81000210ull, &sym)))
		ASSERT_STREQ(sym.name, "third");
	symbolizer__free(s);
}

static void test_kernel_real_kallsyms(void)
{
	char line[1024], names[8][128];
	unsigned long long address = 0;
	size_t n_names = 0, i;
	struct symbolizer *s;
	struct symbol sym;
	bool matched = false;
	FILE *file;

	file = fopen("/proc/kallsyms", "r");
	if (!file)
		TEST_SKIP("/proc/kallsyms: %s", strerror(errno));
	while (fgets(line, sizeof(line), file)) {
		unsigned long long a;
		char type, name[128];

		if (sscanf(line, "%llx %c %127s", &a, &type, name) != 3)
			continue;
		if (!address && strcmp(name, "schedule") == 0 && (type == 'T' || type == 't'))
			address = a;
	}
	if (!address) {
		fclose(file);
		TEST_SKIP("no usable address for schedule in /proc/kallsyms (kptr_restrict, "
			  "or not root)");
	}
	/* Every text name at that address is a fair answer. */
	rewind(file);
	while (fgets(line, sizeof(line), file) && n_names < 8) {
		unsigned long long a;
		char type, name[128];

		if (sscanf(line, "%llx %c %127s", &a, &type, name) == 3 && a == address &&
		    strchr("tTwW", type))
			snprintf(names[n_names++], sizeof(names[0]), "%s", name);
	}
	fclose(file);

	s = symbolizer__new(NULL);
	if (!ASSERT_NOT_NULL(s))
		return;
	if (ASSERT_OK(symbolizer__lookup_kernel(s, address + 1, &sym))) {
		for (i = 0; i < n_names; i++)
			matched |= strcmp(sym.name, names[i]) == 0;
		if (!ASSERT_TRUE(matched))
			printf("#   got %s\n", sym.name);
		ASSERT_EQ(sym.offset, 1);
		ASSERT_TRUE(sym.module == NULL);
	}
	symbolizer__free(s);
}

/* ---- DWARF, demangling, file identity ---- */

/* One frame as addr2line -f -i prints it. */
struct a2l_frame {
	char function[512];
	char file[PATH_MAX];
	unsigned int line;
};

/*
 * Runs addr2line -a -f -i on vaddr of path; gives up to max frames, innermost
 * first, and their number (0 on failure).
 */
static size_t addr2line_frames(const char *path, uint64_t vaddr, struct a2l_frame *frames,
			       size_t max)
{
	char *out = capture("addr2line -a -f -i -e '%s' 0x%" PRIx64, path, vaddr);
	char *line, *save = NULL, *colon;
	size_t n = 0;
	bool want_function = true;

	if (!out)
		return 0;
	/* The first line is the address; then function and file:line pairs. */
	line = strtok_r(out, "\n", &save);
	for (line = strtok_r(NULL, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		if (want_function) {
			snprintf(frames[n].function, sizeof(frames[n].function), "%s", line);
		} else {
			colon = strrchr(line, ':');
			if (!colon)
				break;
			*colon = '\0';
			snprintf(frames[n].file, sizeof(frames[n].file), "%s", line);
			/* "12 (discriminator 3)" reads as 12. */
			frames[n].line = (unsigned int)strtoul(colon + 1, NULL, 10);
			n++;
		}
		want_function = !want_function;
	}
	free(out);
	return n;
}

/*
 * The first of count addresses from vaddr at which addr2line -i gives depth
 * frames, as an offset from vaddr; count when there is none. One addr2line
 * for all of them.
 */
static uint64_t first_with_depth(const char *path, uint64_t vaddr, uint64_t count, size_t depth)
{
	char *cmd, *out, *line, *save = NULL;
	size_t len, used, lines = 0;
	uint64_t i, current = count, found = count;

	len = 64 + strlen(path) + count * 20;
	cmd = malloc(len);
	if (!cmd)
		return count;
	used = (size_t)snprintf(cmd, len, "addr2line -a -f -i -e '%s'", path);
	for (i = 0; i < count && used < len; i++)
		used += (size_t)snprintf(cmd + used, len - used, " 0x%" PRIx64, vaddr + i);
	out = capture("%s", cmd);
	free(cmd);
	if (!out)
		return count;
	/* Blocks: "0xADDRESS", then a function and a file:line line per frame. */
	for (line = strtok_r(out, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
		if (!line || strncmp(line, "0x", 2) == 0) {
			if (current < count && lines == 2 * depth) {
				found = current;
				break;
			}
			if (!line)
				break;
			current = strtoull(line, NULL, 16) - vaddr;
			lines = 0;
		} else {
			lines++;
		}
	}
	free(out);
	return found;
}

/* The link-time address of file offset in path, through readelf's PT_LOADs. */
static bool offset_to_vaddr_readelf(const char *path, uint64_t offset, uint64_t *ret_vaddr)
{
	struct load loads[MAX_LOADS];
	size_t n = readelf_loads(path, loads), i;

	for (i = 0; i < n; i++) {
		if (offset >= loads[i].offset && offset - loads[i].offset < loads[i].file_size) {
			*ret_vaddr = offset - loads[i].offset + loads[i].vaddr;
			return true;
		}
	}
	return false;
}

/* Whether our frame says what addr2line's does: same function, file and line. */
static bool same_frame(const struct symbol_frame *ours, const struct a2l_frame *theirs)
{
	bool ok = ours->file && strcmp(ours->file, theirs->file) == 0 &&
		  ours->line == theirs->line && strcmp(ours->system_name, theirs->function) == 0;

	if (!ok)
		printf("#   ours %s %s:%u, addr2line %s %s:%u\n", ours->system_name,
		       ours->file ? ours->file : "(none)", ours->line, theirs->function,
		       theirs->file, theirs->line);
	return ok;
}

static void test_dwarf_file_and_line(void)
{
	static const char *const functions[] = { "cprof_alpha", "cprof_beta", "cprof_local_gamma",
						 "main" };
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	struct a2l_frame expected[8];
	struct symbolizer_file file;
	uint64_t offset, size, vaddr;
	struct symbolizer *s;
	size_t n, n_expected, i;

	NEED_FIXTURE();
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	file = (struct symbolizer_file){ .path = fx.prog };
	for (i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		if (!ASSERT_TRUE(expected_offset(fx.prog, fx.prog, false, functions[i], &offset,
						 &size)) ||
		    !ASSERT_TRUE(offset_to_vaddr_readelf(fx.prog, offset + 8, &vaddr)))
			continue;
		n_expected = addr2line_frames(fx.prog, vaddr, expected, 8);
		if (!ASSERT_EQ(n_expected, 1))
			continue;
		if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + 8, frames,
							SYMBOLIZER_MAX_FRAMES, &n)) &&
		    ASSERT_EQ(n, 1)) {
			ASSERT_TRUE(same_frame(&frames[0], &expected[0]));
			ASSERT_STREQ(frames[0].function, functions[i]);
			ASSERT_TRUE(frames[0].system_name == frames[0].function);
		}
	}
	/* Without DWARF (the stripped library): one frame, the name, no file. */
	file.path = fx.lib;
	if (ASSERT_TRUE(expected_offset(fx.lib, fx.lib, true, "cprof_beta", &offset, &size)) &&
	    ASSERT_OK(symbolizer__lookup_frames(s, &file, offset, frames, SYMBOLIZER_MAX_FRAMES,
						&n)) &&
	    ASSERT_EQ(n, 1)) {
		ASSERT_STREQ(frames[0].function, "cprof_beta");
		ASSERT_TRUE(frames[0].file == NULL);
		ASSERT_EQ(frames[0].line, 0);
	}
	/* The DWARF of a stripped binary's debug file, found by build ID. */
	symbolizer__free(s);
	s = new_symbolizer(fx.debug_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	file.path = fx.bid;
	if (ASSERT_TRUE(
		    expected_offset(fx.bid, fx.bid_full, false, "cprof_beta", &offset, &size)) &&
	    ASSERT_TRUE(offset_to_vaddr_readelf(fx.bid, offset + 4, &vaddr)) &&
	    ASSERT_EQ(addr2line_frames(fx.bid_full, vaddr, expected, 8), 1) &&
	    ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + 4, frames, SYMBOLIZER_MAX_FRAMES,
						&n)) &&
	    ASSERT_EQ(n, 1))
		ASSERT_TRUE(same_frame(&frames[0], &expected[0]));
	symbolizer__free(s);
}

static const char inline_source[] =
	"volatile int cprof_sink;\n"
	"static inline __attribute__((always_inline)) int cprof_innermost(int x)\n"
	"{\n"
	"	int v = x;\n"
	"	for (int i = 0; i < x; i++)\n"
	"		v = v * 7 + (v >> 3) + cprof_sink;\n"
	"	return v;\n"
	"}\n"
	"static inline __attribute__((always_inline)) int cprof_middle(int x)\n"
	"{\n"
	"	return cprof_innermost(x + 1) * 3;\n"
	"}\n"
	"__attribute__((noinline)) int cprof_outer(int x)\n"
	"{\n"
	"	int r = cprof_middle(x);\n"
	"	return r + cprof_sink;\n"
	"}\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	return cprof_outer(argc);\n"
	"}\n";

static void test_dwarf_inlined(void)
{
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	struct a2l_frame expected[8];
	char src[PATH_MAX], bin[PATH_MAX];
	struct symbolizer_file file;
	uint64_t offset, size, vaddr, at;
	struct symbolizer *s;
	size_t n, n_expected = 0, i;

	NEED_FIXTURE();
	path_join(src, fx.dir, "inline.c");
	path_join(bin, fx.dir, "inline");
	if (!ASSERT_TRUE(write_file(src, inline_source)) ||
	    !ASSERT_OK(run("cc -O2 -g '%s' -o '%s'", src, bin)) ||
	    !ASSERT_TRUE(expected_offset(bin, bin, false, "cprof_outer", &offset, &size)))
		return;
	/* The first address addr2line says is inside both inlined functions. */
	if (!ASSERT_TRUE(offset_to_vaddr_readelf(bin, offset, &vaddr)))
		return;
	at = first_with_depth(bin, vaddr, size, 3);
	if (at < size)
		n_expected = addr2line_frames(bin, vaddr + at, expected, 8);
	if (!ASSERT_EQ(n_expected, 3))
		return;
	ASSERT_STREQ(expected[0].function, "cprof_innermost");
	ASSERT_STREQ(expected[1].function, "cprof_middle");
	ASSERT_STREQ(expected[2].function, "cprof_outer");

	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	file = (struct symbolizer_file){ .path = bin };
	if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + at, frames,
						SYMBOLIZER_MAX_FRAMES, &n)) &&
	    ASSERT_EQ(n, 3)) {
		for (i = 0; i < 3; i++)
			ASSERT_TRUE(same_frame(&frames[i], &expected[i]));
	}
	/* A caller with room for two frames keeps the innermost and the real function. */
	if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + at, frames, 2, &n)) &&
	    ASSERT_EQ(n, 2)) {
		ASSERT_STREQ(frames[0].function, "cprof_innermost");
		ASSERT_STREQ(frames[1].function, "cprof_outer");
	}
	/* The name-only lookup still names the real function. */
	{
		struct symbol sym;

		if (ASSERT_OK(symbolizer__lookup_user(s, bin, offset + at, &sym)))
			ASSERT_STREQ(sym.name, "cprof_outer");
	}
	symbolizer__free(s);
}

static const char cxx_source[] =
	"namespace cprof {\n"
	"namespace detail {\n"
	"template <typename T, int N> struct accumulator {\n"
	"	T total;\n"
	"	__attribute__((noinline)) T add(T v)\n"
	"	{\n"
	"		for (int i = 0; i < N; i++)\n"
	"			total = total * 3 + v;\n"
	"		return total;\n"
	"	}\n"
	"};\n"
	"} // namespace detail\n"
	"template <typename T> __attribute__((noinline)) T scale(T v, int k)\n"
	"{\n"
	"	return v * k;\n"
	"}\n"
	"} // namespace cprof\n"
	"int main(int argc, char **)\n"
	"{\n"
	"	cprof::detail::accumulator<long, 4> a{0};\n"
	"	return (int)a.add(argc) + (int)cprof::scale<double>(argc, 3);\n"
	"}\n";

/* The mangled name in nm's list that contains part, and c++filt -p's reading of it. */
static bool find_mangled(const char *path, const char *part, char *mangled, size_t size,
			 char *demangled, size_t demangled_size)
{
	char *out = capture("nm --defined-only '%s' | awk '{print $3}' | grep -- '%s' | head -1",
			    path, part);
	char *filtered;
	size_t len;

	if (!out || sscanf(out, "%511s", mangled) != 1 || strlen(mangled) >= size) {
		free(out);
		return false;
	}
	free(out);
	filtered = capture("c++filt -p '%s'", mangled);
	if (!filtered)
		return false;
	len = strcspn(filtered, "\n");
	filtered[len] = '\0';
	snprintf(demangled, demangled_size, "%s", filtered);
	free(filtered);
	return true;
}

static void test_cxx_demangled(void)
{
	static const char *const parts[] = { "11accumulator", "5scale" };
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	char src[PATH_MAX], bin[PATH_MAX], mangled[512], demangled[512];
	struct symbolizer_file file;
	uint64_t offset, size;
	struct symbolizer *s;
	struct symbol sym;
	size_t n, i;

	NEED_FIXTURE();
	if (run("command -v c++ >/dev/null && command -v c++filt >/dev/null"))
		TEST_SKIP("needs c++ and c++filt (packages g++, binutils)");
	path_join(src, fx.dir, "templates.cc");
	path_join(bin, fx.dir, "templates");
	if (!ASSERT_TRUE(write_file(src, cxx_source)) ||
	    !ASSERT_OK(run("c++ -O1 -g '%s' -o '%s'", src, bin)))
		return;
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	file = (struct symbolizer_file){ .path = bin };
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!ASSERT_TRUE(find_mangled(bin, parts[i], mangled, sizeof(mangled), demangled,
					      sizeof(demangled))) ||
		    !ASSERT_TRUE(expected_offset(bin, bin, false, mangled, &offset, &size)))
			continue;
		printf("#   %s -> %s\n", mangled, demangled);
		ASSERT_TRUE(strstr(demangled, "cprof::") == demangled);
		if (ASSERT_OK(symbolizer__lookup_user(s, bin, offset + 1, &sym))) {
			ASSERT_STREQ(sym.name, demangled);
			ASSERT_STREQ(sym.system_name, mangled);
		}
		if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + 1, frames,
							SYMBOLIZER_MAX_FRAMES, &n)) &&
		    ASSERT_EQ(n, 1)) {
			ASSERT_STREQ(frames[0].function, demangled);
			ASSERT_STREQ(frames[0].system_name, mangled);
			ASSERT_TRUE(frames[0].file && strstr(frames[0].file, "templates.cc"));
			ASSERT_TRUE(frames[0].line > 0);
		}
	}
	symbolizer__free(s);
}

/* Rust names made with asm labels, so that no Rust compiler is needed. */
static const char rust_source[] =
	"__attribute__((noinline)) int legacy(int x) "
	"__asm__(\"_ZN9cprof_app4util7compute17h0123456789abcdefE\");\n"
	"__attribute__((noinline)) int legacy(int x) { return x * 3 + 1; }\n"
	"__attribute__((noinline)) int generic(int x) "
	"__asm__(\"_ZN74_$LT$cprof_app..Grid$LT$T$GT$$u20$as$u20$core..ops..Index$LT$usize$GT$$GT$"
	"5index17hfedcba9876543210E\");\n"
	"__attribute__((noinline)) int generic(int x) { return x * 5 + 2; }\n"
	"__attribute__((noinline)) int v0(int x) __asm__(\"_RNvCs1234_9cprof_app7compute\");\n"
	"__attribute__((noinline)) int v0(int x) { return x * 7 + 3; }\n"
	"int main(int argc, char **argv) { return legacy(argc) + generic(argc) + v0(argc); }\n";

static void test_rust_demangled(void)
{
	static const struct {
		const char *mangled, *demangled;
	} cases[] = {
		{ "_ZN9cprof_app4util7compute17h0123456789abcdefE", "cprof_app::util::compute" },
		{ "_ZN74_$LT$cprof_app..Grid$LT$T$GT$$u20$as$u20$core..ops..Index$LT$usize$GT$$GT$"
		  "5index17hfedcba9876543210E",
		  "<cprof_app::Grid<T> as core::ops::Index<usize>>::index" },
		{ "_RNvCs1234_9cprof_app7compute", "cprof_app::compute" },
	};
	char src[PATH_MAX], bin[PATH_MAX];
	uint64_t offset, size;
	struct symbolizer *s;
	struct symbol sym;
	size_t i;

	NEED_FIXTURE();
	path_join(src, fx.dir, "rusty.c");
	path_join(bin, fx.dir, "rusty");
	if (!ASSERT_TRUE(write_file(src, rust_source)) ||
	    !ASSERT_OK(run("cc -O1 -g '%s' -o '%s'", src, bin)))
		return;
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_TRUE(
			    expected_offset(bin, bin, false, cases[i].mangled, &offset, &size)))
			continue;
		if (ASSERT_OK(symbolizer__lookup_user(s, bin, offset, &sym))) {
			ASSERT_STREQ(sym.name, cases[i].demangled);
			ASSERT_STREQ(sym.system_name, cases[i].mangled);
		}
	}
	symbolizer__free(s);
}

/*
 * Files by identity: the same path with another inode is another file, a
 * file replaced under its path is not taken for the one mapped, and a
 * deleted file is still read through /proc/PID/map_files.
 */
static void test_file_identity(void)
{
	char path[PATH_MAX];
	struct symbolizer_file first, second;
	uint64_t offset_alpha, offset_other, size;
	struct symbolizer *s;
	struct symbol_frame frame;
	struct stat st;
	size_t n;
	void *mapped;
	int fd;

	NEED_FIXTURE();
	path_join(path, fx.dir, "app");
	if (!ASSERT_OK(run("cp '%s' '%s'", fx.prog, path)) || !ASSERT_OK(stat(path, &st)) ||
	    !ASSERT_TRUE(
		    expected_offset(fx.prog, fx.prog, false, "cprof_alpha", &offset_alpha, &size)))
		return;
	first = (struct symbolizer_file){ .path = path, .dev = st.st_dev, .inode = st.st_ino };
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	if (ASSERT_OK(symbolizer__lookup_frames(s, &first, offset_alpha, &frame, 1, &n)))
		ASSERT_STREQ(frame.function, "cprof_alpha");

	/* Keep the first file mapped, as a process would, then replace it. */
	fd = open(path, O_RDONLY);
	if (!ASSERT_TRUE(fd >= 0))
		goto out;
	mapped = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (!ASSERT_TRUE(mapped != MAP_FAILED))
		goto out;
	if (!ASSERT_OK(run("rm '%s' && cp '%s' '%s'", path, fx.exec, path)) ||
	    !ASSERT_OK(stat(path, &st)) ||
	    !ASSERT_TRUE(
		    expected_offset(fx.exec, fx.exec, false, "cprof_beta", &offset_other, &size)))
		goto out_unmap;
	second = (struct symbolizer_file){ .path = path, .dev = st.st_dev, .inode = st.st_ino };
	ASSERT_NE(second.inode, first.inode);
	if (ASSERT_OK(symbolizer__lookup_frames(s, &second, offset_other, &frame, 1, &n)))
		ASSERT_STREQ(frame.function, "cprof_beta");
	/* The first is still cached under its own identity. */
	if (ASSERT_OK(symbolizer__lookup_frames(s, &first, offset_alpha, &frame, 1, &n)))
		ASSERT_STREQ(frame.function, "cprof_alpha");
	symbolizer__free(s);

	/* Fresh: the path now names another file, which must not be read for the first. */
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out_unmap;
	ASSERT_EQ(symbolizer__lookup_frames(s, &first, offset_alpha, &frame, 1, &n), -ESTALE);
	symbolizer__free(s);

	/* Through the process that maps it, the deleted first file is still there. */
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		goto out_unmap;
	first.pid = getpid();
	first.map_start = (uint64_t)(uintptr_t)mapped;
	first.map_end = first.map_start + (((uint64_t)st.st_size + 4095) & ~4095ull);
	{
		char link[PATH_MAX];

		snprintf(link, sizeof(link), "/proc/self/map_files/%" PRIx64 "-%" PRIx64,
			 first.map_start, first.map_end);
		if (access(link, R_OK) != 0) {
			printf("#   %s: %s; map_files part not checked (needs root)\n", link,
			       strerror(errno));
		} else if (ASSERT_OK(symbolizer__lookup_frames(s, &first, offset_alpha, &frame, 1,
							       &n))) {
			ASSERT_STREQ(frame.function, "cprof_alpha");
		}
	}
out_unmap:
	munmap(mapped, (size_t)st.st_size);
out:
	symbolizer__free(s);
}

/* The sizes of path's .debug_* sections, summed, as readelf gives them. */
static size_t debug_section_bytes(const char *path)
{
	char *out = capture("readelf -SW '%s'", path), *line, *save = NULL;
	size_t total = 0;

	if (!out)
		return 0;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[64];
		unsigned long long address, offset, size;
		char *p = strchr(line, ']');

		if (p &&
		    sscanf(p + 1, " %127s %63s %llx %llx %llx", name, type, &address, &offset,
			   &size) == 5 &&
		    strncmp(name, ".debug_", 7) == 0)
			total += size;
	}
	free(out);
	return total;
}

/* DWARF counts in memory, grows as units are used, and the memory bound evicts. */
static void test_dwarf_memory(void)
{
	struct symbol_frame frame;
	struct symbolizer_file file = { .path = fx.prog };
	struct symbolizer_options opts = { .debug_root = fx.empty_root };
	uint64_t offset, size;
	size_t empty, loaded, used, n, mem_prog;
	struct symbolizer *s;
	const char *hex;

	NEED_FIXTURE();
	if (!ASSERT_TRUE(expected_offset(fx.prog, fx.prog, false, "cprof_beta", &offset, &size)))
		return;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	empty = symbolizer__memory(s);
	ASSERT_OK(symbolizer__build_id(s, fx.prog, &hex));
	loaded = symbolizer__memory(s);
	ASSERT_OK(symbolizer__lookup_frames(s, &file, offset, &frame, 1, &n));
	used = symbolizer__memory(s);
	printf("#   prog: %zu bytes loaded, %zu after a unit is used\n", loaded - empty,
	       used - empty);
	/* More than its symbols: its debug sections too. */
	ASSERT_TRUE(loaded - empty > debug_section_bytes(fx.prog));
	ASSERT_TRUE(used > loaded);
	mem_prog = used - empty;
	symbolizer__free(s);

	/* Room for prog alone: loading another evicts it. */
	opts.max_memory = mem_prog + mem_prog / 2;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_OK(symbolizer__lookup_frames(s, &file, offset, &frame, 1, &n));
	ASSERT_EQ(symbolizer__memory(s), empty + mem_prog);
	file.path = fx.exec;
	if (ASSERT_TRUE(expected_offset(fx.exec, fx.exec, false, "cprof_alpha", &offset, &size)) &&
	    ASSERT_OK(symbolizer__lookup_frames(s, &file, offset, &frame, 1, &n))) {
		ASSERT_STREQ(frame.function, "cprof_alpha");
		ASSERT_TRUE(frame.file != NULL);
	}
	ASSERT_TRUE(symbolizer__memory(s) - empty <= opts.max_memory);
	ASSERT_TRUE(symbolizer__memory(s) != empty + mem_prog);
	symbolizer__free(s);
}

/* dl_iterate_phdr callback: the file offset of the vaddr in data[0] for object base data[1]. */
static int find_offset_in_object(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t *io = data;
	int i;

	if (info->dlpi_addr != io[1])
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];

		if (phdr->p_type == PT_LOAD && io[0] >= phdr->p_vaddr &&
		    io[0] - phdr->p_vaddr < phdr->p_filesz) {
			io[2] = io[0] - phdr->p_vaddr + phdr->p_offset;
			return 1;
		}
	}
	return 0;
}

/* An internal libc function, in the debug file's .symtab but not in .dynsym. */
static bool pick_internal_function(const char *debug_file, char *name, size_t size)
{
	char *out = capture("nm -S --defined-only '%s' 2>/dev/null", debug_file);
	bool found = false;

	if (!out)
		return false;
	/* qsort's helper in glibc 2.3x; another glibc may not have it by that name. */
	if (strstr(out, " t msort_with_tmp.part.0\n")) {
		snprintf(name, size, "msort_with_tmp.part.0");
		found = true;
	}
	free(out);
	return found;
}

static void test_libc_debug_file(void)
{
	char debug_file[PATH_MAX], internal[128], *out;
	const char *libc_path, *build_id;
	void *handle, *qsort_address;
	uint64_t io[3], size;
	struct symbolizer *s;
	struct symbol sym;
	Dl_info info;

	/* The real qsort, not a sanitizer's interceptor of it. */
	handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!handle)
		TEST_SKIP("libc.so.6 is not loaded: %s", dlerror());
	qsort_address = dlsym(handle, "qsort");
	if (!ASSERT_NOT_NULL(qsort_address) || !ASSERT_TRUE(dladdr(qsort_address, &info)))
		goto out_close;
	libc_path = info.dli_fname;

	s = symbolizer__new(NULL);
	if (!ASSERT_NOT_NULL(s))
		goto out_close;
	if (!ASSERT_OK(symbolizer__build_id(s, libc_path, &build_id)))
		goto out_free;
	path_format(debug_file, "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id, build_id + 2);
	if (access(debug_file, R_OK) != 0) {
		symbolizer__free(s);
		dlclose(handle);
		TEST_SKIP("no %.120s for %.60s (install libc6-dbg)", debug_file, libc_path);
	}

	/* qsort: exported, so .dynsym names it too. */
	io[0] = (uint64_t)(uintptr_t)qsort_address - (uint64_t)(uintptr_t)info.dli_fbase;
	io[1] = (uint64_t)(uintptr_t)info.dli_fbase;
	io[2] = 0;
	/* dlpi_addr is the load bias; for a library linked at 0 it is dli_fbase. */
	if (ASSERT_TRUE(dl_iterate_phdr(find_offset_in_object, io) == 1) &&
	    ASSERT_OK(symbolizer__lookup_user(s, libc_path, io[2] + 3, &sym))) {
		ASSERT_STREQ(sym.name, "qsort");
		ASSERT_EQ(sym.offset, 3);
	}
	/* And its file and line, from the debug file's DWARF, as addr2line reads them. */
	{
		struct symbolizer_file file = { .path = libc_path };
		struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
		struct a2l_frame expected[8];
		size_t n, n_expected;

		n_expected = addr2line_frames(debug_file, io[0] + 3, expected, 8);
		if (ASSERT_TRUE(n_expected >= 1) &&
		    ASSERT_OK(symbolizer__lookup_frames(s, &file, io[2] + 3, frames,
							SYMBOLIZER_MAX_FRAMES, &n)) &&
		    ASSERT_EQ(n, n_expected)) {
			ASSERT_STREQ(frames[n - 1].function, "qsort");
			ASSERT_TRUE(frames[n - 1].file && frames[n - 1].line > 0);
			printf("#   qsort+3: %s:%u\n", frames[0].file ? frames[0].file : "?",
			       frames[0].line);
			/*
			 * addr2line joins glibc's relative comp_dir ("./stdlib") to the
			 * file's own directory; libdw does not: compare the names.
			 */
			ASSERT_TRUE(frames[0].file && expected[0].file[0] &&
				    strcmp(base_name(frames[0].file),
					   base_name(expected[0].file)) == 0);
			ASSERT_EQ(frames[0].line, expected[0].line);
		}
		printf("#   symbolizer memory with libc and its DWARF: %zu bytes\n",
		       symbolizer__memory(s));
	}

	/* An internal function only the debug file knows. */
	if (!pick_internal_function(debug_file, internal, sizeof(internal))) {
		printf("#   no msort_with_tmp.part.0 in %s; checked qsort only\n", debug_file);
		goto out_free;
	}
	out = capture("nm -D --defined-only '%s' 2>/dev/null", libc_path);
	if (ASSERT_NOT_NULL(out)) {
		ASSERT_TRUE(strstr(out, internal) == NULL);
		free(out);
	}
	if (ASSERT_TRUE(expected_offset(libc_path, debug_file, false, internal, &io[2], &size)) &&
	    ASSERT_OK(symbolizer__lookup_user(s, libc_path, io[2] + 2, &sym))) {
		ASSERT_STREQ(sym.name, internal);
		ASSERT_EQ(sym.offset, 2);
	}
out_free:
	symbolizer__free(s);
out_close:
	dlclose(handle);
}

/* The file offset and size of path's section section_name, from readelf. */
static bool section_range(const char *path, const char *section_name, uint64_t *ret_offset,
			  uint64_t *ret_size)
{
	char *out = capture("readelf -SW '%s' 2>/dev/null", path), *line, *save = NULL;
	bool found = false;

	if (!out)
		return false;
	for (line = strtok_r(out, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long address, offset, size;
		char name[64], type[64];
		char *p = strchr(line, ']');

		if (p &&
		    sscanf(p + 1, " %63s %63s %llx %llx %llx", name, type, &address, &offset,
			   &size) == 5 &&
		    strcmp(name, section_name) == 0 && size > 0) {
			*ret_offset = offset;
			*ret_size = size;
			found = true;
		}
	}
	free(out);
	return found;
}

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * Looks up each of offsets in path with the units' function indexes and
 * with the walk of whole units (dwarf_walk_only), and counts the addresses
 * where the two disagree on anything: error, number of frames, or a frame's
 * names, file or line. The first few are printed. *ret_inlined: addresses
 * with inlined frames.
 */
static size_t compare_with_walk(const char *path, const uint64_t *offsets, size_t n_offsets,
				size_t *ret_inlined)
{
	struct symbolizer_options opts = { .dwarf_walk_only = true };
	struct symbol_frame indexed[SYMBOLIZER_MAX_FRAMES], walked[SYMBOLIZER_MAX_FRAMES];
	struct symbolizer_file file = { .path = path };
	struct symbolizer *s_index = symbolizer__new(NULL), *s_walk = symbolizer__new(&opts);
	size_t i, j, differ = 0, inlined = 0;

	if (!ASSERT_NOT_NULL(s_index) || !ASSERT_NOT_NULL(s_walk)) {
		differ = n_offsets;
		goto out;
	}
	for (i = 0; i < n_offsets; i++) {
		size_t n_indexed = 0, n_walked = 0;
		int err_indexed, err_walked;
		bool same;

		/* Names stay valid until the next call on the same symbolizer. */
		err_indexed = symbolizer__lookup_frames(s_index, &file, offsets[i], indexed,
							SYMBOLIZER_MAX_FRAMES, &n_indexed);
		err_walked = symbolizer__lookup_frames(s_walk, &file, offsets[i], walked,
						       SYMBOLIZER_MAX_FRAMES, &n_walked);
		same = err_indexed == err_walked && n_indexed == n_walked;
		for (j = 0; same && err_indexed == 0 && j < n_indexed; j++) {
			same = same_string(indexed[j].function, walked[j].function) &&
			       same_string(indexed[j].system_name, walked[j].system_name) &&
			       same_string(indexed[j].file, walked[j].file) &&
			       indexed[j].line == walked[j].line;
		}
		if (err_indexed == 0 && n_indexed > 1)
			inlined++;
		if (same)
			continue;
		if (differ++ < 5) {
			printf("#   offset 0x%" PRIx64 ": indexed %d, %zu frames (%s %s:%u); "
			       "walk %d, %zu frames (%s %s:%u)\n",
			       offsets[i], err_indexed, n_indexed,
			       n_indexed ? indexed[0].function : "-",
			       n_indexed && indexed[0].file ? indexed[0].file : "-",
			       n_indexed ? indexed[0].line : 0, err_walked, n_walked,
			       n_walked ? walked[0].function : "-",
			       n_walked && walked[0].file ? walked[0].file : "-",
			       n_walked ? walked[0].line : 0);
		}
	}
	/* The indexes are accounted, on top of what the walk holds. */
	ASSERT_TRUE(symbolizer__memory(s_index) > symbolizer__memory(s_walk));
	printf("#   %s: %zu addresses, %zu with inlined frames, %zu differ; memory %zu "
	       "indexed, %zu walked\n",
	       base_name(path), n_offsets, inlined, differ, symbolizer__memory(s_index),
	       symbolizer__memory(s_walk));
out:
	symbolizer__free(s_index);
	symbolizer__free(s_walk);
	*ret_inlined = inlined;
	return differ;
}

/* Every address of the C++ workload's text: the index finds what the walk of the unit finds. */
static void test_dwarf_index_every_address(void)
{
	char exe[PATH_MAX], path[PATH_MAX], *slash;
	uint64_t text_offset, text_size, *offsets, i;
	size_t inlined;
	ssize_t len;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (!ASSERT_TRUE(len > 0))
		return;
	exe[len] = '\0';
	/* BUILD/tests/test_symbolizer -> BUILD/workloads/templates */
	slash = strrchr(exe, '/');
	if (!ASSERT_NOT_NULL(slash))
		return;
	*slash = '\0';
	path_format(path, "%s/../workloads/templates", exe);
	if (access(path, R_OK) != 0)
		TEST_SKIP("no %.200s (make tests builds it)", path);
	if (!ASSERT_TRUE(section_range(path, ".text", &text_offset, &text_size)) ||
	    !ASSERT_TRUE(text_size < (16u << 20)))
		return;
	offsets = calloc(text_size, sizeof(*offsets));
	if (!ASSERT_NOT_NULL(offsets))
		return;
	for (i = 0; i < text_size; i++)
		offsets[i] = text_offset + i;
	ASSERT_EQ(compare_with_walk(path, offsets, text_size, &inlined), 0);
	ASSERT_TRUE(inlined > 0);
	free(offsets);
}

/* libc with libc6-dbg's DWARF: a sample of its text, the same with the index as without. */
static void test_dwarf_index_libc(void)
{
	enum { n_samples = 4000 };
	char debug_file[PATH_MAX];
	uint64_t text_offset, text_size, state = 1, *offsets = NULL;
	const char *libc_path, *build_id;
	struct symbolizer *s = NULL;
	void *handle, *qsort_address;
	size_t inlined, i;
	Dl_info info;

	handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!handle)
		TEST_SKIP("libc.so.6 is not loaded: %s", dlerror());
	qsort_address = dlsym(handle, "qsort");
	if (!ASSERT_NOT_NULL(qsort_address) || !ASSERT_TRUE(dladdr(qsort_address, &info)))
		goto out;
	libc_path = info.dli_fname;
	s = symbolizer__new(NULL);
	if (!ASSERT_NOT_NULL(s) || !ASSERT_OK(symbolizer__build_id(s, libc_path, &build_id)))
		goto out;
	path_format(debug_file, "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id, build_id + 2);
	if (access(debug_file, R_OK) != 0) {
		symbolizer__free(s);
		dlclose(handle);
		TEST_SKIP("no %.120s for %.60s (install libc6-dbg)", debug_file, libc_path);
	}
	offsets = calloc(n_samples, sizeof(*offsets));
	if (!ASSERT_NOT_NULL(offsets) ||
	    !ASSERT_TRUE(section_range(libc_path, ".text", &text_offset, &text_size)))
		goto out;
	for (i = 0; i < n_samples; i++) {
		/* xorshift64: the same sample every run. */
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		offsets[i] = text_offset + state % text_size;
	}
	ASSERT_EQ(compare_with_walk(libc_path, offsets, n_samples, &inlined), 0);
	ASSERT_TRUE(inlined > 0);
out:
	free(offsets);
	symbolizer__free(s);
	dlclose(handle);
}

/*
 * A string section without its final NUL: libdw would read names in it past
 * its end. The DWARF is left alone; the ELF symbols still name the function.
 */
static void test_dwarf_unterminated_strings(void)
{
	struct symbolizer_file file = { .path = NULL };
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	uint64_t offset, size, str_offset, str_size;
	char path[PATH_MAX];
	struct symbolizer *s;
	size_t n;
	int fd;

	NEED_FIXTURE();
	path_join(path, fx.dir, "unterminated");
	if (!ASSERT_TRUE(section_range(fx.prog, ".debug_line_str", &str_offset, &str_size)) ||
	    !ASSERT_TRUE(expected_offset(fx.prog, fx.prog, false, "cprof_beta", &offset, &size)) ||
	    !ASSERT_OK(run("cp '%s' '%s'", fx.prog, path)))
		return;
	/* As the file is, its frames come with a file and line. */
	file.path = fx.prog;
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + 2, frames, SYMBOLIZER_MAX_FRAMES,
						&n)))
		ASSERT_TRUE(frames[n - 1].file != NULL);
	symbolizer__free(s);

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (!ASSERT_TRUE(fd >= 0))
		return;
	ASSERT_EQ(pwrite(fd, "x", 1, (off_t)(str_offset + str_size - 1)), 1);
	close(fd);
	file.path = path;
	s = new_symbolizer(fx.empty_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + 2, frames, SYMBOLIZER_MAX_FRAMES,
						&n))) {
		ASSERT_EQ(n, 1);
		ASSERT_STREQ(frames[0].function, "cprof_beta");
		ASSERT_TRUE(frames[0].file == NULL);
	}
	symbolizer__free(s);
}

/* The vdso is no file: it is read from the process's memory. */
static void test_vdso(void)
{
	struct symbol_frame frame;
	struct symbolizer_file file = { .path = "[vdso]", .pid = getpid() };
	unsigned long long start, end;
	char line[512];
	void *handle, *function;
	struct symbolizer *s;
	const char *hex;
	size_t n;
	FILE *maps;

	maps = fopen("/proc/self/maps", "r");
	if (!ASSERT_NOT_NULL(maps))
		return;
	while (fgets(line, sizeof(line), maps)) {
		if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &start, &end) == 2) {
			file.map_start = start;
			file.map_end = end;
		}
	}
	fclose(maps);
	handle = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (!file.map_end || !handle)
		TEST_SKIP("no vdso in this process");
	function = dlsym(handle, "__vdso_clock_gettime");
	dlclose(handle);
	if (!ASSERT_NOT_NULL(function))
		return;
	file.inode = file.map_end - file.map_start;
	s = new_symbolizer(fx.empty_root[0] ? fx.empty_root : NULL, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	if (ASSERT_OK(symbolizer__lookup_frames(
		    s, &file, (uint64_t)(uintptr_t)function - file.map_start + 4, &frame, 1, &n))) {
		/* Aliases: the global __vdso_ name beats the weak clock_gettime. */
		ASSERT_STREQ(frame.function, "__vdso_clock_gettime");
		ASSERT_TRUE(frame.file == NULL);
	}
	ASSERT_OK(symbolizer__file_build_id(s, &file, &hex));
	/* Without a process to read it from, there is nothing. */
	file.pid = 0;
	file.inode++;
	ASSERT_EQ(symbolizer__lookup_frames(s, &file, 0, &frame, 1, &n), -ENOENT);
	symbolizer__free(s);

	/*
	 * A process that is gone (a short-lived child) had the image every
	 * process of our kind has: ours stands in, if the size is the same.
	 */
	s = new_symbolizer(fx.empty_root[0] ? fx.empty_root : NULL, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	file.pid = INT_MAX;
	file.inode = file.map_end - file.map_start;
	if (ASSERT_OK(symbolizer__lookup_frames(
		    s, &file, (uint64_t)(uintptr_t)function - file.map_start + 4, &frame, 1, &n)))
		ASSERT_STREQ(frame.function, "__vdso_clock_gettime");
	file.map_end += 4096;
	file.inode = file.map_end - file.map_start;
	ASSERT_TRUE(symbolizer__lookup_frames(s, &file, 0, &frame, 1, &n) < 0);
	symbolizer__free(s);
}

static void test_api_misuse(void)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct symbol sym;
	const char *hex;
	char *long_path;

	symbolizer__free(NULL);
	ASSERT_EQ(symbolizer__memory(NULL), 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_EQ(symbolizer__lookup_user(s, NULL, 0, &sym), -EINVAL);
	ASSERT_EQ(symbolizer__lookup_user(s, "/bin/sh", 0, NULL), -EINVAL);
	ASSERT_EQ(symbolizer__build_id(s, NULL, &hex), -EINVAL);
	ASSERT_EQ(symbolizer__lookup_kernel(NULL, 0, &sym), -EINVAL);
	{
		struct symbolizer_file file = { .path = NULL };
		struct symbol_frame frame;
		size_t n;

		ASSERT_EQ(symbolizer__lookup_frames(s, &file, 0, &frame, 1, &n), -EINVAL);
		ASSERT_EQ(symbolizer__lookup_frames(s, NULL, 0, &frame, 1, &n), -EINVAL);
		file.path = "/bin/sh";
		ASSERT_EQ(symbolizer__lookup_frames(s, &file, 0, &frame, 0, &n), -EINVAL);
		ASSERT_EQ(symbolizer__lookup_frames(s, &file, 0, NULL, 1, &n), -EINVAL);
		ASSERT_EQ(symbolizer__file_build_id(s, NULL, &hex), -EINVAL);
		/* A file that is not there, named by inode: an error, not a crash. */
		file = (struct symbolizer_file){ .path = "/nonexistent/cprof",
						 .inode = 42,
						 .pid = 999999999,
						 .map_start = 0x1000,
						 .map_end = 0x2000 };
		ASSERT_EQ(symbolizer__lookup_frames(s, &file, 0, &frame, 1, &n), -ENOENT);
	}
	long_path = malloc(PATH_MAX + 10);
	if (ASSERT_NOT_NULL(long_path)) {
		memset(long_path, 'a', PATH_MAX + 9);
		long_path[0] = '/';
		long_path[PATH_MAX + 9] = '\0';
		ASSERT_EQ(symbolizer__lookup_user(s, long_path, 0, &sym), -ENAMETOOLONG);
		free(long_path);
	}
	symbolizer__free(s);
}

/* Waits for the background loads to finish and installs them; returns how many. */
static int wait_and_collect(struct symbolizer *s)
{
	struct pollfd pfd = { .fd = symbolizer__fd(s), .events = POLLIN };
	int n = 0;

	for (int i = 0; i < 100; i++) {
		struct symbolizer_stats stats;

		n += symbolizer__collect(s);
		symbolizer__stats(s, &stats);
		if (!stats.loads_pending && n)
			return n;
		poll(&pfd, 1, 100);
	}
	return n;
}

static void test_background_mode(void)
{
	struct symbolizer_options opts = { .debug_root = fx.debug_root, .background = true };
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];
	struct symbolizer_file file = {};
	struct symbolizer_stats stats;
	struct a2l_frame expected[8];
	uint64_t offset, size, vaddr;
	char kallsyms[PATH_MAX];
	struct symbolizer *s;
	struct symbol sym;
	size_t n;
	FILE *f;

	NEED_FIXTURE();
	s = new_symbolizer(fx.debug_root, 0);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_EQ(symbolizer__fd(s), -1);
	ASSERT_EQ(symbolizer__collect(s), 0);
	symbolizer__free(s);

	path_join(kallsyms, fx.dir, "kallsyms");
	f = fopen(kallsyms, "w");
	if (!ASSERT_NOT_NULL(f))
		return;
	fputs("ffffffff81000000 T cprof_kernel_function\nffffffff81000100 T cprof_next\n", f);
	fclose(f);
	opts.kallsyms_path = kallsyms;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_TRUE(symbolizer__fd(s) >= 0);
	file.path = fx.bid;
	if (!ASSERT_TRUE(
		    expected_offset(fx.bid, fx.bid_full, false, "cprof_beta", &offset, &size)) ||
	    !ASSERT_TRUE(offset_to_vaddr_readelf(fx.bid, offset + 4, &vaddr)) ||
	    !ASSERT_EQ(addr2line_frames(fx.bid_full, vaddr, expected, 8), 1))
		goto out;

	/* Not loaded: -EAGAIN, and the load is queued once, however often it is asked. */
	ASSERT_EQ(symbolizer__lookup_frames(s, &file, offset + 4, frames, SYMBOLIZER_MAX_FRAMES,
					    &n),
		  -EAGAIN);
	ASSERT_EQ(symbolizer__lookup_user(s, fx.bid, offset, &sym), -EAGAIN);
	ASSERT_EQ(symbolizer__request(s, &file), -EAGAIN);
	ASSERT_EQ(symbolizer__lookup_kernel(s, 0xffffffff81000010ull, &sym), -EAGAIN);
	ASSERT_EQ(symbolizer__lookup_kernel(s, 0xffffffff81000010ull, &sym), -EAGAIN);
	symbolizer__stats(s, &stats);
	ASSERT_TRUE(stats.loads_pending <= 2);
	ASSERT_EQ(stats.loads_done, 0);

	/* Collected: the same lookups give names, file and line (from the debug file). */
	ASSERT_EQ(wait_and_collect(s), 2);
	symbolizer__stats(s, &stats);
	ASSERT_EQ(stats.loads_pending, 0);
	ASSERT_EQ(stats.loads_done, 2);
	ASSERT_EQ(stats.loads_failed, 0);
	ASSERT_EQ(stats.binaries, 1);
	ASSERT_OK(symbolizer__request(s, &file));
	if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + 4, frames,
						SYMBOLIZER_MAX_FRAMES, &n)) &&
	    ASSERT_EQ(n, 1)) {
		ASSERT_STREQ(frames[0].function, "cprof_beta");
		ASSERT_TRUE(same_frame(&frames[0], &expected[0]));
	}
	/* Again, from the address cache: the same answer. */
	if (ASSERT_OK(symbolizer__lookup_frames(s, &file, offset + 4, frames,
						SYMBOLIZER_MAX_FRAMES, &n)) &&
	    ASSERT_EQ(n, 1)) {
		ASSERT_STREQ(frames[0].function, "cprof_beta");
		ASSERT_TRUE(same_frame(&frames[0], &expected[0]));
	}
	if (ASSERT_OK(symbolizer__lookup_user(s, fx.bid, offset, &sym)))
		ASSERT_STREQ(sym.name, "cprof_beta");
	if (ASSERT_OK(symbolizer__lookup_kernel(s, 0xffffffff81000010ull, &sym))) {
		ASSERT_STREQ(sym.name, "cprof_kernel_function");
		ASSERT_EQ(sym.offset, 0x10);
	}

	/* A file that is no ELF: loaded in the background too, and known bad after. */
	file.path = fx.not_elf;
	ASSERT_EQ(symbolizer__request(s, &file), -EAGAIN);
	ASSERT_EQ(wait_and_collect(s), 1);
	ASSERT_OK(symbolizer__request(s, &file));
	ASSERT_EQ(symbolizer__lookup_user(s, fx.not_elf, 0, &sym), -ENOEXEC);
	symbolizer__stats(s, &stats);
	ASSERT_EQ(stats.loads_done, 3);
	ASSERT_EQ(stats.loads_failed, 1);
out:
	symbolizer__free(s);
}

/* While frozen, the binaries used stay even past the bound; after, the bound holds again. */
static void test_background_freeze(void)
{
	struct symbolizer_options opts = { .debug_root = fx.debug_root,
					   .background = true,
					   .max_binaries = 1 };
	struct symbolizer_file bid = { .path = fx.bid }, prog = { .path = fx.prog };
	struct symbolizer_stats stats;
	uint64_t offset, size;
	struct symbolizer *s;
	struct symbol sym;

	NEED_FIXTURE();
	if (!ASSERT_TRUE(expected_offset(fx.bid, fx.bid_full, false, "cprof_beta", &offset, &size)))
		return;
	s = symbolizer__new(&opts);
	if (!ASSERT_NOT_NULL(s))
		return;
	ASSERT_EQ(symbolizer__request(s, &bid), -EAGAIN);
	ASSERT_EQ(wait_and_collect(s), 1);
	symbolizer__freeze(s, true);
	ASSERT_OK(symbolizer__lookup_user(s, fx.bid, offset, &sym));
	/* A second binary, with room for one: the first was used in this freeze, it stays. */
	ASSERT_EQ(symbolizer__request(s, &prog), -EAGAIN);
	ASSERT_EQ(wait_and_collect(s), 1);
	symbolizer__stats(s, &stats);
	ASSERT_EQ(stats.binaries, 2);
	ASSERT_EQ(stats.evictions, 0);
	if (ASSERT_OK(symbolizer__lookup_user(s, fx.bid, offset, &sym)))
		ASSERT_STREQ(sym.name, "cprof_beta");
	symbolizer__freeze(s, false);
	symbolizer__stats(s, &stats);
	ASSERT_EQ(stats.binaries, 1);
	ASSERT_EQ(stats.evictions, 1);
	symbolizer__free(s);
}

int main(void)
{
	int status;

	build_fixture();
	RUN_TEST(test_pie_with_symtab);
	RUN_TEST(test_exec_not_pie);
	RUN_TEST(test_stripped_library_dynsym);
	RUN_TEST(test_build_id_debug_file);
	RUN_TEST(test_debuglink);
	RUN_TEST(test_aliases);
	RUN_TEST(test_bad_files);
	RUN_TEST(test_negative_cache_and_revalidation);
	RUN_TEST(test_cache_eviction);
	RUN_TEST(test_kernel_fake_kallsyms);
	RUN_TEST(test_kernel_unusable);
	RUN_TEST(test_kernel_nul_in_line);
	RUN_TEST(test_kernel_real_kallsyms);
	RUN_TEST(test_libc_debug_file);
	RUN_TEST(test_dwarf_file_and_line);
	RUN_TEST(test_dwarf_inlined);
	RUN_TEST(test_cxx_demangled);
	RUN_TEST(test_rust_demangled);
	RUN_TEST(test_file_identity);
	RUN_TEST(test_dwarf_memory);
	RUN_TEST(test_dwarf_index_every_address);
	RUN_TEST(test_dwarf_index_libc);
	RUN_TEST(test_dwarf_unterminated_strings);
	RUN_TEST(test_vdso);
	RUN_TEST(test_api_misuse);
	RUN_TEST(test_background_mode);
	RUN_TEST(test_background_freeze);
	status = TEST_SUMMARY();
	if (fx.dir[0] && !getenv("KEEP_TEST_FILES"))
		run("rm -rf '%s'", fx.dir);
	return status;
}
