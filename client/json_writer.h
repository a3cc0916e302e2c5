/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A streaming JSON writer for cprofctl's --json output: the caller emits
 * keys and values in order and the writer adds the commas, colons and
 * escapes. A document is written on one line and ends with a newline.
 *
 * Write errors are left in the FILE's error indicator, for the caller to
 * check once with ferror() or fflush() at the end.
 */
#ifndef CPROF_CLIENT_JSON_WRITER_H
#define CPROF_CLIENT_JSON_WRITER_H

#include <stdint.h>
#include <stdio.h>

/* Deeper nesting is a programmer error. */
#define JSON_WRITER_MAX_DEPTH 32

struct json_writer;

/* A writer to out, which stays the caller's; NULL and errno on failure. */
struct json_writer *json_writer__new(FILE *out);

/* Free the writer; NULL is a no-op. Does not close or flush out. */
void json_writer__free(struct json_writer *writer);

void json_writer__object_start(struct json_writer *writer);
void json_writer__object_end(struct json_writer *writer);
void json_writer__array_start(struct json_writer *writer);
void json_writer__array_end(struct json_writer *writer);

/* The name of the next member of the current object. */
void json_writer__key(struct json_writer *writer, const char *key);

/* A string value; bytes are copied as they are except for the JSON escapes. */
void json_writer__string(struct json_writer *writer, const char *text);
void json_writer__u64(struct json_writer *writer, uint64_t number);
void json_writer__null(struct json_writer *writer);

#endif /* CPROF_CLIENT_JSON_WRITER_H */
