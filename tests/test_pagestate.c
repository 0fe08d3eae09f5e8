// SPDX-License-Identifier: GPL-2.0-only
/* Page state: the stability rules, pass by pass, and the roles. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pagestate.h"

#define H1 0x12345600u
#define H2 0xabcdef00u

static struct pagestate ps;

static int setup(void **state)
{
	(void)state;
	return pagestate_init(&ps, 4, PONE_CHECKSUM_XXH3);
}

static int teardown(void **state)
{
	(void)state;
	pagestate_fini(&ps);
	return 0;
}

static unsigned int merge(uint32_t hash, bool zero)
{
	return pagestate_update(&ps, 0, hash, zero, true, PS_STABLE_PERIODS);
}

static unsigned int reclaim(uint32_t hash, bool zero)
{
	return pagestate_update(&ps, 0, hash, zero, false, PS_STABLE_PERIODS);
}

/* Seen at three merge passes in a row unchanged: a candidate, once. */
static void candidate_after_two_periods(void **state)
{
	(void)state;
	assert_int_equal(merge(H1, false), 0);
	assert_int_equal(merge(H1, false), 0);
	assert_int_equal(merge(H1, false), PV_MERGE_CANDIDATE | PV_STABLE);
	/* Still a candidate until the tree takes it ... */
	assert_int_equal(merge(H1, false), PV_MERGE_CANDIDATE | PV_STABLE);
	assert_true(pagestate_set_role(&ps, 0, PS_ROLE_BIT(PS_CLEAN2), PS_IN_TREE));
	/* ... then stable, but nothing more to do. */
	assert_int_equal(merge(H1, false), PV_STABLE);
	assert_true(ps_in_tree(pagestate_word(&ps, 0)));
}

/* Reclaim passes between merge passes do not count as periods ... */
static void reclaim_passes_do_not_count(void **state)
{
	int i;

	(void)state;
	merge(H1, false);
	for (i = 0; i < 5; i++)
		assert_int_equal(reclaim(H1, false), 0);
	assert_int_equal(merge(H1, false), 0);
	assert_int_equal(merge(H1, false), PV_MERGE_CANDIDATE | PV_STABLE);
}

/* ... but a change seen in one restarts the count, and leaves the tree. */
static void change_restarts(void **state)
{
	uint32_t w;

	(void)state;
	merge(H1, false);
	merge(H1, false);
	assert_true(merge(H1, false) & PV_MERGE_CANDIDATE);
	pagestate_set_role(&ps, 0, PS_ROLE_BIT(PS_CLEAN2), PS_IN_GROUP);
	pagestate_set_flag(&ps, 0, PS_MERGED);
	w = pagestate_word(&ps, 0);
	assert_true(ps_changed(w, H2));
	assert_false(ps_changed(w, H1));
	assert_int_equal(reclaim(H2, false), PV_CHANGED);
	w = pagestate_word(&ps, 0);
	assert_int_equal(ps_role(w), PS_DIRTY);
	assert_false(w & PS_MERGED);
	assert_int_equal(ps_hash(w), H2);
	/* Changed back to the old content: still a change. */
	assert_int_equal(reclaim(H1, false), PV_CHANGED);
	assert_int_equal(merge(H1, false), 0);
	assert_int_equal(merge(H1, false), 0);
	assert_int_equal(merge(H1, false), PV_MERGE_CANDIDATE | PV_STABLE);
}

/* A zero page is recyclable after one period, and never a merge candidate. */
static void zero_pages(void **state)
{
	(void)state;
	assert_int_equal(reclaim(H1, true), 0);
	assert_int_equal(reclaim(H1, true), PV_ZERO_STABLE);
	assert_true(pagestate_word(&ps, 0) & PS_ZERO);
	assert_int_equal(merge(H1, true), PV_ZERO_STABLE);
	assert_int_equal(merge(H1, true), PV_ZERO_STABLE);
	assert_int_equal(merge(H1, true), PV_ZERO_STABLE);
	assert_int_equal(reclaim(H2, false), PV_CHANGED);
	assert_int_equal(reclaim(H2, false), 0);
}

/* Merged and canonical pages are no candidates; roles move only as asked. */
static void flags_and_roles(void **state)
{
	(void)state;
	merge(H1, false);
	merge(H1, false);
	pagestate_set_flag(&ps, 0, PS_CANONICAL);
	assert_int_equal(pagestate_settled64(&ps, 0), 0);	/* not stable */
	assert_int_equal(merge(H1, false), PV_STABLE);
	assert_int_equal(pagestate_settled64(&ps, 0), 1);
	assert_false(pagestate_set_role(&ps, 0, PS_ROLE_BIT(PS_IN_TREE), PS_IN_GROUP));
	assert_int_equal(ps_role(pagestate_word(&ps, 0)), PS_CLEAN2);
	assert_true(pagestate_set_role(&ps, 0, PS_ROLE_BIT(PS_CLEAN2), PS_IN_TREE));
	assert_true(pagestate_set_role(&ps, 0, PS_ROLE_BIT(PS_IN_TREE), PS_IN_GROUP));
	assert_int_equal(merge(H1, false), PV_STABLE | PV_IN_GROUP);
	assert_true(pagestate_word(&ps, 0) & PS_CANONICAL);
	assert_int_equal(pagestate_settled64(&ps, 0), 1);
	/* Other pages are untouched. */
	assert_int_equal(pagestate_word(&ps, 1), 0);
	/* A word a page, and a bit a page for whether it is settled. */
	assert_int_equal(pagestate_bytes(&ps),
			 4 * sizeof(uint32_t) + sizeof(uint64_t));
	/* Changed, or gone: no longer settled. */
	merge(H2, false);
	assert_int_equal(pagestate_settled64(&ps, 0), 0);
	pagestate_set_flag(&ps, 0, PS_MERGED);
	merge(H2, false);
	merge(H2, false);
	assert_int_equal(pagestate_settled64(&ps, 0), 1);
	pagestate_forget(&ps, 0);
	assert_int_equal(pagestate_settled64(&ps, 0), 0);
}

/* With one stable period: a candidate at the second merge pass unchanged,
 * after reclaim passes too, and a change restarts the count. */
static void candidate_after_one_period(void **state)
{
	int i;

	(void)state;
	assert_int_equal(pagestate_update(&ps, 0, H1, false, true, 1), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(pagestate_update(&ps, 0, H1, false, false, 1),
				 0);
	assert_false(ps_enters_tree(pagestate_word(&ps, 0), 2));
	assert_true(ps_enters_tree(pagestate_word(&ps, 0), 1));
	assert_int_equal(pagestate_update(&ps, 0, H1, false, true, 1),
			 PV_MERGE_CANDIDATE | PV_STABLE);
	assert_int_equal(ps_role(pagestate_word(&ps, 0)), PS_CLEAN2);
	assert_int_equal(pagestate_update(&ps, 0, H2, false, false, 1),
			 PV_CHANGED);
	assert_int_equal(pagestate_update(&ps, 0, H2, false, true, 1), 0);
	assert_int_equal(pagestate_update(&ps, 0, H2, false, true, 1),
			 PV_MERGE_CANDIDATE | PV_STABLE);
}

/* Only pages still alone count as unique; the mark is cleared. */
static void new_alone(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		pagestate_update(&ps, i, H1, false, true, PS_STABLE_PERIODS);
		assert_true(pagestate_set_role(&ps, i, PS_ROLE_BIT(PS_CLEAN0),
					       PS_IN_TREE));
		pagestate_set_flag(&ps, i, PS_NEW);
	}
	pagestate_set_role(&ps, 2, PS_ROLE_BIT(PS_IN_TREE), PS_IN_GROUP);
	assert_int_equal(pagestate_count_new_alone(&ps), 3);
	assert_int_equal(pagestate_count_new_alone(&ps), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(candidate_after_two_periods, setup, teardown),
		cmocka_unit_test_setup_teardown(reclaim_passes_do_not_count, setup, teardown),
		cmocka_unit_test_setup_teardown(change_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(flags_and_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(candidate_after_one_period, setup, teardown),
		cmocka_unit_test_setup_teardown(new_alone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
