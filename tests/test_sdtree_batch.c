// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree batches: equal keys and the same leaf met inside one batch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sdtree_fixture.h"

static const struct params batch_prm[] = {
	{ .hmode = HASH_FULL, .ncontent = 40, .per = 8 },
	{ .hmode = HASH_FEW, .ncontent = 40, .per = 8, .copy = true },
	{ .hmode = HASH_CONST, .ncontent = 300, .per = 4,
	  .gen = gen_zero_prefix },
	{ .hmode = HASH_CONST, .ncontent = 40, .per = 8, .copy = true,
	  .high_ids = true },
};

/*
 * Batches of every size from 1 to 256 drawn from few contents, so equal
 * keys meet inside one batch (a later one must name an earlier one, or a
 * leaf already in), sometimes the same leaf twice; leaves go out between
 * batches so the batches keep inserting.
 */
static void test_batch_duplicates(void **state)
{
	const struct params *prm = *state;
	struct fx *f = fx_new(prm);

	for (uint32_t n = 1; n <= BMAX; n++) {
		uint32_t s[BMAX];

		for (uint32_t i = 0; i < n; i++)
			s[i] = i && rnd_below(8) == 0 ? s[rnd_below(i)] :
			       rnd_below(f->nslot);
		do_insert(f, n % 2 ? &f->w : &f->w2, s, n);
		if (n % 16 == 0)
			check_model(f, true);
		for (uint32_t i = 0; i < n / 2 + 1; i++) {
			uint32_t c = rnd_below(prm->ncontent);

			if (f->cnt[c])
				do_delete(f, in_slot(f, c), rnd_below(2));
		}
		if (n % 32 == 0) {
			check_model(f, false);
			sdtree_quiesce(f->t);
		}
	}
	check_model(f, true);
	fx_free(f);
}

/* Equal keys at both ends of a full batch, the tree empty, then not. */
static void test_batch_duplicates_edges(void **state)
{
	struct params prm = { .hmode = HASH_CONST, .ncontent = 300, .per = 2 };
	struct fx *f = fx_new(&prm);
	struct sdtree_result r[BMAX];
	uint32_t s[BMAX];

	(void)state;
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < BMAX; i++)
			s[i] = i + 1;
		s[BMAX - 1] = 1 + prm.ncontent;	/* same content as s[0] */
		s[BMAX - 2] = 1;		/* same leaf as s[0] */
		do_insert_res(f, &f->w, s, BMAX, r);
		assert_false(r[BMAX - 2].inserted);
		assert_true(r[BMAX - 1].inserted);
		assert_int_equal(r[BMAX - 1].equal, leaf_of(f, 1));
		assert_true(r[BMAX - 1].new_group);
		check_model(f, true);
		/* All one content, from an empty tree; every leaf twice. */
		delete_all(f);
		for (uint32_t i = 0; i < BMAX; i++)
			s[i] = 9 + prm.ncontent * (i % 2);
		do_insert_res(f, &f->w, s, BMAX, r);
		assert_int_equal(r[0].equal, NONE);
		assert_int_equal(r[1].equal, leaf_of(f, 9));
		assert_true(r[1].new_group);
		assert_int_equal(sdtree_count(f->t), 2);
		check_model(f, true);
		do_delete(f, 9, false);
		check_model(f, true);
		do_delete(f, 9 + prm.ncontent, round);
	}
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[0]),
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[1]),
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[2]),
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[3]),
		cmocka_unit_test(test_batch_duplicates_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
