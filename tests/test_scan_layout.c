// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine finds an image's zero pages and groups of equal pages, with 1,
 * 2, 8 threads and batches that do not divide a worker's stripe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "scan_fixture.h"

/* Three merge passes: observe, observe, then report. */
static void layout_is_found(unsigned int threads, unsigned int batch)
{
	struct scan_fx *f = scan_fx_new(threads, batch);
	uint32_t id = add_map(f->e, &f->img);
	struct pone_pass_stats st;

	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.zero, ZERO);
	assert_int_equal(st.zero_stable, 0);
	assert_int_equal(st.changed, 0);
	assert_int_equal(st.stable, 0);
	assert_int_equal(f->s.ndup + f->s.nzero, 0);

	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.zero_stable, ZERO);
	check_zero(&f->s, &f->img);
	assert_int_equal(st.stable, 0);
	assert_int_equal(f->s.ndup, 0);

	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.unreadable, 0);
	assert_int_equal(st.stable, PAGES - ZERO);
	assert_int_equal(st.dup_groups, GROUPS);
	assert_int_equal(st.dup_members, GROUPS * (GROUP_SIZE - 1));
	assert_int_equal(st.unique, UNIQUE);
	assert_true(st.tree_compares >= GROUPS * (GROUP_SIZE - 1));
	/* Batched: at least one compare a call, and fewer calls than them. */
	assert_in_range(st.tree_compare_calls, 1, st.tree_compares - 1);
	check_zero(&f->s, &f->img);
	check_dups(&f->s, &f->img, id, GROUPS * (GROUP_SIZE - 1));

	assert_int_equal(st.dup_pages, 0);	/* counted as scanned */

	/* Found once: the next period knows them and reports nothing. */
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.stable, PAGES - ZERO);
	assert_int_equal(st.dup_pages, GROUPS * GROUP_SIZE);
	assert_int_equal(st.dup_groups + st.dup_members + st.unique, 0);
	assert_int_equal(st.tree_compares, 0);
	assert_int_equal(st.tree_compare_calls, 0);
	assert_int_equal(f->s.ndup, 0);

	scan_fx_free(f);
}

static void one_thread(void **state)
{
	(void)state;
	layout_is_found(1, 0);
}

static void two_threads(void **state)
{
	(void)state;
	layout_is_found(2, 0);
}

static void eight_threads(void **state)
{
	(void)state;
	layout_is_found(8, 0);
}

/* Batches that do not divide a worker's stripe of pages. */
static void odd_batches(void **state)
{
	(void)state;
	layout_is_found(2, 100);
	layout_is_found(3, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_thread),
		cmocka_unit_test(two_threads),
		cmocka_unit_test(eight_threads),
		cmocka_unit_test(odd_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
