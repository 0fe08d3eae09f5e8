// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine's CPU limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "scan_fixture.h"

/*
 * A CPU limit holds within a pass: its workers, two here, sleep so that
 * their CPU stays within the limit times the pass's wall time, give or
 * take one quantum of sleep (200 ms). Without the limit they use what
 * they get (up to two cores). The limit is low, so that the pass's CPU
 * allows it far more than a quantum.
 */
static void cpu_limit_holds_within_a_pass(void **state)
{
	/* Enough pages that the workers' share dwarfs the caller's. */
	struct image_layout l = { .zero = ZERO, .groups = GROUPS,
				  .group_size = GROUP_SIZE, .unique = 16384,
				  .seed = 7 };
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct pone_engine *e = engine(2);
	struct pone_pass_stats st;
	struct image img;

	(void)state;
	assert_int_equal(image_build(&img, &l), 0);
	assert_int_equal(pone_engine_set_cpu_limit(e, -1), -EINVAL);
	assert_int_equal(pone_engine_set_cpu_limit(e, 2000), -EINVAL);
	assert_int_equal(pone_engine_set_cpu_limit(e, 0.02), 0);
	add_map(e, &img);
	st = scan(e, PONE_PASS_MERGE, &s);
	/* The caller's own share (planning, counting) is outside the
	 * workers' accounting: a tenth to spare. */
	if ((st.wall_ns + 200e6) * 0.02 < st.cpu_ns * 0.9)
		fail_msg("%.4f CPU-s in %.4f s, over 0.02 cores",
			 st.cpu_ns / 1e9, st.wall_ns / 1e9);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpu_limit_holds_within_a_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
