// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree groups of equal pages: leaves leave a group one at a time, and
 * sdtree_group() names the leaves of one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sdtree_fixture.h"

/*
 * Groups of up to 6 equal pages among neighbours with one hash: the
 * leaves of a group go out one at a time, in random order, with or without
 * their pages; the group is found until the last is gone.
 */
static void test_group_delete(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_FEW, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 64,
				      .per = 6, .copy = m == 2,
				      .gen = m == 1 ? gen_zero_prefix : gen_mixed };
		struct fx *f = fx_new(&prm);
		uint32_t *slots = seq(0, f->nslot);

		shuffle(slots, f->nslot);
		insert_all(f, slots, f->nslot);
		check_model(f, true);
		for (uint32_t c = 0; c < prm.ncontent; c++) {
			uint32_t k[6] = { 0, 1, 2, 3, 4, 5 };

			shuffle(k, 6);
			for (uint32_t i = 0; i < 6; i++) {
				do_delete(f, slot_k(f, c, k[i]), rnd_below(2));
				lookup_check(f, &f->w, &c, 1);
			}
			assert_int_equal(f->cnt[c], 0);
		}
		check_model(f, false);
		free(slots);
		fx_free(f);
	}
}

/*
 * sdtree_group: for every content, the leaves of its group in the tree and
 * no other, smallest ids first, up to the number asked for, given any leaf
 * of the group, also one past those asked for; with hashes that collide.
 * A leaf not in the group (deleted, or of another content) gives none.
 */
static void test_group_leaves(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 2; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 32,
				      .per = 6, .gen = gen_mixed };
		struct fx *f = fx_new(&prm);
		uint32_t *slots = seq(0, f->nslot);

		shuffle(slots, f->nslot);
		insert_all(f, slots, f->nslot);
		for (uint32_t k = 0; k < prm.per; k++)	/* content 3: none */
			do_delete(f, slot_k(f, 3, k), false);
		do_delete(f, slot_k(f, 7, 2), false);	/* content 7: five */
		for (uint32_t c = 0; c < prm.ncontent; c++) {
			struct sdtree_key k = content_key(f, c);
			uint32_t last = leaf_of(f, slot_k(f, c, prm.per - 1));
			uint32_t other = leaf_of(f, slot_k(f, (c + 1) % 32, 0));
			uint32_t leaves[8], two[2];
			size_t n = sdtree_group(f->t, &k, last, leaves, 8);

			assert_int_equal(sdtree_group(f->t, &k, other, two, 2),
					 0);
			if (c == 3) {
				assert_int_equal(n, 0);
				continue;
			}
			assert_int_equal(n, f->cnt[c]);
			for (size_t i = 0; i < n; i++) {
				assert_true(in_leaf_of(f, leaves[i], c));
				if (i)
					assert_true(leaves[i - 1] < leaves[i]);
			}
			assert_int_equal(sdtree_group(f->t, &k, last, two, 2),
					 2);
			assert_int_equal(two[0], leaves[0]);
			assert_int_equal(two[1], leaves[1]);
			if (c == 7)
				assert_int_equal(sdtree_group(f->t, &k,
					leaf_of(f, slot_k(f, 7, 2)), two, 2), 0);
		}
		free(slots);
		fx_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_delete),
		cmocka_unit_test(test_group_leaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
