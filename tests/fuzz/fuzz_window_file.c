// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the window file parser (daemon/store/window_file.c). The input is
 * a file as the store might find it on disk. Each input is tried as it is,
 * and again with its head CRC and file CRC made right, so that the fuzzer
 * gets past the checksums into the records. On success the head must keep
 * the promises of window_file.h: counts and sizes within bounds, strings
 * NUL-terminated, within WINDOW_FILE_MAX_STRING and free of NULs, and an
 * encoding of what was parsed that gives back the same bytes; errors only
 * -EINVAL, -EPROTONOSUPPORT and -ENOMEM.
 */
#include "fuzz.h"
#include "store/window_file.h"

/* At most this much of an input is copied for the CRC fix-up. */
#define MAX_COPY (1u << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void check_string(const char *s, const struct window_file_header *h)
{
	size_t len;

	if (!s)
		return;
	/* Inside the parse's own block, and ending there. */
	FUZZ_CHECK(s >= h->strings && s < h->strings + h->strings_size);
	len = strnlen(s, (size_t)(h->strings + h->strings_size - s));
	FUZZ_CHECK(s + len < h->strings + h->strings_size);
	FUZZ_CHECK(len <= WINDOW_FILE_MAX_STRING);
}

static void check_one(const uint8_t *data, size_t size)
{
	struct window_file_header h;
	size_t head_size = 0;
	int err, check;

	memset(&h, 0xa5, sizeof(h));
	err = window_file__parse_header(data, size, &h);
	check = window_file__check(data, size);
	FUZZ_CHECK(check == 0 || check == -EINVAL || check == -EPROTONOSUPPORT);
	if (err) {
		FUZZ_CHECK(err == -EINVAL || err == -EPROTONOSUPPORT || err == -ENOMEM);
		/* Written only on success. */
		FUZZ_CHECK(h.n_processes == (size_t)0xa5a5a5a5a5a5a5a5ull);
		/* Both see another version alike, by the preamble alone. */
		FUZZ_CHECK((err == -EPROTONOSUPPORT) == (check == -EPROTONOSUPPORT));
		return;
	}
	FUZZ_CHECK(window_file__head_size(data, size, &head_size) == 0);
	FUZZ_CHECK(h.head_size == head_size && head_size <= size);
	FUZZ_CHECK(head_size <= WINDOW_FILE_PREAMBLE_SIZE + WINDOW_FILE_MAX_HEADER +
					WINDOW_FILE_CRC_SIZE);
	FUZZ_CHECK(h.start_ns >= 0 && h.end_ns > h.start_ns);
	FUZZ_CHECK(h.profile_size <= WINDOW_FILE_MAX_PROFILE);
	FUZZ_CHECK(h.file_size == h.head_size + h.profile_size + WINDOW_FILE_CRC_SIZE);
	FUZZ_CHECK(h.n_processes <= WINDOW_FILE_MAX_PROCESSES);
	FUZZ_CHECK((h.n_processes == 0) == (h.processes == NULL));
	FUZZ_CHECK(h.strings_size <= head_size);
	/* A whole file is exactly as long as its head says. */
	FUZZ_CHECK(check != 0 || size == h.file_size);
	for (size_t i = 0; i < h.n_processes; i++) {
		const struct store_process *p = &h.processes[i];

		FUZZ_CHECK(memchr(p->comm, '\0', sizeof(p->comm)) != NULL);
		check_string(p->exe, &h);
		check_string(p->build_id, &h);
		check_string(p->cgroup, &h);
		check_string(p->unit, &h);
		check_string(p->container, &h);
	}
	{
		/* Canonical: encoding what was parsed gives the head's bytes back. */
		struct store_window w = {
			.start_ns = h.start_ns,
			.end_ns = h.end_ns,
			.hz = h.hz,
			.samples = h.samples,
			.lost = h.lost,
			.processes = h.processes,
			.n_processes = h.n_processes,
			.profile = data, /* any bytes: only the size is encoded */
			.profile_size = (size_t)h.profile_size,
		};
		uint8_t *head;
		size_t again;

		err = window_file__encode_head(&w, &head, &again);
		FUZZ_CHECK(err == 0 || err == -ENOMEM);
		if (!err) {
			FUZZ_CHECK(again == head_size && memcmp(head, data, head_size) == 0);
			free(head);
		}
	}
	window_file_header__release(&h);
	FUZZ_CHECK(h.processes == NULL && h.n_processes == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	size_t head_size;

	check_one(data, size);
	if (size > MAX_COPY || window_file__head_size(data, size, &head_size) || head_size > size)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	put_le32(copy + head_size - WINDOW_FILE_CRC_SIZE,
		 window_file__crc(0, copy, head_size - WINDOW_FILE_CRC_SIZE));
	if (size >= head_size + WINDOW_FILE_CRC_SIZE)
		put_le32(copy + size - WINDOW_FILE_CRC_SIZE,
			 window_file__crc(0, copy, size - WINDOW_FILE_CRC_SIZE));
	check_one(copy, size);
	/* With the CRCs right, only the records and the sizes can be wrong. */
	FUZZ_CHECK(le32(copy + head_size - WINDOW_FILE_CRC_SIZE) ==
		   window_file__crc(0, copy, head_size - WINDOW_FILE_CRC_SIZE));
	free(copy);
	return 0;
}
