/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Separate debug files: a binary's symbols from the file its build ID names
 * under the debug root, or the one its .gnu_debuglink names (checked by its
 * CRC), as gdb and perf look for them.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "symbolizer_impl.h"

/*
 * A .gnu_debuglink CRC means reading the whole debug file; past this size the
 * file is not used (unless its build ID matched, which needs no CRC).
 */
#define MAX_CRC_FILE_BYTES (128ull << 20)

/* CRC-32 of a whole file, as .gnu_debuglink records it (zlib's polynomial). */
static int file_crc32(int fd, uint64_t size, uint32_t *ret_crc)
{
	unsigned char buf[16384];
	uLong crc = crc32(0, Z_NULL, 0);
	uint64_t offset = 0;

	if (size > MAX_CRC_FILE_BYTES)
		return -EFBIG;
	while (offset < size) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)offset);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		crc = crc32(crc, buf, (uInt)n);
		offset += (uint64_t)n;
	}
	*ret_crc = (uint32_t)crc;
	return 0;
}

/*
 * Opens a candidate debug file for main and says whether it belongs to it:
 * same machine, and the same build ID when both have one, else (for a
 * debuglink) the CRC the link recorded.
 */
static int open_debug_candidate(struct elf_file *debug, const char *path,
				const struct elf_file *main_file, const uint8_t *build_id,
				size_t build_id_len, const uint32_t *link_crc)
{
	uint8_t debug_id[MAX_BUILD_ID_BYTES];
	size_t debug_id_len;
	int err;

	err = elf_file__open(debug, path);
	if (err)
		return err;
	err = -ENOENT;
	if (debug->st.st_dev == main_file->st.st_dev && debug->st.st_ino == main_file->st.st_ino)
		goto err_close;
	if (debug->ehdr.e_machine != main_file->ehdr.e_machine ||
	    debug->ehdr.e_ident[EI_CLASS] != main_file->ehdr.e_ident[EI_CLASS])
		goto err_close;
	if (build_id_len && elf_file__read_build_id(debug, debug_id, &debug_id_len) == 0) {
		if (debug_id_len != build_id_len || memcmp(debug_id, build_id, build_id_len) != 0)
			goto err_close;
		return 0;
	}
	if (link_crc) {
		uint32_t crc;

		if (file_crc32(debug->fd, (uint64_t)debug->st.st_size, &crc) || crc != *link_crc)
			goto err_close;
	}
	return 0;
err_close:
	elf_file__close(debug);
	return err;
}

/* Tries one candidate; 0 when b got its symbols from it (then req->debug_path names it). */
int debug_file__try(struct binary *b, const char *path, const struct elf_file *main_file,
		    const uint8_t *build_id, size_t build_id_len, const uint32_t *link_crc,
		    struct load_request *req)
{
	struct elf_file debug;
	int err;

	err = open_debug_candidate(&debug, path, main_file, build_id, build_id_len, link_crc);
	if (err)
		return err;
	/* Only a .symtab is worth it; the binary's own .dynsym is as good as a debug one. */
	err = elf_file__load_symbols(&debug, b, false);
	elf_file__close(&debug);
	if (!err)
		snprintf(req->debug_path, sizeof(req->debug_path), "%s", path);
	return err;
}

/* Reads .gnu_debuglink: a plain file name, padding to 4, then a CRC-32. */
static int read_debuglink(struct elf_file *f, char *ret_name, size_t name_size, uint32_t *ret_crc)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;
	Elf_Data *data;
	const unsigned char *bytes;
	size_t name_len, crc_offset;
	uint32_t crc;

	scn = elf_section__find_by_name(f->elf, ".gnu_debuglink", &shdr);
	if (!scn)
		return -ENOENT;
	data = elf_section__data(scn, &shdr);
	if (!data)
		return -ENOENT;
	bytes = data->d_buf;
	name_len = strnlen((const char *)bytes, data->d_size);
	if (name_len == 0 || name_len >= data->d_size || name_len >= name_size)
		return -EINVAL;
	/* A name, not a path: a link must not send us elsewhere in the file system. */
	if (memchr(bytes, '/', name_len) || strcmp((const char *)bytes, ".") == 0 ||
	    strcmp((const char *)bytes, "..") == 0)
		return -EINVAL;
	crc_offset = (name_len + 1 + 3) & ~(size_t)3;
	if (crc_offset > data->d_size || data->d_size - crc_offset < 4)
		return -EINVAL;
	/* Stored in the file's byte order. */
	bytes += crc_offset;
	if (f->ehdr.e_ident[EI_DATA] == ELFDATA2MSB)
		crc = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 |
		      (uint32_t)bytes[2] << 8 | bytes[3];
	else
		crc = (uint32_t)bytes[3] << 24 | (uint32_t)bytes[2] << 16 |
		      (uint32_t)bytes[1] << 8 | bytes[0];
	memcpy(ret_name, data->d_buf, name_len + 1);
	*ret_crc = crc;
	return 0;
}

/*
 * Loads symbols from a separate debug file if one is found: by build ID under
 * the debug root (ours, then the process's when it has another root), else
 * by .gnu_debuglink next to the binary, in its .debug/, or under the debug
 * root. Returns 0 when b got its symbols so.
 */
int debug_file__load_symbols(const struct symbolizer *s, struct binary *b,
			     struct elf_file *main_file, const uint8_t *build_id,
			     size_t build_id_len, struct load_request *req)
{
	char path[PATH_MAX], link_name[NAME_MAX + 1], dir[PATH_MAX];
	const char *slash, *root = req->root;
	uint32_t crc;
	size_t dir_len;
	int n;

	if (build_id_len >= 2) {
		char *hex = build_id__hex(build_id, build_id_len);
		bool found = false;

		if (!hex)
			return -ENOMEM;
		n = snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", s->debug_root, hex,
			     hex + 2);
		if (n > 0 && (size_t)n < sizeof(path) &&
		    debug_file__try(b, path, main_file, build_id, build_id_len, NULL, req) == 0)
			found = true;
		n = snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug", root,
			     s->debug_root, hex, hex + 2);
		if (!found && root[0] && n > 0 && (size_t)n < sizeof(path) &&
		    debug_file__try(b, path, main_file, build_id, build_id_len, NULL, req) == 0)
			found = true;
		free(hex);
		if (found)
			return 0;
	}

	if (read_debuglink(main_file, link_name, sizeof(link_name), &crc))
		return -ENOENT;
	slash = strrchr(b->path, '/');
	if (slash) {
		dir_len = (size_t)(slash - b->path);
		memcpy(dir, b->path, dir_len);
		dir[dir_len] = '\0';
	} else {
		strcpy(dir, ".");
	}

	/* The binary's directory as the process sees it. */
	n = snprintf(path, sizeof(path), "%s%s/%s", dir[0] == '/' ? root : "", dir, link_name);
	if (n > 0 && (size_t)n < sizeof(path) &&
	    debug_file__try(b, path, main_file, build_id, build_id_len, &crc, req) == 0)
		return 0;
	n = snprintf(path, sizeof(path), "%s%s/.debug/%s", dir[0] == '/' ? root : "", dir,
		     link_name);
	if (n > 0 && (size_t)n < sizeof(path) &&
	    debug_file__try(b, path, main_file, build_id, build_id_len, &crc, req) == 0)
		return 0;
	if (dir[0] == '/') {
		n = snprintf(path, sizeof(path), "%s%s/%s", s->debug_root, dir, link_name);
		if (n > 0 && (size_t)n < sizeof(path) &&
		    debug_file__try(b, path, main_file, build_id, build_id_len, &crc, req) == 0)
			return 0;
	}
	return -ENOENT;
}
