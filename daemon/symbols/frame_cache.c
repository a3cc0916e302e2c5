/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A binary's frame cache: the frames symbolizer__lookup_frames() found at
 * each address, strings copied into an arena of its own, so that the next
 * lookup there is a hash probe. Bounded; past the bounds, lookups are not
 * remembered.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer_impl.h"
#include "util/array.h"

/* Addresses whose frames one binary keeps; past it, lookups are not remembered. */
#define MAX_CACHED_ADDRESSES (1u << 20)
#define MAX_CACHED_FRAME_BYTES (256u << 20)

void frame_cache__clear(struct frame_cache *c)
{
	free(c->slots);
	free(c->frames);
	free(c->strings);
	*c = (struct frame_cache){};
}

size_t frame_cache__memory(const struct frame_cache *c)
{
	return c->capacity * sizeof(*c->slots) + c->frames_capacity * sizeof(*c->frames) +
	       c->strings_capacity;
}

/* The slot of vaddr, or the free slot where it would go (capacity must be non-zero). */
static struct address_slot *frame_cache__slot(const struct frame_cache *c, uint64_t vaddr)
{
	size_t i;

	for (i = frame_cache__hash(vaddr, c->capacity);
	     c->slots[i].used && c->slots[i].vaddr != vaddr; i = (i + 1) & (c->capacity - 1))
		;
	return &c->slots[i];
}

static int frame_cache__grow_slots(struct frame_cache *c)
{
	size_t capacity = c->capacity ? c->capacity * 2 : 256;
	struct frame_cache bigger = { .capacity = capacity };

	bigger.slots = calloc(capacity, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->capacity; i++)
		if (c->slots[i].used)
			*frame_cache__slot(&bigger, c->slots[i].vaddr) = c->slots[i];
	free(c->slots);
	c->slots = bigger.slots;
	c->capacity = capacity;
	return 0;
}

static int frame_cache__add_string(struct frame_cache *c, const char *str, uint32_t *ret_offset)
{
	size_t len;
	void *grown;
	int err;

	if (!str) {
		*ret_offset = NO_STRING;
		return 0;
	}
	len = strnlen(str, MAX_NAME_LEN);
	err = array__reserve(c->strings, 1, &c->strings_capacity, c->strings_size, len + 1, 4096,
			     MAX_CACHED_FRAME_BYTES, &grown);
	if (err)
		return err;
	c->strings = grown;
	memcpy(c->strings + c->strings_size, str, len);
	c->strings[c->strings_size + len] = '\0';
	*ret_offset = (uint32_t)c->strings_size;
	c->strings_size += len + 1;
	return 0;
}

/*
 * Remembers the n frames found at vaddr (none: nothing names it). Fails
 * quietly past the bounds: the address is then looked up again next time.
 */
void frame_cache__add(struct frame_cache *c, uint64_t vaddr, const struct symbol_frame *frames,
		      size_t n)
{
	struct address_slot *slot;
	void *grown;

	if (c->n_addresses >= MAX_CACHED_ADDRESSES)
		return;
	if ((c->n_addresses + 1) * 2 > c->capacity && frame_cache__grow_slots(c))
		return;
	if (array__reserve(c->frames, sizeof(*c->frames), &c->frames_capacity, c->n_frames, n, 256,
			   MAX_CACHED_FRAME_BYTES / sizeof(*c->frames), &grown))
		return;
	c->frames = grown;
	for (size_t i = 0; i < n; i++) {
		struct cached_frame *f = &c->frames[c->n_frames + i];

		if (frame_cache__add_string(c, frames[i].function, &f->function) ||
		    frame_cache__add_string(c,
					    frames[i].system_name == frames[i].function
						    ? NULL
						    : frames[i].system_name,
					    &f->system_name) ||
		    frame_cache__add_string(c, frames[i].file, &f->file))
			return;
		f->line = frames[i].line;
	}
	slot = frame_cache__slot(c, vaddr);
	*slot = (struct address_slot){
		.vaddr = vaddr,
		.first = (uint32_t)c->n_frames,
		.n = (uint8_t)n,
		.used = true,
	};
	c->n_frames += n;
	c->n_addresses++;
}
