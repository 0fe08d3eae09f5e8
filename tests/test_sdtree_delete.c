// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree deletes, by key or without the page, also where hashes collide
 * and the page bits decide.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sdtree_fixture.h"

static const struct params delete_prm[] = {
	{ .hmode = HASH_FULL, .ncontent = 1200, .per = 3 },
	{ .hmode = HASH_FEW, .ncontent = 1200, .per = 3, .copy = true },
	{ .hmode = HASH_CONST, .ncontent = 1200, .per = 3 },
	{ .hmode = HASH_CONST, .ncontent = 600, .per = 3, .high_ids = true,
	  .gen = gen_zero_prefix },
};

/*
 * Two leaves of every content in; half of them out, by key or with page ==
 * NULL, checking the model as the tree shrinks; deleting again, or a leaf
 * never inserted (its content present under others or not), is -ENOENT
 * and changes nothing. Then third leaves come in, and everything goes out.
 */
static void test_delete(void **state)
{
	const struct params *prm = *state;
	struct fx *f = fx_new(prm);
	uint32_t n = prm->ncontent;
	uint32_t *slots = seq(0, 2 * n);

	shuffle(slots, 2 * n);
	insert_all(f, slots, 2 * n);
	check_model(f, false);
	shuffle(slots, 2 * n);
	for (uint32_t i = 0; i < n; i++) {
		do_delete(f, slots[i], i % 2);
		if (i % 97 == 0)
			check_model(f, false);
	}
	check_model(f, true);
	for (uint32_t i = 0; i < n; i++) {
		do_delete(f, slot_k(f, i, 2), i % 2);		/* never inserted */
		do_delete(f, slots[i], i % 3 == 0);		/* gone already */
	}
	check_model(f, true);
	for (uint32_t i = 0; i < n; i++)
		slots[i] = slot_k(f, i, 2);
	shuffle(slots, n);
	insert_all(f, slots, n / 2);
	check_model(f, true);
	/* Everything out, mostly without pages. */
	for (uint32_t s = 0; s < f->nslot; s++) {
		if (f->in[s])
			do_delete(f, s, rnd_below(4) != 0);
	}
	assert_int_equal(f->present, 0);
	check_model(f, false);
	free(slots);
	fx_free(f);
}

static const struct params collide_prm[] = {
	{ .hmode = HASH_CONST, .ncontent = 400, .per = 2 },
	{ .hmode = HASH_FEW, .ncontent = 400, .per = 2, .gen = gen_zero_prefix },
	{ .hmode = HASH_CONST, .ncontent = 400, .per = 2, .gen = gen_zero_prefix },
};

/*
 * Colliding hashes: the tree branches on page bits, and a delete without
 * the page must search both sides of those nodes, down to the leaf bits of
 * equal pages. Leaves go in and out one by one in random order, the model
 * checked at every few steps.
 */
static void test_delete_null_page_collisions(void **state)
{
	const struct params *prm = *state;
	struct fx *f = fx_new(prm);
	uint32_t n = f->nslot;
	uint32_t *slots = seq(0, n);

	for (int round = 0; round < 3; round++) {
		shuffle(slots, n);
		if (round == 1) {
			for (uint32_t i = 0; i < n; i++)
				insert1(f, slots[i]);
		} else {
			insert_all(f, slots, n);
		}
		check_model(f, round == 0);
		shuffle(slots, n);
		for (uint32_t i = 0; i < n; i++) {
			do_delete(f, slots[i], true);
			do_delete(f, slots[(i * 7) % n], true);	/* maybe gone */
			if (i % 11 == 0)
				check_model(f, false);
		}
		assert_int_equal(f->present, 0);
		check_model(f, false);
		sdtree_quiesce(f->t);
	}
	free(slots);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[0]),
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[1]),
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[2]),
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[3]),
		cmocka_unit_test_prestate(test_delete_null_page_collisions, (void *)&collide_prm[0]),
		cmocka_unit_test_prestate(test_delete_null_page_collisions, (void *)&collide_prm[1]),
		cmocka_unit_test_prestate(test_delete_null_page_collisions, (void *)&collide_prm[2]),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
