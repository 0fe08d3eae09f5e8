/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SD tree tests, one thread: every operation is checked against a reference
 * model (per leaf: in the tree or not; per content: how many of its leaves
 * are in), and the whole model is checked after each step that changes it.
 * Equal pages coexist in the tree, so an insert of a leaf whose content is
 * present under other leaves links it and names one of them (new_group
 * when that one was alone); a lookup of a present content gives one of its
 * leaves, of an absent one SDTREE_NONE; a leaf id already in the tree is
 * not inserted again. Every successful leaf_get() must be matched by
 * exactly one leaf_put(), which is counted after every operation.
 *
 * Contents are built so that pages, not hashes, decide most of the shape:
 * hashes can be weak (three values, or one), pages share long zero or
 * constant prefixes and differ by a single bit or a single trailing byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include <pone/backend.h>
#include "rand.h"
#include "sdtree.h"

#define PS PONE_PAGE_SIZE
#define NONE SDTREE_NONE
#define BMAX SDTREE_BATCH_MAX

/* Fixed seed: a failure must reproduce. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	return splitmix64(&rng_state);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* ---- contents --------------------------------------------------------- */

/*
 * Mixed shapes, all distinct for distinct ids (checked at setup): random
 * pages, a 2 KiB zero prefix, one set bit (or none: the zero page), only
 * the last bytes non-zero, and a 2 KiB zero prefix then a constant run with
 * one byte changed somewhere in the second half.
 */
static void gen_mixed(unsigned char *p, uint32_t cid)
{
	uint32_t q = cid / 5;

	memset(p, 0, PS);
	switch (cid % 5) {
	case 0:
		fill_seeded(p, PS, cid);
		break;
	case 1:
		fill_seeded(p + PS / 2, PS / 2, cid);
		break;
	case 2:
		if (q)
			p[(q - 1) / 8 % PS] |= (unsigned char)(0x80 >> ((q - 1) % 8));
		break;
	case 3:
		memcpy(p + PS - sizeof(cid), &cid, sizeof(cid));
		break;
	case 4:
		memset(p + PS / 2, 0x5a, PS / 2);
		p[PS / 2 + q % (PS / 2)] ^= (unsigned char)(1 + q / (PS / 2));
		break;
	}
}

/* All pages share a 2 KiB zero prefix; most differ only near the end. */
static void gen_zero_prefix(unsigned char *p, uint32_t cid)
{
	memset(p, 0, PS);
	switch (cid % 3) {
	case 0:
		/* One bit, anywhere in the second half. */
		p[PS / 2 + (cid / 3) / 8 % (PS / 2)] = (unsigned char)(0x80 >> ((cid / 3) % 8));
		break;
	case 1:
		/* Only the last two bytes. */
		p[PS - 2] = (unsigned char)((cid / 3) >> 7);
		p[PS - 1] = (unsigned char)(((cid / 3) & 0x7f) | 0x80);
		break;
	case 2:
		fill_seeded(p + PS / 2, PS / 2, cid);
		break;
	}
}

enum { HASH_FULL, HASH_FEW, HASH_CONST };

/* A 32-bit value in the high half of the key's hash, as the engine keys. */
static uint32_t content_hash32(int mode, const unsigned char *p)
{
	uint32_t h = XXH32(p, PS, 0);

	switch (mode) {
	case HASH_FEW:
		/* Three values: 0, 0x7fffffff, 0xfffffffe. */
		return (h % 3) * 0x7fffffffu;
	case HASH_CONST:
		return 0xa5a5a5a5u;
	default:
		return h;
	}
}

/* ---- fixture: a source over slots, a tree and the model ------------------ */

struct params {
	int hmode;
	bool copy;		/* leaf_get copies into the scratch buffer */
	bool high_ids;		/* leaf ids end at SDTREE_LEAF_MAX */
	void (*gen)(unsigned char *p, uint32_t cid);
	uint32_t ncontent;	/* contents that exist */
	uint32_t per;		/* leaves (slots) per content */
};

struct fx {
	struct params prm;
	struct sdtree_source src;
	struct pone_backend *be;
	struct sdtree *t;
	struct sdtree_worker w, w2;
	void *scratch, *scratch2;
	uint32_t base;			/* leaf id of slot 0 */
	uint32_t nslot;
	unsigned char *content;		/* ncontent pages, for lookups */
	uint64_t *chash;		/* per content */
	unsigned char *leafmem;		/* nslot pages, each leaf its own */
	uint32_t *slot_cid;
	bool *unreadable;		/* per slot */
	bool *in;			/* per slot: its leaf is in the tree */
	uint32_t *cnt;			/* per content: its leaves in the tree */
	uint32_t present;		/* leaves in the tree */
	unsigned long inserted;		/* inserts that linked a leaf */
	unsigned long bad_leaf;		/* callbacks for an id not ours */
	unsigned long gets, puts;	/* successful leaf_get, leaf_put */
	unsigned long bad_put;		/* leaf_put without a get */
	unsigned long prefetches;
	uint32_t *out;			/* per slot: gets not yet put */
	int depth;			/* operations nested in a hook */
	/* Run first in leaf_get: what another thread could do meanwhile. */
	void (*hook)(struct fx *f, uint32_t leaf);
	int hook_step, hook_variant;
};

static unsigned char *content_page(struct fx *f, uint32_t cid)
{
	return f->content + (size_t)cid * PS;
}

static unsigned char *slot_page(struct fx *f, uint32_t s)
{
	return f->leafmem + (size_t)s * PS;
}

static uint32_t leaf_of(struct fx *f, uint32_t s)
{
	return f->base + s;
}

/* Slot of content c's k-th leaf. */
static uint32_t slot_k(struct fx *f, uint32_t c, uint32_t k)
{
	return c + f->prm.ncontent * k;
}

static bool slot_of(struct fx *f, uint32_t leaf, uint32_t *s)
{
	if (leaf < f->base || leaf - f->base >= f->nslot) {
		f->bad_leaf++;
		return false;
	}
	*s = leaf - f->base;
	return true;
}

/* Some slot of content c whose leaf is in the tree (the model says so). */
static uint32_t in_slot(struct fx *f, uint32_t c)
{
	uint32_t k0 = rnd_below(f->prm.per);

	assert_true(f->cnt[c] > 0);
	for (uint32_t k = 0; k < f->prm.per; k++) {
		uint32_t s = slot_k(f, c, (k0 + k) % f->prm.per);

		if (f->in[s])
			return s;
	}
	fail_msg("content %u: count %u but no leaf in", c, f->cnt[c]);
	return 0;
}

static uint64_t src_hash(void *ctx, uint32_t leaf)
{
	struct fx *f = ctx;
	uint32_t s;

	if (!slot_of(f, leaf, &s))
		return 0;
	return f->chash[f->slot_cid[s]];
}

static void src_prefetch(void *ctx, uint32_t leaf)
{
	struct fx *f = ctx;
	uint32_t s;

	if (slot_of(f, leaf, &s))
		f->prefetches++;
}

static const void *src_get(void *ctx, uint32_t leaf, void *buf)
{
	struct fx *f = ctx;
	uint32_t s;

	if (f->hook)
		f->hook(f, leaf);
	if (!slot_of(f, leaf, &s) || f->unreadable[s])
		return NULL;
	f->gets++;
	f->out[s]++;
	if (!f->prm.copy)
		return slot_page(f, s);
	memcpy(buf, slot_page(f, s), PS);
	return buf;
}

static void src_put(void *ctx, uint32_t leaf)
{
	struct fx *f = ctx;
	uint32_t s;

	if (!slot_of(f, leaf, &s))
		return;
	f->puts++;
	if (!f->out[s])
		f->bad_put++;
	else
		f->out[s]--;
}

/* Every get of the operation just done was put, exactly once. */
static void check_balanced(struct fx *f, const char *op)
{
	if (f->depth)
		return;
	if (f->gets != f->puts || f->bad_put)
		fail_msg("%s: %lu leaf_get, %lu leaf_put, %lu put without get",
			 op, f->gets, f->puts, f->bad_put);
}

static const unsigned char *sort_base;

static int cmp_content(const void *a, const void *b)
{
	return memcmp(sort_base + (size_t)*(const uint32_t *)a * PS,
		      sort_base + (size_t)*(const uint32_t *)b * PS, PS);
}

static void *page_alloc(size_t n)
{
	void *p = aligned_alloc(64, n * PS);

	assert_non_null(p);
	return p;
}

static struct fx *fx_new(const struct params *prm)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint32_t *idx;

	assert_non_null(f);
	f->prm = *prm;
	if (!f->prm.gen)
		f->prm.gen = gen_mixed;
	if (!f->prm.per)
		f->prm.per = 1;
	f->nslot = f->prm.ncontent * f->prm.per;
	f->base = prm->high_ids ? SDTREE_LEAF_MAX + 1 - f->nslot : 0;
	f->content = page_alloc(f->prm.ncontent);
	f->leafmem = page_alloc(f->nslot);
	f->chash = calloc(f->prm.ncontent, sizeof(*f->chash));
	f->cnt = calloc(f->prm.ncontent, sizeof(*f->cnt));
	f->slot_cid = calloc(f->nslot, sizeof(*f->slot_cid));
	f->unreadable = calloc(f->nslot, sizeof(*f->unreadable));
	f->in = calloc(f->nslot, sizeof(*f->in));
	f->out = calloc(f->nslot, sizeof(*f->out));
	idx = calloc(f->prm.ncontent, sizeof(*idx));
	assert_true(f->chash && f->cnt && f->slot_cid && f->unreadable &&
		    f->in && f->out && idx);

	for (uint32_t c = 0; c < f->prm.ncontent; c++) {
		f->prm.gen(content_page(f, c), c);
		f->chash[c] = (uint64_t)content_hash32(f->prm.hmode,
						       content_page(f, c)) << 32;
		idx[c] = c;
	}
	/* The model assumes distinct ids are distinct contents. */
	sort_base = f->content;
	qsort(idx, f->prm.ncontent, sizeof(*idx), cmp_content);
	for (uint32_t i = 1; i < f->prm.ncontent; i++)
		assert_int_not_equal(cmp_content(&idx[i - 1], &idx[i]), 0);
	free(idx);

	/* Slot s holds content s % ncontent: equal contents far apart. */
	for (uint32_t s = 0; s < f->nslot; s++) {
		f->slot_cid[s] = s % f->prm.ncontent;
		memcpy(slot_page(f, s), content_page(f, f->slot_cid[s]), PS);
	}

	f->src = (struct sdtree_source){
		.ctx = f, .leaf_hash = src_hash, .leaf_prefetch = src_prefetch,
		.leaf_get = src_get, .leaf_put = src_put,
	};
	f->be = pone_backend_cpu_new();
	assert_non_null(f->be);
	assert_int_equal(sdtree_new(&f->src, f->be, SDTREE_BY_CONTENT, &f->t),
			 0);
	f->scratch = page_alloc(BMAX);
	f->scratch2 = page_alloc(BMAX);
	assert_int_equal(sdtree_worker_init(&f->w, f->scratch), 0);
	assert_int_equal(sdtree_worker_init(&f->w2, f->scratch2), 0);
	assert_true(sdtree_worker_bytes() > 0);
	return f;
}

static void fx_free(struct fx *f)
{
	assert_int_equal(f->bad_leaf, 0);
	assert_int_equal(f->bad_put, 0);
	assert_int_equal(f->gets, f->puts);
	sdtree_worker_fini(&f->w);
	sdtree_worker_fini(&f->w2);
	sdtree_free(f->t);
	pone_backend_destroy(f->be);
	free(f->scratch);
	free(f->scratch2);
	free(f->content);
	free(f->leafmem);
	free(f->chash);
	free(f->cnt);
	free(f->slot_cid);
	free(f->unreadable);
	free(f->in);
	free(f->out);
	free(f);
}

static size_t tree_bytes(struct fx *f)
{
	size_t nodes = 0, arena = 0;

	sdtree_memory(f->t, &nodes, &arena);
	return nodes + arena;
}

/*
 * A lookup key: the leaf id is ignored, so give it any, but none of ours
 * (test_lookup_leaf_in_tree covers that case).
 */
static struct sdtree_key content_key(struct fx *f, uint32_t cid)
{
	uint32_t leaf = rnd_below(SDTREE_LEAF_MAX + 1 - f->nslot);

	if (leaf >= f->base)
		leaf += f->nslot;
	return (struct sdtree_key){ f->chash[cid], leaf, content_page(f, cid) };
}

static struct sdtree_key slot_key(struct fx *f, uint32_t s)
{
	return (struct sdtree_key){ f->chash[f->slot_cid[s]], leaf_of(f, s),
				    slot_page(f, s) };
}

/* ---- operations checked against the model -------------------------------- */

/* leaf names a leaf of content cid that the model has in the tree. */
static bool in_leaf_of(struct fx *f, uint32_t leaf, uint32_t cid)
{
	uint32_t s;

	if (leaf < f->base || leaf - f->base >= f->nslot)
		return false;
	s = leaf - f->base;
	return f->in[s] && f->slot_cid[s] == cid;
}

/*
 * Insert slots[0..n) as one batch, no page unreadable. Keys are taken in
 * order: a key whose content is present (also by an earlier key of the same
 * batch) is linked and names a leaf of it; a leaf already in (also by an
 * earlier key) is not inserted.
 */
static void do_insert_res(struct fx *f, struct sdtree_worker *w,
			  const uint32_t *slots, size_t n,
			  struct sdtree_result *out)
{
	struct sdtree_key keys[BMAX];
	struct sdtree_result res[BMAX + 1];

	assert_true(n <= BMAX);
	for (size_t i = 0; i <= n; i++) {
		if (i < n)
			keys[i] = slot_key(f, slots[i]);
		res[i] = (struct sdtree_result){ 0x12345678, true, true };
	}
	res[n].equal = 0x5a5a5a5a;
	f->depth++;
	sdtree_insert_batch(f->t, w, n, keys, res);
	f->depth--;
	assert_int_equal(res[n].equal, 0x5a5a5a5a);
	for (size_t i = 0; i < n; i++) {
		uint32_t s = slots[i], cid = f->slot_cid[s], leaf = leaf_of(f, s);
		const struct sdtree_result *r = &res[i];

		if (f->in[s]) {
			if (r->inserted)
				fail_msg("insert key %zu/%zu (slot %u): leaf %#x "
					 "inserted twice", i, n, s, leaf);
			continue;
		}
		if (!r->inserted)
			fail_msg("insert key %zu/%zu (slot %u content %u): not "
				 "inserted", i, n, s, cid);
		if (f->cnt[cid] == 0) {
			if (r->equal != NONE || r->new_group)
				fail_msg("insert key %zu/%zu (slot %u content %u):"
					 " equal %#x new_group %d, content absent",
					 i, n, s, cid, r->equal, r->new_group);
		} else {
			if (!in_leaf_of(f, r->equal, cid) || r->equal == leaf)
				fail_msg("insert key %zu/%zu (slot %u content %u):"
					 " equal %#x, not a leaf of it in the tree"
					 " (%u are)", i, n, s, cid, r->equal,
					 f->cnt[cid]);
			if (r->new_group != (f->cnt[cid] == 1))
				fail_msg("insert key %zu/%zu (slot %u content %u):"
					 " new_group %d with %u leaves in", i, n,
					 s, cid, r->new_group, f->cnt[cid]);
		}
		f->in[s] = true;
		f->cnt[cid]++;
		f->present++;
		f->inserted++;
	}
	check_balanced(f, "insert");
	if (out)
		memcpy(out, res, n * sizeof(*res));
}

static void do_insert(struct fx *f, struct sdtree_worker *w,
		      const uint32_t *slots, size_t n)
{
	do_insert_res(f, w, slots, n, NULL);
}

static struct sdtree_result insert1(struct fx *f, uint32_t s)
{
	struct sdtree_result r;

	do_insert_res(f, &f->w, &s, 1, &r);
	return r;
}

/* Delete slot s's leaf, by its key or with page == NULL. */
static void do_delete(struct fx *f, uint32_t s, bool null_page)
{
	uint32_t cid = f->slot_cid[s], leaf = leaf_of(f, s);
	struct sdtree_key k = slot_key(f, s);
	int want = f->in[s] ? 0 : -ENOENT;
	int ret;

	if (null_page)
		k.page = NULL;
	f->depth++;
	ret = sdtree_delete(f->t, &k);
	f->depth--;
	if (ret != want)
		fail_msg("delete slot %u (content %u, leaf %#x, page %s): "
			 "%d, expected %d", s, cid, leaf,
			 null_page ? "NULL" : "given", ret, want);
	if (!ret) {
		f->in[s] = false;
		f->cnt[cid]--;
		f->present--;
	}
	check_balanced(f, "delete");
}

static void lookup_check(struct fx *f, struct sdtree_worker *w,
			 const uint32_t *cids, size_t n)
{
	struct sdtree_key keys[BMAX] = { { 0, 0, NULL } };
	uint32_t found[BMAX + 1];

	for (size_t i = 0; i < n; i++) {
		keys[i] = content_key(f, cids[i]);
		found[i] = 0x12345678;
	}
	found[n] = 0x5a5a5a5a;
	f->depth++;
	sdtree_lookup_batch(f->t, w, n, keys, found);
	f->depth--;
	assert_int_equal(found[n], 0x5a5a5a5a);
	for (size_t i = 0; i < n; i++) {
		uint32_t c = cids[i];

		if (f->cnt[c] ? !in_leaf_of(f, found[i], c) : found[i] != NONE)
			fail_msg("lookup content %u: found %#x, %u of its "
				 "leaves in", c, found[i], f->cnt[c]);
	}
	check_balanced(f, "lookup");
}

/*
 * The whole model: every content looked up (in batches of every size up to
 * the maximum), and the count. With @reinsert, a leaf of every present
 * content is inserted again, which must not insert it and change nothing.
 */
static void check_model(struct fx *f, bool reinsert)
{
	uint32_t cids[BMAX];
	size_t n = 0, bsz = 1 + rnd_below(BMAX);

	for (uint32_t c = 0; c < f->prm.ncontent; c++) {
		cids[n++] = c;
		if (n == bsz || c + 1 == f->prm.ncontent) {
			lookup_check(f, &f->w, cids, n);
			n = 0;
		}
	}
	assert_int_equal(sdtree_count(f->t), f->present);
	if (!reinsert)
		return;
	for (uint32_t c = 0; c < f->prm.ncontent; c++) {
		if (f->cnt[c]) {
			struct sdtree_result r = insert1(f, in_slot(f, c));

			assert_false(r.inserted);
		}
	}
	assert_int_equal(sdtree_count(f->t), f->present);
}

static void shuffle(uint32_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd_below((uint32_t)i);
		uint32_t x = a[i - 1];

		a[i - 1] = a[j];
		a[j] = x;
	}
}

/* Insert slots[0..n) in batches of random sizes, up to the maximum. */
static void insert_all(struct fx *f, const uint32_t *slots, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t m = 1 + rnd_below(BMAX);

		if (m > n - i)
			m = n - i;
		do_insert(f, &f->w, slots + i, m);
		i += m;
	}
}

static uint32_t *seq(uint32_t from, uint32_t n)
{
	uint32_t *a = calloc(n, sizeof(*a));

	assert_non_null(a);
	for (uint32_t i = 0; i < n; i++)
		a[i] = from + i;
	return a;
}

/* Delete every leaf in the tree, in random order, some without pages. */
static void delete_all(struct fx *f)
{
	uint32_t *slots = seq(0, f->nslot);

	shuffle(slots, f->nslot);
	for (uint32_t i = 0; i < f->nslot; i++)
		if (f->in[slots[i]])
			do_delete(f, slots[i], rnd_below(2));
	assert_int_equal(f->present, 0);
	free(slots);
}

/* ---- tests -------------------------------------------------------------- */

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
 * Groups of up to 6 equal pages among neighbours with one hash: the
 * leaves of a group go out one at a time, in random order, with or without
 * their pages; the group is found until the last is gone.
 */
static void test_group_delete(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_FEW, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 64,
				      .per = 6, .copy = m == 2,
				      .gen = m == 1 ? gen_zero_prefix : gen_mixed };
		struct fx *f = fx_new(&prm);
		uint32_t *slots = seq(0, f->nslot);

		shuffle(slots, f->nslot);
		insert_all(f, slots, f->nslot);
		check_model(f, true);
		for (uint32_t c = 0; c < prm.ncontent; c++) {
			uint32_t k[6] = { 0, 1, 2, 3, 4, 5 };

			shuffle(k, 6);
			for (uint32_t i = 0; i < 6; i++) {
				do_delete(f, slot_k(f, c, k[i]), rnd_below(2));
				lookup_check(f, &f->w, &c, 1);
			}
			assert_int_equal(f->cnt[c], 0);
		}
		check_model(f, false);
		free(slots);
		fx_free(f);
	}
}

/*
 * sdtree_group: for every content, the leaves of its group in the tree and
 * no other, smallest ids first, up to the number asked for, given any leaf
 * of the group, also one past those asked for; with hashes that collide.
 * A leaf not in the group (deleted, or of another content) gives none.
 */
static void test_group_leaves(void **state)
{
	static const int modes[] = { HASH_FULL, HASH_CONST };

	(void)state;
	for (size_t m = 0; m < 2; m++) {
		struct params prm = { .hmode = modes[m], .ncontent = 32,
				      .per = 6, .gen = gen_mixed };
		struct fx *f = fx_new(&prm);
		uint32_t *slots = seq(0, f->nslot);

		shuffle(slots, f->nslot);
		insert_all(f, slots, f->nslot);
		for (uint32_t k = 0; k < prm.per; k++)	/* content 3: none */
			do_delete(f, slot_k(f, 3, k), false);
		do_delete(f, slot_k(f, 7, 2), false);	/* content 7: five */
		for (uint32_t c = 0; c < prm.ncontent; c++) {
			struct sdtree_key k = content_key(f, c);
			uint32_t last = leaf_of(f, slot_k(f, c, prm.per - 1));
			uint32_t other = leaf_of(f, slot_k(f, (c + 1) % 32, 0));
			uint32_t leaves[8], two[2];
			size_t n = sdtree_group(f->t, &k, last, leaves, 8);

			assert_int_equal(sdtree_group(f->t, &k, other, two, 2),
					 0);
			if (c == 3) {
				assert_int_equal(n, 0);
				continue;
			}
			assert_int_equal(n, f->cnt[c]);
			for (size_t i = 0; i < n; i++) {
				assert_true(in_leaf_of(f, leaves[i], c));
				if (i)
					assert_true(leaves[i - 1] < leaves[i]);
			}
			assert_int_equal(sdtree_group(f->t, &k, last, two, 2),
					 2);
			assert_int_equal(two[0], leaves[0]);
			assert_int_equal(two[1], leaves[1]);
			if (c == 7)
				assert_int_equal(sdtree_group(f->t, &k,
					leaf_of(f, slot_k(f, 7, 2)), two, 2), 0);
		}
		free(slots);
		fx_free(f);
	}
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
		cmocka_unit_test(test_empty),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[0]),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[1]),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[2]),
		cmocka_unit_test_prestate(test_insert_distinct, (void *)&distinct_prm[3]),
		cmocka_unit_test(test_insert_equal),
		cmocka_unit_test(test_group_delete),
		cmocka_unit_test(test_group_leaves),
		cmocka_unit_test(test_lookup_leaf_in_tree),
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[0]),
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[1]),
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[2]),
		cmocka_unit_test_prestate(test_delete, (void *)&delete_prm[3]),
		cmocka_unit_test_prestate(test_delete_null_page_collisions, (void *)&collide_prm[0]),
		cmocka_unit_test_prestate(test_delete_null_page_collisions, (void *)&collide_prm[1]),
		cmocka_unit_test_prestate(test_delete_null_page_collisions, (void *)&collide_prm[2]),
		cmocka_unit_test(test_zero_prefix),
		cmocka_unit_test(test_edge_bits),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_quiesce_rounds),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_leaf_changed_under_tree),
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[0]),
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[1]),
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[2]),
		cmocka_unit_test_prestate(test_batch_duplicates, (void *)&batch_prm[3]),
		cmocka_unit_test(test_batch_duplicates_edges),
		cmocka_unit_test(test_batch_stale_equal_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
