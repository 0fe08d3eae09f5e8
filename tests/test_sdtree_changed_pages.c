// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree leaves whose pages no longer read as they went in: a page that
 * cannot be read, and one a guest wrote while its leaf was in the tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdtree_fixture.h"

/*
 * A leaf whose page cannot be read any more: keys that need its page are
 * not found or not inserted (no leaf_put for the failed get, no crash);
 * keys decided elsewhere are not affected; it can still be deleted, with
 * or without the page, after which its content can come back.
 */
static void test_unreadable(void **state)
{
	struct params prm = { .hmode = HASH_FEW, .ncontent = 60, .per = 3 };
	struct fx *f = fx_new(&prm);
	uint32_t n = prm.ncontent, u = 7, uc = 7;
	struct sdtree_key keys[BMAX];
	struct sdtree_result res[BMAX];
	uint32_t found[BMAX];
	uint32_t *slots = seq(0, n);

	(void)state;
	insert_all(f, slots, n);
	check_model(f, false);
	f->unreadable[u] = true;

	/* Every content looked up, then inserted under second leaves. */
	for (uint32_t c = 0; c < n; c++)
		keys[c] = content_key(f, c);
	sdtree_lookup_batch(f->t, &f->w, n, keys, found);
	for (uint32_t c = 0; c < n; c++)
		assert_int_equal(found[c], c == uc ? NONE : leaf_of(f, c));
	check_balanced(f, "lookup");
	for (uint32_t c = 0; c < n; c++)
		keys[c] = slot_key(f, slot_k(f, c, 1));
	sdtree_insert_batch(f->t, &f->w, n, keys, res);
	check_balanced(f, "insert");
	for (uint32_t c = 0; c < n; c++) {
		if (c == uc) {
			assert_false(res[c].inserted);
			continue;
		}
		assert_true(res[c].inserted);
		assert_int_equal(res[c].equal, leaf_of(f, c));
		assert_true(res[c].new_group);
		f->in[slot_k(f, c, 1)] = true;
		f->cnt[c]++;
		f->present++;
	}
	assert_int_equal(sdtree_count(f->t), f->present);

	/* New contents: decided by the hash, or blocked by the leaf. */
	{
		unsigned char *pg = page_alloc(1);
		uint64_t h = f->chash[uc];

		gen_mixed(pg, 100000);
		keys[0] = (struct sdtree_key){ h, 0, pg };	/* hash of u */
		keys[1] = (struct sdtree_key){ ~h, 0, pg };	/* none such */
		keys[2] = (struct sdtree_key){ h, 0, slot_page(f, u) };
		sdtree_lookup_batch(f->t, &f->w, 3, keys, found);
		assert_int_equal(found[0], NONE);
		assert_int_equal(found[1], NONE);
		assert_int_equal(found[2], NONE);
		check_balanced(f, "lookup");
		free(pg);
	}

	/*
	 * u's content under a readable leaf, beside u: inserted or not
	 * (where the key's leaf bits lead), never u named as equal.
	 */
	f->unreadable[u] = false;
	insert1(f, slot_k(f, uc, 2));	/* so u is in a group of two */
	f->unreadable[u] = true;
	keys[0] = slot_key(f, slot_k(f, uc, 1));
	sdtree_insert_batch(f->t, &f->w, 1, keys, res);
	check_balanced(f, "insert");
	if (res[0].inserted) {
		assert_int_equal(res[0].equal, leaf_of(f, slot_k(f, uc, 2)));
		assert_false(res[0].new_group);
		f->in[slot_k(f, uc, 1)] = true;
		f->cnt[uc]++;
		f->present++;
	}
	keys[0] = content_key(f, uc);
	sdtree_lookup_batch(f->t, &f->w, 1, keys, found);
	assert_true(found[0] == NONE || (found[0] != leaf_of(f, u) &&
					 in_leaf_of(f, found[0], uc)));
	check_balanced(f, "lookup");
	assert_int_equal(sdtree_count(f->t), f->present);

	/* Delete u: it is found without reading its page. */
	do_delete(f, u, rnd_below(2));
	f->unreadable[u] = false;
	check_model(f, true);
	insert1(f, u);
	check_model(f, true);

	/* An unreadable leaf alone at the root. */
	delete_all(f);
	insert1(f, 3);
	f->unreadable[3] = true;
	keys[0] = content_key(f, 3);
	sdtree_lookup_batch(f->t, &f->w, 1, keys, found);
	assert_int_equal(found[0], NONE);
	keys[0] = slot_key(f, slot_k(f, 3, 1));
	sdtree_insert_batch(f->t, &f->w, 1, keys, res);
	assert_false(res[0].inserted);
	assert_int_equal(res[0].equal, NONE);
	check_balanced(f, "insert");
	assert_int_equal(sdtree_count(f->t), 1);
	do_delete(f, 3, true);
	f->unreadable[3] = false;
	check_model(f, false);
	free(slots);
	fx_free(f);
}

/*
 * A leaf whose page changed since it went in (a guest wrote it between two
 * passes) sits where its new content does not belong. A key that differs
 * from that new content just at the node above the leaf stays out (its
 * page comes back next period) rather than retry for ever.
 */
static const unsigned char *moving_page[4];

static uint64_t moving_hash(void *ctx, uint32_t leaf)
{
	(void)ctx;
	(void)leaf;
	return 0;
}

static void moving_prefetch(void *ctx, uint32_t leaf)
{
	(void)ctx;
	(void)leaf;
}

static const void *moving_get(void *ctx, uint32_t leaf, void *buf)
{
	(void)ctx;
	(void)buf;
	return moving_page[leaf];
}

static void moving_put(void *ctx, uint32_t leaf)
{
	(void)ctx;
	(void)leaf;
}

static void test_leaf_changed_under_tree(void **state)
{
	struct sdtree_source src = { .leaf_hash = moving_hash,
				     .leaf_prefetch = moving_prefetch,
				     .leaf_get = moving_get,
				     .leaf_put = moving_put };
	unsigned char *a = page_alloc(1), *b = page_alloc(1), *k = page_alloc(1);
	unsigned char *scratch = page_alloc(1);
	struct pone_backend *be = pone_backend_cpu_new();
	struct sdtree_key keys[2] = { { 0, 1, a }, { 0, 2, b } };
	struct sdtree_result res[2];
	struct sdtree_worker w;
	struct sdtree *t;

	(void)state;
	memset(a, 0, PONE_PAGE_SIZE);
	memset(b, 0, PONE_PAGE_SIZE);
	memset(k, 0, PONE_PAGE_SIZE);
	b[100] = 0x80;			/* the node: byte 100's top bit */
	moving_page[1] = a;
	moving_page[2] = b;
	moving_page[3] = k;
	assert_int_equal(sdtree_new(&src, be, SDTREE_BY_CONTENT, &t), 0);
	assert_int_equal(sdtree_worker_init(&w, scratch), 0);
	sdtree_insert_batch(t, &w, 2, keys, res);
	assert_true(res[0].inserted && res[1].inserted);
	/* Leaf 1 now holds b's top bit, and more; k is it less that bit. */
	a[100] = 0x80;
	a[200] = 1;
	k[200] = 1;
	keys[0] = (struct sdtree_key){ 0, 3, k };
	alarm(10);		/* a retry for ever fails here */
	sdtree_insert_batch(t, &w, 1, keys, res);
	alarm(0);
	assert_false(res[0].inserted);
	assert_int_equal(sdtree_count(t), 2);
	/* Once leaf 1 is back where its content says, k goes in. */
	a[100] = 0;
	sdtree_insert_batch(t, &w, 1, keys, res);
	assert_true(res[0].inserted);
	assert_int_equal(res[0].equal, 1);
	sdtree_worker_fini(&w);
	sdtree_free(t);
	pone_backend_destroy(be);
	free(a);
	free(b);
	free(k);
	free(scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_leaf_changed_under_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
