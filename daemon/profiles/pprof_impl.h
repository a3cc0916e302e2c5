/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Private to the pprof encoder: only pprof.c (the builder) and pprof_wire.c
 * (the protobuf writer and the gzip stream) include this header; everyone
 * else uses pprof.h.
 *
 * The field numbers are in include/cprof_pprof_proto.h, shared with the reader.
 */
#ifndef CPROF_PPROF_IMPL_H
#define CPROF_PPROF_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "cprof_pprof_proto.h"

/* A growable byte buffer. */
struct pb_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	/*
	 * First error of a protobuf write; later writes do nothing, so a
	 * message is written without checking each field and checked once.
	 */
	int err;
};

/*
 * A gzip stream being written: protobuf bytes gather in scratch and are
 * compressed into out a chunk at a time.
 */
struct pb_encoder {
	z_stream zs;
	struct pb_buf scratch; /* protobuf bytes not yet compressed */
	struct pb_buf out; /* the gzip stream */
};

/*
 * Memory helpers
 */

/* Makes room for extra more bytes, growing geometrically. Returns 0 or -ENOMEM. */
int pb_buf__reserve(struct pb_buf *buf, size_t extra);
/* Frees the bytes and leaves buf empty; NULL data is fine. */
void pb_buf__release(struct pb_buf *buf);

/*
 * Protobuf writer. Writes go to a struct pb_buf and record the first error in
 * buf->err instead of returning it.
 */

/* Appends v as a varint, with no tag: an element of packed values. */
void pb_buf__varint(struct pb_buf *buf, uint64_t v);

/* A uint64, int64 or bool field; proto3 leaves zero (the default) out. */
void pb_buf__uint64(struct pb_buf *buf, uint32_t field, uint64_t v);

/*
 * An int64 field, as pb_buf__uint64(). int64 is a varint of the two's
 * complement: a negative value takes 10 bytes.
 */
void pb_buf__int64(struct pb_buf *buf, uint32_t field, int64_t v);

/* A string or bytes field, written even when empty (string_table[0] is ""). */
void pb_buf__bytes(struct pb_buf *buf, uint32_t field, const void *data, size_t len);

/*
 * Starts a length-delimited field (sub-message or packed values); returns
 * where its content starts, for pb_buf__end().
 */
size_t pb_buf__begin(struct pb_buf *buf, uint32_t field);

/*
 * Ends the field pb_buf__begin() started at start: the content's length is
 * only known now, so it is inserted before the content. Messages written
 * this way are small (one sample, one location), which keeps the move cheap.
 */
void pb_buf__end(struct pb_buf *buf, size_t start);

/* A ValueType sub-message as field: type and unit are string table indices. */
void pb_buf__value_type(struct pb_buf *buf, uint32_t field, uint32_t type, uint32_t unit);

/*
 * Gzip stream
 */

/*
 * Compresses data[0..len) into enc->out; flush Z_FINISH ends the stream.
 * Returns 0 or a negative errno.
 */
int pb_encoder__deflate(struct pb_encoder *enc, const uint8_t *data, size_t len, int flush);

/*
 * Compresses what is in the scratch buffer, once there is enough of it or at
 * the end (force). Returns 0, the scratch buffer's first write error, or
 * another negative errno.
 */
int pb_encoder__flush(struct pb_encoder *enc, bool force);

#endif /* CPROF_PPROF_IMPL_H */
