// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree changed by another thread while a batch is under way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sdtree_fixture.h"

/*
 * Another thread changes the tree while a batch is between its first pass
 * (every key descended and compared, no lock held) and its inserts. Here the
 * source callbacks play that thread, at a fixed point, so the interleaving
 * is exact (only in the first pass: later reads of pages happen under a
 * node lock, where a callback must not enter the tree). All keys have one
 * hash. The root tests the first page bit, F on one side, E on the other;
 * content C, none of it in the tree, shares the first page bit of E. Both
 * keys of the batch (C, leaves B and D) reach E and are not equal to it.
 * When the first key reads E, A (content C) is inserted (and, in the second
 * variant, deleted again and X of content C inserted instead). Then, in
 * order: B must name A (or X) as equal, a new group; D must name A or B
 * (X or B), no new group. Answering from the stale first pass would give
 * SDTREE_NONE, and a second group of C beside the first.
 */
enum { STALE_E = 0, STALE_A = 1, STALE_F = 2, STALE_B = 1 + 3,
       STALE_D = 1 + 6, STALE_X = 1 + 9 };

static void gen_stale(unsigned char *p, uint32_t cid)
{
	memset(p, 0, PS);
	if (cid == 0)
		p[100] = 1;	/* E */
	else if (cid == 1)
		p[200] = 1;	/* C */
	else
		p[0] = 0x80;	/* F */
}

static void stale_hook(struct fx *f, uint32_t leaf)
{
	uint32_t s;

	if (f->hook_step == 0 && leaf == leaf_of(f, STALE_E)) {
		f->hook_step = 1;
		s = STALE_A;
		do_insert(f, &f->w2, &s, 1);
		if (f->hook_variant) {
			do_delete(f, STALE_A, false);
			s = STALE_X;
			do_insert(f, &f->w2, &s, 1);
		}
	}
}

static void test_batch_stale_equal_hint(void **state)
{
	(void)state;
	for (int variant = 0; variant < 2; variant++) {
		struct params prm = { .hmode = HASH_CONST, .ncontent = 3,
				      .per = 4, .copy = variant,
				      .gen = gen_stale };
		struct fx *f = fx_new(&prm);
		uint32_t s[2] = { STALE_B, STALE_D };
		struct sdtree_result r[2];
		uint32_t first = leaf_of(f, variant ? STALE_X : STALE_A);

		insert1(f, STALE_E);
		insert1(f, STALE_F);
		f->hook = stale_hook;
		f->hook_variant = variant;
		do_insert_res(f, &f->w, s, 2, r);	/* checks both */
		assert_int_equal(f->hook_step, 1);
		f->hook = NULL;
		assert_int_equal(r[0].equal, first);
		assert_true(r[0].new_group);
		assert_true(r[1].equal == first ||
			    r[1].equal == leaf_of(f, STALE_B));
		assert_false(r[1].new_group);
		assert_int_equal(f->cnt[1], 3);
		check_model(f, true);
		fx_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_stale_equal_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
