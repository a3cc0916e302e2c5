// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Cgroup paths and the labels they carry. The text of /proc/PID/cgroup and
 * every cgroup name is someone else's choice (see cgroup.h): the parsers
 * here take only what the kernel, the container runtimes and systemd
 * write, and say -EINVAL or -ENOENT to the rest.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "util/array.h"
#include "util/clock.h"
#include "util/read_bounded.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define DELETED_SUFFIX " (deleted)"
#define DELETED_SUFFIX_LEN (sizeof(DELETED_SUFFIX) - 1)
#define SCOPE_SUFFIX ".scope"
#define SCOPE_SUFFIX_LEN (sizeof(SCOPE_SUFFIX) - 1)

/* Most /proc/PID/cgroup files are a few hundred bytes. */
#define READ_INITIAL_BYTES 4096

static int copy_out(const char *s, size_t n, char *out, size_t size)
{
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* ---- /proc/PID/cgroup ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * A character of a controller's or a named hierarchy's name: the kernel's
 * legacy names are [a-z0-9_], a hierarchy's name= [A-Za-z0-9._-].
 */
static bool is_controller_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == '.' || c == '-';
}

/*
 * Checks the controllers field "cpu,cpuacct" or "name=systemd" (empty only
 * on the v2 line) and tells whether it is the name=systemd hierarchy.
 */
static int parse_controllers(const char *s, size_t len, bool v2, bool *ret_systemd)
{
	static const char systemd[] = "name=systemd";
	bool is_systemd = false;
	size_t i = 0;

	if (v2 || len == 0) {
		*ret_systemd = false;
		return v2 && len == 0 ? 0 : -EINVAL;
	}
	while (i <= len) {
		size_t start = i, name = i;

		if (len - i >= 5 && memcmp(s + i, "name=", 5) == 0)
			name = i += 5;
		while (i < len && is_controller_char(s[i]))
			i++;
		if (i == name || (i < len && s[i] != ','))
			return -EINVAL;
		if (i - start == sizeof(systemd) - 1 && memcmp(s + start, systemd, i - start) == 0)
			is_systemd = true;
		i++; /* past the ',' or the end */
	}
	*ret_systemd = is_systemd;
	return 0;
}

/* Parses "ID:" at the start of a line; ID is decimal as %d prints it. */
static int parse_hierarchy_id(const char *s, size_t len, size_t *pos, int64_t *ret_id)
{
	int64_t id = 0;
	size_t i = 0;

	if (len == 0 || !is_digit(s[0]) || (s[0] == '0' && len > 1 && is_digit(s[1])))
		return -EINVAL;
	for (; i < len && is_digit(s[i]); i++) {
		id = id * 10 + (s[i] - '0');
		if (id > INT_MAX)
			return -EINVAL;
	}
	if (i == len || s[i] != ':')
		return -EINVAL;
	*pos = i + 1;
	*ret_id = id;
	return 0;
}

int cgroup__parse_proc(const char *text, size_t len, char *path, size_t size)
{
	/* The paths of the v2 and the name=systemd lines; NULL until seen. */
	const char *v2 = NULL, *systemd = NULL;
	size_t v2_len = 0, systemd_len = 0;
	int64_t previous_id = INT64_MAX;
	size_t line = 0;

	if (!text && len)
		return -EINVAL;
	if (len && memchr(text, '\0', len))
		return -EINVAL;
	while (line < len) {
		const char *s = text + line, *nl = memchr(s, '\n', len - line), *colon;
		size_t n = nl ? (size_t)(nl - s) : len - line, pos, controllers;
		bool is_systemd;
		int64_t id;
		int err;

		line += n + (nl != NULL);
		err = parse_hierarchy_id(s, n, &pos, &id);
		if (err)
			return err;
		/* Newest hierarchy first: anything else is a line a name made up. */
		if (id >= previous_id)
			return -EINVAL;
		previous_id = id;
		colon = memchr(s + pos, ':', n - pos);
		if (!colon)
			return -EINVAL;
		controllers = (size_t)(colon - (s + pos));
		err = parse_controllers(s + pos, controllers, id == 0, &is_systemd);
		if (err)
			return err;
		pos += controllers + 1;
		if (pos == n || s[pos] != '/')
			return -EINVAL;
		if (id == 0) {
			v2 = s + pos;
			v2_len = n - pos;
			/* Only the v2 path gets the suffix, and it is never a whole path. */
			if (v2_len > DELETED_SUFFIX_LEN && has_suffix(v2, v2_len, DELETED_SUFFIX))
				v2_len -= DELETED_SUFFIX_LEN;
		} else if (is_systemd) {
			if (systemd)
				return -EINVAL;
			systemd = s + pos;
			systemd_len = n - pos;
		}
	}
	if (v2 && !(v2_len == 1 && systemd))
		return copy_out(v2, v2_len, path, size);
	if (systemd)
		return copy_out(systemd, systemd_len, path, size);
	return -ENOENT;
}

/* A process that exits between our steps shows up as either errno. */
static int gone_or(int err)
{
	return err == ENOENT || err == ESRCH ? -ESRCH : -err;
}

int cgroup__read_pid(pid_t pid, char *path, size_t size)
{
	char file[32], *text;
	size_t len;
	int fd, err;

	if (pid <= 0)
		return -EINVAL;
	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gone_or(errno);
	err = read_bounded(fd, READ_INITIAL_BYTES, CGROUP_PROC_MAX_BYTES, &text, &len);
	close(fd);
	if (err == -EFBIG)
		return -EINVAL;
	if (err)
		return gone_or(-err);
	err = cgroup__parse_proc(text, len, path, size);
	free(text);
	return err;
}

/* ---- Path components ---- */

/* One component of a path: s[0..len), no '/'. */
struct component {
	const char *s;
	size_t len;
};

/* The component at or after *p (skipping slashes); false at the end. */
static bool next_component(const char **p, struct component *ret)
{
	const char *s = *p + strspn(*p, "/");
	size_t len = strcspn(s, "/");

	if (len == 0)
		return false;
	ret->s = s;
	ret->len = len;
	*p = s + len;
	return true;
}

static bool component_is(const struct component *c, const char *s)
{
	return c->len == strlen(s) && memcmp(c->s, s, c->len) == 0;
}

static bool has_prefix(const struct component *c, const char *prefix, size_t n)
{
	return c->len >= n && memcmp(c->s, prefix, n) == 0;
}

/* ---- Container ids ---- */

static bool is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool is_container_id(const char *s, size_t len)
{
	if (len != CGROUP_CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

/* A Kubernetes pod's cgroup: "pod" and its uid (a UUID, or 32 hex for a static pod). */
static bool is_pod_component(const struct component *c)
{
	if (c->len <= 3 || memcmp(c->s, "pod", 3) != 0)
		return false;
	for (size_t i = 3; i < c->len; i++)
		if (!is_lower_hex(c->s[i]) && c->s[i] != '-' && c->s[i] != '_')
			return false;
	return true;
}

/*
 * The runtimes' prefixes of a container's own cgroup. The monitors
 * (libpod-conmon-, crio-conmon-) have the same prefixes but "conmon-" is
 * not hex, so they never match.
 */
static const char *const container_prefixes[] = { "docker-", "cri-containerd-", "crio-",
						  "libpod-" };

/* The id in "PREFIX-ID" or "PREFIX-ID.scope", or NULL. */
static const char *prefixed_id(const struct component *c)
{
	for (size_t i = 0; i < sizeof(container_prefixes) / sizeof(container_prefixes[0]); i++) {
		size_t n = strlen(container_prefixes[i]), rest;

		if (!has_prefix(c, container_prefixes[i], n))
			continue;
		rest = c->len - n;
		if (has_suffix(c->s + n, rest, SCOPE_SUFFIX))
			rest -= SCOPE_SUFFIX_LEN;
		if (is_container_id(c->s + n, rest))
			return c->s + n;
	}
	return NULL;
}

int cgroup__container_id(const char *path, char *id, size_t size)
{
	struct component c, parent = { 0 };
	const char *found = NULL, *p = path;
	/* A component named kubepods came before the parent. */
	bool kubepods_above = false, kubepods_parent = false;

	while (next_component(&p, &c)) {
		const char *match = prefixed_id(&c);

		/* Bare ids: Docker's cgroupfs driver, and a pod's containers under cgroupfs. */
		if (!match && is_container_id(c.s, c.len) && parent.s &&
		    (component_is(&parent, "docker") ||
		     (kubepods_above && is_pod_component(&parent))))
			match = c.s;
		if (match)
			found = match;
		kubepods_above = kubepods_above || kubepods_parent;
		kubepods_parent = component_is(&c, "kubepods");
		parent = c;
	}
	if (!found)
		return -ENOENT;
	return copy_out(found, CGROUP_CONTAINER_ID_LEN, id, size);
}

/* ---- systemd units ---- */

/* systemd's unit types (unit_type_table), "slice" last. */
static const char *const unit_types[] = {
	"service", "scope",  "socket", "mount",	    "swap",  "timer",
	"path",	   "target", "device", "automount", "slice",
};
#define N_UNIT_TYPES (sizeof(unit_types) / sizeof(unit_types[0]))
#define SLICE_TYPE (N_UNIT_TYPES - 1)

/* The index in unit_types of s[0..len), or N_UNIT_TYPES. */
static size_t unit_type(const char *s, size_t len)
{
	size_t i = 0;

	for (; i < N_UNIT_TYPES; i++)
		if (strlen(unit_types[i]) == len && memcmp(s, unit_types[i], len) == 0)
			break;
	return i;
}

enum unit_kind {
	UNIT_INVALID,
	UNIT_PLAIN, /* "name.type" */
	UNIT_INSTANCE, /* "template@instance.type" */
};

/*
 * systemd's unit_name_is_valid(): of at most UNIT_NAME_MAX - 1 characters
 * from [A-Za-z0-9:_.\\-@], a valid type after the last '.', the first '@'
 * (if any) neither first nor right before the '.' (that is a template).
 * Returns the kind and in *ret_type the index in unit_types.
 */
static enum unit_kind unit_name_kind(const char *s, size_t len, size_t *ret_type)
{
	const char *dot = NULL, *at = NULL;

	if (len == 0 || len >= CGROUP_UNIT_NAME_MAX)
		return UNIT_INVALID;
	for (const char *c = s; c < s + len; c++)
		if (*c == '.')
			dot = c;
	if (!dot || dot == s)
		return UNIT_INVALID;
	*ret_type = unit_type(dot + 1, (size_t)(s + len - dot - 1));
	if (*ret_type == N_UNIT_TYPES)
		return UNIT_INVALID;
	for (const char *c = s; c < dot; c++) {
		if (*c == '@' && !at)
			at = c;
		if (!is_controller_char(*c) && *c != ':' && *c != '\\' && *c != '@')
			return UNIT_INVALID;
	}
	if (at == s)
		return UNIT_INVALID;
	if (!at)
		return UNIT_PLAIN;
	return dot > at + 1 ? UNIT_INSTANCE : UNIT_INVALID;
}

/* systemd's cg_unescape(): a name that would clash with the kernel's files gets a '_' first. */
static void cg_unescape(struct component *c)
{
	if (c->len > 0 && c->s[0] == '_') {
		c->s++;
		c->len--;
	}
}

/* Whether c is a valid slice name, as systemd's valid_slice_name(). */
static bool is_slice(struct component c)
{
	size_t type;

	if (!has_suffix(c.s, c.len, ".slice"))
		return false;
	cg_unescape(&c);
	return unit_name_kind(c.s, c.len, &type) == UNIT_PLAIN && type == SLICE_TYPE;
}

/* Past the leading slices of *p; the first other component in *ret, false if none. */
static bool skip_slices(const char **p, struct component *ret)
{
	while (next_component(p, ret))
		if (!is_slice(*ret))
			return true;
	return false;
}

/* systemd's cg_path_get_unit() on the path from p. */
static int unit_of(const char *p, char *unit, size_t size)
{
	struct component c;
	size_t type;

	if (!skip_slices(&p, &c))
		return -ENOENT;
	cg_unescape(&c);
	if (unit_name_kind(c.s, c.len, &type) == UNIT_INVALID || type == SLICE_TYPE)
		return -ENOENT;
	return copy_out(c.s, c.len, unit, size);
}

int cgroup__systemd_unit(const char *path, char *unit, size_t size)
{
	return unit_of(path, unit, size);
}

/* "user@UID.service" with UID as systemd's parse_uid() takes it. */
static bool is_user_manager(const struct component *c)
{
	static const char prefix[] = "user@", suffix[] = ".service";
	const size_t prefix_len = sizeof(prefix) - 1, suffix_len = sizeof(suffix) - 1;
	uint64_t uid = 0;
	size_t digits;

	if (!has_prefix(c, prefix, prefix_len) || !has_suffix(c->s, c->len, suffix) ||
	    c->len <= prefix_len + suffix_len)
		return false;
	digits = c->len - prefix_len - suffix_len;
	if (digits > 10)
		return false;
	for (size_t i = 0; i < digits; i++) {
		char d = c->s[prefix_len + i];

		if (!is_digit(d))
			return false;
		uid = uid * 10 + (uint64_t)(d - '0');
	}
	/* (uid_t)-1 and the 16-bit -1 are not users. */
	return uid < UINT32_MAX && uid != 0xffff;
}

int cgroup__systemd_user_unit(const char *path, char *unit, size_t size)
{
	struct component c;
	const char *p = path;

	if (!skip_slices(&p, &c) || !is_user_manager(&c))
		return -ENOENT;
	return unit_of(p, unit, size);
}

/* ---- Cgroup ids to paths ---- */

#define NO_PARENT UINT32_MAX
/* First sizes; tables double from there up to their bounds. */
#define INITIAL_ENTRIES 256
#define INITIAL_NAME_BYTES 4096

/* A cgroup found by a walk; its path is its parents' names and its own. */
struct cgroup_entry {
	uint64_t id; /* st_ino of its directory */
	uint32_t parent; /* index of the parent's entry, NO_PARENT for the root */
	uint32_t name_offset; /* of its name in the table's names */
	uint16_t name_len; /* at most NAME_MAX; the root's is 0 */
};

/* What one walk found. Entries come parents first (the walk is depth-first). */
struct cgroup_table {
	struct cgroup_entry *entries;
	size_t n, capacity;
	char *names; /* the names, not NUL-terminated, one after another */
	size_t names_len, names_capacity;
	uint32_t *slots; /* open addressing over ids: entry index + 1, 0 when free */
	size_t n_slots; /* a power of two, at least twice n; 0 before the index is built */
};

struct cgroup_names {
	int root_fd;
	dev_t root_dev; /* the walk stays on this file system */
	size_t max_entries;
	uint64_t min_rescan_ns;
	uint64_t last_walk_ns; /* when the latest walk began (monotonic) */
	uint64_t walks;
	struct cgroup_table table; /* the latest successful walk's */
};

static void table_release(struct cgroup_table *t)
{
	free(t->entries);
	free(t->names);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static size_t slot_of(uint64_t id, size_t n_slots)
{
	/* Fibonacci hashing: inode numbers are often dense and sequential. */
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (n_slots - 1);
}

static int table_add(struct cgroup_table *t, size_t max_entries, uint64_t id, uint32_t parent,
		     const char *name, size_t name_len)
{
	struct cgroup_entry *e;
	void *grown;
	int err;

	err = array__reserve(t->entries, sizeof(*t->entries), &t->capacity, t->n, 1,
			     INITIAL_ENTRIES, max_entries, &grown);
	if (err)
		return err;
	t->entries = grown;
	err = array__reserve(t->names, 1, &t->names_capacity, t->names_len, name_len,
			     INITIAL_NAME_BYTES, max_entries * (NAME_MAX + 1), &grown);
	if (err)
		return err;
	t->names = grown;
	e = &t->entries[t->n++];
	e->id = id;
	e->parent = parent;
	e->name_offset = (uint32_t)t->names_len;
	e->name_len = (uint16_t)name_len;
	if (name_len) {
		memcpy(t->names + t->names_len, name, name_len);
		t->names_len += name_len;
	}
	return 0;
}

/* Indexes the entries by id; of two with one id (a bind mount), the first wins. */
static int table_index(struct cgroup_table *t)
{
	size_t n_slots = 16;

	while (n_slots < 2 * t->n)
		n_slots *= 2;
	t->slots = calloc(n_slots, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->n_slots = n_slots;
	for (size_t i = 0; i < t->n; i++) {
		size_t s = slot_of(t->entries[i].id, n_slots);

		while (t->slots[s] && t->entries[t->slots[s] - 1].id != t->entries[i].id)
			s = (s + 1) & (n_slots - 1);
		if (!t->slots[s])
			t->slots[s] = (uint32_t)i + 1;
	}
	return 0;
}

static const struct cgroup_entry *table_find(const struct cgroup_table *t, uint64_t id)
{
	if (!t->n_slots)
		return NULL;
	for (size_t s = slot_of(id, t->n_slots); t->slots[s]; s = (s + 1) & (t->n_slots - 1))
		if (t->entries[t->slots[s] - 1].id == id)
			return &t->entries[t->slots[s] - 1];
	return NULL;
}

static int table_path(const struct cgroup_table *t, uint64_t id, char *path, size_t size)
{
	const struct cgroup_entry *e = table_find(t, id), *chain[CGROUP_NAMES_MAX_DEPTH];
	size_t depth = 0, len = 0, at = 0;

	if (!e)
		return -ENOENT;
	/* Parents come before children, so the chain ends at the root within the depth bound. */
	for (; e->parent != NO_PARENT; e = &t->entries[e->parent]) {
		if (depth == CGROUP_NAMES_MAX_DEPTH)
			return -ENOENT; /* not a table a walk built */
		chain[depth++] = e;
		len += 1 + e->name_len;
	}
	if (depth == 0)
		return copy_out("/", 1, path, size);
	if (len >= size)
		return -ENAMETOOLONG;
	while (depth-- > 0) {
		path[at++] = '/';
		memcpy(path + at, t->names + chain[depth]->name_offset, chain[depth]->name_len);
		at += chain[depth]->name_len;
	}
	path[at] = '\0';
	return 0;
}

/* An open directory on the walk's stack and its entry. */
struct walk_level {
	DIR *dir;
	uint32_t index;
};

/*
 * Depth-first over the tree from the root fd: every directory is opened
 * relative to its parent's fd with O_NOFOLLOW, so a symlink or a rename
 * cannot lead the walk out of the tree, and at most
 * CGROUP_NAMES_MAX_DEPTH + 1 directories are open at once.
 */
static int walk(const struct cgroup_names *c, struct cgroup_table *t)
{
	struct walk_level stack[CGROUP_NAMES_MAX_DEPTH + 1];
	int top = 0, fd, err;
	struct stat st;

	/* A new open file description: the root fd's offset is not ours to move. */
	fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) < 0 ? -errno
				 : table_add(t, c->max_entries, st.st_ino, NO_PARENT, "", 0);
	if (!err && !(stack[0].dir = fdopendir(fd)))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	stack[0].index = 0;
	while (top >= 0) {
		struct walk_level *level = &stack[top];
		struct dirent *de = readdir(level->dir);
		size_t name_len;
		DIR *dir;

		if (!de) {
			/* The end, or the directory went away under us: done with it either way. */
			closedir(level->dir);
			top--;
			continue;
		}
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (t->n >= c->max_entries)
			break; /* the bound: the rest of the tree stays unknown */
		fd = openat(dirfd(level->dir), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone mid-walk, a symlink, a file: skipped */
		name_len = strnlen(de->d_name, NAME_MAX + 1);
		if (fstat(fd, &st) < 0 || st.st_dev != c->root_dev || name_len > NAME_MAX) {
			close(fd);
			continue;
		}
		err = table_add(t, c->max_entries, st.st_ino, level->index, de->d_name, name_len);
		if (err) {
			close(fd);
			break;
		}
		/* The deepest directories are entered in the table but not read. */
		if (top + 1 == CGROUP_NAMES_MAX_DEPTH || !(dir = fdopendir(fd))) {
			close(fd);
			continue;
		}
		top++;
		stack[top].dir = dir;
		stack[top].index = (uint32_t)(t->n - 1);
	}
	for (; top >= 0; top--)
		closedir(stack[top].dir);
	return err;
}

static int rescan(struct cgroup_names *c)
{
	struct cgroup_table fresh = { 0 };
	int err;

	c->walks++;
	c->last_walk_ns = monotonic_ns();
	err = walk(c, &fresh);
	if (!err)
		err = table_index(&fresh);
	if (err) {
		table_release(&fresh);
		return err;
	}
	table_release(&c->table);
	c->table = fresh;
	return 0;
}

/* An fd of the cgroup2 file system at path, or a negative errno. */
static int open_cgroup2(const char *path)
{
	struct statfs fs;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

struct cgroup_names *cgroup_names__new(const char *root, size_t max_entries)
{
	struct cgroup_names *c;
	struct stat st;
	int fd, err;

	if (max_entries == 0)
		max_entries = CGROUP_NAMES_DEFAULT_ENTRIES;
	if (max_entries > CGROUP_NAMES_MAX_ENTRIES) {
		errno = EINVAL;
		return NULL;
	}
	if (root) {
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
	} else if ((fd = open_cgroup2(CGROUP_NAMES_DEFAULT_ROOT)) < 0 &&
		   (fd = open_cgroup2(CGROUP_NAMES_HYBRID_ROOT)) < 0) {
		errno = ENODEV;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || fstat(fd, &st) < 0) {
		err = c ? errno : ENOMEM;
		free(c);
		close(fd);
		errno = err;
		return NULL;
	}
	c->root_fd = fd;
	c->root_dev = st.st_dev;
	c->max_entries = max_entries;
	c->min_rescan_ns = CGROUP_NAMES_DEFAULT_RESCAN_NS;
	return c;
}

void cgroup_names__free(struct cgroup_names *c)
{
	if (!c)
		return;
	table_release(&c->table);
	close(c->root_fd);
	free(c);
}

int cgroup_names__lookup(struct cgroup_names *c, uint64_t id, char *path, size_t size)
{
	int err = table_path(&c->table, id, path, size);

	if (err != -ENOENT)
		return err;
	if (c->walks && monotonic_ns() - c->last_walk_ns < c->min_rescan_ns)
		return -ENOENT;
	err = rescan(c);
	if (err)
		return err;
	return table_path(&c->table, id, path, size);
}

void cgroup_names__set_rescan_interval(struct cgroup_names *c, uint64_t min_rescan_ns)
{
	c->min_rescan_ns = min_rescan_ns;
}

uint64_t cgroup_names__walks(const struct cgroup_names *c)
{
	return c->walks;
}

size_t cgroup_names__entries(const struct cgroup_names *c)
{
	return c->table.n;
}
