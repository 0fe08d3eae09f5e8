// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control requests: each command with its fields as the daemon takes
 * them, and each malformed one refused with the reason a client is told,
 * which a reply must be able to carry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "request.h"

static void parsed(const char *line, struct request *r)
{
	char why[512];

	if (request_parse(line, r, why, sizeof(why)))
		fail_msg("request %s refused: %s", line, why);
}

static void refused(const char *line, const char *reason)
{
	struct request r;
	char why[512];

	assert_int_equal(request_parse(line, &r, why, sizeof(why)), -22);
	assert_string_equal(why, reason);
}

static void good_requests(void **state)
{
	struct request r;

	(void)state;
	parsed("{\"cmd\": \"status\", \"extra\": [1]}", &r);
	assert_int_equal(r.cmd, REQUEST_STATUS);
	request_free(&r);
	parsed("{\"cmd\": \"attach\", \"pid\": 2147483647, \"name\": \"vm1\"}",
	       &r);
	assert_int_equal(r.cmd, REQUEST_ATTACH);
	assert_int_equal(r.pid, 2147483647);
	assert_string_equal(r.name, "vm1");
	assert_null(r.sharing);
	request_free(&r);
	parsed("{\"cmd\": \"attach\", \"pid\": 7, \"sharing\": \"tenant-a\"}",
	       &r);
	assert_string_equal(r.sharing, "tenant-a");
	request_free(&r);
	parsed("{\"cmd\": \"detach\", \"name\": \"vm1\"}", &r);
	assert_int_equal(r.cmd, REQUEST_DETACH);
	assert_int_equal(r.pid, 0);
	assert_string_equal(r.name, "vm1");
	request_free(&r);
	parsed("{\"cmd\": \"set\", \"values\": {\"threads\": 4, "
	       "\"cpu_limit\": 0.5, \"thp_split\": \"never\"}}", &r);
	assert_int_equal(r.cmd, REQUEST_SET);
	assert_int_equal(r.nset, 3);
	assert_string_equal(r.keys[0], "threads");
	assert_string_equal(r.values[0], "4");
	assert_string_equal(r.keys[1], "cpu_limit");
	assert_string_equal(r.values[1], "0.5");
	assert_string_equal(r.values[2], "never");
	request_free(&r);
}

static void malformed_requests(void **state)
{
	(void)state;
	refused("[1, 2]", "malformed request: not a JSON object");
	refused("{\"cmd\": \"status\"",
		"malformed request: '}' expected near end of file");
	refused("{\"cmd\": \"status\", \"cmd\": \"status\"}",
		"malformed request: duplicate object key near '\"cmd\"'");
	refused("{\"cmd\": \"reboot\"}", "unknown command reboot: expected "
		"status, guests, attach, detach, set or version");
	refused("{\"cmd\": 1}", "unknown command (no \"cmd\"): expected "
		"status, guests, attach, detach, set or version");
	refused("{\"cmd\": \"attach\", \"pid\": \"12\"}",
		"\"pid\" must be a positive integer");
	refused("{\"cmd\": \"attach\", \"pid\": 2147483648}",
		"\"pid\" must be a positive integer");
	refused("{\"cmd\": \"detach\", \"pid\": 0}",
		"\"pid\" must be a positive integer");
	refused("{\"cmd\": \"attach\", \"pid\": 12, \"name\": 5}",
		"\"name\" must be a string");
	refused("{\"cmd\": \"attach\", \"pid\": 12, \"sharing\": [1]}",
		"\"sharing\" must be a string");
	refused("{\"cmd\": \"attach\", \"name\": \"vm1\"}",
		"attach needs \"pid\"");
	refused("{\"cmd\": \"detach\"}",
		"detach needs \"pid\" or \"name\", not both");
	refused("{\"cmd\": \"detach\", \"pid\": 12, \"name\": \"vm1\"}",
		"detach needs \"pid\" or \"name\", not both");
	refused("{\"cmd\": \"set\", \"values\": {}}",
		"set needs \"values\": {\"KEY\": VALUE, ...}");
	refused("{\"cmd\": \"set\", \"values\": [1]}",
		"set needs \"values\": {\"KEY\": VALUE, ...}");
	refused("{\"cmd\": \"set\", \"values\": {\"a\": 1, \"b\": 1, \"c\": 1, "
		"\"d\": 1, \"e\": 1, \"f\": 1, \"g\": 1, \"h\": 1, \"i\": 1, "
		"\"j\": 1, \"k\": 1, \"l\": 1, \"m\": 1, \"n\": 1, \"o\": 1, "
		"\"p\": 1, \"q\": 1}}", "set: too many settings at once");
	refused("{\"cmd\": \"set\", \"values\": {\"threads\": true}}",
		"threads: value must be a string or a number");
}

/* A value is taken whole or not at all: 255 zeros and an x are no 0. */
static void long_values(void **state)
{
	char line[512], *v = line + sprintf(line, "{\"cmd\": \"set\", "
					    "\"values\": {\"threads\": \"");
	struct request r;

	(void)state;
	memset(v, '0', 255);
	strcpy(v + 255, "\"}}");
	parsed(line, &r);
	assert_int_equal(strlen(r.values[0]), 255);
	request_free(&r);
	strcpy(v + 255, "x\"}}");
	refused(line, "threads: value longer than 255 bytes");
}

static void reason_is(const char *why, const char *text)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", why);
	request_reason_utf8(buf);
	assert_string_equal(buf, text);
}

/* A reply cannot carry what is not UTF-8: such a reason got none. jansson
 * quotes a line cut inside a character, even a line all UTF-8. */
static void reasons_utf8(void **state)
{
	struct request r;
	char why[512];

	(void)state;
	assert_int_equal(request_parse("{\"c\\u\xc3\xa9\"}", &r, why, sizeof(why)),
			 -22);
	request_reason_utf8(why);
	assert_string_equal(why, "malformed request: invalid escape near "
			    "'\"c\\u?'");
	reason_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	reason_is("cut \xe2\x82", "cut ??");
	reason_is("overlong \xc0\xaf \xe0\x80\xaf", "overlong ?? ???");
	reason_is("surrogate \xed\xa0\x80", "surrogate ???");
	reason_is("past U+10FFFF \xf4\x90\x80\x80", "past U+10FFFF ????");
	reason_is("stray \x80\xbf \xff", "stray ?? ?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_requests),
		cmocka_unit_test(malformed_requests),
		cmocka_unit_test(long_values),
		cmocka_unit_test(reasons_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
