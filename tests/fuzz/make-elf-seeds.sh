#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Rebuilds the ELF seeds in corpus/elf/ from elf_seed.c: small binaries of
# the shapes the symbolizer meets (static and PIE executables, a shared
# object, stripped with a .dynsym only, with a debug link, 32-bit,
# big-endian, Thumb, compressed sections, full DWARF with an inlined
# function). Needs clang, lld-14 (for the foreign targets) and binutils.
# The committed seeds are the output of this script; run it by hand when
# the shapes need to change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus/elf
src=$here/elf_seed.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

small="-Os -fno-asynchronous-unwind-tables -fno-ident -Wl,-z,noseparate-code -Wl,--build-id"
bare="-nostdlib -static -fno-stack-protector"

clang $small $bare "$src" -o "$out/static_symtab"
clang $small $bare -m32 "$src" -o "$out/static_32bit"
clang $small -nostdlib -shared -fPIC "$src" -o "$out/shared_object"
clang $small -DWITH_LIBC -s -rdynamic "$src" -o "$out/pie_dynsym_only"
clang $small $bare --target=powerpc64-linux-gnu -fuse-ld=lld "$src" -o "$out/big_endian_ppc64"
clang $small $bare --target=armv7a-linux-gnueabihf -mthumb -fuse-ld=lld "$src" -o "$out/arm_thumb"
clang $small $bare -g1 -gz=zlib "$src" -o "$out/compressed_debug"
clang $small $bare -g -DWITH_INLINE "$src" -o "$out/dwarf_inlined"

# A stripped binary with a .gnu_debuglink naming its debug file.
clang $small $bare -g1 "$src" -o "$tmp/linked"
objcopy --only-keep-debug "$tmp/linked" "$tmp/linked.debug"
objcopy --strip-all --add-gnu-debuglink="$tmp/linked.debug" "$tmp/linked" "$out/debuglink"
ls -l "$out"

# Unwind info for leaf-caller recovery: .eh_frame, and .debug_frame alone.
mkdir -p "$here/corpus/leaf_unwind"
clang -Os -fno-ident -Wl,-z,noseparate-code $bare "$src" -o "$here/corpus/leaf_unwind/eh_frame"
strip --strip-all "$here/corpus/leaf_unwind/eh_frame"
clang -Os -fno-ident -Wl,-z,noseparate-code $bare -fno-asynchronous-unwind-tables -g1 "$src" \
	-o "$tmp/debug_frame"
objcopy --strip-all --keep-section=.debug_frame "$tmp/debug_frame" \
	"$here/corpus/leaf_unwind/debug_frame"
ls -l "$here/corpus/leaf_unwind"
