/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a process runs, for the labels of continuous (whole-machine) mode:
 * its cgroup path, the container and the systemd units that path names,
 * and the paths of cgroup ids (what the BPF side gets from
 * bpf_get_current_cgroup_id()) for samples of processes already gone.
 *
 * Cgroup names are chosen by whoever may create cgroups, which includes
 * unprivileged users and containers with a delegated subtree: every name
 * is hostile input. The parsers accept only the shapes documented here,
 * and a label is only ever derived from the path the kernel printed, so a
 * process can at worst mislabel itself within its own subtree.
 *
 * All functions returning int return 0 or a negative errno; caller buffers
 * are written (NUL-terminated) only on success.
 */
#ifndef CPROF_CGROUP_H
#define CPROF_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A container id as cgroup names carry it: 64 lowercase hex digits. */
#define CGROUP_CONTAINER_ID_LEN 64
/* systemd's bound on a unit name, NUL included (UNIT_NAME_MAX). */
#define CGROUP_UNIT_NAME_MAX 256
/* The most bytes of /proc/PID/cgroup read: no kernel writes that much. */
#define CGROUP_PROC_MAX_BYTES (128u << 10)

/*
 * The cgroup path of a process, from the text of /proc/PID/cgroup (lines
 * "ID:CONTROLLERS:PATH", as kernel/cgroup/cgroup.c proc_cgroup_show()
 * writes them): the cgroup v2 path (the "0::" line), or on a v1 or hybrid
 * machine the path of the name=systemd hierarchy. Which one, from the
 * text alone: the v2 path, unless there is no "0::" line (kernels before
 * 4.5) or its path is "/" while a name=systemd line has another. On a
 * hybrid machine the two are the same but for an exiting process, whose
 * v1 paths the kernel prints as "/"; on a v1 machine the v2 path is "/".
 *
 * A " (deleted)" the kernel appends to the v2 path of a removed cgroup is
 * dropped. Paths are relative to the reader's cgroup namespace, so they
 * may start with "/..".
 *
 * The kernel does not escape newlines in cgroup names, so a name can fake
 * lines. The kernel prints hierarchies newest first, that is in strictly
 * decreasing id order, ending with the v2 one (id 0); text out of that
 * order, or with two name=systemd lines, is refused rather than guessed
 * around (-EINVAL). A faked line can then only come from a v1 name and
 * fill a gap in the ids, and it cannot be the v2 line or a second
 * name=systemd; the one case left open is a v1 machine without systemd
 * whose ids have gaps (hierarchies unmounted) and whose users may create
 * v1 cgroups.
 *
 * Returns 0 with the path in path[size], -ENOENT when no line gives one
 * (a v1 machine without systemd, empty text), -EINVAL for text the kernel
 * would not write (a NUL, a line not of the form above, a path not
 * starting with '/'), -ENAMETOOLONG when the path and its NUL do not fit.
 */
int cgroup__parse_proc(const char *text, size_t len, char *path, size_t size);

/*
 * Reads /proc/PID/cgroup (at most CGROUP_PROC_MAX_BYTES; more is -EINVAL)
 * and parses it as cgroup__parse_proc() does. Returns its errors, -ESRCH
 * when the process is gone, -ENOMEM, or the negative errno of open/read.
 */
int cgroup__read_pid(pid_t pid, char *path, size_t size);

/*
 * The id of the container a cgroup path is in, as the runtimes name their
 * cgroups; the innermost (last) component that matches wins, so a
 * container in a container (kind, docker-in-docker) gets its own id:
 *   Docker      /docker/ID                               (cgroupfs driver)
 *               .../docker-ID.scope                      (systemd driver)
 *   containerd  .../cri-containerd-ID.scope              (systemd driver)
 *   Kubernetes  /kubepods[/QOS]/podUID/ID                (cgroupfs driver,
 *               any runtime: a bare ID under a pod<...> component with
 *               an ancestor named kubepods)
 *   Podman      .../libpod-ID.scope, /libpod_parent/libpod-ID
 *               (rootful or rootless; never libpod-conmon-ID.scope, the
 *               monitor, which is not in the container)
 *   CRI-O       .../crio-ID.scope, .../crio-ID           (never crio-conmon-)
 * A prefixed form may end in ".scope" or nothing; a bare ID only where
 * named above. ID is always exactly 64 lowercase hex digits: every one of
 * these runtimes names cgroups by the full id (12-digit ids are only what
 * their command lines show), so nothing shorter is accepted. A path under
 * --cgroup-parent or another custom layout is not recognized.
 *
 * Returns 0 with the id in id[size], -ENOENT when the path names no
 * container, -ENAMETOOLONG when size < CGROUP_CONTAINER_ID_LEN + 1.
 */
int cgroup__container_id(const char *path, char *id, size_t size);

/*
 * The systemd unit that owns a cgroup path, decided as systemd's
 * cg_path_get_unit() does: leading components that are valid slice names
 * are skipped, and the next component, unescaped (a leading '_' dropped),
 * must be a valid unit name (not a template, not a slice) with one of the
 * suffixes .service .scope .socket .mount .swap .timer .path .target
 * .device .automount; otherwise the path belongs to no unit.
 *   "/system.slice/cprofd.service"                 -> "cprofd.service"
 *   "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope"
 *                                                  -> "user@1000.service"
 *   "/init.scope" -> "init.scope"; "/", "/docker/ID", "/a.slice" -> -ENOENT
 * Returns 0 with the unit in unit[size], -ENOENT, or -ENAMETOOLONG.
 */
int cgroup__systemd_unit(const char *path, char *unit, size_t size);

/*
 * The user unit that owns a cgroup path inside a user manager, as
 * systemd's cg_path_get_user_unit(): after the leading slices, a
 * user@UID.service component, and after it the unit as for
 * cgroup__systemd_unit() ("x.scope" in the example above). systemd's
 * fallback to units under session-N.scope is left out: sessions hold
 * no units. Returns 0, -ENOENT when there is none, or -ENAMETOOLONG.
 */
int cgroup__systemd_user_unit(const char *path, char *unit, size_t size);

/*
 * Cgroup ids to paths. On cgroup v2 the id of a cgroup is the inode number
 * of its directory, so a walk of the cgroup2 tree (opening directories
 * relative to the root's fd, following no symlinks, staying on the root's
 * file system) gives every id's path, relative to the mount ("/" for the
 * root cgroup). Each walk builds a new table that replaces the old one:
 * cgroups come and go, and a walk's result is the truth.
 *
 * Bounds: at most max_entries directories per walk (the walk stops there
 * and the rest of the tree is unknown until cgroups go away), depth at
 * most CGROUP_NAMES_MAX_DEPTH below the root, and at most one walk per
 * rescan interval however many unknown ids come. A walk reads up to
 * max_entries directories, so a caller that must not block on that calls
 * lookup from a worker.
 *
 * Not thread-safe: one caller at a time.
 */
struct cgroup_names;

#define CGROUP_NAMES_DEFAULT_ROOT "/sys/fs/cgroup"
/* Where a hybrid machine (v1 controllers, systemd) mounts cgroup v2. */
#define CGROUP_NAMES_HYBRID_ROOT "/sys/fs/cgroup/unified"
#define CGROUP_NAMES_DEFAULT_ENTRIES 16384
/* The largest max_entries accepted: keeps the name offsets in 32 bits. */
#define CGROUP_NAMES_MAX_ENTRIES (1u << 20)
#define CGROUP_NAMES_MAX_DEPTH 32
#define CGROUP_NAMES_DEFAULT_RESCAN_NS 1000000000ull

/*
 * Opens root, the cgroup2 mount, and keeps its fd; no walk yet. With root
 * NULL, the cgroup2 file system at CGROUP_NAMES_DEFAULT_ROOT, or else at
 * CGROUP_NAMES_HYBRID_ROOT; a root given is taken as it is (tests use a
 * plain directory). max_entries 0 means CGROUP_NAMES_DEFAULT_ENTRIES.
 * Returns NULL with errno: ENODEV (root NULL and no cgroup2 mounted at
 * either place), EINVAL (max_entries over CGROUP_NAMES_MAX_ENTRIES),
 * ENOMEM, or open()'s errno (ENOENT, ENOTDIR, ...).
 */
struct cgroup_names *cgroup_names__new(const char *root, size_t max_entries);
/* Frees c and closes its root fd; NULL is a no-op. */
void cgroup_names__free(struct cgroup_names *c);

/*
 * The path of cgroup id. On a miss, walks the tree (again) if no walk
 * began less than the rescan interval ago, and looks again; the first
 * lookup always walks. A hit never walks, so a cgroup removed since the
 * latest walk is still found: the late samples of its processes want it.
 * Returns 0 with the path in path[size], -ENOENT (not known after the
 * latest walk), -ENAMETOOLONG, or the negative errno of a walk that failed
 * as a whole (-ENOMEM, or the root could not be read: -EMFILE, ...; the
 * old table is kept). A directory that cannot be opened (gone mid-walk, a
 * symlink, not permitted) is skipped with what is below it.
 */
int cgroup_names__lookup(struct cgroup_names *c, uint64_t id, char *path, size_t size);
/* The least time between two walks (default CGROUP_NAMES_DEFAULT_RESCAN_NS; 0: no limit). */
void cgroup_names__set_rescan_interval(struct cgroup_names *c, uint64_t min_rescan_ns);

/* Walks begun (failed ones too), for status. */
uint64_t cgroup_names__walks(const struct cgroup_names *c);
/* Ids the current table holds, for status. */
size_t cgroup_names__entries(const struct cgroup_names *c);

#endif /* CPROF_CGROUP_H */
