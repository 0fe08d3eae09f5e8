// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the backend says when it finds no work queue: -ENODEV and a
 * sentence naming what it looked for, on any machine (a name no queue has
 * is never found), and a portal that cannot be opened is an errno.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <pone/dsa.h>

#include "portal.h"
#include "probe.h"

static void named_queue_not_found(void **state)
{
	struct dsa_wq_info info;
	char why[512];

	(void)state;
	assert_int_equal(dsa_probe("wq99.99", &info, why, sizeof(why)),
			 -ENODEV);
	assert_non_null(strstr(why, "(wq99.99)"));
	assert_non_null(strstr(why, "libaccel-config"));
}

static void constructor_says_why(void **state)
{
	struct pone_backend *be = NULL;
	char why[512] = "";

	(void)state;
	assert_int_equal(pone_backend_dsa_new("dsa99", &be, why, sizeof(why)),
			 -ENODEV);
	assert_null(be);
	assert_non_null(strstr(why, "(dsa99)"));
}

/* A short buffer gets a cut sentence, never an overrun. */
static void short_reason(void **state)
{
	struct dsa_wq_info info;
	char why[16];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_int_equal(dsa_probe("wq99.99", &info, why, 8), -ENODEV);
	assert_int_equal(strlen(why), 7);
	assert_int_equal(why[8], 'x');
}

static void portal_missing(void **state)
{
	struct dsa_submitter *sub;

	(void)state;
	assert_int_equal(dsa_portal_open("/dev/dsa/wq99.99", true, 16, &sub),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(named_queue_not_found),
		cmocka_unit_test(constructor_says_why),
		cmocka_unit_test(short_reason),
		cmocka_unit_test(portal_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
