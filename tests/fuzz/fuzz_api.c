// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzzes the request handlers (daemon/server/api.c) on a daemon without a
 * sampler. The input is read as the start of an HTTP request,
 *
 *   METHOD SP TARGET [SP anything]
 *
 * TARGET is a path and an optional ?query of name=value pairs split on '&',
 * %XX-decoded as libmicrohttpd does (a name without '=' has no value; the
 * first of repeated names wins). Every response must carry a known status
 * and, unless the request was deferred, a body of one line of valid JSON.
 */
#include <stdbool.h>

#include "cprof_protocol.h"
#include "cprofd.h"
#include "fuzz.h"
#include "server/api.h"

#define MAX_PARAMS 16
#define MAX_JSON_DEPTH 32

struct params {
	char *names[MAX_PARAMS];
	char *values[MAX_PARAMS]; /* NULL: the name had no '=' */
	size_t n;
};

static struct cprofd *daemon_core;

static const char *get_param(void *ctx, const char *name)
{
	const struct params *p = ctx;

	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->names[i], name) == 0)
			return p->values[i];
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A malloc'd, NUL-terminated, %XX-decoded copy of s[0..len); '+' is a space in a query. */
static char *decode(const char *s, size_t len, bool plus_is_space)
{
	char *out = malloc(len + 1), *o = out;

	FUZZ_CHECK(out);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hex_value(s[i + 1]) >= 0 &&
		    hex_value(s[i + 2]) >= 0) {
			*o++ = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void parse_query(const char *q, size_t len, struct params *p)
{
	size_t start = 0;

	while (start < len && p->n < MAX_PARAMS) {
		const char *amp = memchr(q + start, '&', len - start);
		size_t end = amp ? (size_t)(amp - q) : len;
		const char *eq = memchr(q + start, '=', end - start);

		if (end > start) {
			size_t name_end = eq ? (size_t)(eq - q) : end;

			p->names[p->n] = decode(q + start, name_end - start, true);
			p->values[p->n] = eq ? decode(eq + 1, end - name_end - 1, true) : NULL;
			p->n++;
		}
		start = end + 1;
	}
}

/* ---- a strict JSON checker: compact JSON, valid UTF-8, no control bytes ---- */

struct json_cursor {
	const unsigned char *p, *end;
};

static bool json_value(struct json_cursor *c, int depth);

static bool json_literal(struct json_cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool json_digits(struct json_cursor *c)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start;
}

static bool json_number(struct json_cursor *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (!json_digits(c))
		return false;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!json_digits(c))
			return false;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!json_digits(c))
			return false;
	}
	return true;
}

/* One UTF-8 sequence of two to four bytes, no overlongs, no surrogates. */
static bool json_utf8(struct json_cursor *c)
{
	unsigned char b = *c->p;
	size_t n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
	uint32_t cp = b & (0x7f >> n);

	if (b < 0xc2 || b > 0xf4 || (size_t)(c->end - c->p) < n)
		return false;
	for (size_t i = 1; i < n; i++) {
		if ((c->p[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (c->p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	c->p += n;
	return true;
}

static bool json_string(struct json_cursor *c)
{
	if (c->p >= c->end || *c->p != '"')
		return false;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		if (*c->p < 0x20)
			return false;
		if (*c->p >= 0x80) {
			if (!json_utf8(c))
				return false;
			continue;
		}
		if (*c->p == '\\') {
			c->p++;
			if (c->p >= c->end)
				return false;
			if (*c->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (c->p + i >= c->end || hex_value((char)c->p[i]) < 0)
						return false;
				c->p += 4;
			} else if (!*c->p || !strchr("\"\\/bfnrt", *c->p)) {
				return false;
			}
		}
		c->p++;
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	return true;
}

static bool json_container(struct json_cursor *c, int depth, unsigned char close, bool keys)
{
	c->p++;
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return true;
	}
	for (;;) {
		if (keys && (!json_string(c) || c->p >= c->end || *c->p++ != ':'))
			return false;
		if (!json_value(c, depth + 1) || c->p >= c->end)
			return false;
		if (*c->p == close) {
			c->p++;
			return true;
		}
		if (*c->p++ != ',')
			return false;
	}
}

static bool json_value(struct json_cursor *c, int depth)
{
	if (depth > MAX_JSON_DEPTH || c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{':
		return json_container(c, depth, '}', true);
	case '[':
		return json_container(c, depth, ']', false);
	case '"':
		return json_string(c);
	case 't':
		return json_literal(c, "true");
	case 'f':
		return json_literal(c, "false");
	case 'n':
		return json_literal(c, "null");
	default:
		return json_number(c);
	}
}

/* Whether body is exactly one JSON object, a newline, and nothing else. */
static bool is_json_object_line(const char *body, size_t size)
{
	struct json_cursor c = { (const unsigned char *)body, (const unsigned char *)body + size };

	if (!body || size < 3 || strlen(body) != size || body[size - 1] != '\n' || body[0] != '{')
		return false;
	c.end--; /* the newline */
	return json_value(&c, 0) && c.p == c.end;
}

/* ---- the target ---- */

static void check_json_response(const struct api_response *resp)
{
	static const unsigned int statuses[] = { 200, 201, 400, 403, 404, 405, 409, 500, 503 };
	bool known = false;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		known |= resp->status == statuses[i];
	FUZZ_CHECK(known);
	FUZZ_CHECK(resp->content_type && strcmp(resp->content_type, CPROF_CONTENT_TYPE_JSON) == 0);
	FUZZ_CHECK(!resp->has_summary);
	FUZZ_CHECK(is_json_object_line(resp->body, resp->body_size));
	if (resp->status >= 400)
		FUZZ_CHECK(strncmp(resp->body, "{\"error\":\"", 10) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cprofd_options opts = {
		.no_sampler = true,
		.stack_table_bytes = 1 << 20,
		.max_processes = 16,
		.default_hz = CPROF_DEFAULT_HZ,
		.ring_buffer_bytes = 4096,
	};

	daemon_core = cprofd__new(&opts);
	if (!daemon_core) {
		perror("fuzz_api: cprofd__new");
		exit(1);
	}
	return 0;
}

/* Requests come from root or from an unprivileged user, alternately by input size. */
static const struct access_peer root_peer = { .uid = 0, .gid = 0 };
static const struct access_peer user_peer = { .uid = 65534, .gid = 65534 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size, *p;
	struct params params = {};
	/* The server's connection counts, as status shows them (on every other input). */
	static const struct connection_report connections = {
		.limits = { .admission = { 64, 8, 8 }, .header_timeout_ms = 2000,
			    .idle_timeout_s = 10 },
		.stats = { .open = 1, .admitted = 1 },
	};
	struct api_request req = { .get_param = get_param, .ctx = &params,
				   .peer = size & 1 ? &user_peer : &root_peer,
				   .connections = size & 2 ? &connections : NULL };
	struct api_response resp;
	const char *target, *query;
	char *method, *path;

	/* The request line only. */
	p = memchr(text, '\n', size);
	if (p)
		end = p > text && p[-1] == '\r' ? p - 1 : p;
	p = memchr(text, ' ', (size_t)(end - text));
	method = decode(text, (size_t)((p ?: end) - text), false);
	target = p ? p + 1 : end;
	p = memchr(target, ' ', (size_t)(end - target));
	if (p)
		end = p;
	query = memchr(target, '?', (size_t)(end - target));
	path = decode(target, (size_t)((query ?: end) - target), false);
	if (query)
		parse_query(query + 1, (size_t)(end - query - 1), &params);
	req.method = method;
	req.path = path;

	/* Garbage first: the handler must fill every field. */
	memset(&resp, 0xa5, sizeof(resp));
	api__handle(daemon_core, &req, &resp);
	if (resp.defer_seconds) {
		/* A started profile: no body yet; finishing it gives the profile or an error. */
		FUZZ_CHECK(resp.body == NULL && resp.defer_seconds <= CPROF_MAX_PROFILE_SECONDS);
		api__finish_profile(daemon_core, resp.defer_pid, true, &resp);
		if (!resp.has_summary)
			check_json_response(&resp);
	} else {
		check_json_response(&resp);
	}
	api_response__release(&resp);
	/* Without a sampler no session can ever start. */
	FUZZ_CHECK(cprofd__n_sessions(daemon_core) == 0);

	for (size_t i = 0; i < params.n; i++) {
		free(params.names[i]);
		free(params.values[i]);
	}
	free(method);
	free(path);
	return 0;
}
