// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree memory: nodes deleted come back through quiescence while the tree
 * is in use, and workers taking turns do not share nodes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sdtree_fixture.h"

static size_t tree_bytes(struct fx *f)
{
	size_t nodes = 0, arena = 0;

	sdtree_memory(f->t, &nodes, &arena);
	return nodes + arena;
}

/*
 * Two workers take turns on one tree; the tree is emptied and quiesced
 * between rounds, so nodes either took come back through the free list
 * while both still hold ranges of their own. Then a third worker starts
 * next to one that allocated many nodes before it: their nodes must not
 * overlap.
 */
static void test_workers(void **state)
{
	struct params prm = { .hmode = HASH_FEW, .ncontent = 2000, .per = 2 };
	struct fx *f = fx_new(&prm);
	uint32_t n = prm.ncontent;
	uint32_t *slots = seq(0, n);
	struct sdtree_worker w3;
	void *scratch3 = page_alloc(1);

	(void)state;
	for (int round = 0; round < 4; round++) {
		shuffle(slots, n);
		insert_all(f, slots, n * 2 / 3);
		/* The second worker inserts the rest, and second leaves. */
		for (uint32_t c = 0; c < n; c++) {
			uint32_t s = slot_k(f, c, (uint32_t)(round % 2));

			if (!f->in[s])
				do_insert(f, &f->w2, &s, 1);
		}
		check_model(f, round == 0);
		for (uint32_t i = 0; i < n / 3; i++)
			do_delete(f, slots[i], i % 2);
		if (round % 2)
			sdtree_quiesce(f->t);
		check_model(f, false);
		delete_all(f);
		sdtree_quiesce(f->t);
		assert_int_equal(sdtree_count(f->t), 0);
		check_model(f, false);
	}

	assert_int_equal(sdtree_worker_init(&w3, scratch3), 0);
	for (uint32_t i = 0; i < 500; i++)
		do_insert(f, &f->w, &i, 1);
	for (uint32_t i = 0; i < f->nslot; i++) {
		if (!f->in[i])
			do_insert(f, i % 2 ? &f->w : &w3, &i, 1);
		if (i % 250 == 0)
			check_model(f, false);
	}
	check_model(f, true);
	sdtree_worker_fini(&w3);
	free(scratch3);
	free(slots);
	fx_free(f);
}

/*
 * Many rounds of random inserts, deletes and lookups, sdtree_quiesce()
 * after each, so deleted nodes come back while the tree is in use: the
 * model must hold after every round, and the tree must not grow much (it
 * would if recycled nodes were never handed out again: over 60 000 nodes
 * are allocated here for at most 4 500 live ones; the recycled lists
 * themselves may grow to about one chunk's worth of indices).
 */
static void test_quiesce_rounds(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_FEW, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 1500,
				      .per = 3, .copy = m == 1 };
		struct fx *f = fx_new(&prm);
		size_t bytes1 = 0;

		for (int round = 0; round < 200; round++) {
			for (int op = 0; op < 300; op++) {
				uint32_t s[BMAX], n = 1 + rnd_below(16);

				switch (rnd_below(3)) {
				case 0:
					for (uint32_t i = 0; i < n; i++)
						s[i] = rnd_below(f->nslot);
					do_insert(f, &f->w, s, n);
					break;
				case 1:
					for (uint32_t i = 0; i < n; i++) {
						uint32_t c = rnd_below(prm.ncontent);

						/* Mostly leaves that are in. */
						if (f->cnt[c] && rnd_below(4))
							do_delete(f, in_slot(f, c),
								  rnd_below(2));
						else
							do_delete(f, rnd_below(f->nslot),
								  rnd_below(2));
					}
					break;
				default:
					for (uint32_t i = 0; i < n; i++)
						s[i] = rnd_below(prm.ncontent);
					lookup_check(f, &f->w, s, n);
					break;
				}
			}
			check_model(f, round % 20 == 0);
			sdtree_quiesce(f->t);
			if (round == 0)
				bytes1 = tree_bytes(f);
		}
		print_message("hash mode %zu: %lu inserts, %u leaves, %zu -> %zu "
			      "bytes\n", m, f->inserted, f->present, bytes1,
			      tree_bytes(f));
		assert_true(f->inserted > 60000);
		assert_true(tree_bytes(f) < 3 * bytes1);
		fx_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_quiesce_rounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
