/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ELF access for the symbolizer: opening a binary (or a process's vdso),
 * its sections, PT_LOAD segments and build ID, and its function symbols,
 * copied out of libelf into a sorted table and a string arena. The files
 * are hostile (see symbolizer.c): every libelf result is checked and every
 * count and size capped.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolizer_impl.h"
#include "util/array.h"

/* Caps on what one hostile binary can make us hold or read. */
#define MAX_SEGMENTS 256
#define MAX_SYMBOLS (4u << 20)
#define MAX_NOTE_BYTES (1u << 20)
/* Symbol and string tables are read whole; real ones are a few MB, Chromium's ~100 MB. */
#define MAX_TABLE_BYTES (256ull << 20)

/* A symbol on its way into a table; name points into libelf's data. */
struct raw_sym {
	uint64_t start;
	uint64_t size;
	const char *name;
	uint32_t name_len;
	uint8_t rank; /* lower is preferred among aliases */
};

struct raw_syms {
	struct raw_sym *v;
	size_t n;
	size_t capacity;
};

/* ---- ELF access ---- */

void elf_file__close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->image);
	f->elf = NULL;
	f->fd = -1;
	f->image = NULL;
}

/*
 * Opens path as an executable or shared object. O_NONBLOCK because a hostile
 * path may name a FIFO, which would block open() until a writer comes.
 */
int elf_file__open(struct elf_file *f, const char *path)
{
	int err;

	f->elf = NULL;
	f->image = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &f->st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(f->st.st_mode)) {
		err = -EINVAL;
		goto err_close;
	}
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &f->ehdr)) {
		err = -ENOEXEC;
		goto err_close;
	}
	if (f->ehdr.e_type != ET_EXEC && f->ehdr.e_type != ET_DYN) {
		err = -ENOEXEC;
		goto err_close;
	}
	return 0;
err_close:
	elf_file__close(f);
	return err;
}

/*
 * The bytes of cprofd's own vdso, if it is size bytes long: the kernel gives
 * every process of our kind the same image, so it stands in for that of a
 * process that is gone (a short-lived child) or whose memory cannot be read.
 * A 32-bit process's vdso has another size. NULL if it does not match.
 */
static const void *own_vdso(size_t size)
{
	const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), end = 0;
	const ElfW(Ehdr) *ehdr = (const ElfW(Ehdr) *)base;

	if (!base || memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0)
		return NULL;
	for (unsigned int i = 0; i < ehdr->e_phnum; i++) {
		const ElfW(Phdr) *ph =
			(const ElfW(Phdr) *)(base + ehdr->e_phoff + (size_t)i * ehdr->e_phentsize);

		if (ph->p_type == PT_LOAD && ph->p_vaddr + ph->p_memsz > end)
			end = ph->p_vaddr + ph->p_memsz;
	}
	end = (end + page - 1) & ~(page - 1);
	return end == size ? base : NULL;
}

/*
 * Opens the vdso of process pid, mapped at [start, end): it is no file, so
 * its bytes are read from /proc/PID/mem (a page or two) and parsed in memory;
 * if the process is gone, from our own vdso when it is the same size.
 */
int elf_file__open_vdso(struct elf_file *f, pid_t pid, uint64_t start, uint64_t end)
{
	char path[64];
	size_t size = (size_t)(end - start);
	ssize_t n;
	int fd, err;

	*f = (struct elf_file){ .fd = -1 };
	if (pid <= 0 || end <= start || end - start > MAX_VDSO_BYTES || start > INT64_MAX)
		return -ENOENT;
	f->image = malloc(size);
	if (!f->image)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, f->image, size, (off_t)start);
		err = n < 0 ? -errno : (size_t)n != size ? -EIO : 0;
		close(fd);
	} else {
		err = -errno;
	}
	if (err) {
		const void *own = own_vdso(size);

		if (!own)
			goto err_close;
		memcpy(f->image, own, size);
	}
	f->elf = elf_memory(f->image, size);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &f->ehdr) ||
	    f->ehdr.e_type != ET_DYN) {
		err = -ENOEXEC;
		goto err_close;
	}
	return 0;
err_close:
	elf_file__close(f);
	return err;
}

/*
 * Gives a section's data, decompressing it if needed. NULL when the section
 * has no usable bytes in the file or is bigger than we care to read.
 */
Elf_Data *elf_section__data(Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data;

	if (shdr->sh_type == SHT_NOBITS || shdr->sh_size > MAX_TABLE_BYTES)
		return NULL;
	if (shdr->sh_flags & SHF_COMPRESSED) {
		GElf_Chdr chdr;

		/* The decompressed size is the file's word: cap it before allocating. */
		if (!gelf_getchdr(scn, &chdr) || chdr.ch_size > MAX_TABLE_BYTES)
			return NULL;
		if (elf_compress(scn, 0, 0) < 0)
			return NULL;
	}
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || data->d_size == 0)
		return NULL;
	return data;
}

/* Finds the first section of the given type, or NULL. */
static Elf_Scn *find_section_by_type(Elf *elf, uint32_t type, GElf_Shdr *ret_shdr)
{
	Elf_Scn *scn = NULL;
	size_t count = 0;

	while ((scn = elf_nextscn(elf, scn)) && count++ < MAX_SECTIONS) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == type) {
			*ret_shdr = shdr;
			return scn;
		}
	}
	return NULL;
}

Elf_Scn *elf_section__find_by_name(Elf *elf, const char *name, GElf_Shdr *ret_shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, count = 0;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn)) && count++ < MAX_SECTIONS) {
		GElf_Shdr shdr;
		const char *scn_name;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		scn_name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (scn_name && strcmp(scn_name, name) == 0) {
			*ret_shdr = shdr;
			return scn;
		}
	}
	return NULL;
}

int elf_file__read_segments(struct elf_file *f, struct binary *b)
{
	struct segment *segments;
	size_t phnum, i, n = 0;

	if (elf_getphdrnum(f->elf, &phnum) < 0)
		return -ENOEXEC;
	if (phnum > MAX_SEGMENTS * 4)
		return -ENOEXEC;
	segments = calloc(MAX_SEGMENTS, sizeof(*segments));
	if (!segments)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(f->elf, (int)i, &phdr)) {
			free(segments);
			return -ENOEXEC;
		}
		if (phdr.p_type != PT_LOAD || phdr.p_filesz == 0)
			continue;
		if (phdr.p_offset + phdr.p_filesz < phdr.p_offset ||
		    phdr.p_vaddr + phdr.p_memsz < phdr.p_vaddr || phdr.p_memsz < phdr.p_filesz ||
		    n == MAX_SEGMENTS) {
			free(segments);
			return -ENOEXEC;
		}
		segments[n++] = (struct segment){
			.offset = phdr.p_offset,
			.file_size = phdr.p_filesz,
			.vaddr = phdr.p_vaddr,
			.mem_size = phdr.p_memsz,
		};
	}
	if (n == 0) {
		free(segments);
		return -ENOEXEC;
	}
	b->segments = realloc(segments, n * sizeof(*segments)) ?: segments;
	b->n_segments = n;
	return 0;
}

/* Looks for an NT_GNU_BUILD_ID note in a block of notes. */
static int find_build_id_note(Elf_Data *data, uint8_t *ret_id, size_t *ret_len)
{
	size_t offset = 0, next, name_offset, desc_offset;
	GElf_Nhdr nhdr;

	while (offset < data->d_size &&
	       (next = gelf_getnote(data, offset, &nhdr, &name_offset, &desc_offset)) > 0) {
		/* gelf_getnote() has checked both offsets and sizes against d_size. */
		if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
		    memcmp((const char *)data->d_buf + name_offset, "GNU", 4) == 0 &&
		    nhdr.n_descsz > 0 && nhdr.n_descsz <= MAX_BUILD_ID_BYTES) {
			memcpy(ret_id, (const char *)data->d_buf + desc_offset, nhdr.n_descsz);
			*ret_len = nhdr.n_descsz;
			return 0;
		}
		if (next <= offset)
			break;
		offset = next;
	}
	return -ENODATA;
}

/* Reads the GNU build ID from the PT_NOTE segments, else from SHT_NOTE sections. */
int elf_file__read_build_id(struct elf_file *f, uint8_t *ret_id, size_t *ret_len)
{
	Elf_Scn *scn = NULL;
	size_t phnum, i, count = 0;

	if (elf_getphdrnum(f->elf, &phnum) == 0 && phnum <= MAX_SEGMENTS * 4) {
		for (i = 0; i < phnum; i++) {
			GElf_Phdr phdr;
			Elf_Data *data;

			if (!gelf_getphdr(f->elf, (int)i, &phdr) || phdr.p_type != PT_NOTE)
				continue;
			if (phdr.p_filesz == 0 || phdr.p_filesz > MAX_NOTE_BYTES)
				continue;
			data = elf_getdata_rawchunk(f->elf, (int64_t)phdr.p_offset, phdr.p_filesz,
						    phdr.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (data && find_build_id_note(data, ret_id, ret_len) == 0)
				return 0;
		}
	}
	while ((scn = elf_nextscn(f->elf, scn)) && count++ < MAX_SECTIONS) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		if (shdr.sh_size > MAX_NOTE_BYTES)
			continue;
		data = elf_section__data(scn, &shdr);
		if (data && find_build_id_note(data, ret_id, ret_len) == 0)
			return 0;
	}
	return -ENODATA;
}

char *build_id__hex(const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(len * 2 + 1);
	size_t i;

	if (!hex)
		return NULL;
	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	hex[2 * len] = '\0';
	return hex;
}

/* ---- symbol tables ---- */

static uint8_t binding_rank(unsigned char binding)
{
	switch (binding) {
	case STB_GLOBAL:
	case STB_GNU_UNIQUE:
		return 0;
	case STB_WEAK:
		return 1;
	case STB_LOCAL:
		return 2;
	default:
		return 3;
	}
}

static int raw_syms__push(struct raw_syms *raw, const struct raw_sym *sym)
{
	void *grown;
	int err = array__reserve(raw->v, sizeof(*raw->v), &raw->capacity, raw->n, 1, 256,
				 MAX_SYMBOLS, &grown);

	if (err)
		return err;
	raw->v = grown;
	raw->v[raw->n++] = *sym;
	return 0;
}

/* Orders by address, then the alias to keep first: global, short name. */
static int raw_sym_compare(const void *a, const void *b)
{
	const struct raw_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Collects the function symbols of one symbol table section. */
static int collect_functions(struct elf_file *f, Elf_Scn *scn, const GElf_Shdr *shdr,
			     struct raw_syms *raw)
{
	size_t entry_size = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Data *data = elf_section__data(scn, shdr);
	GElf_Shdr strings_shdr;
	Elf_Scn *strings_scn;
	size_t count, i;
	int err;

	if (!data || entry_size == 0)
		return -ENOENT;
	strings_scn = elf_getscn(f->elf, shdr->sh_link);
	if (!strings_scn || !gelf_getshdr(strings_scn, &strings_shdr) ||
	    strings_shdr.sh_type != SHT_STRTAB || strings_shdr.sh_size > MAX_TABLE_BYTES)
		return -ENOENT;
	/* elf_strptr() reads the section as it is; a compressed one must be inflated first. */
	if ((strings_shdr.sh_flags & SHF_COMPRESSED) &&
	    !elf_section__data(strings_scn, &strings_shdr))
		return -ENOENT;
	count = data->d_size / entry_size;
	if (count > MAX_SYMBOLS * 4)
		return -E2BIG;
	/* Entry 0 is the reserved null symbol. */
	for (i = 1; i < count; i++) {
		GElf_Sym sym;
		unsigned char type;
		const char *name;
		size_t name_len;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(f->elf, shdr->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		/* Long C++ and Rust names are truncated, not dropped: a name beats none. */
		name_len = strnlen(name, MAX_NAME_LEN);
		/* Thumb functions have bit 0 set; the code starts at the even address. */
		if (f->ehdr.e_machine == EM_ARM)
			sym.st_value &= ~1ull;
		if (sym.st_value + sym.st_size < sym.st_value)
			continue;
		err = raw_syms__push(raw, &(struct raw_sym){
						  .start = sym.st_value,
						  .size = sym.st_size,
						  .name = name,
						  .name_len = (uint32_t)name_len,
						  .rank = binding_rank(GELF_ST_BIND(sym.st_info)),
					  });
		if (err)
			return err;
	}
	return raw->n ? 0 : -ENOENT;
}

/* The end of the segment holding vaddr, or vaddr itself when none does. */
static uint64_t segment_end(const struct binary *b, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < b->n_segments; i++) {
		const struct segment *seg = &b->segments[i];

		if (vaddr >= seg->vaddr && vaddr - seg->vaddr < seg->mem_size)
			return seg->vaddr + seg->mem_size;
	}
	return vaddr;
}

/*
 * Turns the collected symbols into b's sorted table and arena, one symbol per
 * address. Must run while the ELF file the names point into is open.
 */
static int build_table(struct binary *b, struct raw_syms *raw)
{
	size_t i, n = 0, names_size = 0, names_used = 0;
	struct func_sym *syms;
	char *names;

	if (raw->n > 1)
		qsort(raw->v, raw->n, sizeof(*raw->v), raw_sym_compare);

	/* Keep the first, preferred alias of each address, with the largest size any has. */
	for (i = 0; i < raw->n; i++) {
		if (n > 0 && raw->v[i].start == raw->v[n - 1].start) {
			if (raw->v[i].size > raw->v[n - 1].size)
				raw->v[n - 1].size = raw->v[i].size;
			continue;
		}
		raw->v[n++] = raw->v[i];
		names_size += raw->v[i].name_len + 1;
		if (names_size > MAX_NAMES_BYTES)
			return -E2BIG;
	}

	syms = malloc(n * sizeof(*syms));
	names = malloc(names_size);
	if (!syms || !names) {
		free(syms);
		free(names);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct raw_sym *r = &raw->v[i];
		struct func_sym *sym = &syms[i];

		sym->start = r->start;
		sym->size = r->size;
		sym->exact = r->size > 0;
		if (!sym->exact) {
			/* Stands until the next symbol, but never past its own segment. */
			uint64_t end = segment_end(b, r->start);

			if (i + 1 < n && raw->v[i + 1].start < end)
				end = raw->v[i + 1].start;
			sym->size = end - r->start;
		}
		sym->name = (uint32_t)names_used;
		memcpy(names + names_used, r->name, r->name_len);
		names[names_used + r->name_len] = '\0';
		names_used += r->name_len + 1;
	}
	b->syms = syms;
	b->n_syms = n;
	b->names = names;
	b->names_size = names_size;
	return 0;
}

/* Loads the functions of f's .symtab (or also .dynsym when allow_dynsym) into b. */
int elf_file__load_symbols(struct elf_file *f, struct binary *b, bool allow_dynsym)
{
	struct raw_syms raw = {};
	GElf_Shdr shdr;
	Elf_Scn *scn;
	int err = -ENOENT;

	scn = find_section_by_type(f->elf, SHT_SYMTAB, &shdr);
	if (scn)
		err = collect_functions(f, scn, &shdr, &raw);
	if (err == -ENOENT && allow_dynsym) {
		scn = find_section_by_type(f->elf, SHT_DYNSYM, &shdr);
		if (scn)
			err = collect_functions(f, scn, &shdr, &raw);
	}
	if (!err)
		err = build_table(b, &raw);
	free(raw.v);
	return err;
}
