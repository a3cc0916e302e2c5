/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's listening socket: the one systemd passes (cprofd.socket), or
 * one cprofd binds itself, with its group. Returns 0, an fd, or a negative
 * errno; nothing here logs.
 */
#ifndef CPROF_LISTEN_SOCKET_H
#define CPROF_LISTEN_SOCKET_H

/*
 * The fd systemd passed, if any: it must be one listening Unix stream
 * socket. Returns the fd, -ENOENT when none was passed, or another
 * negative errno (-EBADF: not one such socket).
 */
int listen_socket__from_systemd(void);

/*
 * Binds and listens on the Unix socket at path, mode 0660, making the
 * directories above it. A stale socket file is replaced, but never one a
 * live daemon still answers on (-EADDRINUSE). Returns the fd.
 */
int listen_socket__bind(const char *path);

/* Gives the socket file to group (when not ""). Returns 0, -ENOENT (no such group) or -errno. */
int listen_socket__set_group(const char *path, const char *group);

#endif /* CPROF_LISTEN_SOCKET_H */
