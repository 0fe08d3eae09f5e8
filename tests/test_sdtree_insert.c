// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree inserts and lookups: an empty tree, distinct contents, equal
 * pages under other leaves, and lookups whose leaf id is one in the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sdtree_fixture.h"

static void test_empty(void **state)
{
	struct params prm = { .hmode = HASH_FULL, .ncontent = 20, .per = 2 };
	struct fx *f = fx_new(&prm);
	uint32_t cids[20];
	struct sdtree_result r;
	size_t nodes = 1, arena = 0;

	(void)state;
	/* Nothing retired yet, nothing free: nothing to do. */
	sdtree_quiesce(f->t);
	sdtree_quiesce(f->t);
	for (uint32_t c = 0; c < 20; c++)
		cids[c] = c;
	lookup_check(f, &f->w, cids, 20);
	lookup_check(f, &f->w, cids, 0);
	do_insert(f, &f->w, cids, 0);
	for (uint32_t s = 0; s < 4; s++) {
		do_delete(f, s, false);
		do_delete(f, s, true);
	}
	assert_int_equal(sdtree_count(f->t), 0);
	sdtree_memory(f->t, &nodes, &arena);
	assert_int_equal(nodes, 0);
	assert_true(arena > 0);

	/* One leaf at the root, then the tree is empty again. */
	r = insert1(f, 3);
	assert_true(r.inserted);
	assert_int_equal(r.equal, NONE);
	check_model(f, true);
	do_delete(f, 3 + 20, false);	/* same content, other leaf */
	do_delete(f, 3 + 20, true);
	do_delete(f, 3, true);
	check_model(f, false);
	do_delete(f, 3, false);
	insert1(f, 3 + 20);
	check_model(f, true);
	/* The root leaf gets a partner of its content. */
	r = insert1(f, 3);
	assert_true(r.inserted);
	assert_int_equal(r.equal, leaf_of(f, 3 + 20));
	assert_true(r.new_group);
	check_model(f, true);
	delete_all(f);
	check_model(f, false);
	fx_free(f);
}

static const struct params distinct_prm[] = {
	{ .hmode = HASH_FULL, .ncontent = 1500, .per = 3 },
	{ .hmode = HASH_FEW, .ncontent = 1500, .per = 3 },
	{ .hmode = HASH_CONST, .ncontent = 1500, .per = 3, .copy = true },
	{ .hmode = HASH_CONST, .ncontent = 700, .per = 3, .high_ids = true },
};

/*
 * Two thirds of the contents inserted in random order: each key is linked
 * and equals nothing; the others are never found. Then every second leaf of
 * a content, in batches: each names the first, a new group; then every
 * third: each names one of the two, no new group.
 */
static void test_insert_distinct(void **state)
{
	const struct params *prm = *state;
	struct fx *f = fx_new(prm);
	uint32_t nin = prm->ncontent * 2 / 3;
	uint32_t *slots = seq(0, nin);

	shuffle(slots, nin);
	insert_all(f, slots, nin);
	assert_int_equal(f->present, nin);
	check_model(f, false);
	for (uint32_t k = 1; k < 3; k++) {
		for (uint32_t i = 0; i < nin; i++)
			slots[i] = slot_k(f, slots[i] % prm->ncontent, k);
		shuffle(slots, nin);
		insert_all(f, slots, nin);
		assert_int_equal(f->present, nin * (k + 1));
		check_model(f, true);
	}
	free(slots);
	fx_free(f);
}

/* Equal pages under other leaves coexist; a leaf id goes in once. */
static void test_insert_equal(void **state)
{
	struct params prm = { .hmode = HASH_CONST, .ncontent = 8, .per = 4 };
	struct fx *f = fx_new(&prm);
	uint32_t two[2] = { 5 + 8, 5 + 16 };
	struct sdtree_result r, r2[2];

	(void)state;
	r = insert1(f, 5);
	assert_true(r.inserted);
	assert_int_equal(r.equal, NONE);
	assert_false(r.new_group);
	r = insert1(f, 5 + 8);
	assert_true(r.inserted);
	assert_int_equal(r.equal, leaf_of(f, 5));
	assert_true(r.new_group);
	assert_int_equal(sdtree_count(f->t), 2);
	r = insert1(f, 6);
	assert_true(r.inserted);
	assert_int_equal(r.equal, NONE);
	r = insert1(f, 5 + 24);
	assert_true(r.inserted);
	assert_true(r.equal == leaf_of(f, 5) || r.equal == leaf_of(f, 5 + 8));
	assert_false(r.new_group);
	r = insert1(f, 5);			/* the same leaf again */
	assert_false(r.inserted);
	assert_int_equal(sdtree_count(f->t), 4);
	do_insert_res(f, &f->w, two, 2, r2);	/* one new, one there */
	assert_false(r2[0].inserted);
	assert_true(r2[1].inserted);
	assert_true(r2[1].equal == leaf_of(f, 5) ||
		    r2[1].equal == leaf_of(f, 5 + 8) ||
		    r2[1].equal == leaf_of(f, 5 + 24));
	assert_false(r2[1].new_group);
	assert_int_equal(sdtree_count(f->t), 5);
	check_model(f, true);

	/* The group shrinks leaf by leaf; each step it is still found. */
	do_delete(f, 5 + 8, false);
	do_delete(f, 5 + 8, true);		/* gone already */
	check_model(f, true);
	do_delete(f, 5, true);
	do_delete(f, 5 + 24, false);
	check_model(f, true);
	assert_int_equal(f->cnt[5], 1);
	do_delete(f, 5 + 16, true);
	check_model(f, true);
	assert_int_equal(f->cnt[5], 0);
	/* Alone again: the next one makes a new group with it. */
	insert1(f, 5 + 16);
	r = insert1(f, 5 + 8);
	assert_int_equal(r.equal, leaf_of(f, 5 + 16));
	assert_true(r.new_group);
	check_model(f, true);
	fx_free(f);
}

/*
 * A lookup's leaf id is ignored (sdtree.h): also when it is the id of a
 * leaf in the tree with the key's content, as when a caller asks about the
 * page of a leaf it inserted. Every content of a full tree is looked up
 * with the id of one of its leaves in the tree, of one not in it, and of a
 * leaf of another content.
 */
static void test_lookup_leaf_in_tree(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 2; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 50,
				      .per = 3 };
		struct fx *f = fx_new(&prm);
		uint32_t n = prm.ncontent, *slots = seq(0, 2 * n);
		struct sdtree_key keys[3];
		uint32_t found[3];

		insert_all(f, slots, 2 * n);
		insert1(f, slot_k(f, 0, 2));
		for (uint32_t c = 0; c < n; c++) {
			for (int i = 0; i < 3; i++)
				keys[i] = content_key(f, c);
			keys[0].leaf = leaf_of(f, slot_k(f, c, c % 2));
			keys[1].leaf = leaf_of(f, slot_k(f, c, 2));
			keys[2].leaf = leaf_of(f, slot_k(f, (c + 1) % n, 0));
			sdtree_lookup_batch(f->t, &f->w, 3, keys, found);
			check_balanced(f, "lookup");
			for (int i = 0; i < 3; i++)
				if (!in_leaf_of(f, found[i], c))
					fail_msg("lookup content %u with leaf id "
						 "%#x (%s): found %#x", c,
						 keys[i].leaf, i == 0 ?
						 "in the tree, equal" : i == 1 ?
						 "equal content" : "other content",
						 found[i]);
		}
		free(slots);
		fx_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[0]),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[1]),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[2]),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[3]),
		cmocka_unit_test(test_insert_equal),
		cmocka_unit_test(test_lookup_leaf_in_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
