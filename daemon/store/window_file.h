/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One continuous-mode window as a file: the encoder the store writes with
 * and the parser it reads with. A file on disk may be truncated, zeroed or
 * written by someone else, so the parser takes nothing on trust: every
 * length is bounded and checked against the bytes there are before it is
 * used. Library-like: does not log.
 *
 * The layout (integers little-endian, fixed width; offsets in bytes):
 *
 *   preamble   0   8  magic "CPROFWIN"
 *              8   4  format version, WINDOW_FILE_VERSION
 *             12   4  H: length of the header that follows
 *                        (WINDOW_FILE_MIN_HEADER .. WINDOW_FILE_MAX_HEADER)
 *   header    16   H  0   8  start_ns (int64, >= 0)    CLOCK_REALTIME, [start, end)
 *                     8   8  end_ns (int64, > start_ns)
 *                    16   8  samples, machine-wide
 *                    24   8  lost, machine-wide
 *                    32   8  P: the profile's length (<= WINDOW_FILE_MAX_PROFILE)
 *                    40   4  hz
 *                    44   4  N: processes (<= WINDOW_FILE_MAX_PROCESSES)
 *                    48      N process records, each
 *                              0   4  pid (int32)
 *                              4   4  uid
 *                              8   8  start_ticks (/proc/PID/stat field 22)
 *                             16   8  samples
 *                             24   8  lost
 *                             32  16  comm: at most 15 bytes, then NULs to the end
 *                             48      five strings: exe, build_id, cgroup, unit,
 *                                     container; each a 4-byte length L
 *                                     (<= WINDOW_FILE_MAX_STRING; 0xffffffff for
 *                                     NULL, unknown) and L bytes, none of them NUL
 *                        The records end exactly at H.
 *   head CRC  16+H  4  crc32 (zlib) of bytes [0, 16 + H)
 *   profile   20+H  P  the gzipped pprof, opaque here
 *   file CRC  20+H+P 4 crc32 of bytes [0, 20 + H + P)
 *
 * and the file is exactly 24 + H + P bytes. "The head" is bytes
 * [0, 20 + H): the store indexes a file by reading its head alone (the head
 * CRC proves it whole), and checks the file CRC when it reads the profile.
 * The encoding is canonical: parsing a head and encoding what it gave
 * yields the same bytes. A change of layout is a new version; a reader
 * reports another version's file as such (-EPROTONOSUPPORT), not as corrupt.
 */
#ifndef CPROF_WINDOW_FILE_H
#define CPROF_WINDOW_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "window_store.h"

#define WINDOW_FILE_MAGIC "CPROFWIN"
#define WINDOW_FILE_VERSION 1
#define WINDOW_FILE_PREAMBLE_SIZE 16
#define WINDOW_FILE_MIN_HEADER 48
#define WINDOW_FILE_MAX_HEADER (64u << 20)
#define WINDOW_FILE_MAX_PROFILE (256u << 20)
#define WINDOW_FILE_MAX_PROCESSES 65536
#define WINDOW_FILE_MAX_STRING 4096
/* The bytes a process record takes at the least (all five strings NULL). */
#define WINDOW_FILE_MIN_RECORD 68
#define WINDOW_FILE_CRC_SIZE 4

/* A parsed head: what the file says of its window. */
struct window_file_header {
	int64_t start_ns, end_ns;
	uint32_t hz;
	uint64_t samples, lost;
	uint64_t head_size;    /* the head is bytes [0, head_size); the profile follows */
	uint64_t profile_size; /* P */
	uint64_t file_size;    /* what the whole file must hold: head_size + P + 4 */
	/* n_processes records (NULL when none); their strings point into strings. */
	struct store_process *processes;
	size_t n_processes;
	char *strings; /* every string of every record, NUL-terminated, in one block */
	size_t strings_size;
};

/*
 * Encodes w's head (preamble, header, head CRC) into a malloc'd buffer the
 * caller frees. A string longer than WINDOW_FILE_MAX_STRING is cut to it and
 * a comm to 15 bytes; a string is read up to its first NUL. Returns 0,
 * -EINVAL (start_ns < 0, end_ns <= start_ns, or a NULL array with a count),
 * -E2BIG (more than WINDOW_FILE_MAX_PROCESSES, a profile over
 * WINDOW_FILE_MAX_PROFILE, or a header over WINDOW_FILE_MAX_HEADER) or
 * -ENOMEM.
 */
int window_file__encode_head(const struct store_window *w, uint8_t **ret_head, size_t *ret_size);

/* Continues a zlib crc32 over len bytes (start with crc 0), for any len. */
uint32_t window_file__crc(uint32_t crc, const void *buf, size_t len);

/* The file CRC of a head and a profile, as the file's last 4 bytes hold it. */
void window_file__trailer(const uint8_t *head, size_t head_size, const void *profile,
			  size_t profile_size, uint8_t ret_trailer[WINDOW_FILE_CRC_SIZE]);

/*
 * From a file's first len bytes (at least WINDOW_FILE_PREAMBLE_SIZE): the
 * size of its head. Returns 0, -EINVAL (too short, not a window file, a
 * header length out of bounds) or -EPROTONOSUPPORT (a window file of
 * another format version).
 */
int window_file__head_size(const void *buf, size_t len, size_t *ret_head_size);

/*
 * Parses the head in the first len bytes of a file (more may follow: the
 * profile is not looked at). On success *ret owns its arrays (release with
 * window_file_header__release()); on error *ret is untouched. Returns 0,
 * -EINVAL (truncated, a bad head CRC, a field or length out of bounds, a
 * string with a NUL, records that do not end at H), -EPROTONOSUPPORT
 * (another format version) or -ENOMEM.
 */
int window_file__parse_header(const void *buf, size_t len, struct window_file_header *ret);

/* Frees what a parse gave and empties h. */
void window_file_header__release(struct window_file_header *h);

/*
 * Checks a whole file held in buf: its size agrees with its header and both
 * CRCs hold (records are not parsed). Returns 0, -EINVAL or -EPROTONOSUPPORT.
 */
int window_file__check(const void *buf, size_t len);

/*
 * Writes a window file into the directory dir_fd, crash-safe: to a file
 * with no name (O_TMPFILE) or, when named_temporary, under "<name>.tmp";
 * all of head, profile and their file CRC; fsync(); then links it to the
 * name of window (start_ns, seq) - never over an existing file: a name
 * taken means the next seq, in *ret_seq - and fsync()s the directory.
 * Returns 0, -EOPNOTSUPP (no O_TMPFILE here: call again named), or the
 * negative errno (-ENOSPC, -EDQUOT, -EIO...); on error nothing is left.
 */
int window_file__write(int dir_fd, bool named_temporary, int64_t start_ns, uint32_t seq,
		       const uint8_t *head, size_t head_size, const void *profile,
		       size_t profile_size, uint32_t *ret_seq);

/*
 * Reads and parses the head of the window file open as fd, file_size bytes,
 * and checks that the size is the one it gives. Returns 0 (*ret as
 * parse_header() gives it), -EINVAL (not a whole window file),
 * -EPROTONOSUPPORT, -ENOMEM, or -EIO (a read failed: the bytes are not to
 * blame).
 */
int window_file__read_head(int fd, uint64_t file_size, struct window_file_header *ret);

/*
 * Reads the profile of the window file open as fd, whose head h gave, into a
 * malloc'd buffer (never NULL, even when empty), checking the file's size and
 * its CRC. Returns 0, -EINVAL (corrupt), -EIO (a read failed) or -ENOMEM.
 */
int window_file__read_profile(int fd, const struct window_file_header *h, void **ret_data);

/* A name is "w-<start_ns, 19 digits>-<seq, 10 digits>.cpw", with a suffix for some kinds. */
#define WINDOW_FILE_NAME_SIZE 48
enum window_file_name_kind {
	WINDOW_FILE_NAME_OTHER,     /* not the store's */
	WINDOW_FILE_NAME_WINDOW,    /* "....cpw" */
	WINDOW_FILE_NAME_TEMPORARY, /* "....cpw.tmp": a write that did not finish */
	WINDOW_FILE_NAME_CORRUPT,   /* "....cpw.corrupt": moved aside */
};

/* Writes the name of window (start_ns >= 0, seq), with suffix ("" or ".tmp", ".corrupt"). */
void window_file__name(int64_t start_ns, uint32_t seq, const char *suffix,
		       char ret_name[WINDOW_FILE_NAME_SIZE]);

/*
 * What kind of name this is; for the store's kinds, *ret_start_ns and
 * *ret_seq are what it says (written only then).
 */
enum window_file_name_kind window_file__parse_name(const char *name, int64_t *ret_start_ns,
						   uint32_t *ret_seq);

#endif /* CPROF_WINDOW_FILE_H */
