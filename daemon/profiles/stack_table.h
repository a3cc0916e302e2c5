/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stack table: every distinct stack of a process (tgid + addresses) is
 * stored once and named by a small integer id. Entries are reference
 * counted: a session holds one reference per stack it counts and drops them
 * when it ends, so the table holds only what live sessions use. Memory is
 * bounded; past the bound new stacks are refused (-ENOSPC) and the caller
 * counts the sample as lost.
 */
#ifndef CPROF_STACK_TABLE_H
#define CPROF_STACK_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct stack_table;

struct stack {
	uint32_t tgid;
	uint16_t kernel_depth; /* ips[0..kernel_depth): kernel frames, leaf first */
	uint16_t user_depth; /* then user_depth user frames, leaf first */
	uint64_t ips[];
};

/* Returns a table bounded to max_bytes, or NULL with errno set. */
struct stack_table *stack_table__new(size_t max_bytes);
/* Frees the table, whatever references remain. NULL is a no-op. */
void stack_table__free(struct stack_table *t);

/*
 * Finds or adds the stack and takes a reference on it. Returns 0 and the
 * id in *ret_id; -ENOSPC when adding it would pass the bound; -ENOMEM.
 */
int stack_table__intern(struct stack_table *t, uint32_t tgid, const uint64_t *ips,
			uint16_t kernel_depth, uint16_t user_depth, uint32_t *ret_id);

/* Takes or drops a reference; the last drop frees the stack. */
void stack_table__ref(struct stack_table *t, uint32_t id);
void stack_table__unref(struct stack_table *t, uint32_t id);

/* The stack named by id (valid while referenced), or NULL. */
const struct stack *stack_table__get(const struct stack_table *t, uint32_t id);

size_t stack_table__count(const struct stack_table *t); /* stacks held */
size_t stack_table__memory(const struct stack_table *t); /* bytes held */
size_t stack_table__limit(const struct stack_table *t); /* max_bytes */

#endif /* CPROF_STACK_TABLE_H */
