// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every failure of attach and detach that has a code has words of its
 * own for the operator (error.h): none falls back on the bare errno, and
 * no two codes read the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guests.h"

#define LAST (GUESTS_FAILURES - 1)

static void every_code_has_words(void **state)
{
	struct guests gs = { .cfg.state_dir = "/var/lib/pone" };
	char text[LAST + 1][512], bare[512];
	int code, other;

	(void)state;
	snprintf(bare, sizeof(bare), "process 42: %s", strerror(EIO));
	for (code = 1; code <= LAST; code++) {
		struct failure f = { code };

		guests_failure_text(&gs, -EIO, &f, 42, "web-01", text[code],
				    sizeof(text[code]));
		if (!text[code][0] || !strcmp(text[code], bare))
			fail_msg("code %d has no words of its own", code);
		for (other = 1; other < code; other++)
			if (!strcmp(text[code], text[other]))
				fail_msg("codes %d and %d read the same: %s",
					 other, code, text[code]);
	}
}

/* Without a code, the errno is told, and a process gone said so. */
static void errno_alone(void **state)
{
	struct guests gs = { 0 };
	struct failure none = { 0 };
	char text[256];

	(void)state;
	guests_failure_text(&gs, -ESRCH, &none, 42, NULL, text, sizeof(text));
	assert_string_equal(text, "process 42 is not running");
	guests_failure_text(&gs, -ENOMEM, NULL, 42, NULL, text, sizeof(text));
	assert_non_null(strstr(text, strerror(ENOMEM)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_has_words),
		cmocka_unit_test(errno_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
