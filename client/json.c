/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A recursive-descent JSON reader. Recursion is bounded by JSON_MAX_DEPTH,
 * memory by JSON_MAX_INPUT_BYTES and JSON_MAX_VALUES, so a hostile reply can
 * neither overflow the stack nor make the client allocate without limit.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct json_value {
	enum json_type type;
	/* JSON_STRING: the decoded text; JSON_NUMBER: the literal as written. */
	char *text;
	/* JSON_ARRAY, JSON_OBJECT: the elements in document order. */
	struct json_value **items;
	/* JSON_OBJECT: keys[i] names items[i]. */
	char **keys;
	size_t count;
	size_t capacity;
};

struct parser {
	const char *cursor;
	const char *end;
	/* Open arrays and objects around the cursor. */
	unsigned int depth;
	/* Values created so far, against JSON_MAX_VALUES. */
	size_t values;
};

static int parse_value(struct parser *parser, struct json_value **ret_value);

static bool at(const struct parser *parser, char c)
{
	return parser->cursor < parser->end && *parser->cursor == c;
}

static bool at_digit(const struct parser *parser)
{
	return parser->cursor < parser->end && *parser->cursor >= '0' && *parser->cursor <= '9';
}

static void skip_whitespace(struct parser *parser)
{
	while (at(parser, ' ') || at(parser, '\t') || at(parser, '\n') || at(parser, '\r'))
		parser->cursor++;
}

static struct json_value *new_value(struct parser *parser, enum json_type type)
{
	struct json_value *value;

	if (++parser->values > JSON_MAX_VALUES) {
		errno = E2BIG;
		return NULL;
	}
	value = calloc(1, sizeof(*value));
	if (value)
		value->type = type;
	return value;
}

void json__free(struct json_value *value)
{
	size_t i;

	if (!value)
		return;
	for (i = 0; i < value->count; i++) {
		json__free(value->items[i]);
		if (value->keys)
			free(value->keys[i]);
	}
	free(value->items);
	free(value->keys);
	free(value->text);
	free(value);
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
	unsigned char low = 0x80, high = 0xbf;
	size_t length, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	if (s[0] < 0xe0) {
		length = 2;
	} else if (s[0] < 0xf0) {
		length = 3;
		/* Rule out overlong forms and UTF-16 surrogates. */
		low = s[0] == 0xe0 ? 0xa0 : 0x80;
		high = s[0] == 0xed ? 0x9f : 0xbf;
	} else {
		length = 4;
		/* Rule out overlong forms and code points above U+10FFFF. */
		low = s[0] == 0xf0 ? 0x90 : 0x80;
		high = s[0] == 0xf4 ? 0x8f : 0xbf;
	}
	if (avail < length || s[1] < low || s[1] > high)
		return 0;
	for (i = 2; i < length; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return length;
}

static size_t utf8_encode(uint32_t code_point, char *out)
{
	if (code_point < 0x80) {
		out[0] = code_point;
		return 1;
	}
	if (code_point < 0x800) {
		out[0] = 0xc0 | code_point >> 6;
		out[1] = 0x80 | (code_point & 0x3f);
		return 2;
	}
	if (code_point < 0x10000) {
		out[0] = 0xe0 | code_point >> 12;
		out[1] = 0x80 | (code_point >> 6 & 0x3f);
		out[2] = 0x80 | (code_point & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | code_point >> 18;
	out[1] = 0x80 | (code_point >> 12 & 0x3f);
	out[2] = 0x80 | (code_point >> 6 & 0x3f);
	out[3] = 0x80 | (code_point & 0x3f);
	return 4;
}

/* Read the four hex digits of a \u escape at the cursor. */
static int parse_hex4(struct parser *parser, uint32_t *ret_unit)
{
	uint32_t unit = 0;
	int i;

	if (parser->end - parser->cursor < 4)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		char c = *parser->cursor++;

		if (c >= '0' && c <= '9')
			unit = unit << 4 | (c - '0');
		else if (c >= 'a' && c <= 'f')
			unit = unit << 4 | (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			unit = unit << 4 | (c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret_unit = unit;
	return 0;
}

/* After a backslash: decode one escape into out; returns its length or a negative errno. */
static int parse_escape(struct parser *parser, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	uint32_t unit, low;
	const char *simple;

	if (parser->cursor >= parser->end)
		return -EINVAL;
	if (*parser->cursor != 'u') {
		simple = memchr(from, *parser->cursor, sizeof(from) - 1);
		if (!simple)
			return -EINVAL;
		parser->cursor++;
		out[0] = to[simple - from];
		return 1;
	}
	parser->cursor++;
	if (parse_hex4(parser, &unit) < 0 || unit == 0 || (unit >= 0xdc00 && unit <= 0xdfff))
		return -EINVAL;
	if (unit >= 0xd800 && unit <= 0xdbff) {
		/* A high surrogate is only valid followed by an escaped low one. */
		if (parser->end - parser->cursor < 2 || parser->cursor[0] != '\\' ||
		    parser->cursor[1] != 'u')
			return -EINVAL;
		parser->cursor += 2;
		if (parse_hex4(parser, &low) < 0 || low < 0xdc00 || low > 0xdfff)
			return -EINVAL;
		unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
	}
	return utf8_encode(unit, out);
}

/* At an opening quote: decode the string into a new NUL-terminated buffer. */
static int parse_string(struct parser *parser, char **ret_text)
{
	const char *scan = parser->cursor + 1;
	size_t length = 0, sequence;
	char *text;
	int ret;

	/* Escapes never decode to more bytes than they take, so this bounds the text. */
	while (scan < parser->end && *scan != '"') {
		if (*scan == '\\' && parser->end - scan < 2)
			return -EINVAL;
		scan += *scan == '\\' ? 2 : 1;
	}
	if (scan >= parser->end)
		return -EINVAL;
	text = malloc(scan - parser->cursor);
	if (!text)
		return -ENOMEM;

	parser->cursor++;
	while (*parser->cursor != '"') {
		unsigned char c = *parser->cursor;

		if (c == '\\') {
			parser->cursor++;
			ret = parse_escape(parser, text + length);
			if (ret < 0)
				goto err;
			length += ret;
			continue;
		}
		sequence = utf8_sequence_length((const unsigned char *)parser->cursor,
						parser->end - parser->cursor);
		if (c < 0x20 || !sequence) {
			ret = -EINVAL;
			goto err;
		}
		memcpy(text + length, parser->cursor, sequence);
		length += sequence;
		parser->cursor += sequence;
	}
	parser->cursor++;
	text[length] = '\0';
	*ret_text = text;
	return 0;
err:
	free(text);
	return ret;
}

static int parse_number(struct parser *parser, struct json_value **ret_value)
{
	const char *start = parser->cursor;
	struct json_value *value;

	if (at(parser, '-'))
		parser->cursor++;
	if (at(parser, '0'))
		parser->cursor++;
	else if (at_digit(parser))
		while (at_digit(parser))
			parser->cursor++;
	else
		return -EINVAL;
	if (at(parser, '.')) {
		parser->cursor++;
		if (!at_digit(parser))
			return -EINVAL;
		while (at_digit(parser))
			parser->cursor++;
	}
	if (at(parser, 'e') || at(parser, 'E')) {
		parser->cursor++;
		if (at(parser, '+') || at(parser, '-'))
			parser->cursor++;
		if (!at_digit(parser))
			return -EINVAL;
		while (at_digit(parser))
			parser->cursor++;
	}
	value = new_value(parser, JSON_NUMBER);
	if (!value)
		return -errno;
	value->text = strndup(start, parser->cursor - start);
	if (!value->text) {
		free(value);
		return -ENOMEM;
	}
	*ret_value = value;
	return 0;
}

static int append(struct json_value *container, struct json_value *item, char *key)
{
	size_t capacity = container->capacity ? container->capacity * 2 : 4;
	struct json_value **items;
	char **keys;

	if (container->count == container->capacity) {
		items = reallocarray(container->items, capacity, sizeof(*items));
		if (!items)
			return -ENOMEM;
		container->items = items;
		if (container->type == JSON_OBJECT) {
			keys = reallocarray(container->keys, capacity, sizeof(*keys));
			if (!keys)
				return -ENOMEM;
			container->keys = keys;
		}
		container->capacity = capacity;
	}
	container->items[container->count] = item;
	if (key)
		container->keys[container->count] = key;
	container->count++;
	return 0;
}

/* At '[' or '{': parse the elements up to the matching close. */
static int parse_container(struct parser *parser, enum json_type type,
			   struct json_value **ret_value)
{
	char close = type == JSON_OBJECT ? '}' : ']';
	struct json_value *container, *item;
	char *key = NULL;
	int ret;

	if (++parser->depth > JSON_MAX_DEPTH)
		return -E2BIG;
	container = new_value(parser, type);
	if (!container)
		return -errno;
	parser->cursor++;
	skip_whitespace(parser);
	if (at(parser, close))
		goto done;
	for (;;) {
		if (type == JSON_OBJECT) {
			if (!at(parser, '"')) {
				ret = -EINVAL;
				goto err;
			}
			ret = parse_string(parser, &key);
			if (ret < 0)
				goto err;
			skip_whitespace(parser);
			if (!at(parser, ':')) {
				ret = -EINVAL;
				goto err_key;
			}
			parser->cursor++;
		}
		ret = parse_value(parser, &item);
		if (ret < 0)
			goto err_key;
		ret = append(container, item, key);
		if (ret < 0) {
			json__free(item);
			goto err_key;
		}
		key = NULL;
		skip_whitespace(parser);
		if (at(parser, close))
			break;
		if (!at(parser, ',')) {
			ret = -EINVAL;
			goto err;
		}
		parser->cursor++;
		skip_whitespace(parser);
	}
done:
	parser->cursor++;
	parser->depth--;
	*ret_value = container;
	return 0;
err_key:
	free(key);
err:
	json__free(container);
	return ret;
}

static int parse_literal(struct parser *parser, const char *word, enum json_type type,
			 struct json_value **ret_value)
{
	size_t length = strlen(word);
	struct json_value *value;

	if ((size_t)(parser->end - parser->cursor) < length ||
	    memcmp(parser->cursor, word, length) != 0)
		return -EINVAL;
	value = new_value(parser, type);
	if (!value)
		return -errno;
	parser->cursor += length;
	*ret_value = value;
	return 0;
}

static int parse_value(struct parser *parser, struct json_value **ret_value)
{
	struct json_value *value;
	int ret;

	skip_whitespace(parser);
	if (parser->cursor >= parser->end)
		return -EINVAL;
	switch (*parser->cursor) {
	case '{':
		return parse_container(parser, JSON_OBJECT, ret_value);
	case '[':
		return parse_container(parser, JSON_ARRAY, ret_value);
	case 't':
		return parse_literal(parser, "true", JSON_TRUE, ret_value);
	case 'f':
		return parse_literal(parser, "false", JSON_FALSE, ret_value);
	case 'n':
		return parse_literal(parser, "null", JSON_NULL, ret_value);
	case '"':
		value = new_value(parser, JSON_STRING);
		if (!value)
			return -errno;
		ret = parse_string(parser, &value->text);
		if (ret < 0) {
			free(value);
			return ret;
		}
		*ret_value = value;
		return 0;
	default:
		return parse_number(parser, ret_value);
	}
}

int json__parse(const char *text, size_t length, struct json_value **ret_value)
{
	struct parser parser = { .cursor = text, .end = text + length };
	struct json_value *value;
	int ret;

	if (length > JSON_MAX_INPUT_BYTES)
		return -E2BIG;
	ret = parse_value(&parser, &value);
	if (ret < 0)
		return ret;
	skip_whitespace(&parser);
	if (parser.cursor != parser.end) {
		json__free(value);
		return -EINVAL;
	}
	*ret_value = value;
	return 0;
}

enum json_type json__type(const struct json_value *value)
{
	return value->type;
}

const struct json_value *json__object_get(const struct json_value *value, const char *key)
{
	size_t i;

	if (!value || value->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < value->count; i++)
		if (strcmp(value->keys[i], key) == 0)
			return value->items[i];
	return NULL;
}

size_t json__array_length(const struct json_value *value)
{
	return value && value->type == JSON_ARRAY ? value->count : 0;
}

const struct json_value *json__array_at(const struct json_value *value, size_t index)
{
	return index < json__array_length(value) ? value->items[index] : NULL;
}

const char *json__string(const struct json_value *value)
{
	return value && value->type == JSON_STRING ? value->text : NULL;
}

int json__u64(const struct json_value *value, uint64_t *ret_number)
{
	uint64_t number = 0;
	const char *c;

	if (!value || value->type != JSON_NUMBER || !value->text[0])
		return -EINVAL;
	for (c = value->text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		if (number > (UINT64_MAX - (*c - '0')) / 10)
			return -ERANGE;
		number = number * 10 + (*c - '0');
	}
	*ret_number = number;
	return 0;
}
