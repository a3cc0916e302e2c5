/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small streaming JSON writer into a growing buffer, shared by cprofd
 * (its replies) and cprofctl (--json output). Commas are placed by
 * the writer; strings are escaped. An allocation failure makes the writer
 * sticky-failed: json_writer__finish() then returns -ENOMEM.
 */
#ifndef CPROF_JSON_WRITER_H
#define CPROF_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>

#define JSON_WRITER_MAX_DEPTH 16

struct json_writer {
	char *buf;
	size_t len, capacity;
	int depth;
	int failed;
	/* Per depth: whether the next value needs a comma before it. */
	unsigned char need_comma[JSON_WRITER_MAX_DEPTH];
};

void json_writer__init(struct json_writer *w);
void json_writer__object_begin(struct json_writer *w);
void json_writer__object_end(struct json_writer *w);
void json_writer__array_begin(struct json_writer *w);
void json_writer__array_end(struct json_writer *w);
/* A key inside an object; the next call writes its value. */
void json_writer__key(struct json_writer *w, const char *key);
void json_writer__string(struct json_writer *w, const char *s);
void json_writer__uint(struct json_writer *w, uint64_t v);
void json_writer__int(struct json_writer *w, int64_t v);
void json_writer__bool(struct json_writer *w, int v);
void json_writer__null(struct json_writer *w);
/* A member of an object, key and value in one call. */
void json_writer__member_uint(struct json_writer *w, const char *key, uint64_t v);
void json_writer__member_int(struct json_writer *w, const char *key, int64_t v);
void json_writer__member_string(struct json_writer *w, const char *key, const char *s);

/*
 * Ends the document with a newline and hands over the NUL-terminated text
 * (malloc'd, the caller frees). Returns 0 or -ENOMEM (then nothing is handed
 * over and the buffer is freed).
 */
int json_writer__finish(struct json_writer *w, char **ret_text, size_t *ret_len);
/* Frees the buffer of a writer not finished. */
void json_writer__release(struct json_writer *w);

#endif /* CPROF_JSON_WRITER_H */
