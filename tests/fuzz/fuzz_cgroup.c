// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the cgroup parsers (daemon/procs/cgroup.c). The input is the text
 * of a /proc/PID/cgroup file; on success its path goes to the label
 * parsers, and so does the input itself taken as a path, so that they see
 * names the line parser would refuse. The results must keep the promises
 * of cgroup.h: only the documented errors, buffers untouched on failure,
 * NUL-terminated results within size, ids of 64 lowercase hex, units with
 * a unit suffix, and every result a piece of what it came from.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "procs/cgroup.h"

#define SENTINEL 0xa5
#define PATH_SIZE 4096

static const char *const unit_suffixes[] = { ".service", ".scope",    ".socket", ".mount",
					     ".swap",	 ".timer",    ".path",	 ".target",
					     ".device",	 ".automount" };

static bool untouched(const char *buf, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if ((unsigned char)buf[i] != SENTINEL)
			return false;
	return true;
}

/* On success: a NUL within size; on failure: not one byte written. */
static void check_buffer(int err, const char *buf, size_t size)
{
	if (err)
		FUZZ_CHECK(untouched(buf, size));
	else
		FUZZ_CHECK(memchr(buf, '\0', size) != NULL);
}

static void check_container_id(const char *path)
{
	char id[CGROUP_CONTAINER_ID_LEN + 8], small[CGROUP_CONTAINER_ID_LEN];
	int err;

	memset(id, SENTINEL, sizeof(id));
	err = cgroup__container_id(path, id, sizeof(id));
	FUZZ_CHECK(err == 0 || err == -ENOENT);
	check_buffer(err, id, sizeof(id));
	memset(small, SENTINEL, sizeof(small));
	FUZZ_CHECK(cgroup__container_id(path, small, sizeof(small)) ==
		   (err ? -ENOENT : -ENAMETOOLONG));
	FUZZ_CHECK(untouched(small, sizeof(small)));
	if (err)
		return;
	FUZZ_CHECK(strlen(id) == CGROUP_CONTAINER_ID_LEN);
	for (size_t i = 0; i < CGROUP_CONTAINER_ID_LEN; i++)
		FUZZ_CHECK((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
	FUZZ_CHECK(strstr(path, id) != NULL);
}

static bool has_unit_suffix(const char *unit)
{
	size_t len = strlen(unit);

	for (size_t i = 0; i < sizeof(unit_suffixes) / sizeof(unit_suffixes[0]); i++) {
		size_t n = strlen(unit_suffixes[i]);

		if (len > n && memcmp(unit + len - n, unit_suffixes[i], n) == 0)
			return true;
	}
	return false;
}

/* Checks one of the unit functions; returns its error, the unit in unit[] on success. */
static int check_unit(int (*fn)(const char *, char *, size_t), const char *path, char *unit)
{
	char small[16];
	size_t len;
	int err;

	memset(unit, SENTINEL, CGROUP_UNIT_NAME_MAX);
	err = fn(path, unit, CGROUP_UNIT_NAME_MAX);
	FUZZ_CHECK(err == 0 || err == -ENOENT);
	check_buffer(err, unit, CGROUP_UNIT_NAME_MAX);
	memset(small, SENTINEL, sizeof(small));
	if (err) {
		FUZZ_CHECK(fn(path, small, sizeof(small)) == -ENOENT);
		FUZZ_CHECK(untouched(small, sizeof(small)));
		return err;
	}
	len = strlen(unit);
	FUZZ_CHECK(len > 0 && len < CGROUP_UNIT_NAME_MAX);
	FUZZ_CHECK(has_unit_suffix(unit));
	FUZZ_CHECK(!strchr(unit, '/'));
	/* A path component, maybe with systemd's escaping '_' before it. */
	FUZZ_CHECK(strstr(path, unit) != NULL);
	/* The same answer in a buffer just big enough, -ENAMETOOLONG in one too small. */
	if (len < sizeof(small)) {
		FUZZ_CHECK(fn(path, small, len + 1) == 0 && strcmp(small, unit) == 0);
	} else {
		FUZZ_CHECK(fn(path, small, sizeof(small)) == -ENAMETOOLONG);
		FUZZ_CHECK(untouched(small, sizeof(small)));
	}
	return 0;
}

static void check_labels(const char *path)
{
	char unit[CGROUP_UNIT_NAME_MAX], user_unit[CGROUP_UNIT_NAME_MAX];
	int err;

	check_container_id(path);
	err = check_unit(cgroup__systemd_unit, path, unit);
	/* A user unit is inside a user manager, which is the system unit. */
	if (check_unit(cgroup__systemd_user_unit, path, user_unit) == 0) {
		FUZZ_CHECK(err == 0);
		FUZZ_CHECK(strncmp(unit, "user@", 5) == 0);
		FUZZ_CHECK(strlen(unit) > 13 && strcmp(unit + strlen(unit) - 8, ".service") == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[PATH_SIZE], small[32];
	const char *text = (const char *)data;
	char *raw;
	size_t len;
	int err;

	memset(path, SENTINEL, sizeof(path));
	err = cgroup__parse_proc(text, size, path, sizeof(path));
	FUZZ_CHECK(err == 0 || err == -ENOENT || err == -EINVAL || err == -ENAMETOOLONG);
	check_buffer(err, path, sizeof(path));
	/* A smaller buffer changes nothing but the room. */
	memset(small, SENTINEL, sizeof(small));
	if (err == 0) {
		len = strlen(path);
		FUZZ_CHECK(len > 0 && len < size && path[0] == '/');
		FUZZ_CHECK(!strchr(path, '\n'));
		FUZZ_CHECK(memmem(data, size, path, len) != NULL);
		FUZZ_CHECK(cgroup__parse_proc(text, size, small, sizeof(small)) ==
			   (len < sizeof(small) ? 0 : -ENAMETOOLONG));
		if (len < sizeof(small))
			FUZZ_CHECK(strcmp(small, path) == 0);
		else
			FUZZ_CHECK(untouched(small, sizeof(small)));
		check_labels(path);
	} else {
		FUZZ_CHECK(cgroup__parse_proc(text, size, small, sizeof(small)) == err);
		FUZZ_CHECK(untouched(small, sizeof(small)));
	}

	/* The input as a path, up to its first NUL. */
	raw = malloc(size + 1);
	if (!raw)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0';
	check_labels(raw);
	free(raw);
	return 0;
}
