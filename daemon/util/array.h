/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Growing an array by doubling, within a bound: what every table the
 * daemon builds from outside input (symbols, maps, perf maps, profiles)
 * needs, with the overflow checks written once.
 */
#ifndef CPROF_ARRAY_H
#define CPROF_ARRAY_H

#include <stddef.h>

/*
 * Makes room for n more items after the count already in items (capacity
 * *capacity, item_size bytes each), starting at initial and doubling, never
 * past max_items. Returns 0 with *ret_items the (maybe moved) array and
 * *capacity updated, -E2BIG when count + n would pass max_items, or -ENOMEM
 * (then items is untouched and still the caller's).
 */
int array__reserve(void *items, size_t item_size, size_t *capacity, size_t count, size_t n,
		   size_t initial, size_t max_items, void **ret_items);

#endif /* CPROF_ARRAY_H */
