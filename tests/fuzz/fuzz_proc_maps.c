// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the /proc/PID/maps parser (daemon/procs/proc_maps.c). The input is the
 * text of a maps file. On success the result must keep the promises of
 * proc_maps.h: sorted, non-empty, non-overlapping areas, valid permission
 * bits and NUL-terminated paths; proc_maps__find() must agree with it.
 */
#include "fuzz.h"
#include "procs/proc_maps.h"

static void check_find(const struct proc_maps *maps, size_t i)
{
	const struct proc_map *m = &maps->maps[i];
	const struct proc_map *before = i > 0 ? &maps->maps[i - 1] : NULL;

	FUZZ_CHECK(proc_maps__find(maps, m->start) == m);
	FUZZ_CHECK(proc_maps__find(maps, m->end - 1) == m);
	FUZZ_CHECK(proc_maps__find(maps, m->start + (m->end - m->start) / 2) == m);
	/* Just below the area: the previous one if it touches, else nothing. */
	if (m->start > 0) {
		const struct proc_map *found = proc_maps__find(maps, m->start - 1);

		FUZZ_CHECK(found == (before && before->end == m->start ? before : NULL));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_maps maps;
	int err;

	memset(&maps, 0xa5, sizeof(maps));
	err = proc_maps__parse((const char *)data, size, &maps);
	if (err) {
		FUZZ_CHECK(err == -EINVAL || err == -E2BIG || err == -ENOMEM);
		/* Written only on success. */
		FUZZ_CHECK(maps.n == (size_t)0xa5a5a5a5a5a5a5a5ull);
		return 0;
	}
	FUZZ_CHECK(maps.n <= PROC_MAPS_MAX_ENTRIES);
	FUZZ_CHECK((maps.n == 0) == (maps.maps == NULL));
	for (size_t i = 0; i < maps.n; i++) {
		const struct proc_map *m = &maps.maps[i];

		FUZZ_CHECK(m->start < m->end);
		FUZZ_CHECK(i == 0 || maps.maps[i - 1].end <= m->start);
		FUZZ_CHECK((m->perms & ~(PROC_MAP_READ | PROC_MAP_WRITE | PROC_MAP_EXEC |
					 PROC_MAP_SHARED)) == 0);
		if (m->path) {
			/* A path is non-empty, one line, and its bytes came from the input. */
			size_t len = strlen(m->path);

			FUZZ_CHECK(len > 0 && len < size);
			FUZZ_CHECK(!memchr(m->path, '\n', len));
		}
		FUZZ_CHECK(!m->deleted || m->path);
		check_find(&maps, i);
	}
	FUZZ_CHECK(proc_maps__find(&maps, 0) ==
		   (maps.n && maps.maps[0].start == 0 ? &maps.maps[0] : NULL));
	proc_maps__release(&maps);
	FUZZ_CHECK(maps.maps == NULL && maps.n == 0);
	proc_maps__release(&maps);
	return 0;
}
