// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * symbolize: the daemon's symbolizer on a real binary, for throughput and memory.
 *
 *   symbolize BIN [--count N] [--seed S] [--warm-seconds T]
 *             [--addresses FILE] [--names FILE] [--dwarf-walk]
 *
 * Draws N addresses from BIN's text: a function of its ELF symbol table
 * (.symtab, else .dynsym) picked at random, plus a random offset inside it,
 * from a fixed seed so that every run asks the same questions. Then, with
 * symbolizer__lookup_frames() (the synchronous API the daemon uses when it
 * builds a profile):
 *   cold: a fresh symbolizer, one pass; the first lookup loads BIN's tables
 *         (ELF symbols, the debug file by build ID, DWARF), so the pass
 *         includes what a new binary costs;
 *   warm: more passes over the same addresses, tables cached, for at least
 *         T seconds of CPU.
 * Also symbolizer__memory() after the cold pass and this process's RSS
 * growth over it (anonymous and file-backed apart: libelf maps the files).
 *
 * --addresses writes the addresses, one "0x..." a line, as addr2line reads
 * them (virtual addresses of the file, not offsets); --names writes the
 * innermost function the symbolizer gave for each, "0xADDR NAME" (or "??"),
 * so that bench/run.py can time a peer on the same input and compare.
 *
 * --dwarf-walk finds inlined frames by walking each compile unit's DIEs
 * for every address (the symbolizer's dwarf_walk_only), to compare with its
 * per-unit index.
 *
 * Times are CPU time of this process (one thread). Output lines are
 * "key value" pairs for bench/run.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "symbols/symbolizer.h"

/* A function of the symbol table, in a text segment. */
struct function_range {
	uint64_t address; /* st_value: a virtual address of the file */
	uint64_t size; /* st_size, > 0 */
};

/* One question: where, as the file's virtual address and as its file offset. */
struct probe {
	uint64_t address;
	uint64_t file_offset;
};

struct text_segment {
	uint64_t vaddr, memsz, offset;
};

#define MAX_TEXT_SEGMENTS 8

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* splitmix64: a fixed sequence from a seed, the same on every libc. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* "RssAnon:" or "RssFile:" of /proc/self/status, in KiB; 0 if absent. */
static uint64_t rss_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	uint64_t kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, strlen(key))) {
			kib = strtoull(line + strlen(key), NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

static int segment_offset(const struct text_segment *segs, size_t n, uint64_t address,
			  uint64_t *ret_offset)
{
	for (size_t i = 0; i < n; i++) {
		if (address >= segs[i].vaddr && address - segs[i].vaddr < segs[i].memsz) {
			*ret_offset = address - segs[i].vaddr + segs[i].offset;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Reads the executable PT_LOAD segments and the sized functions inside them
 * from .symtab (or .dynsym when the binary is stripped). The caller frees
 * *ret_funcs.
 */
static int read_functions(const char *path, struct text_segment *segs, size_t *ret_n_segs,
			  struct function_range **ret_funcs, size_t *ret_n_funcs)
{
	struct function_range *funcs = NULL;
	size_t n_funcs = 0, cap = 0, n_segs = 0, n_phdr;
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	Elf *elf = NULL;
	int fd, err = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &n_phdr)) {
		err = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n_phdr && n_segs < MAX_TEXT_SEGMENTS; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_LOAD ||
		    !(phdr.p_flags & PF_X))
			continue;
		segs[n_segs++] = (struct text_segment){ phdr.p_vaddr, phdr.p_memsz, phdr.p_offset };
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (shdr.sh_type == SHT_DYNSYM)
			dynsym = scn;
	}
	scn = symtab ? symtab : dynsym;
	if (!scn || !n_segs) {
		err = -ENODATA;
		goto out;
	}
	{
		Elf_Data *data = elf_getdata(scn, NULL);
		GElf_Shdr shdr;
		size_t n;

		if (!data || !gelf_getshdr(scn, &shdr) || !shdr.sh_entsize) {
			err = -EINVAL;
			goto out;
		}
		n = shdr.sh_size / shdr.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			uint64_t offset;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !sym.st_size || sym.st_shndx == SHN_UNDEF ||
			    segment_offset(segs, n_segs, sym.st_value, &offset))
				continue;
			if (n_funcs == cap) {
				size_t new_cap = cap ? cap * 2 : 1024;
				void *p = realloc(funcs, new_cap * sizeof(*funcs));

				if (!p) {
					err = -ENOMEM;
					goto out;
				}
				funcs = p;
				cap = new_cap;
			}
			funcs[n_funcs++] = (struct function_range){ sym.st_value, sym.st_size };
		}
	}
	if (!n_funcs)
		err = -ENODATA;
out:
	if (err)
		free(funcs);
	else {
		*ret_funcs = funcs;
		*ret_n_funcs = n_funcs;
		*ret_n_segs = n_segs;
	}
	elf_end(elf);
	close(fd);
	return err;
}

struct pass_result {
	uint64_t named; /* addresses with at least one frame */
	uint64_t unnamed; /* -ENOENT */
	uint64_t failed; /* any other error */
	uint64_t frames; /* frames over all addresses, inlined ones included */
};

/* One lookup per probe; names go to names_out (if not NULL). */
static void run_pass(struct symbolizer *s, const struct symbolizer_file *file,
		     const struct probe *probes, size_t n, FILE *names_out, struct pass_result *r)
{
	struct symbol_frame frames[SYMBOLIZER_MAX_FRAMES];

	for (size_t i = 0; i < n; i++) {
		size_t n_frames = 0;
		int err = symbolizer__lookup_frames(s, file, probes[i].file_offset, frames,
						    SYMBOLIZER_MAX_FRAMES, &n_frames);

		if (!err) {
			r->named++;
			r->frames += n_frames;
		} else if (err == -ENOENT) {
			r->unnamed++;
		} else {
			r->failed++;
		}
		if (names_out)
			fprintf(names_out, "0x%llx %s\n", (unsigned long long)probes[i].address,
				!err && n_frames ? frames[0].function : "??");
	}
}

static int write_addresses(const char *path, const struct probe *probes, size_t n)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "0x%llx\n", (unsigned long long)probes[i].address);
	return fclose(f) ? -errno : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: symbolize BIN [--count N] [--seed S] [--warm-seconds T] "
			"[--addresses FILE] [--names FILE] [--dwarf-walk]\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "warm-seconds", required_argument, NULL, 'w' },
		{ "addresses", required_argument, NULL, 'a' },
		{ "names", required_argument, NULL, 'N' },
		{ "dwarf-walk", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	const char *addresses_path = NULL, *names_path = NULL, *path;
	struct text_segment segs[MAX_TEXT_SEGMENTS];
	struct function_range *funcs = NULL;
	struct pass_result cold = { 0 }, warm = { 0 };
	struct symbolizer_file file = { 0 };
	struct symbolizer_options opts = { 0 };
	struct symbolizer *s = NULL;
	struct probe *probes = NULL;
	size_t n_segs = 0, n_funcs = 0, count = 20000, memory;
	uint64_t seed = 1, cpu0, cold_ns, warm_ns, warm_passes = 0;
	uint64_t anon0, file0, anon1, file1;
	double warm_seconds = 1.0;
	FILE *names = NULL;
	int opt, err, status = 1;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			warm_seconds = strtod(optarg, NULL);
			break;
		case 'a':
			addresses_path = optarg;
			break;
		case 'N':
			names_path = optarg;
			break;
		case 'W':
			opts.dwarf_walk_only = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind + 1 != argc || !count || !(warm_seconds > 0)) {
		usage();
		return 2;
	}
	path = argv[optind];

	err = read_functions(path, segs, &n_segs, &funcs, &n_funcs);
	if (err) {
		fprintf(stderr, "symbolize: reading functions of %s: %s\n", path, strerror(-err));
		return 1;
	}
	probes = calloc(count, sizeof(*probes));
	if (!probes) {
		fprintf(stderr, "symbolize: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const struct function_range *f = &funcs[next_random(&seed) % n_funcs];

		probes[i].address = f->address + next_random(&seed) % f->size;
		/* Inside a text segment: read_functions() kept only such functions. */
		segment_offset(segs, n_segs, probes[i].address, &probes[i].file_offset);
	}
	if (addresses_path && (err = write_addresses(addresses_path, probes, count))) {
		fprintf(stderr, "symbolize: writing %s: %s\n", addresses_path, strerror(-err));
		goto out;
	}
	if (names_path && !(names = fopen(names_path, "we"))) {
		fprintf(stderr, "symbolize: writing %s: %s\n", names_path, strerror(errno));
		goto out;
	}

	file.path = path;
	anon0 = rss_kib("RssAnon:");
	file0 = rss_kib("RssFile:");
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	s = symbolizer__new(&opts);
	if (!s) {
		fprintf(stderr, "symbolize: symbolizer__new: %s\n", strerror(errno));
		goto out;
	}
	run_pass(s, &file, probes, count, names, &cold);
	cold_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	memory = symbolizer__memory(s);
	anon1 = rss_kib("RssAnon:");
	file1 = rss_kib("RssFile:");

	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	do {
		run_pass(s, &file, probes, count, NULL, &warm);
		warm_passes++;
		warm_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	} while (warm_ns < warm_seconds * 1e9);

	printf("binary %s\n", path);
	printf("functions %zu\n", n_funcs);
	printf("addresses %zu\n", count);
	printf("named %llu\n", (unsigned long long)cold.named);
	printf("unnamed %llu\n", (unsigned long long)cold.unnamed);
	printf("failed %llu\n", (unsigned long long)cold.failed);
	printf("mean_frames %.2f\n", cold.named ? (double)cold.frames / cold.named : 0.0);
	printf("cold_ms %.1f\n", cold_ns / 1e6);
	printf("cold_addresses_per_second %.0f\n", count / (cold_ns / 1e9));
	printf("warm_passes %llu\n", (unsigned long long)warm_passes);
	printf("warm_addresses_per_second %.0f\n", warm_passes * count / (warm_ns / 1e9));
	printf("memory_bytes %zu\n", memory);
	printf("rss_anon_growth_kib %lld\n", (long long)anon1 - (long long)anon0);
	printf("rss_file_growth_kib %lld\n", (long long)file1 - (long long)file0);
	status = warm.failed || cold.failed ? 1 : 0;
	if (status)
		fprintf(stderr, "symbolize: %llu lookups failed (not -ENOENT)\n",
			(unsigned long long)(cold.failed + warm.failed));
out:
	if (names && fclose(names)) {
		fprintf(stderr, "symbolize: writing %s: %s\n", names_path, strerror(errno));
		status = 1;
	}
	symbolizer__free(s);
	free(probes);
	free(funcs);
	return status;
}
