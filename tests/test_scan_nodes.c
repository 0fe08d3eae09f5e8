// SPDX-License-Identifier: GPL-2.0-only
/*
 * NUMA nodes kept apart (merge_across_nodes = no): a region that says
 * where its pages are finds equal pages only on their node, whichever way
 * the trees are keyed; a page of no known node is merged with none, and
 * one that moves is keyed by its new node.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "scan_fixture.h"

#define STRIPE 512

/* Where an image's pages are: all on one node, as nodes() tells it. */
struct placement {
	int16_t node;
	unsigned int calls;
	bool fail;
};

static int nodes_of(void *ctx, uint64_t first, unsigned int n, int16_t *node)
{
	struct placement *pl = ctx;
	unsigned int i;

	__atomic_add_fetch(&pl->calls, 1, __ATOMIC_RELAXED);
	if (first % STRIPE || n > STRIPE)
		return -EINVAL;	/* one call a stripe, or no answer */
	for (i = 0; i < n; i++)
		node[i] = pl->node;
	return pl->fail ? -EIO : 0;
}

static uint32_t add_on(struct pone_engine *e, const struct image *img,
		       struct placement *pl, bool verified)
{
	struct pone_region_desc d = { .name = "image", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1, .merges_verified = verified,
				      .nodes = pl ? nodes_of : NULL,
				      .nodes_ctx = pl };
	uint32_t id;

	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	return id;
}

static size_t between(const struct seen *s, uint32_t x, uint32_t y)
{
	size_t i, n = 0;

	for (i = 0; i < s->ndup; i++) {
		const struct pone_dup *d = &s->dup[i];

		n += (d->member.region == x && d->canonical.region == y) ||
		     (d->member.region == y && d->canonical.region == x);
	}
	return n;
}

/*
 * a and b on node 0, c on node 1 (pl: NULL for all, merging across
 * nodes), all alike; after three merge passes, what each pass found.
 */
static void three(struct scan_fx *f, bool verified, bool apart,
		  size_t *ndup, size_t *across)
{
	struct placement p0 = { 0 }, p1 = { .node = 1 };
	struct image b = build(), c = build();
	uint32_t a0 = add_on(f->e, &f->img, apart ? &p0 : NULL, verified);
	uint32_t b0 = add_on(f->e, &b, apart ? &p0 : NULL, verified);
	uint32_t c1 = add_on(f->e, &c, apart ? &p1 : NULL, verified);
	size_t found = 0;
	int k;

	for (k = 0; k < 3; k++) {
		scan(f->e, PONE_PASS_MERGE, &f->s);
		found += f->s.ndup;
		*across += between(&f->s, a0, c1) + between(&f->s, b0, c1);
	}
	*ndup = found;
	/* nodes() once a stripe: 3 stripes an image, a pass. */
	if (apart) {
		assert_int_equal(p0.calls, 2 * 3 * 3);
		assert_int_equal(p1.calls, 3 * 3);
	}
	image_free(&b);
	image_free(&c);
}

/* Every build() is alike, its unique pages too: a and b share each
 * group's 2 x GROUP_SIZE pages but one, and one of each unique pair, c
 * has its own groups. Across nodes, c's unique pages would be members
 * too, and its groups' pages all but none. */
static void apart(struct scan_fx *f, bool verified)
{
	size_t ndup, across = 0;

	three(f, verified, true, &ndup, &across);
	assert_int_equal(ndup, GROUPS * (2 * GROUP_SIZE - 1) + UNIQUE +
			       GROUPS * (GROUP_SIZE - 1));
	assert_int_equal(across, 0);
}

static void together(struct scan_fx *f, bool verified)
{
	size_t ndup, across = 0;

	three(f, verified, false, &ndup, &across);
	assert_int_equal(ndup, GROUPS * (3 * GROUP_SIZE - 1) + 2 * UNIQUE);
	assert_true(across > 0);
}

static void apart_by_content(void **state)
{
	apart(*state, false);
}

static void apart_by_hash(void **state)
{
	apart(*state, true);
}

static void together_by_content(void **state)
{
	together(*state, false);
}

static void together_by_hash(void **state)
{
	together(*state, true);
}

/* Pages on no known node (or one past PONE_NODES) merge with none. */
static void unknown_node(void **state)
{
	struct scan_fx *f = *state;
	struct placement none = { .node = -1 }, far = { .node = PONE_NODES };
	struct image b = build();
	size_t found = 0;
	int k;

	add_on(f->e, &f->img, &none, false);
	add_on(f->e, &b, &far, false);
	for (k = 0; k < 3; k++) {
		scan(f->e, PONE_PASS_MERGE, &f->s);
		found += f->s.ndup;
	}
	assert_int_equal(found, 0);
	image_free(&b);
}

/* A region whose nodes() fails keeps its pages' nodes as they were:
 * apart from the other node's still. */
static void no_answer_keeps_nodes(void **state)
{
	struct scan_fx *f = *state;
	struct placement p0 = { 0 }, p1 = { .node = 1 };
	struct image b = build();
	uint32_t a0 = add_on(f->e, &f->img, &p0, false);
	uint32_t b1 = add_on(f->e, &b, &p1, false);
	size_t across = 0;
	int k;

	scan(f->e, PONE_PASS_MERGE, &f->s);
	p1.fail = true;
	p1.node = 0;
	for (k = 0; k < 3; k++) {
		scan(f->e, PONE_PASS_MERGE, &f->s);
		across += between(&f->s, a0, b1);
	}
	assert_int_equal(across, 0);
	image_free(&b);
}

/* Pages moved to the other image's node meet its pages there. */
static void moved(void **state)
{
	struct scan_fx *f = *state;
	struct placement p0 = { 0 }, p1 = { .node = 1 };
	struct image b = build();
	uint32_t a0 = add_on(f->e, &f->img, &p0, true);
	uint32_t b1 = add_on(f->e, &b, &p1, true);
	size_t across = 0;
	int k;

	for (k = 0; k < 3; k++) {
		scan(f->e, PONE_PASS_MERGE, &f->s);
		across += between(&f->s, a0, b1);
	}
	assert_int_equal(across, 0);
	p1.node = 0;
	scan(f->e, PONE_PASS_MERGE, &f->s);
	/* b's groups join a's and its unique pages pair with a's. */
	assert_int_equal(between(&f->s, a0, b1),
			 GROUPS * GROUP_SIZE + UNIQUE);
	image_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scan_fx_test(apart_by_content),
		scan_fx_test(apart_by_hash),
		scan_fx_test(together_by_content),
		scan_fx_test(together_by_hash),
		scan_fx_test(unknown_node),
		scan_fx_test(no_answer_keeps_nodes),
		scan_fx_test(moved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
