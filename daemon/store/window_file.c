// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "window_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define STRINGS_PER_RECORD 5
#define NULL_STRING UINT32_MAX
#define COMM_SIZE 16
#define RECORD_FIXED_SIZE (4 + 4 + 8 + 8 + 8 + COMM_SIZE)

_Static_assert(RECORD_FIXED_SIZE + STRINGS_PER_RECORD * 4 == WINDOW_FILE_MIN_RECORD,
	       "a record's least size");
_Static_assert(sizeof(((struct store_process *)0)->comm) == COMM_SIZE, "comm as the kernel's");
_Static_assert(sizeof(WINDOW_FILE_MAGIC) - 1 == 8, "an 8-byte magic");

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

uint32_t window_file__crc(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* zlib's crc32() takes a uInt length: feed it in pieces. */
	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

void window_file__trailer(const uint8_t *head, size_t head_size, const void *profile,
			  size_t profile_size, uint8_t ret_trailer[WINDOW_FILE_CRC_SIZE])
{
	uint32_t crc = window_file__crc(0, head, head_size);

	put_le32(ret_trailer, window_file__crc(crc, profile, profile_size));
}

/* A string's length as stored: up to its NUL, cut to the limit; NULL_STRING for NULL. */
static uint32_t stored_length(const char *s)
{
	return s ? (uint32_t)strnlen(s, WINDOW_FILE_MAX_STRING) : NULL_STRING;
}

static const char *record_string(const struct store_process *p, int i)
{
	const char *const strings[STRINGS_PER_RECORD] = { p->exe, p->build_id, p->cgroup, p->unit,
							  p->container };

	return strings[i];
}

int window_file__encode_head(const struct store_window *w, uint8_t **ret_head, size_t *ret_size)
{
	uint64_t header_len = WINDOW_FILE_MIN_HEADER;
	uint8_t *head, *p;
	size_t head_size;

	if (w->start_ns < 0 || w->end_ns <= w->start_ns || (w->n_processes && !w->processes) ||
	    (w->profile_size && !w->profile))
		return -EINVAL;
	if (w->n_processes > WINDOW_FILE_MAX_PROCESSES || w->profile_size > WINDOW_FILE_MAX_PROFILE)
		return -E2BIG;
	for (size_t i = 0; i < w->n_processes; i++) {
		header_len += RECORD_FIXED_SIZE;
		for (int j = 0; j < STRINGS_PER_RECORD; j++) {
			uint32_t len = stored_length(record_string(&w->processes[i], j));

			header_len += 4 + (len == NULL_STRING ? 0 : len);
		}
	}
	if (header_len > WINDOW_FILE_MAX_HEADER)
		return -E2BIG;
	head_size = WINDOW_FILE_PREAMBLE_SIZE + (size_t)header_len + WINDOW_FILE_CRC_SIZE;
	head = calloc(1, head_size);
	if (!head)
		return -ENOMEM;

	memcpy(head, WINDOW_FILE_MAGIC, 8);
	put_le32(head + 8, WINDOW_FILE_VERSION);
	put_le32(head + 12, (uint32_t)header_len);
	p = head + WINDOW_FILE_PREAMBLE_SIZE;
	put_le64(p, (uint64_t)w->start_ns);
	put_le64(p + 8, (uint64_t)w->end_ns);
	put_le64(p + 16, w->samples);
	put_le64(p + 24, w->lost);
	put_le64(p + 32, w->profile_size);
	put_le32(p + 40, w->hz);
	put_le32(p + 44, (uint32_t)w->n_processes);
	p += WINDOW_FILE_MIN_HEADER;
	for (size_t i = 0; i < w->n_processes; i++) {
		const struct store_process *proc = &w->processes[i];

		put_le32(p, (uint32_t)proc->pid);
		put_le32(p + 4, proc->uid);
		put_le64(p + 8, proc->start_ticks);
		put_le64(p + 16, proc->samples);
		put_le64(p + 24, proc->lost);
		/* calloc gave the NUL padding; 15 bytes at most keep one NUL. */
		memcpy(p + 32, proc->comm, strnlen(proc->comm, COMM_SIZE - 1));
		p += RECORD_FIXED_SIZE;
		for (int j = 0; j < STRINGS_PER_RECORD; j++) {
			const char *s = record_string(proc, j);
			uint32_t len = stored_length(s);

			put_le32(p, len);
			p += 4;
			if (len != NULL_STRING) {
				memcpy(p, s, len);
				p += len;
			}
		}
	}
	put_le32(p, window_file__crc(0, head, (size_t)(p - head)));
	*ret_head = head;
	*ret_size = head_size;
	return 0;
}

int window_file__head_size(const void *buf, size_t len, size_t *ret_head_size)
{
	const uint8_t *b = buf;
	uint32_t header_len;

	if (len < WINDOW_FILE_PREAMBLE_SIZE || memcmp(b, WINDOW_FILE_MAGIC, 8) != 0)
		return -EINVAL;
	if (get_le32(b + 8) != WINDOW_FILE_VERSION)
		return -EPROTONOSUPPORT;
	header_len = get_le32(b + 12);
	if (header_len < WINDOW_FILE_MIN_HEADER || header_len > WINDOW_FILE_MAX_HEADER)
		return -EINVAL;
	*ret_head_size = WINDOW_FILE_PREAMBLE_SIZE + (size_t)header_len + WINDOW_FILE_CRC_SIZE;
	return 0;
}

/* Reading the header's records: where we are and how much is left. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

/*
 * Walks n records. With processes NULL it only checks them and sums what
 * their strings need (*strings_size); else it fills processes, copying the
 * strings into strings (of the size a first walk found).
 */
static int walk_records(struct cursor c, size_t n, struct store_process *processes,
			char *strings, size_t *strings_size)
{
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *comm;
		size_t comm_len;

		if (c.left < RECORD_FIXED_SIZE)
			return -EINVAL;
		comm = c.p + 32;
		comm_len = strnlen((const char *)comm, COMM_SIZE);
		/* A NUL within, and only NULs after it: one encoding per name. */
		if (comm_len == COMM_SIZE)
			return -EINVAL;
		for (size_t k = comm_len; k < COMM_SIZE; k++)
			if (comm[k])
				return -EINVAL;
		if (processes) {
			struct store_process *proc = &processes[i];

			proc->pid = (int32_t)get_le32(c.p);
			proc->uid = get_le32(c.p + 4);
			proc->start_ticks = get_le64(c.p + 8);
			proc->samples = get_le64(c.p + 16);
			proc->lost = get_le64(c.p + 24);
			memcpy(proc->comm, comm, COMM_SIZE);
		}
		c.p += RECORD_FIXED_SIZE;
		c.left -= RECORD_FIXED_SIZE;
		for (int j = 0; j < STRINGS_PER_RECORD; j++) {
			const char *s = NULL;
			uint32_t len;

			if (c.left < 4)
				return -EINVAL;
			len = get_le32(c.p);
			c.p += 4;
			c.left -= 4;
			if (len != NULL_STRING) {
				if (len > WINDOW_FILE_MAX_STRING || len > c.left ||
				    memchr(c.p, '\0', len))
					return -EINVAL;
				if (processes) {
					memcpy(strings + used, c.p, len);
					strings[used + len] = '\0';
					s = strings + used;
				}
				used += (size_t)len + 1;
				c.p += len;
				c.left -= len;
			}
			if (processes) {
				const char **fields[STRINGS_PER_RECORD] = {
					&processes[i].exe,  &processes[i].build_id,
					&processes[i].cgroup, &processes[i].unit,
					&processes[i].container,
				};

				*fields[j] = s;
			}
		}
	}
	/* The records fill the header exactly. */
	if (c.left != 0)
		return -EINVAL;
	*strings_size = used;
	return 0;
}

int window_file__parse_header(const void *buf, size_t len, struct window_file_header *ret)
{
	const uint8_t *b = buf, *h = b + WINDOW_FILE_PREAMBLE_SIZE;
	struct window_file_header out = { 0 };
	size_t head_size, header_len, strings_size;
	struct cursor records;
	uint64_t n;
	int err;

	err = window_file__head_size(buf, len, &head_size);
	if (err)
		return err;
	if (len < head_size)
		return -EINVAL;
	header_len = head_size - WINDOW_FILE_PREAMBLE_SIZE - WINDOW_FILE_CRC_SIZE;
	if (window_file__crc(0, b, head_size - WINDOW_FILE_CRC_SIZE) !=
	    get_le32(b + head_size - WINDOW_FILE_CRC_SIZE))
		return -EINVAL;

	out.start_ns = (int64_t)get_le64(h);
	out.end_ns = (int64_t)get_le64(h + 8);
	out.samples = get_le64(h + 16);
	out.lost = get_le64(h + 24);
	out.profile_size = get_le64(h + 32);
	out.hz = get_le32(h + 40);
	n = get_le32(h + 44);
	if (out.start_ns < 0 || out.end_ns <= out.start_ns ||
	    out.profile_size > WINDOW_FILE_MAX_PROFILE || n > WINDOW_FILE_MAX_PROCESSES)
		return -EINVAL;
	/* Before allocating for n records, the bytes must be there for them. */
	if (n > (header_len - WINDOW_FILE_MIN_HEADER) / WINDOW_FILE_MIN_RECORD)
		return -EINVAL;
	out.head_size = head_size;
	out.file_size = head_size + out.profile_size + WINDOW_FILE_CRC_SIZE;

	records.p = h + WINDOW_FILE_MIN_HEADER;
	records.left = header_len - WINDOW_FILE_MIN_HEADER;
	err = walk_records(records, (size_t)n, NULL, NULL, &strings_size);
	if (err)
		return err;
	if (n) {
		out.processes = calloc((size_t)n, sizeof(*out.processes));
		out.strings = strings_size ? malloc(strings_size) : NULL;
		if (!out.processes || (strings_size && !out.strings)) {
			window_file_header__release(&out);
			return -ENOMEM;
		}
		out.n_processes = (size_t)n;
		out.strings_size = strings_size;
		err = walk_records(records, (size_t)n, out.processes, out.strings, &strings_size);
		if (err) {
			/* The first walk passed the same bytes. */
			window_file_header__release(&out);
			return err;
		}
	}
	*ret = out;
	return 0;
}

void window_file_header__release(struct window_file_header *h)
{
	free(h->processes);
	free(h->strings);
	memset(h, 0, sizeof(*h));
}

int window_file__check(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint64_t profile_size;
	size_t head_size;
	int err;

	err = window_file__head_size(buf, len, &head_size);
	if (err)
		return err;
	if (len < head_size + WINDOW_FILE_CRC_SIZE)
		return -EINVAL;
	profile_size = get_le64(b + WINDOW_FILE_PREAMBLE_SIZE + 32);
	if (profile_size > WINDOW_FILE_MAX_PROFILE ||
	    len != head_size + profile_size + WINDOW_FILE_CRC_SIZE)
		return -EINVAL;
	if (window_file__crc(0, b, head_size - WINDOW_FILE_CRC_SIZE) !=
		    get_le32(b + head_size - WINDOW_FILE_CRC_SIZE) ||
	    window_file__crc(0, b, len - WINDOW_FILE_CRC_SIZE) !=
		    get_le32(b + len - WINDOW_FILE_CRC_SIZE))
		return -EINVAL;
	return 0;
}

#define NAME_PREFIX "w-"
#define NAME_EXTENSION ".cpw"
#define START_DIGITS 19
#define SEQ_DIGITS 10

void window_file__name(int64_t start_ns, uint32_t seq, const char *suffix,
		       char ret_name[WINDOW_FILE_NAME_SIZE])
{
	snprintf(ret_name, WINDOW_FILE_NAME_SIZE, NAME_PREFIX "%019" PRId64 "-%010" PRIu32
		 NAME_EXTENSION "%s", start_ns, seq, suffix);
}

/* Exactly digits decimal digits at p, into *ret (no overflow past max). */
static int parse_digits(const char *p, int digits, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	for (int i = 0; i < digits; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(p[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*ret = v;
	return 0;
}

enum window_file_name_kind window_file__parse_name(const char *name, int64_t *ret_start_ns,
						   uint32_t *ret_seq)
{
	static const struct {
		const char *suffix;
		enum window_file_name_kind kind;
	} kinds[] = {
		{ "", WINDOW_FILE_NAME_WINDOW },
		{ ".tmp", WINDOW_FILE_NAME_TEMPORARY },
		{ ".corrupt", WINDOW_FILE_NAME_CORRUPT },
	};
	const size_t stem = strlen(NAME_PREFIX) + START_DIGITS + 1 + SEQ_DIGITS;
	uint64_t start, seq;
	const char *rest;

	if (strncmp(name, NAME_PREFIX, strlen(NAME_PREFIX)) != 0 || strlen(name) < stem ||
	    parse_digits(name + 2, START_DIGITS, INT64_MAX, &start) ||
	    name[2 + START_DIGITS] != '-' ||
	    parse_digits(name + 3 + START_DIGITS, SEQ_DIGITS, UINT32_MAX, &seq))
		return WINDOW_FILE_NAME_OTHER;
	rest = name + stem;
	if (strncmp(rest, NAME_EXTENSION, strlen(NAME_EXTENSION)) != 0)
		return WINDOW_FILE_NAME_OTHER;
	rest += strlen(NAME_EXTENSION);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(rest, kinds[i].suffix) == 0) {
			*ret_start_ns = (int64_t)start;
			*ret_seq = (uint32_t)seq;
			return kinds[i].kind;
		}
	}
	return WINDOW_FILE_NAME_OTHER;
}

/* Names tried after the first when a file already has it (one the store does not know). */
#define NAME_TRIES 64
/* What read_head() reads at first: most heads fit. */
#define FIRST_READ 4096

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads len bytes at offset: 0, -EINVAL when the file ends first, or -EIO. */
static int pread_all(int fd, void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			return -EINVAL;
		done += (size_t)n;
	}
	return 0;
}

/* Links the O_TMPFILE file fd as name in dir_fd. */
static int link_tmpfile(int dir_fd, int fd, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, path, dir_fd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	/* No /proc: this way needs CAP_DAC_READ_SEARCH. */
	return linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) == 0 ? 0 : -errno;
}

int window_file__write(int dir_fd, bool named_temporary, int64_t start_ns, uint32_t seq,
		       const uint8_t *head, size_t head_size, const void *profile,
		       size_t profile_size, uint32_t *ret_seq)
{
	char tmp_name[WINDOW_FILE_NAME_SIZE], name[WINDOW_FILE_NAME_SIZE];
	uint8_t trailer[WINDOW_FILE_CRC_SIZE];
	int fd, err;

	if (named_temporary) {
		window_file__name(start_ns, seq, ".tmp", tmp_name);
		fd = openat(dir_fd, tmp_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			    0640);
	} else {
		fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640);
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
			return -EOPNOTSUPP;
	}
	if (fd < 0)
		return -errno;
	window_file__trailer(head, head_size, profile, profile_size, trailer);
	err = write_all(fd, head, head_size);
	if (!err)
		err = write_all(fd, profile, profile_size);
	if (!err)
		err = write_all(fd, trailer, sizeof(trailer));
	if (!err && fsync(fd) < 0)
		err = -errno;
	for (int tries = 0; !err; tries++) {
		window_file__name(start_ns, seq, "", name);
		if (named_temporary)
			err = linkat(dir_fd, tmp_name, dir_fd, name, 0) == 0 ? 0 : -errno;
		else
			err = link_tmpfile(dir_fd, fd, name);
		if (err != -EEXIST || tries == NAME_TRIES || seq == UINT32_MAX)
			break;
		err = 0;
		seq++;
	}
	/* A crash before this leaves a *.tmp that the store's next open removes. */
	if (named_temporary)
		unlinkat(dir_fd, tmp_name, 0);
	if (!err && fsync(dir_fd) < 0) {
		err = -errno;
		unlinkat(dir_fd, name, 0);
	}
	close(fd);
	if (!err)
		*ret_seq = seq;
	return err;
}

int window_file__read_head(int fd, uint64_t file_size, struct window_file_header *ret)
{
	uint8_t first[FIRST_READ], *head = first;
	struct window_file_header h;
	size_t have, head_size;
	int err;

	have = file_size < FIRST_READ ? (size_t)file_size : FIRST_READ;
	err = pread_all(fd, first, have, 0);
	if (!err)
		err = window_file__head_size(first, have, &head_size);
	if (err)
		return err;
	/* The head and the file CRC at least, before reading or allocating for them. */
	if (head_size + WINDOW_FILE_CRC_SIZE > file_size)
		return -EINVAL;
	if (head_size > have) {
		head = malloc(head_size);
		if (!head)
			return -ENOMEM;
		err = pread_all(fd, head, head_size, 0);
	}
	if (!err)
		err = window_file__parse_header(head, head_size, &h);
	if (head != first)
		free(head);
	if (err)
		return err;
	if (h.file_size != file_size) {
		window_file_header__release(&h);
		return -EINVAL;
	}
	*ret = h;
	return 0;
}

int window_file__read_profile(int fd, const struct window_file_header *h, void **ret_data)
{
	uint8_t trailer[WINDOW_FILE_CRC_SIZE], *head, *data;
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0)
		return -EIO;
	if ((uint64_t)st.st_size != h->file_size)
		return -EINVAL;
	head = malloc(h->head_size);
	data = malloc(h->profile_size ? h->profile_size : 1);
	err = head && data ? 0 : -ENOMEM;
	if (!err)
		err = pread_all(fd, head, h->head_size, 0);
	if (!err)
		err = pread_all(fd, data, h->profile_size, h->head_size);
	if (!err)
		err = pread_all(fd, trailer, sizeof(trailer), h->head_size + h->profile_size);
	/* The file CRC covers the head too: a head rewritten since open shows here. */
	if (!err && window_file__crc(window_file__crc(0, head, h->head_size), data,
				     h->profile_size) != get_le32(trailer))
		err = -EINVAL;
	free(head);
	if (err) {
		free(data);
		return err;
	}
	*ret_data = data;
	return 0;
}
