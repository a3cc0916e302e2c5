// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Leaf-caller recovery against code built here: a small shared library
 * compiled with frame pointers (as the workloads are), with labels inside
 * the functions so the test knows which instruction it asks about. The
 * library is loaded into this process, so the whole path (maps, opening
 * the mapped file, the CFI rule, the splice) runs on a real mapping.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "procs/proc_maps.h"
#include "procs/process_table.h"
#include "sampler/leaf_unwind.h"
#include "sampler/record.h"

/* A global label at this point of the code, for dlsym(). */
static const char library_source[] =
	"#define LABEL(name) __asm__ volatile(\".globl \" #name \"\\n\" #name \":\")\n"
	"__attribute__((noinline)) unsigned long frameless_leaf(unsigned long x, unsigned long n)\n"
	"{\n"
	"	for (unsigned long i = 0; i < n; i++) {\n"
	"		LABEL(frameless_body);\n"
	"		x = x * 31 + i;\n"
	"	}\n"
	"	return x;\n"
	"}\n"
	"__attribute__((noinline)) unsigned long framed(unsigned long x)\n"
	"{\n"
	"	x = frameless_leaf(x, 3);\n"
	"	LABEL(framed_body);\n"
	"	x = frameless_leaf(x, 5);\n"
	"	return x + 1;\n"
	"}\n"
	"__attribute__((noinline, optimize(\"omit-frame-pointer\")))\n"
	"unsigned long pushes(unsigned long x, unsigned long n)\n"
	"{\n"
	"	__asm__ volatile(\"\" ::: \"rbx\", \"r12\", \"r13\");\n"
	"	for (unsigned long i = 0; i < n; i++) {\n"
	"		LABEL(pushes_body);\n"
	"		x = x * 33 + i;\n"
	"	}\n"
	"	__asm__ volatile(\"\" ::: \"rbx\", \"r12\", \"r13\");\n"
	"	return x;\n"
	"}\n";

static char dir[] = "/tmp/cprof-leaf-XXXXXX";

/* The source built two ways: with .eh_frame, and with .debug_frame only. */
struct library {
	const char *name;
	const char *cflags;
	char path[sizeof(dir) + 32];
	void *handle;
	Elf *elf;
	int fd;
};

static struct library eh_frame_library = {
	.name = "libleaf.so", .cflags = "", .fd = -1,
};
static struct library debug_frame_library = {
	.name = "libleaf-debug-frame.so",
	.cflags = "-fno-asynchronous-unwind-tables -fno-unwind-tables -g",
	.fd = -1,
};

static int build_library(struct library *lib, const char *source)
{
	char command[1024];

	snprintf(lib->path, sizeof(lib->path), "%s/%s", dir, lib->name);
	snprintf(command, sizeof(command),
		 "cc -O2 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer "
		 "-fno-optimize-sibling-calls -fPIC -shared %s -o %s %s",
		 lib->cflags, lib->path, source);
	if (system(command) != 0)
		return -1;
	lib->handle = dlopen(lib->path, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle)
		return -1;
	lib->fd = open(lib->path, O_RDONLY | O_CLOEXEC);
	lib->elf = elf_begin(lib->fd, ELF_C_READ, NULL);
	return lib->elf ? 0 : -1;
}

/* Builds and loads the libraries once; 0 or -1 (and the test is skipped). */
static int load_library(void)
{
	static int result = 1;
	char source[sizeof(dir) + 32];
	FILE *f;

	if (result <= 0)
		return result;
	result = -1;
	if (!mkdtemp(dir))
		return -1;
	snprintf(source, sizeof(source), "%s/leaf.c", dir);
	f = fopen(source, "we");
	if (!f)
		return -1;
	fputs(library_source, f);
	fclose(f);
	elf_version(EV_CURRENT);
	if (build_library(&eh_frame_library, source) || build_library(&debug_frame_library, source))
		return -1;
	result = 0;
	return 0;
}

static void unload(struct library *lib)
{
	if (lib->elf)
		elf_end(lib->elf);
	if (lib->fd >= 0)
		close(lib->fd);
	if (lib->handle)
		dlclose(lib->handle);
	unlink(lib->path);
}

static void unload_library(void)
{
	char path[sizeof(dir) + 32];

	unload(&eh_frame_library);
	unload(&debug_frame_library);
	snprintf(path, sizeof(path), "%s/leaf.c", dir);
	unlink(path);
	rmdir(dir);
}

/* The address of a library symbol in this process, 0 if missing. */
static uint64_t address_of(const char *symbol)
{
	void *handle = eh_frame_library.handle;

	return handle ? (uint64_t)(uintptr_t)dlsym(handle, symbol) : 0;
}

/* The file offset of a loaded address, as /proc/self/maps tells. */
static int file_offset_of(uint64_t address, uint64_t *ret_offset)
{
	struct proc_maps maps;
	const struct proc_map *m;
	int err = proc_maps__read(getpid(), &maps);

	if (err)
		return err;
	m = proc_maps__find(&maps, address);
	if (m)
		*ret_offset = m->offset + (address - m->start);
	proc_maps__release(&maps);
	return m ? 0 : -ENOENT;
}

static int rule_in(struct library *lib, const char *symbol, uint32_t *ret_sp_offset)
{
	uint64_t offset;
	int err = file_offset_of((uint64_t)(uintptr_t)dlsym(lib->handle, symbol), &offset);

	if (err)
		return err;
	return leaf_unwind__elf_rule(lib->elf, offset, ret_sp_offset);
}

static int rule_at(const char *symbol, uint32_t *ret_sp_offset)
{
	return rule_in(&eh_frame_library, symbol, ret_sp_offset);
}

static void test_rules(void)
{
	uint32_t sp_offset = 12345;

	if (load_library())
		TEST_SKIP("cannot build or load a library with cc in %s", dir);
	/* A leaf that set up nothing: the return address is at sp. */
	ASSERT_OK(rule_at("frameless_body", &sp_offset));
	ASSERT_EQ(sp_offset, 0);
	/* A function's first instruction, before push %rbp: also at sp. */
	ASSERT_OK(rule_at("framed", &sp_offset));
	ASSERT_EQ(sp_offset, 0);
	/* Three registers pushed without a frame: CFA = sp + 32, return address at sp + 24. */
	ASSERT_OK(rule_at("pushes_body", &sp_offset));
	ASSERT_EQ(sp_offset, 24);
	/* The body of a function with its frame set up: CFA is rbp-based, no rule. */
	ASSERT_EQ(rule_at("framed_body", &sp_offset), -ENOENT);
	/* Offsets no segment maps, and no ELF at all. */
	ASSERT_EQ(leaf_unwind__elf_rule(eh_frame_library.elf, 1ull << 40, &sp_offset), -EINVAL);
	ASSERT_EQ(leaf_unwind__elf_rule(NULL, 0, &sp_offset), -EINVAL);
}

/* Built without .eh_frame, the same rules come from .debug_frame. */
static void test_debug_frame_rules(void)
{
	uint32_t sp_offset = 12345;

	if (load_library())
		TEST_SKIP("cannot build or load a library with cc in %s", dir);
	ASSERT_OK(rule_in(&debug_frame_library, "frameless_body", &sp_offset));
	ASSERT_EQ(sp_offset, 0);
	ASSERT_OK(rule_in(&debug_frame_library, "pushes_body", &sp_offset));
	ASSERT_EQ(sp_offset, 24);
	ASSERT_EQ(rule_in(&debug_frame_library, "framed_body", &sp_offset), -ENOENT);
}

/* A record of this process with one kernel frame and the user frames given. */
static struct cprof_sample_record *make_record(uint64_t leaf, uint64_t outer,
					       const uint64_t *stack, unsigned int words)
{
	size_t size = sizeof(struct cprof_sample_record) + 3 * sizeof(uint64_t);
	struct cprof_sample_record *r = aligned_alloc(8, size);

	if (!r)
		return NULL;
	memset(r, 0, size);
	r->header.type = CPROF_RECORD_SAMPLE;
	r->header.version = CPROF_RECORD_VERSION;
	r->header.size = size;
	r->tgid = getpid();
	r->tid = getpid();
	r->kernel_depth = 1;
	r->user_depth = 2;
	r->ips[0] = 0xffffffff81000000ull;
	r->ips[1] = leaf;
	r->ips[2] = outer;
	r->leaf_stack_words = words;
	memcpy(r->leaf_stack, stack, words * sizeof(uint64_t));
	return r;
}

static void test_apply(void)
{
	struct process_table *processes = NULL;
	struct leaf_unwind *lu = NULL;
	struct cprof_sample_record *r = NULL;
	const struct cprof_sample_record *out;
	struct leaf_unwind_stats stats;
	/* Return addresses the test makes up: anywhere in this program's code will do. */
	uint64_t caller = (uint64_t)(uintptr_t)test_apply + 1;
	uint64_t outer = (uint64_t)(uintptr_t)test_rules + 1;
	uint64_t stack[CPROF_LEAF_STACK_WORDS] = { caller, 7, 7, 7, 7, 7, 7, 7 };

	if (load_library())
		TEST_SKIP("cannot build or load a library with cc in %s", dir);
	processes = process_table__new(16);
	lu = leaf_unwind__new(4);
	if (!ASSERT_NOT_NULL(processes) || !ASSERT_NOT_NULL(lu))
		goto out;
	if (!ASSERT_OK(process_table__acquire(processes, getpid())))
		goto out;

	/* Frameless leaf: the caller at sp is spliced in after the leaf. */
	r = make_record(address_of("frameless_body"), outer, stack, 8);
	if (!ASSERT_NOT_NULL(r))
		goto out;
	out = leaf_unwind__apply(lu, processes, r);
	ASSERT_TRUE(out != r);
	ASSERT_TRUE(record__decode_sample(out, out->header.size) == out);
	ASSERT_EQ(out->kernel_depth, 1);
	ASSERT_EQ(out->user_depth, 3);
	ASSERT_EQ(out->ips[0], r->ips[0]);
	ASSERT_EQ(out->ips[1], r->ips[1]);
	ASSERT_EQ(out->ips[2], caller);
	ASSERT_EQ(out->ips[3], outer);
	free(r);

	/* Pushes: the caller is the fourth word; with two words captured it is not there. */
	stack[0] = 7;
	stack[3] = caller;
	r = make_record(address_of("pushes_body"), outer, stack, 8);
	if (!ASSERT_NOT_NULL(r))
		goto out;
	out = leaf_unwind__apply(lu, processes, r);
	ASSERT_EQ(out->user_depth, 3);
	ASSERT_EQ(out->ips[2], caller);
	r->leaf_stack_words = 2;
	ASSERT_TRUE(leaf_unwind__apply(lu, processes, r) == r);
	free(r);

	/* A set-up frame: the walk already has the caller, nothing changes. */
	r = make_record(address_of("framed_body"), outer, stack, 8);
	if (!ASSERT_NOT_NULL(r))
		goto out;
	ASSERT_TRUE(leaf_unwind__apply(lu, processes, r) == r);
	free(r);

	/* A word that is no code address (a wrong rule, a torn stack) is not spliced in. */
	stack[0] = 0x1000;
	r = make_record(address_of("frameless_body"), outer, stack, 8);
	if (!ASSERT_NOT_NULL(r))
		goto out;
	ASSERT_TRUE(leaf_unwind__apply(lu, processes, r) == r);
	r->leaf_stack_words = 0;
	ASSERT_TRUE(leaf_unwind__apply(lu, processes, r) == r);

	/* Three distinct addresses looked up once each, then served from the cache. */
	leaf_unwind__stats(lu, &stats);
	ASSERT_EQ(stats.recovered, 2);
	ASSERT_EQ(stats.not_captured, 1);
	ASSERT_EQ(stats.rule_lookups, 3);
out:
	free(r);
	leaf_unwind__free(lu);
	if (processes)
		process_table__release(processes, getpid());
	process_table__free(processes);
}

int main(void)
{
	RUN_TEST(test_rules);
	RUN_TEST(test_debug_frame_rules);
	RUN_TEST(test_apply);
	unload_library();
	leaf_unwind__free(NULL);
	return TEST_SUMMARY();
}
