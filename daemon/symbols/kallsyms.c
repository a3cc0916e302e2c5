/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's table: kallsyms read once (in background mode, on the
 * worker) into text symbols sorted by address and one arena of names and
 * module names.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer_impl.h"
#include "util/array.h"
#include "util/worker.h"

/* Caps on the kallsyms file: a few MB in practice. */
#define MAX_KALLSYMS_LINE 1024
#define MAX_KALLSYMS_SYMBOLS (8u << 20)

struct kernel_raw_sym {
	uint64_t address;
	uint32_t name;
	uint32_t module;
	uint8_t rank;
	uint16_t name_len;
};

/* For sorting: qsort() gives no context pointer and names live in a growing arena. */
struct kernel_builder {
	struct kernel_raw_sym *v;
	size_t n, capacity;
	char *names;
	size_t names_size, names_capacity;
};

static int kernel_builder__add_string(struct kernel_builder *kb, const char *str, size_t len,
				      uint32_t *ret_offset)
{
	void *grown;
	int err = array__reserve(kb->names, 1, &kb->names_capacity, kb->names_size, len + 1, 65536,
				 MAX_NAMES_BYTES, &grown);

	if (err)
		return err;
	kb->names = grown;
	memcpy(kb->names + kb->names_size, str, len);
	kb->names[kb->names_size + len] = '\0';
	*ret_offset = (uint32_t)kb->names_size;
	kb->names_size += len + 1;
	return 0;
}

static int kernel_raw_compare(const void *a, const void *b)
{
	const struct kernel_raw_sym *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	/* Keep the file's order otherwise, for a stable choice. */
	return x->name < y->name ? -1 : x->name > y->name;
}

/*
 * Parses one kallsyms line: "address type name[\t[module]]". Returns 1 for a
 * text symbol, 0 for a line to skip.
 */
static int parse_kallsyms_line(char *line, uint64_t *ret_address, char *ret_type, char **ret_name,
			       size_t *ret_name_len, char **ret_module, size_t *ret_module_len)
{
	char *p = line, *name, *module = NULL, *end;
	size_t digits = 0, module_len = 0;
	uint64_t address = 0;
	char type;

	for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F');
	     p++, digits++) {
		int digit = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;

		address = address << 4 | (uint64_t)digit;
	}
	if (digits == 0 || digits > 16 || *p++ != ' ')
		return 0;
	type = *p++;
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return 0;
	if (*p++ != ' ')
		return 0;
	name = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	if (p == name)
		return 0;
	end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		module = ++p;
		while (*p && *p != ']' && *p != '\n')
			p++;
		if (*p != ']' || p == module)
			return 0;
		module_len = (size_t)(p - module);
	}
	*ret_address = address;
	*ret_type = type;
	*ret_name = name;
	*ret_name_len = (size_t)(end - name);
	*ret_module = module;
	*ret_module_len = module_len;
	return 1;
}

static uint8_t kernel_type_rank(char type)
{
	switch (type) {
	case 'T':
		return 0;
	case 'W':
		return 1;
	case 't':
		return 2;
	default:
		return 3;
	}
}

static int kernel_builder__read(struct kernel_builder *kb, FILE *file)
{
	char *line = NULL, last_module[MAX_KALLSYMS_LINE] = "";
	uint32_t last_module_offset = NO_MODULE;
	size_t line_capacity = 0;
	ssize_t line_bytes;
	int err = 0;

	/* getline() counts every byte, so a NUL inside a line cannot hide its end. */
	while ((line_bytes = getline(&line, &line_capacity, file)) > 0) {
		size_t name_len, module_len;
		struct kernel_raw_sym raw = { .module = NO_MODULE };
		char *name, *module, type;
		void *grown;

		if ((size_t)line_bytes >= MAX_KALLSYMS_LINE || strlen(line) != (size_t)line_bytes)
			continue;
		if (!parse_kallsyms_line(line, &raw.address, &type, &name, &name_len, &module,
					 &module_len))
			continue;
		if (kb->n >= MAX_KALLSYMS_SYMBOLS) {
			err = -E2BIG;
			goto out;
		}
		if (module) {
			/* Module symbols come in runs; store each module's name once per run. */
			if (last_module_offset == NO_MODULE || strlen(last_module) != module_len ||
			    memcmp(last_module, module, module_len) != 0) {
				err = kernel_builder__add_string(kb, module, module_len,
								 &last_module_offset);
				if (err)
					goto out;
				memcpy(last_module, module, module_len);
				last_module[module_len] = '\0';
			}
			raw.module = last_module_offset;
		}
		err = kernel_builder__add_string(kb, name, name_len, &raw.name);
		if (err)
			goto out;
		raw.rank = kernel_type_rank(type);
		raw.name_len = (uint16_t)name_len;
		err = array__reserve(kb->v, sizeof(*kb->v), &kb->capacity, kb->n, 1, 4096,
				     MAX_KALLSYMS_SYMBOLS, &grown);
		if (err)
			goto out;
		kb->v = grown;
		kb->v[kb->n++] = raw;
	}
	err = ferror(file) ? -EIO : 0;
out:
	free(line);
	return err;
}

int kernel_table__load(struct kernel_table *table, const char *path)
{
	struct kernel_builder kb = {};
	struct kernel_sym *syms = NULL;
	bool any_address = false;
	size_t i, n = 0;
	FILE *file;
	int err;

	file = fopen(path, "re");
	if (!file)
		return -errno;
	err = kernel_builder__read(&kb, file);
	fclose(file);
	if (err)
		goto out;

	for (i = 0; i < kb.n && !any_address; i++)
		any_address = kb.v[i].address != 0;
	/* With kptr_restrict every address reads 0: nothing can be told apart. */
	if (kb.n == 0 || !any_address) {
		err = -ENOENT;
		goto out;
	}
	qsort(kb.v, kb.n, sizeof(*kb.v), kernel_raw_compare);
	syms = malloc(kb.n * sizeof(*syms));
	if (!syms) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < kb.n; i++) {
		if (n > 0 && syms[n - 1].address == kb.v[i].address)
			continue;
		syms[n++] = (struct kernel_sym){
			.address = kb.v[i].address,
			.name = kb.v[i].name,
			.module = kb.v[i].module,
		};
	}
	table->syms = realloc(syms, n * sizeof(*syms)) ?: syms;
	table->n_syms = n;
	/* Aliases dropped above keep their bytes in the arena; it is not worth compacting. */
	table->names = realloc(kb.names, kb.names_size) ?: kb.names;
	table->names_size = kb.names_size;
	kb.names = NULL;
	err = 0;
out:
	free(kb.v);
	free(kb.names);
	return err;
}

/* The background read of kallsyms (some 100 ms for 120,000 symbols). */
struct kernel_job {
	struct worker_job job;
	const char *path; /* the symbolizer's kallsyms_path, fixed */
	struct kernel_table table;
	int err;
};

static void kernel_job__run(struct worker_job *job, struct worker *w)
{
	struct kernel_job *kj = (struct kernel_job *)job;

	kj->err = kernel_table__load(&kj->table, kj->path);
}

static void kernel_job__release(struct worker_job *job)
{
	struct kernel_job *kj = (struct kernel_job *)job;

	free(kj->table.syms);
	free(kj->table.names);
	free(kj);
}

/* Queues the read of kallsyms. Returns -EAGAIN (queued, or the queue is full) or -ENOMEM. */
int kernel_job__start(struct symbolizer *s)
{
	struct kernel_job *kj = calloc(1, sizeof(*kj));
	int err;

	if (!kj)
		return -ENOMEM;
	kj->job.run = kernel_job__run;
	kj->job.release = kernel_job__release;
	kj->path = s->kallsyms_path;
	err = worker__submit(s->worker, &kj->job);
	if (err) {
		free(kj);
		return err == -EBUSY ? -EAGAIN : err;
	}
	s->kernel.loading = true;
	return -EAGAIN;
}

/* Puts a finished read of kallsyms in place. */
void kernel_job__install(struct kernel_job *kj, struct symbolizer *s)
{
	struct kernel_table *table = &s->kernel;

	table->loading = false;
	s->loads_done++;
	if (kj->err)
		s->loads_failed++;
	/* Out of memory may pass: the next lookup reads it again. */
	if (kj->err == -ENOMEM)
		return;
	table->loaded = true;
	table->error = kj->err;
	table->syms = kj->table.syms;
	table->n_syms = kj->table.n_syms;
	table->names = kj->table.names;
	table->names_size = kj->table.names_size;
	kj->table = (struct kernel_table){};
}

struct kernel_job *kernel_job__of(struct worker_job *job)
{
	return job->run == kernel_job__run ? (struct kernel_job *)job : NULL;
}
