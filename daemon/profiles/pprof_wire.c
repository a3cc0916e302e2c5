/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The wire side of the pprof encoder: a small write-only protobuf writer
 * and the gzip stream its bytes go to. It knows varints and wire types but
 * nothing of the builder's tables (pprof.c).
 */
#include "pprof_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define WIRE_VARINT 0
#define WIRE_LEN 2

#define VARINT_MAX_BYTES 10

/* Encoded bytes are handed to zlib in pieces of about this size. */
#define ENCODE_CHUNK (64u << 10)

/*
 * Memory helpers
 */

int pb_buf__reserve(struct pb_buf *buf, size_t extra)
{
	size_t need, cap;
	uint8_t *data;

	if (extra <= buf->cap - buf->len)
		return 0;
	if (extra > SIZE_MAX - buf->len)
		return -ENOMEM;
	need = buf->len + extra;
	cap = buf->cap ? buf->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	data = realloc(buf->data, cap);
	if (!data)
		return -ENOMEM;
	buf->data = data;
	buf->cap = cap;
	return 0;
}

void pb_buf__release(struct pb_buf *buf)
{
	free(buf->data);
	*buf = (struct pb_buf){ 0 };
}

/*
 * Protobuf writer. Writes go to a struct pb_buf and record the first error in
 * buf->err instead of returning it.
 */

void pb_buf__varint(struct pb_buf *buf, uint64_t v)
{
	if (buf->err)
		return;
	if (pb_buf__reserve(buf, VARINT_MAX_BYTES)) {
		buf->err = -ENOMEM;
		return;
	}
	while (v >= 0x80) {
		buf->data[buf->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf->data[buf->len++] = (uint8_t)v;
}

static void pb_tag(struct pb_buf *buf, uint32_t field, uint32_t wire_type)
{
	pb_buf__varint(buf, (uint64_t)field << 3 | wire_type);
}

void pb_buf__uint64(struct pb_buf *buf, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(buf, field, WIRE_VARINT);
	pb_buf__varint(buf, v);
}

void pb_buf__int64(struct pb_buf *buf, uint32_t field, int64_t v)
{
	pb_buf__uint64(buf, field, (uint64_t)v);
}

void pb_buf__bytes(struct pb_buf *buf, uint32_t field, const void *data, size_t len)
{
	pb_tag(buf, field, WIRE_LEN);
	pb_buf__varint(buf, len);
	if (buf->err)
		return;
	if (pb_buf__reserve(buf, len)) {
		buf->err = -ENOMEM;
		return;
	}
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
}

size_t pb_buf__begin(struct pb_buf *buf, uint32_t field)
{
	pb_tag(buf, field, WIRE_LEN);
	return buf->len;
}

void pb_buf__end(struct pb_buf *buf, size_t start)
{
	uint8_t len_bytes[VARINT_MAX_BYTES];
	size_t len, n = 0;
	uint64_t v;

	if (buf->err)
		return;
	len = buf->len - start;
	v = len;
	while (v >= 0x80) {
		len_bytes[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	len_bytes[n++] = (uint8_t)v;
	if (pb_buf__reserve(buf, n)) {
		buf->err = -ENOMEM;
		return;
	}
	memmove(buf->data + start + n, buf->data + start, len);
	memcpy(buf->data + start, len_bytes, n);
	buf->len += n;
}

void pb_buf__value_type(struct pb_buf *buf, uint32_t field, uint32_t type, uint32_t unit)
{
	size_t start = pb_buf__begin(buf, field);

	pb_buf__uint64(buf, VALUE_TYPE_TYPE, type);
	pb_buf__uint64(buf, VALUE_TYPE_UNIT, unit);
	pb_buf__end(buf, start);
}

/*
 * Gzip stream
 */

int pb_encoder__deflate(struct pb_encoder *enc, const uint8_t *data, size_t len, int flush)
{
	z_stream *zs = &enc->zs;
	int ret;

	/* Without input or a finish there is nothing to do, and deflate() would say Z_BUF_ERROR. */
	if (!len && flush != Z_FINISH)
		return 0;
	do {
		/* avail_in is an unsigned int: hand over huge buffers in pieces */
		size_t piece = len < (1u << 30) ? len : (1u << 30);
		int mode = piece == len ? flush : Z_NO_FLUSH;

		zs->next_in = (Bytef *)data;
		zs->avail_in = (uInt)piece;
		data += piece;
		len -= piece;
		for (;;) {
			size_t room;

			if (pb_buf__reserve(&enc->out, 16384))
				return -ENOMEM;
			room = enc->out.cap - enc->out.len;
			zs->next_out = enc->out.data + enc->out.len;
			zs->avail_out = room < UINT_MAX ? (uInt)room : UINT_MAX;
			ret = deflate(zs, mode);
			enc->out.len = (size_t)(zs->next_out - enc->out.data);
			if (ret == Z_STREAM_ERROR)
				return -EIO;
			if (mode == Z_FINISH) {
				if (ret == Z_STREAM_END)
					break;
			} else if (zs->avail_in == 0 && zs->avail_out != 0) {
				break;
			}
		}
	} while (len);
	return 0;
}

int pb_encoder__flush(struct pb_encoder *enc, bool force)
{
	int err;

	if (enc->scratch.err)
		return enc->scratch.err;
	if (!force && enc->scratch.len < ENCODE_CHUNK)
		return 0;
	err = pb_encoder__deflate(enc, enc->scratch.data, enc->scratch.len, Z_NO_FLUSH);
	enc->scratch.len = 0;
	return err;
}
