/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Jitdump files: what a JIT writes of the code it makes, for perf inject
 * --jit (node --perf-prof, the JVM's perf agent, .NET, Wasmtime). The
 * process creates jit-PID.dump and maps it (so profilers find it in its
 * maps), then appends records. The format is the Linux kernel's
 * tools/perf/Documentation/jitdump-specification.txt: a 40-byte header
 * (magic "JiTD" as the uint32 0x4A695444, version 1, its own size), then
 * records of a 16-byte prefix (id, total size, timestamp) and a payload:
 *
 *   JIT_CODE_LOAD        code at code_addr, code_size bytes, named (NUL
 *                        terminated), followed by the code itself
 *   JIT_CODE_MOVE        code loaded earlier at old_code_addr now also at
 *                        new_code_addr
 *   JIT_CODE_DEBUG_INFO, JIT_CODE_UNWINDING_INFO and unknown ids: skipped
 *   JIT_CODE_CLOSE       the end; nothing after it is read
 *
 * The result is a perf map (perf_map.h): the same names, rules and
 * lookups as /tmp/perf-PID.map gives, the later record winning where code
 * overlaps. Timestamps are not used: a profile names an address after the
 * latest code seen there.
 *
 * The file is written by the profiled process, so it is hostile input: the
 * header must be exactly right (a dump of the other byte order is refused,
 * not swapped), every record's size must hold its fields, a record that
 * does not hold together is skipped and counted (perf_map__rejected()),
 * and one whose size cannot be right ends the reading, since the next
 * record cannot be found. The last record may be cut short because it is
 * being written: it is left out and not counted. Memory is bounded by
 * PERF_MAP_MAX_ENTRIES and the names, not by the file: the code bytes are
 * never kept.
 *
 * Library-like: does not log.
 */
#ifndef CPROF_JITDUMP_H
#define CPROF_JITDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf_map.h"
#include "procs/proc_maps.h"

/* A dump past this is refused: reading it would hold up the daemon too long. */
#define JITDUMP_MAX_BYTES (256u << 20)
/* The header may grow in later versions; not past this. */
#define JITDUMP_MAX_HEADER_BYTES 4096

/* What reading a dump found, for tests and status. */
struct jitdump_info {
	uint64_t records; /* complete records read, of every kind */
	uint64_t loads; /* JIT_CODE_LOAD records kept */
	uint64_t moves; /* JIT_CODE_MOVE records kept */
	bool truncated; /* the last record was cut short (being written) */
	bool closed; /* a JIT_CODE_CLOSE record ended the dump */
};

/*
 * Parses a dump held in memory (size bytes). On success *ret_map is a new
 * map (free with perf_map__free), *ret_info (may be NULL) says what was
 * read, and 0 is returned, even when no record was kept. Returns -ENODATA
 * when the header is not all there yet, -EBADMSG when it is not a jitdump
 * header, -EPROTONOSUPPORT for the other byte order, another version or
 * unknown flags, -E2BIG past JITDUMP_MAX_BYTES or the perf map's caps,
 * -ENOMEM. Nothing is written on failure.
 */
int jitdump__parse(const void *data, size_t size, struct perf_map **ret_map,
		   struct jitdump_info *ret_info);

/*
 * Reads the dump open at fd, as far as its size when called (the JIT may
 * be appending), a window at a time. The file must be a regular file owned
 * by root or by owner_uid, as perf requires of perf maps, else -EPERM;
 * -EFBIG past JITDUMP_MAX_BYTES; a read error's negative errno; otherwise
 * as __parse(). fd stays open.
 */
int jitdump__read_fd(int fd, uid_t owner_uid, struct perf_map **ret_map,
		     struct jitdump_info *ret_info);

/*
 * Whether path's last component is a dump's name, "jit-N.dump"; gives N in
 * *ret_pid (may be NULL). N is the pid the JIT saw, which in a PID
 * namespace is not ours.
 */
bool jitdump__is_dump_name(const char *path, uint32_t *ret_pid);

/*
 * Reads the dump that process pid maps at m: through /proc/PID/map_files
 * (the mapped file itself, even if renamed or in another mount namespace),
 * else /proc/PID/root/PATH, else PATH for a process gone; a file of
 * another inode than the mapping's is not it (-ESTALE). Then as
 * __read_fd(); -ENOENT when no way reaches the file.
 */
int jitdump__read_mapped(pid_t pid, const struct proc_map *m, uid_t owner_uid,
			 struct perf_map **ret_map);

/*
 * A fuzz target's body: parses data in memory and again from a file read
 * through the smallest window, checks that both agree, that the counts add
 * up and that a name found for an address starts at or below it, and
 * aborts if not. Returns 0.
 */
int jitdump__fuzz_one(const uint8_t *data, size_t size);

#endif /* CPROF_JITDUMP_H */
