// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "rand.h"
#include "sdtree_fixture.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

uint64_t rnd(void)
{
	return splitmix64(&rng_state);
}

uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* ---- contents --------------------------------------------------------- */

void gen_mixed(unsigned char *p, uint32_t cid)
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

void gen_zero_prefix(unsigned char *p, uint32_t cid)
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

/* ---- a source over slots, a tree and the model --------------------------- */

static unsigned char *content_page(struct fx *f, uint32_t cid)
{
	return f->content + (size_t)cid * PS;
}

unsigned char *slot_page(struct fx *f, uint32_t s)
{
	return f->leafmem + (size_t)s * PS;
}

uint32_t leaf_of(struct fx *f, uint32_t s)
{
	return f->base + s;
}

uint32_t slot_k(struct fx *f, uint32_t c, uint32_t k)
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

uint32_t in_slot(struct fx *f, uint32_t c)
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

void check_balanced(struct fx *f, const char *op)
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

void *page_alloc(size_t n)
{
	void *p = aligned_alloc(64, n * PS);

	assert_non_null(p);
	return p;
}

struct fx *fx_new(const struct params *prm)
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

void fx_free(struct fx *f)
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

struct sdtree_key content_key(struct fx *f, uint32_t cid)
{
	uint32_t leaf = rnd_below(SDTREE_LEAF_MAX + 1 - f->nslot);

	if (leaf >= f->base)
		leaf += f->nslot;
	return (struct sdtree_key){ f->chash[cid], leaf, content_page(f, cid) };
}

struct sdtree_key slot_key(struct fx *f, uint32_t s)
{
	return (struct sdtree_key){ f->chash[f->slot_cid[s]], leaf_of(f, s),
				    slot_page(f, s) };
}

/* ---- operations checked against the model -------------------------------- */

bool in_leaf_of(struct fx *f, uint32_t leaf, uint32_t cid)
{
	uint32_t s;

	if (leaf < f->base || leaf - f->base >= f->nslot)
		return false;
	s = leaf - f->base;
	return f->in[s] && f->slot_cid[s] == cid;
}

void do_insert_res(struct fx *f, struct sdtree_worker *w,
		   const uint32_t *slots, size_t n, struct sdtree_result *out)
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

void do_insert(struct fx *f, struct sdtree_worker *w, const uint32_t *slots,
	       size_t n)
{
	do_insert_res(f, w, slots, n, NULL);
}

struct sdtree_result insert1(struct fx *f, uint32_t s)
{
	struct sdtree_result r;

	do_insert_res(f, &f->w, &s, 1, &r);
	return r;
}

void do_delete(struct fx *f, uint32_t s, bool null_page)
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

void lookup_check(struct fx *f, struct sdtree_worker *w, const uint32_t *cids,
		  size_t n)
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

void check_model(struct fx *f, bool reinsert)
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

void shuffle(uint32_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd_below((uint32_t)i);
		uint32_t x = a[i - 1];

		a[i - 1] = a[j];
		a[j] = x;
	}
}

void insert_all(struct fx *f, const uint32_t *slots, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t m = 1 + rnd_below(BMAX);

		if (m > n - i)
			m = n - i;
		do_insert(f, &f->w, slots + i, m);
		i += m;
	}
}

uint32_t *seq(uint32_t from, uint32_t n)
{
	uint32_t *a = calloc(n, sizeof(*a));

	assert_non_null(a);
	for (uint32_t i = 0; i < n; i++)
		a[i] = from + i;
	return a;
}

void delete_all(struct fx *f)
{
	uint32_t *slots = seq(0, f->nslot);

	shuffle(slots, f->nslot);
	for (uint32_t i = 0; i < f->nslot; i++)
		if (f->in[slots[i]])
			do_delete(f, slots[i], rnd_below(2));
	assert_int_equal(f->present, 0);
	free(slots);
}
