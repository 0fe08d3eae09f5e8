// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree of pages that differ by little: a long zero prefix, a single bit,
 * the first or the last bit of the page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sdtree_fixture.h"

/*
 * Pages equal over their first 2 KiB and more: one bit apart, or only
 * their last two bytes apart, under every hash mode.
 */
static void test_zero_prefix(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_FEW, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 3 * 1024,
				      .per = 2, .gen = gen_zero_prefix };
		struct fx *f = fx_new(&prm);
		uint32_t n = f->nslot;
		uint32_t *slots = seq(0, n);

		shuffle(slots, n);
		insert_all(f, slots, n);
		check_model(f, true);
		for (uint32_t i = 0; i < n; i += 2)
			do_delete(f, slots[i], i % 4 == 0);
		check_model(f, true);
		free(slots);
		fx_free(f);
	}
}

/*
 * Hand-made neighbours: the zero page, and pages that differ from it (and
 * from each other) only in the very last bit, the very first page bit, or
 * bit by bit along one byte.
 */
static void gen_edges(unsigned char *p, uint32_t cid)
{
	memset(p, 0, PS);
	if (cid == 0)
		return;
	if (cid <= 8) {
		p[PS - 1] = (unsigned char)(1u << (cid - 1));	/* last byte */
	} else if (cid <= 16) {
		p[0] = (unsigned char)(1u << (cid - 9));	/* first byte */
	} else if (cid <= 24) {
		p[PS / 2] = (unsigned char)(1u << (cid - 17));
	} else {
		p[PS - 1] = (unsigned char)cid;			/* 25..255 */
		p[PS - 2] = 0xff;
	}
}

static void test_edge_bits(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_FEW, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 256,
				      .per = 2, .gen = gen_edges,
				      .high_ids = m == 2 };
		struct fx *f = fx_new(&prm);
		uint32_t *slots = seq(0, 512);

		for (int round = 0; round < 4; round++) {
			/* One leaf per content, or both. */
			uint32_t n = round == 3 ? 512 : 256;

			for (uint32_t i = 0; i < n; i++)
				slots[i] = i < 256 ? i + 256 * (uint32_t)(round % 2) :
					   i - 256 * (uint32_t)(round % 2);
			shuffle(slots, n);
			for (uint32_t i = 0; i < n; i++)
				insert1(f, slots[i]);
			check_model(f, true);
			shuffle(slots, n);
			for (uint32_t i = 0; i < n; i++)
				do_delete(f, slots[i], (i + round) % 2);
			check_model(f, false);
		}
		free(slots);
		fx_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_prefix),
		cmocka_unit_test(test_edge_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
