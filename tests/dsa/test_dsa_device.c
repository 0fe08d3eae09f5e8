// SPDX-License-Identifier: GPL-2.0-only
/*
 * The same checks on a real work queue, when this machine has one
 * (PONE_DSA_WQ names it, else the first usable). Without one the whole
 * test is skipped (exit 77), saying what the probe looked for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include <pone/dsa.h>

#include "checks.h"

#define MESON_SKIP 77

static struct pone_backend *be;

static void ops_match_cpu(void **state)
{
	(void)state;
	check_ops_match_cpu(be);
}

static void engine_matches_cpu(void **state)
{
	(void)state;
	check_engine_matches_cpu(be, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ops_match_cpu),
		cmocka_unit_test(engine_matches_cpu),
	};
	char why[512];
	int ret = pone_backend_dsa_new(getenv("PONE_DSA_WQ"), &be, why,
				       sizeof(why));

	if (ret) {
		printf("SKIPPED: no DSA work queue: %s\n", why);
		return MESON_SKIP;
	}
	printf("on %s\n", be->name);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	pone_backend_destroy(be);
	return ret;
}
