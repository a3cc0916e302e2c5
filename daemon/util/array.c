// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int array__reserve(void *items, size_t item_size, size_t *capacity, size_t count, size_t n,
		   size_t initial, size_t max_items, void **ret_items)
{
	size_t new_capacity;
	void *grown;

	if (n <= *capacity - count) {
		*ret_items = items;
		return 0;
	}
	if (count > max_items || n > max_items - count)
		return -E2BIG;
	new_capacity = *capacity ? *capacity : (initial ? initial : 1);
	while (new_capacity - count < n) {
		if (new_capacity > SIZE_MAX / 2)
			return -ENOMEM;
		new_capacity *= 2;
	}
	if (new_capacity > max_items)
		new_capacity = max_items;
	if (new_capacity > SIZE_MAX / item_size)
		return -ENOMEM;
	grown = realloc(items, new_capacity * item_size);
	if (!grown)
		return -ENOMEM;
	*capacity = new_capacity;
	*ret_items = grown;
	return 0;
}
