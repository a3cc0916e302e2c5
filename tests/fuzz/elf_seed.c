// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The program the ELF seeds in corpus/elf/ are built from (make-elf-seeds.sh):
 * functions of each binding, a zero-sized one, and an entry point that
 * needs no C library, so that a binary is a few hundred bytes of code.
 */
static int __attribute__((noinline)) local_function(int x)
{
	return x * 3 + 1;
}

#ifdef WITH_INLINE
/* Inlined, for DWARF with inlined frames (DW_TAG_inlined_subroutine) to look through. */
static inline __attribute__((always_inline)) int inlined_function(int x)
{
	return local_function(x) - 5;
}
#else
#define inlined_function local_function
#endif

int __attribute__((noinline)) global_function(int x)
{
	return inlined_function(x) + local_function(x + 1);
}

__attribute__((weak, noinline)) int weak_function(int x)
{
	return global_function(x) ^ 7;
}

/* No size in the symbol table: the symbolizer guesses its extent. */
__asm__(".text\n.globl unsized_function\n.type unsized_function,%function\n"
	"unsized_function:\n"
	"nop\n");

#ifdef WITH_LIBC
int main(int argc, char **argv)
{
	return weak_function(argc);
}
#else
void _start(void)
{
	volatile int result = weak_function(3);

	(void)result;
	for (;;)
		;
}
#endif
