/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small, strict JSON reader (RFC 8259) for cprofd's replies.
 *
 * The whole document is parsed into a tree that the caller walks with the
 * getters below and frees with json__free(). The input is untrusted, so the
 * parser bounds its size, nesting depth and number of values, rejects
 * invalid UTF-8, lone surrogates and "\u0000" (so every decoded string is a
 * plain C string), and accepts nothing after the top-level value but
 * whitespace.
 */
#ifndef CPROF_CLIENT_JSON_H
#define CPROF_CLIENT_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Limits on one document; beyond them json__parse() fails with -E2BIG. */
#define JSON_MAX_INPUT_BYTES (1024 * 1024)
#define JSON_MAX_DEPTH 32
#define JSON_MAX_VALUES 100000

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value;

/*
 * Parse the length bytes at text (no NUL needed). Returns 0 and the tree in
 * *ret_value, owned by the caller; -EINVAL if the text is not JSON, -E2BIG if
 * it exceeds a limit above, -ENOMEM.
 */
int json__parse(const char *text, size_t length, struct json_value **ret_value);

/* Free a tree from json__parse(); NULL is a no-op. */
void json__free(struct json_value *value);

enum json_type json__type(const struct json_value *value);

/*
 * The member named key of an object (the first, if the name repeats), or
 * NULL if value is not an object or has no such member. Points into value.
 */
const struct json_value *json__object_get(const struct json_value *value, const char *key);

/* The number of elements of an array; 0 if value is not an array. */
size_t json__array_length(const struct json_value *value);

/* Element index of an array, or NULL if value is not an array or is shorter. */
const struct json_value *json__array_at(const struct json_value *value, size_t index);

/* The decoded text of a string, NUL-terminated, or NULL if value is not a string. */
const char *json__string(const struct json_value *value);

/*
 * The value of a number written as a non-negative integer (no sign, fraction
 * or exponent). Returns 0, -EINVAL if value is NULL or not such a number,
 * -ERANGE if it does not fit.
 */
int json__u64(const struct json_value *value, uint64_t *ret_number);

#endif /* CPROF_CLIENT_JSON_H */
