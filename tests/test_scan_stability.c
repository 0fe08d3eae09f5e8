// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pages are reported only once they were unchanged for the stable periods.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "scan_fixture.h"

/*
 * A page rewritten between passes (even between reclaim passes) is never
 * reported until it was unchanged for two merge periods again.
 */
static void changed_pages_are_not_stable(void **state)
{
	struct scan_fx *f = *state;
	struct pone_pass_stats st;
	uint64_t victim[8], i, twin, was_zero = 0;
	int pass;

	add_map(f->e, &f->img);
	/* Victims: zero pages and group members, the pages a bug would report. */
	for (i = 0, twin = 0; i < f->img.pages && twin < 8; i++)
		if (f->img.content[i] <= GROUPS)
			victim[twin++] = i;
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	for (i = 0; i < 8; i++) {
		was_zero += f->img.content[victim[i]] == 0;
		image_rewrite(&f->img, victim[i], i);
	}
	assert_true(was_zero > 0 && was_zero < 8);
	/* A reclaim pass zero-tests every page, and hashes only those no
	 * longer zero: the others keep their hashes until the merge pass. */
	st = scan(f->e, PONE_PASS_RECLAIM, &f->s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.hashed, was_zero);
	assert_int_equal(st.changed, was_zero);
	for (i = 0; i < 8; i++)
		assert_false(reported(&f->s, victim[i]));
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.hashed, PAGES);
	assert_int_equal(st.changed, 8 - was_zero);
	for (i = 0; i < 8; i++)
		assert_false(reported(&f->s, victim[i]));
	for (pass = 0; pass < 2; pass++) {
		st = scan(f->e, PONE_PASS_MERGE, &f->s);
		assert_int_equal(st.changed, 0);
		for (i = 0; i < 8; i++)
			assert_false(reported(&f->s, victim[i]));
	}
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	for (i = 0; i < 8; i++)
		assert_true(f->img.content[victim[i]] >> 63);
	/* Rewritten pages are unique now: stable, but in no group. */
	assert_int_equal(st.stable + st.zero_stable, PAGES);
	for (i = 0; i < 8; i++)
		assert_false(reported(&f->s, victim[i]));
}

/*
 * With one stable period, pages of an exactly tracked region are found at
 * the second merge pass; those of a region whose writes may be missed
 * still wait two periods, whatever the setting.
 */
static void one_stable_period_where_writes_are_exact(void **state)
{
	struct pone_pass_stats st;
	struct scan_fx *f;
	uint32_t id;
	int exact;

	(void)state;
	for (exact = 0; exact < 2; exact++) {
		f = scan_fx_new(2, 0);
		assert_int_equal(pone_engine_stable_periods(f->e), 2);
		assert_int_equal(pone_engine_set_stable_periods(f->e, 0),
				 -EINVAL);
		assert_int_equal(pone_engine_set_stable_periods(f->e, 3),
				 -EINVAL);
		assert_int_equal(pone_engine_set_stable_periods(f->e, 1), 0);
		assert_int_equal(pone_engine_stable_periods(f->e), 1);
		id = add_with_residency(f->e, &f->img, &f->res, exact, false);
		memset(f->res.unwritten, 0xff, sizeof(f->res.unwritten));
		scan(f->e, PONE_PASS_MERGE, &f->s);
		scan(f->e, PONE_PASS_RECLAIM, &f->s);
		st = scan(f->e, PONE_PASS_MERGE, &f->s);
		assert_int_equal(st.stable, exact ? PAGES - ZERO : 0);
		if (!exact) {
			assert_int_equal(f->s.ndup, 0);
			st = scan(f->e, PONE_PASS_MERGE, &f->s);
		}
		assert_int_equal(st.dup_members, GROUPS * (GROUP_SIZE - 1));
		check_dups(&f->s, &f->img, id, GROUPS * (GROUP_SIZE - 1));
		scan_fx_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scan_fx_test(changed_pages_are_not_stable),
		cmocka_unit_test(one_stable_period_where_writes_are_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
