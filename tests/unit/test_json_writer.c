// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>

#include "json_writer.h"
#include "test.h"

/* Finishes w and compares the document with want (which ends in "\n"). */
static void expect(struct json_writer *w, const char *want)
{
	char *text = NULL;
	size_t len = 0;

	if (!ASSERT_OK(json_writer__finish(w, &text, &len)))
		return;
	ASSERT_EQ(len, strlen(text));
	ASSERT_STREQ(text, want);
	free(text);
}

static void test_structure(void)
{
	struct json_writer w;

	json_writer__init(&w);
	json_writer__object_begin(&w);
	json_writer__key(&w, "a");
	json_writer__uint(&w, 18446744073709551615ull);
	json_writer__key(&w, "b");
	json_writer__array_begin(&w);
	json_writer__int(&w, -5);
	json_writer__bool(&w, 1);
	json_writer__null(&w);
	json_writer__object_begin(&w);
	json_writer__object_end(&w);
	json_writer__array_end(&w);
	json_writer__key(&w, "c");
	json_writer__string(&w, "x");
	json_writer__object_end(&w);
	expect(&w, "{\"a\":18446744073709551615,\"b\":[-5,true,null,{}],\"c\":\"x\"}\n");
}

static void test_strings(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "quote \" backslash \\", "\"quote \\\" backslash \\\\\"" },
		{ "tab\tnl\ndel\x7f", "\"tab\\u0009nl\\u000adel\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\"" },
		/* Not UTF-8: a stray continuation, a cut sequence, overlong, a surrogate, > U+10FFFF. */
		{ "a\x80z", "\"a\\ufffdz\"" },
		{ "a\xc3", "\"a\\ufffd\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
		{ "", "\"\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_writer w;
		char want[128];

		json_writer__init(&w);
		json_writer__string(&w, cases[i].in);
		snprintf(want, sizeof(want), "%s\n", cases[i].out);
		expect(&w, want);
	}
}

int main(void)
{
	RUN_TEST(test_structure);
	RUN_TEST(test_strings);
	return TEST_SUMMARY();
}
