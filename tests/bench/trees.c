// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree against a KSM-style red-black tree, on one thread, with the same
 * pages and the same keys: a tree of L random pages, then lookups of Q keys
 * in a random mix of keys equal to a tree page (a copy elsewhere in memory,
 * so the final compare reads two pages, as in the engine) and keys equal
 * to none. Done twice: pages with no common prefix, and pages that all open
 * with 2 KiB of zeros, where every memcmp() on a red-black path first reads
 * 2 KiB of both pages; the SD tree should not care.
 *
 * The SD tree's source hands leaf pages out in place, as the red-black tree
 * reads them, so both trees pay the same for page memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <pone/backend.h>

#include "bench.h"
#include "image.h"
#include "rand.h"
#include "rbtree.h"
#include "sdtree.h"

#define LOOKUP_BATCH 64		/* the engine's default batch */
#define REPS 5
#define MAX_QUERIES 65536u
#define PREFIX 2048u

struct set {
	struct image tree;	/* leaf i is page i; content ids 1..L */
	uint64_t *hash;		/* key hash of each tree page */
	uint8_t *qmem;		/* query pages */
	struct sdtree_key *keys;
	uint32_t *expect;	/* leaf equal to query i, or SDTREE_NONE */
	size_t nq, present;
};

/* Lookups per second, median of REPS; and inserts per second. */
struct rates {
	double sd, rb, sd_build, rb_build;
};

static uint64_t leaf_hash(void *ctx, uint32_t leaf)
{
	const struct set *s = ctx;

	return s->hash[leaf];
}

static void leaf_prefetch(void *ctx, uint32_t leaf)
{
	const struct set *s = ctx;

	__builtin_prefetch(&s->hash[leaf]);
}

static const void *leaf_get(void *ctx, uint32_t leaf, void *buf)
{
	const struct set *s = ctx;

	(void)buf;
	return image_page(&s->tree, leaf);
}

static void leaf_put(void *ctx, uint32_t leaf)
{
	(void)ctx;
	(void)leaf;
}

static void hash_pages(const struct pone_backend *be, const uint8_t *mem,
		       size_t n, uint64_t *out)
{
	const void *p[LOOKUP_BATCH];
	uint64_t h[LOOKUP_BATCH];
	size_t i, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < LOOKUP_BATCH && i + k < n; k++)
			p[k] = mem + (i + k) * 4096;
		be->hash(be, p, k, h);
		for (size_t j = 0; j < k; j++)
			out[i + j] = h[j];
	}
}

static void set_free(struct set *s)
{
	image_free(&s->tree);
	if (s->qmem)
		munmap(s->qmem, s->nq * 4096);
	free(s->hash);
	free(s->keys);
	free(s->expect);
	memset(s, 0, sizeof(*s));
}

static int set_build(struct set *s, const struct pone_backend *be,
		     size_t leaves, size_t nq, uint32_t prefix)
{
	struct image_layout l = { .unique = leaves, .zero_prefix = prefix,
				  .seed = 7 };
	uint64_t *qhash;
	size_t i;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = image_build(&s->tree, &l);
	if (ret)
		return ret;
	s->nq = nq;
	s->qmem = mmap(NULL, nq * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (s->qmem == MAP_FAILED)
		s->qmem = NULL;
	s->hash = malloc(leaves * sizeof(*s->hash));
	s->keys = malloc(nq * sizeof(*s->keys));
	s->expect = malloc(nq * sizeof(*s->expect));
	qhash = malloc(nq * sizeof(*qhash));
	if (!s->qmem || !s->hash || !s->keys || !s->expect || !qhash) {
		free(qhash);
		set_free(s);
		return -ENOMEM;
	}
	for (i = 0; i < nq; i++) {
		uint64_t r = mix64(0x5eed0000u + i);
		uint8_t *q = s->qmem + i * 4096;

		if (r & 1) {
			size_t leaf = (r >> 1) % leaves;

			image_fill(q, s->tree.content[leaf], prefix);
			s->expect[i] = (uint32_t)leaf;
			s->present++;
		} else {
			/* Ids past the tree's are in no tree page. */
			image_fill(q, leaves + 1 + i, prefix);
			s->expect[i] = SDTREE_NONE;
		}
	}
	hash_pages(be, s->tree.mem, leaves, s->hash);
	hash_pages(be, s->qmem, nq, qhash);
	for (i = 0; i < nq; i++)
		s->keys[i] = (struct sdtree_key){ qhash[i], SDTREE_NONE,
						  s->qmem + i * 4096 };
	free(qhash);
	return 0;
}

static int sd_build(struct sdtree *t, struct sdtree_worker *w,
		    const struct set *s)
{
	struct sdtree_key keys[LOOKUP_BATCH];
	struct sdtree_result res[LOOKUP_BATCH];
	size_t n = s->tree.pages, i, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < LOOKUP_BATCH && i + k < n; k++) {
			keys[k].leaf = (uint32_t)(i + k);
			keys[k].hash = s->hash[i + k];
			keys[k].page = image_page(&s->tree, i + k);
		}
		sdtree_insert_batch(t, w, k, keys, res);
		/* Every tree page is unique: each must go in, alone. */
		for (size_t j = 0; j < k; j++)
			if (!res[j].inserted || res[j].equal != SDTREE_NONE)
				return -EPROTO;
	}
	return 0;
}

static int rb_build(struct rb_tree *t, struct rb_node *nodes,
		    const struct set *s)
{
	size_t i;

	rb_init(t);
	for (i = 0; i < s->tree.pages; i++) {
		nodes[i].page = image_page(&s->tree, i);
		if (rb_insert(t, &nodes[i]) != &nodes[i])
			return -EPROTO;
	}
	return 0;
}

static uint64_t sd_lookups(struct sdtree *t, struct sdtree_worker *w,
			   const struct set *s, uint32_t *found)
{
	uint64_t t0 = bench_now_ns();
	size_t i, k;

	for (i = 0; i < s->nq; i += k) {
		k = s->nq - i < LOOKUP_BATCH ? s->nq - i : LOOKUP_BATCH;
		sdtree_lookup_batch(t, w, k, s->keys + i, found + i);
	}
	return bench_now_ns() - t0;
}

static uint64_t rb_lookups(const struct rb_tree *t, const struct set *s,
			   struct rb_node **found)
{
	uint64_t t0 = bench_now_ns();
	size_t i;

	for (i = 0; i < s->nq; i++)
		found[i] = rb_lookup(t, s->keys[i].page);
	return bench_now_ns() - t0;
}

static size_t sd_wrong(const struct set *s, const uint32_t *found)
{
	size_t i, bad = 0;

	for (i = 0; i < s->nq; i++)
		bad += found[i] != s->expect[i];
	return bad;
}

static size_t rb_wrong(const struct set *s, const struct rb_node *nodes,
		       struct rb_node *const *found)
{
	size_t i, bad = 0;

	for (i = 0; i < s->nq; i++) {
		uint32_t got = found[i] ? (uint32_t)(found[i] - nodes) :
					  SDTREE_NONE;

		bad += got != s->expect[i];
	}
	return bad;
}

/*
 * The first round of lookups warms caches and is checked against the
 * known answers; the timed rounds follow, alternating the two trees so a
 * drift of the machine hits both alike.
 */
static int time_lookups(struct sdtree *sd, struct sdtree_worker *w,
			const struct rb_tree *rb, const struct rb_node *nodes,
			const struct set *s, struct rates *r)
{
	uint32_t *sfound = malloc(s->nq * sizeof(*sfound));
	struct rb_node **rfound = malloc(s->nq * sizeof(*rfound));
	double sdr[REPS], rbr[REPS];
	struct load_mark mark;
	size_t bad_sd, bad_rb;
	char what[64];
	int i;

	if (!sfound || !rfound) {
		free(sfound);
		free(rfound);
		return -ENOMEM;
	}
	sd_lookups(sd, w, s, sfound);
	rb_lookups(rb, s, rfound);
	bad_sd = sd_wrong(s, sfound);
	bad_rb = rb_wrong(s, nodes, rfound);
	out_check(!bad_sd && !bad_rb,
		  "prefix %u: %zu lookups (%zu present), wrong answers: SD tree %zu, red-black %zu",
		  s->tree.zero_prefix, s->nq, s->present, bad_sd, bad_rb);
	load_mark(&mark);
	for (i = 0; i < REPS; i++) {
		sdr[i] = s->nq * 1e9 / (double)sd_lookups(sd, w, s, sfound);
		rbr[i] = s->nq * 1e9 / (double)rb_lookups(rb, s, rfound);
	}
	snprintf(what, sizeof(what), "the lookups with prefix %u",
		 s->tree.zero_prefix);
	out_load(&mark, 0, what);
	r->sd = bench_median(sdr, REPS);
	r->rb = bench_median(rbr, REPS);
	free(sfound);
	free(rfound);
	return 0;
}

static int run_set(const struct pone_backend *be, size_t leaves, size_t nq,
		   uint32_t prefix, struct rates *r)
{
	struct sdtree_source src = { .leaf_hash = leaf_hash,
				     .leaf_prefetch = leaf_prefetch,
				     .leaf_get = leaf_get,
				     .leaf_put = leaf_put };
	struct sdtree_worker w = { 0 };
	struct sdtree *sd = NULL;
	struct rb_tree rb;
	struct rb_node *nodes;
	void *scratch;
	struct set s;
	uint64_t t0;
	int ret;

	out_progress("tree bench: %zu pages, zero prefix %u bytes", leaves,
		     prefix);
	ret = set_build(&s, be, leaves, nq, prefix);
	if (ret)
		return ret;
	src.ctx = &s;
	nodes = calloc(leaves, sizeof(*nodes));
	scratch = aligned_alloc(64, LOOKUP_BATCH * 4096);
	ret = nodes && scratch ? sdtree_new(&src, be, SDTREE_BY_CONTENT, &sd) : -ENOMEM;
	if (!ret)
		ret = sdtree_worker_init(&w, scratch);
	if (ret)
		goto out;

	t0 = bench_now_ns();
	ret = sd_build(sd, &w, &s);
	r->sd_build = leaves * 1e9 / (double)(bench_now_ns() - t0);
	if (ret)
		goto bad_tree;
	t0 = bench_now_ns();
	ret = rb_build(&rb, nodes, &s);
	r->rb_build = leaves * 1e9 / (double)(bench_now_ns() - t0);
	/* A baseline that is not a valid red-black tree proves nothing. */
	if (!ret && rb_check(&rb) < 0)
		ret = -EPROTO;
	if (ret)
		goto bad_tree;
	ret = time_lookups(sd, &w, &rb, nodes, &s, r);
	goto out;
bad_tree:
	out_check(false, "building the trees of %zu unique pages (prefix %u)",
		  leaves, prefix);
	ret = ret == -EPROTO ? 0 : ret;
	r->sd = r->rb = 0;
out:
	sdtree_worker_fini(&w);
	sdtree_free(sd);
	free(scratch);
	free(nodes);
	set_free(&s);
	return ret;
}

int bench_trees(const struct bench_opts *o)
{
	struct pone_backend *be = pone_backend_cpu_new();
	size_t leaves = o->pages / 2;
	size_t nq = leaves < MAX_QUERIES ? leaves : MAX_QUERIES;
	struct rates flat = { 0 }, pre = { 0 };
	char explain[256];
	int ret;

	if (!be)
		return -ENOMEM;
	snprintf(explain, sizeof(explain),
		 "one thread; %zu lookups (about half present) in a tree of %zu random pages,\n"
		 "   median of %d runs; then the same pages and keys with a 2 KiB zero prefix",
		 nq, leaves, REPS);
	out_group("SD tree vs KSM-style red-black tree (memcmp at every node)",
		  explain);
	ret = run_set(be, leaves, nq, 0, &flat);
	if (!ret)
		ret = run_set(be, leaves, nq, PREFIX, &pre);
	pone_backend_destroy(be);
	if (ret)
		return ret;
	out_figure("sdtree_lookups_per_s", flat.sd, "lookups/s");
	out_figure("sdtree_prefix2k_lookups_per_s", pre.sd, "lookups/s");
	out_goal("sdtree_prefix2k_ratio", pre.sd / flat.sd, "x", GOAL_MIN, 0.8);
	out_figure("rbtree_lookups_per_s", flat.rb, "lookups/s");
	out_figure("rbtree_prefix2k_lookups_per_s", pre.rb, "lookups/s");
	out_figure("rbtree_prefix2k_ratio", pre.rb / flat.rb, "x");
	out_note("SD tree / red-black tree: %.2fx without prefix, %.2fx with it",
		 flat.sd / flat.rb, pre.sd / pre.rb);
	out_note("inserts/s while building: SD tree %.0f (%.0f prefixed), red-black %.0f (%.0f prefixed)",
		 flat.sd_build, pre.sd_build, flat.rb_build, pre.rb_build);
	return 0;
}
