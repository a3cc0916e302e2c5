// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "json_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_writer__init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->capacity) {
		size_t capacity = w->capacity ? w->capacity : 256;
		char *buf;

		while (capacity < w->len + n + 1)
			capacity *= 2;
		buf = realloc(w->buf, capacity);
		if (!buf) {
			w->failed = 1;
			return;
		}
		w->buf = buf;
		w->capacity = capacity;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts_(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Before any value: a comma if a sibling came before it. */
static void before_value(struct json_writer *w)
{
	if (w->need_comma[w->depth])
		put(w, ",", 1);
	w->need_comma[w->depth] = 1;
}

static void begin(struct json_writer *w, const char *open)
{
	before_value(w);
	puts_(w, open);
	if (w->depth + 1 >= JSON_WRITER_MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	w->need_comma[++w->depth] = 0;
}

static void end(struct json_writer *w, const char *close)
{
	if (w->depth > 0)
		w->depth--;
	puts_(w, close);
}

void json_writer__object_begin(struct json_writer *w)
{
	begin(w, "{");
}

void json_writer__object_end(struct json_writer *w)
{
	end(w, "}");
}

void json_writer__array_begin(struct json_writer *w)
{
	begin(w, "[");
}

void json_writer__array_end(struct json_writer *w)
{
	end(w, "]");
}

/*
 * Length of the well-formed UTF-8 sequence at p (1 to 4), or 0 if the bytes
 * there are not one: overlong forms, surrogates and values past U+10FFFF
 * included.
 */
static size_t utf8_length(const unsigned char *p)
{
	uint32_t c;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string: escapes as needed, and U+FFFD for bytes that are not UTF-8 (paths may hold any). */
static void put_string(struct json_writer *w, const char *s)
{
	put(w, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_length(p);
		char esc[8];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = *p;
			put(w, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			put(w, esc, 6);
		} else if (!n) {
			put(w, "\\ufffd", 6);
			n = 1;
		} else {
			put(w, (const char *)p, n);
		}
		p += n ? n : 1;
	}
	put(w, "\"", 1);
}

void json_writer__key(struct json_writer *w, const char *key)
{
	before_value(w);
	put_string(w, key);
	put(w, ":", 1);
	/* The value that follows takes no comma of its own. */
	w->need_comma[w->depth] = 0;
}

void json_writer__string(struct json_writer *w, const char *s)
{
	before_value(w);
	put_string(w, s ? s : "");
}

void json_writer__uint(struct json_writer *w, uint64_t v)
{
	char num[24];

	before_value(w);
	snprintf(num, sizeof(num), "%" PRIu64, v);
	puts_(w, num);
}

void json_writer__int(struct json_writer *w, int64_t v)
{
	char num[24];

	before_value(w);
	snprintf(num, sizeof(num), "%" PRId64, v);
	puts_(w, num);
}

void json_writer__bool(struct json_writer *w, int v)
{
	before_value(w);
	puts_(w, v ? "true" : "false");
}

int json_writer__finish(struct json_writer *w, char **ret_text, size_t *ret_len)
{
	put(w, "\n", 1);
	if (w->failed) {
		json_writer__release(w);
		return -ENOMEM;
	}
	*ret_text = w->buf;
	*ret_len = w->len;
	w->buf = NULL;
	return 0;
}

void json_writer__release(struct json_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->capacity = 0;
}

void json_writer__null(struct json_writer *w)
{
	before_value(w);
	puts_(w, "null");
}

void json_writer__member_uint(struct json_writer *w, const char *key, uint64_t v)
{
	json_writer__key(w, key);
	json_writer__uint(w, v);
}

void json_writer__member_int(struct json_writer *w, const char *key, int64_t v)
{
	json_writer__key(w, key);
	json_writer__int(w, v);
}

void json_writer__member_string(struct json_writer *w, const char *key, const char *s)
{
	json_writer__key(w, key);
	json_writer__string(w, s);
}
