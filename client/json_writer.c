/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_writer.h"

struct json_writer {
	FILE *out;
	/* Open arrays and objects. */
	unsigned int depth;
	/* has_member[d]: the container at depth d has an element, so the next needs a comma. */
	bool has_member[JSON_WRITER_MAX_DEPTH + 1];
	/* A key was written, so the next value follows its colon without a comma. */
	bool after_key;
};

struct json_writer *json_writer__new(FILE *out)
{
	struct json_writer *writer = calloc(1, sizeof(*writer));

	if (writer)
		writer->out = out;
	return writer;
}

void json_writer__free(struct json_writer *writer)
{
	free(writer);
}

/* Put the separator that the next element of the current container needs. */
static void begin_element(struct json_writer *writer)
{
	if (writer->after_key) {
		writer->after_key = false;
		return;
	}
	if (writer->has_member[writer->depth])
		fputc(',', writer->out);
	writer->has_member[writer->depth] = true;
}

/* A complete top-level value ends the line, so several documents stay one per line. */
static void end_value(struct json_writer *writer)
{
	if (writer->depth == 0) {
		fputc('\n', writer->out);
		writer->has_member[0] = false;
	}
}

static void open_container(struct json_writer *writer, char open)
{
	assert(writer->depth < JSON_WRITER_MAX_DEPTH);
	begin_element(writer);
	fputc(open, writer->out);
	writer->depth++;
	writer->has_member[writer->depth] = false;
}

static void close_container(struct json_writer *writer, char close)
{
	assert(writer->depth > 0 && !writer->after_key);
	writer->depth--;
	fputc(close, writer->out);
	end_value(writer);
}

void json_writer__object_start(struct json_writer *writer)
{
	open_container(writer, '{');
}

void json_writer__object_end(struct json_writer *writer)
{
	close_container(writer, '}');
}

void json_writer__array_start(struct json_writer *writer)
{
	open_container(writer, '[');
}

void json_writer__array_end(struct json_writer *writer)
{
	close_container(writer, ']');
}

static void put_string(FILE *out, const char *text)
{
	const unsigned char *c;

	fputc('"', out);
	for (c = (const unsigned char *)text; *c; c++) {
		switch (*c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*c < 0x20 || *c == 0x7f)
				fprintf(out, "\\u%04x", *c);
			else
				fputc(*c, out);
		}
	}
	fputc('"', out);
}

void json_writer__key(struct json_writer *writer, const char *key)
{
	assert(writer->depth > 0 && !writer->after_key);
	begin_element(writer);
	put_string(writer->out, key);
	fputc(':', writer->out);
	writer->after_key = true;
}

void json_writer__string(struct json_writer *writer, const char *text)
{
	begin_element(writer);
	put_string(writer->out, text);
	end_value(writer);
}

void json_writer__u64(struct json_writer *writer, uint64_t number)
{
	begin_element(writer);
	fprintf(writer->out, "%" PRIu64, number);
	end_value(writer);
}

void json_writer__null(struct json_writer *writer)
{
	begin_element(writer);
	fputs("null", writer->out);
	end_value(writer);
}
