// SPDX-License-Identifier: GPL-2.0-only
/*
 * NUMA nodes kept apart (merge_across_nodes = no): a region that says
 * where its pages are, and asks for nodes apart, finds equal pages only on
 * their node, whichever way the trees are keyed; a page of no known node
 * is merged with none, and one that moves is keyed by its new node. Told
 * the nodes only (for placing workers), it merges across them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "placement.h"
#include "scan_fixture.h"

#define STRIPE 512

/* Where an image's pages are: all on one node, as nodes() tells it. */
struct where {
	int16_t node;
	unsigned int calls;
	bool fail;
};

static int nodes_of(void *ctx, uint64_t first, unsigned int n, int16_t *node)
{
	struct where *pl = ctx;
	unsigned int i;

	__atomic_add_fetch(&pl->calls, 1, __ATOMIC_RELAXED);
	if (first % STRIPE || n > STRIPE)
		return -EINVAL;	/* one call a stripe, or no answer */
	for (i = 0; i < n; i++)
		node[i] = pl->node;
	return pl->fail ? -EIO : 0;
}

static uint32_t add_on(struct pone_engine *e, const struct image *img,
		       struct where *pl, bool verified, bool apart)
{
	struct pone_region_desc d = { .name = "image", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1, .merges_verified = verified,
				      .nodes = nodes_of, .nodes_ctx = pl,
				      .nodes_apart = apart };
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
 * a and b on node 0, c on node 1, all alike, nodes apart or not; after
 * three merge passes, what each pass found.
 */
static void three(struct scan_fx *f, bool verified, bool apart,
		  size_t *ndup, size_t *across)
{
	struct where p0 = { 0 }, p1 = { .node = 1 };
	struct image b = build(), c = build();
	uint32_t a0 = add_on(f->e, &f->img, &p0, verified, apart);
	uint32_t b0 = add_on(f->e, &b, &p0, verified, apart);
	uint32_t c1 = add_on(f->e, &c, &p1, verified, apart);
	size_t found = 0;
	int k;

	for (k = 0; k < 3; k++) {
		scan(f->e, PONE_PASS_MERGE, &f->s);
		found += f->s.ndup;
		*across += between(&f->s, a0, c1) + between(&f->s, b0, c1);
	}
	*ndup = found;
	/* nodes() once a stripe: 3 stripes an image, a pass. */
	assert_int_equal(p0.calls, 2 * 3 * 3);
	assert_int_equal(p1.calls, 3 * 3);
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
	struct where none = { .node = -1 }, far = { .node = PONE_NODES };
	struct image b = build();
	size_t found = 0;
	int k;

	add_on(f->e, &f->img, &none, false, true);
	add_on(f->e, &b, &far, false, true);
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
	struct where p0 = { 0 }, p1 = { .node = 1 };
	struct image b = build();
	uint32_t a0 = add_on(f->e, &f->img, &p0, false, true);
	uint32_t b1 = add_on(f->e, &b, &p1, false, true);
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
	struct where p0 = { 0 }, p1 = { .node = 1 };
	struct image b = build();
	uint32_t a0 = add_on(f->e, &f->img, &p0, true, true);
	uint32_t b1 = add_on(f->e, &b, &p1, true, true);
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

/* Nodes kept apart need nodes(): without it, no region. */
static void apart_needs_nodes(void **state)
{
	struct scan_fx *f = *state;
	struct pone_region_desc d = { .name = "image", .pages = f->img.pages,
				      .mode = PONE_READ_MAP, .map = f->img.mem,
				      .fd = -1, .nodes_apart = true };
	uint32_t id;

	assert_int_equal(pone_engine_add_region(f->e, &d, &id), -EINVAL);
}

/* Pages and local pages of the workers on each node, and how many nodes
 * have workers. */
static unsigned int node_reads(struct pone_engine *e, uint64_t *pages,
			       uint64_t *local)
{
	struct pone_node_workers nw;
	unsigned int placed = 0;
	int node;

	for (node = 0; node < PONE_NODES; node++) {
		pages[node] = local[node] = 0;
		if (pone_engine_node_workers(e, node, &nw))
			continue;
		placed++;
		pages[node] = nw.pages;
		local[node] = nw.local;
		assert_true(nw.local <= nw.pages);
	}
	return placed;
}

/*
 * Workers placed by node count the pages of a known node in the stripes
 * they took: each pass, every page of an image on the first node with
 * CPUs, the first node's workers' as local, no other's. On a host of one
 * node (by libnuma) none is placed, and there is nothing to count.
 */
static void node_workers(void **state)
{
	struct scan_fx *f = *state;
	struct pone_engine_config cfg = { .threads = 2, .numa_workers = true };
	uint64_t pages[2][PONE_NODES], local[2][PONE_NODES], all = 0;
	struct placement host;
	struct pone_node_workers nw;
	struct pone_engine *e;
	struct where on;
	unsigned int placed;
	int node;

	assert_int_equal(placement_init(&host), 0);
	on = (struct where){ .node = (int16_t)(host.nodes ? host.node[0] : 0) };
	assert_int_equal(pone_engine_new(&cfg, &e), 0);
	add_on(e, &f->img, &on, false, false);
	scan(e, PONE_PASS_RECLAIM, &f->s);
	placed = node_reads(e, pages[0], local[0]);
	scan(e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(node_reads(e, pages[1], local[1]), placed);
	assert_int_equal(placed, host.nodes < 2 ? 0 :
			 host.nodes < cfg.threads ? host.nodes : cfg.threads);
	for (node = 0; node < PONE_NODES; node++) {
		uint64_t got = pages[1][node] - pages[0][node];

		all += got;
		assert_int_equal(local[1][node] - local[0][node],
				 node == on.node ? got : 0);
	}
	assert_int_equal(all, placed ? PAGES : 0);
	assert_int_equal(pone_engine_node_workers(e, -1, &nw), -ENOENT);
	pone_engine_free(e);
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
		scan_fx_test(apart_needs_nodes),
		scan_fx_test(node_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
