// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which zero pages of a huge page go out (recycle.h): a huge page goes
 * whole only when all 512 of its pages were found zero in one pass, counts
 * of two passes never add up, workers counting at once lose nothing, and
 * otherwise thp_split decides.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "recycle.h"

static void whole_in_one_pass(void **state)
{
	uint32_t word = 0;

	(void)state;
	assert_false(recycle_count(&word, 7, 300));
	assert_true(recycle_count(&word, 7, 212));
	/* In parts, across two passes: never all of it. */
	word = 0;
	assert_false(recycle_count(&word, 7, 300));
	assert_false(recycle_count(&word, 8, 212));
	assert_false(recycle_count(&word, 8, 299));
	assert_true(recycle_count(&word, 8, 1));
	assert_true(recycle_count(&(uint32_t){ 0 }, 1, 512));
}

/* A count left by a pass long ago, whatever it held, counts as none. */
static void stale_count_is_none(void **state)
{
	uint32_t word = 0;

	(void)state;
	assert_false(recycle_count(&word, 3, 511));
	assert_false(recycle_count(&word, 4, 1));
	assert_false(recycle_count(&word, 5, 511));
	assert_true(recycle_count(&word, 5, 1));
}

/* Pass numbers are kept in the word's high bits: init masks them, and
 * consecutive passes stay apart across the wrap. */
static void pass_numbers_wrap(void **state)
{
	struct recycle_pass a, b;
	uint32_t word = 0;

	(void)state;
	recycle_pass_init(&a, NULL, NULL, THP_IDLE, (1ull << 22) - 1);
	recycle_pass_init(&b, NULL, NULL, THP_IDLE, 1ull << 22);
	assert_int_not_equal(a.number, b.number);
	assert_false(recycle_count(&word, a.number, 511));
	assert_false(recycle_count(&word, b.number, 1));
	recycle_pass_init(&a, NULL, NULL, THP_IDLE, (5ull << 32) + 9);
	assert_true(a.number < 1u << 22);
}

struct counter {
	uint32_t *word;
	unsigned int alls;
};

static void *count_half(void *arg)
{
	struct counter *c = arg;
	unsigned int i;

	for (i = 0; i < 256; i++)
		c->alls += recycle_count(c->word, 2, 1);
	return NULL;
}

/* Two workers count the pages of one huge page at once: exactly one of
 * them sees it complete. */
static void concurrent_counts(void **state)
{
	uint32_t word;
	struct counter c[2] = { { &word, 0 }, { &word, 0 } };
	pthread_t t;
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		word = 0;
		c[0].alls = c[1].alls = 0;
		assert_int_equal(pthread_create(&t, NULL, count_half, &c[0]),
				 0);
		count_half(&c[1]);
		pthread_join(t, NULL);
		assert_int_equal(c[0].alls + c[1].alls, 1);
	}
}

static void verdicts(void **state)
{
	enum thp_split p;

	(void)state;
	for (p = THP_NEVER; p <= THP_ALWAYS; p++) {
		assert_int_equal(recycle_verdict(p, true, false), HUGE_WHOLE);
		assert_int_equal(recycle_verdict(p, true, true), HUGE_WHOLE);
	}
	assert_int_equal(recycle_verdict(THP_NEVER, false, true), HUGE_KEEP);
	assert_int_equal(recycle_verdict(THP_IDLE, false, false), HUGE_KEEP);
	assert_int_equal(recycle_verdict(THP_IDLE, false, true), HUGE_SPLIT);
	assert_int_equal(recycle_verdict(THP_ALWAYS, false, false),
			 HUGE_SPLIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_in_one_pass),
		cmocka_unit_test(stale_count_is_none),
		cmocka_unit_test(pass_numbers_wrap),
		cmocka_unit_test(concurrent_counts),
		cmocka_unit_test(verdicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
