/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SD tree under concurrency: T threads insert, look up and delete pages of
 * a few equal-content groups at once, against a model that stays exact.
 *
 * Leaf ids: leaf g + G * k has the content of group g; thread k % T owns it
 * and is the only one to insert or delete it, so each thread knows exactly
 * which of its leaves are in the tree. Equal pages coexist in the tree, so
 * any number of leaves of a group can be in at once. Any thread inserts
 * into and looks up any group, so equal contents race from every thread.
 * During a phase:
 *   - an insert of an owned leaf not in the tree links it (every page is
 *     readable); one of a leaf already in does not;
 *   - a leaf the tree names (equal, found) has the key's content (pages
 *     compared), is in range, was handed to an insert at some point, and,
 *     if it is ours, is in the tree;
 *   - while a thread has a leaf of group g in the tree, every insert and
 *     lookup it makes for g names some leaf (its own cannot go away under
 *     it), and while it has two, no insert of g forms a new group;
 *   - a delete is 0 exactly when the thread knows its leaf is in;
 *   - every leaf_get() that returned a page is put back before the call
 *     into the tree returns.
 * Between phases, all threads joined: the count matches the model, lookups
 * find a leaf of a group exactly when the model has one in, leaves not in
 * the tree delete with -ENOENT, inserts of more leaves name the right group
 * and say new_group exactly when it had one leaf; then sdtree_quiesce() so
 * the next phase reuses nodes. At the end every leaf in deletes with 0.
 *
 * Part of the groups share one hash, or three, so page bits decide there
 * and deletes without the page search both sides of those nodes. Pages are
 * allocated up front and never change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include <pone/backend.h>
#include "rand.h"
#include "sdtree.h"

#define PS PONE_PAGE_SIZE
#define NONE SDTREE_NONE
#define INSERT_MAX 64		/* largest insert batch, pages of scratch */
#define LOOKUP_MAX 32

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* ThreadSanitizer runs about ten times slower: a tenth of the work. */
#define OPS_SCALE (UNDER_TSAN ? 10 : 1)

/* A run takes seconds: far longer means a thread is stuck in the tree. */
#define RUN_TIMEOUT 150

struct cfg {
	unsigned int threads;
	uint32_t groups;
	uint32_t per;		/* leaves per group, a multiple of threads */
	unsigned int phases;
	unsigned int ops;	/* per thread and phase, before scaling */
};

enum {
	ST_INSERTED,		/* insert linked our leaf */
	ST_EQUAL_OTHER,		/* insert named another thread's leaf */
	ST_NEW_GROUP,		/* insert formed a group of two */
	ST_NOT_INSERTED,	/* insert of a leaf already in */
	ST_LOOKUP_OTHER,	/* lookup got another thread's leaf */
	ST_LOOKUP_NONE,
	ST_DELETED,
	ST_NR,
};

static const char *const st_name[ST_NR] = {
	"inserted", "equal-other", "new-group", "not-inserted",
	"lookup-other", "lookup-none", "deleted",
};

struct stress {
	const struct cfg *cfg;
	uint32_t nleaf;
	unsigned char *pages;		/* one per leaf */
	unsigned char *probe;		/* one per group, for keys */
	uint64_t *ghash;		/* per group, in the high half */
	uint8_t *ever;			/* atomic: leaf handed to an insert */
	bool *present;			/* owner's view, exact */
	struct sdtree_source src;
	struct pone_backend *be;
	struct sdtree *t;
	int failed;			/* atomic */
	unsigned long bad_leaf;		/* atomic: callbacks out of range */
	unsigned long gets, puts;	/* atomic: leaf_get with a page, leaf_put */
	unsigned long stats[ST_NR];	/* atomic */
};

struct thr {
	struct stress *s;
	unsigned int id;
	pthread_t tid;
	uint64_t rng;
	struct sdtree_worker w;	/* kept across phases: its node cache too */
	void *scratch;
	uint32_t *own_cnt;	/* per group: our leaves in the tree */
	unsigned long stats[ST_NR];
};

static uint32_t below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(splitmix64(state) % n);
}

/* ---- contents ------------------------------------------------------------ */

/*
 * Random pages, pages with a 2 KiB zero prefix, pages with a single bit
 * set and pages equal but for one byte in the second half: long common
 * prefixes, so most nodes test page bits deep in the page.
 */
static void gen_content(unsigned char *p, uint32_t g)
{
	uint32_t q = g / 4;

	memset(p, 0, PS);
	switch (g % 4) {
	case 0:
		fill_seeded(p, PS, g);
		break;
	case 1:
		fill_seeded(p + PS / 2, PS / 2, g);
		break;
	case 2:
		p[PS - 1 - q / 8 % PS] = (unsigned char)(1u << (q % 8));
		break;
	case 3:
		memset(p + PS / 2, 0x3c, PS / 2);
		p[PS / 2 + (q * 37) % (PS / 2)] ^= (unsigned char)(1 + q / (PS / 2));
		break;
	}
}

/* A quarter of the groups share one hash, a quarter share three. */
static uint32_t group_hash32(uint32_t g, const unsigned char *p)
{
	uint32_t h = XXH32(p, PS, 0);

	switch (g % 8) {
	case 0:
	case 5:
		return 0x5eed5eedu;
	case 2:
	case 7:
		return 0x10000000u * (h % 3) + 0x5eed5eedu;
	default:
		return h;
	}
}

static uint32_t group_of(const struct stress *s, uint32_t leaf)
{
	return leaf % s->cfg->groups;
}

static unsigned int owner_of(const struct stress *s, uint32_t leaf)
{
	return (leaf / s->cfg->groups) % s->cfg->threads;
}

static unsigned char *leaf_page(const struct stress *s, uint32_t leaf)
{
	return s->pages + (size_t)leaf * PS;
}

static unsigned char *probe_page(const struct stress *s, uint32_t g)
{
	return s->probe + (size_t)g * PS;
}

/* Gets of this thread not yet put: back to 0 after every call. */
static __thread long held;
static __thread unsigned long bad_puts;

static uint64_t src_hash(void *ctx, uint32_t leaf)
{
	struct stress *s = ctx;

	if (leaf >= s->nleaf) {
		__atomic_fetch_add(&s->bad_leaf, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return s->ghash[group_of(s, leaf)];
}

static void src_prefetch(void *ctx, uint32_t leaf)
{
	struct stress *s = ctx;

	if (leaf >= s->nleaf)
		__atomic_fetch_add(&s->bad_leaf, 1, __ATOMIC_RELAXED);
	else
		__builtin_prefetch(leaf_page(s, leaf));
}

/* Every seventh leaf is handed out as a copy, in the caller's scratch. */
static const void *src_get(void *ctx, uint32_t leaf, void *buf)
{
	struct stress *s = ctx;

	if (leaf >= s->nleaf) {
		__atomic_fetch_add(&s->bad_leaf, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	held++;
	__atomic_fetch_add(&s->gets, 1, __ATOMIC_RELAXED);
	if (leaf % 7)
		return leaf_page(s, leaf);
	memcpy(buf, leaf_page(s, leaf), PS);
	return buf;
}

static void src_put(void *ctx, uint32_t leaf)
{
	struct stress *s = ctx;

	if (leaf >= s->nleaf) {
		__atomic_fetch_add(&s->bad_leaf, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&s->puts, 1, __ATOMIC_RELAXED);
	if (held)
		held--;
	else
		bad_puts++;
}

static void *page_alloc(size_t n)
{
	void *p = aligned_alloc(64, n * PS);

	assert_non_null(p);
	return p;
}

/* ---- checks in threads: cmocka's asserts belong to the main thread ------- */

static bool thr_fail(struct thr *th, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool thr_fail(struct thr *th, int line, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&th->s->failed, 1, __ATOMIC_RELAXED) < 10) {
		char msg[256];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fprintf(stderr, "thread %u, line %d: %s\n", th->id, line, msg);
	}
	return false;
}

#define CHECK(th, cond, ...) \
	((cond) ? true : thr_fail(th, __LINE__, __VA_ARGS__))

static bool check_balanced(struct thr *th, const char *op)
{
	return CHECK(th, held == 0 && bad_puts == 0,
		     "%s: %ld leaf_get not put, %lu leaf_put without get", op,
		     held, bad_puts);
}

/*
 * A leaf the tree named for group g (not the key's own leaf): in range, of
 * group g, equal content, once handed to an insert, and in the tree if it
 * is one of ours.
 */
static bool check_named(struct thr *th, uint32_t g, uint32_t leaf,
			uint32_t key_leaf, const char *op)
{
	struct stress *s = th->s;

	if (!CHECK(th, leaf < s->nleaf, "%s group %u: leaf %#x out of range",
		   op, g, leaf))
		return false;
	return CHECK(th, leaf != key_leaf, "%s group %u: named its own leaf %u",
		     op, g, leaf) &&
	       CHECK(th, group_of(s, leaf) == g,
		     "%s group %u: leaf %u of group %u", op, g, leaf,
		     group_of(s, leaf)) &&
	       CHECK(th, !memcmp(leaf_page(s, leaf), probe_page(s, g), PS),
		     "%s group %u: leaf %u content differs", op, g, leaf) &&
	       CHECK(th, owner_of(s, leaf) != th->id || s->present[leaf],
		     "%s group %u: got our leaf %u, which is not in the tree",
		     op, g, leaf) &&
	       CHECK(th, __atomic_load_n(&s->ever[leaf], __ATOMIC_ACQUIRE),
		     "%s group %u: leaf %u was never inserted", op, g, leaf);
}

/* One of our leaves of group g, at random; with @absent, mostly one out. */
static uint32_t own_leaf(struct thr *th, uint32_t g, bool absent)
{
	const struct cfg *c = th->s->cfg;
	uint32_t l = 0;

	for (int tries = 0; tries < (absent ? 3 : 1); tries++) {
		uint32_t k = th->id + c->threads *
			     below(&th->rng, c->per / c->threads);

		l = g + c->groups * k;
		if (!th->s->present[l])
			break;
	}
	return l;
}

/* One of our leaves of group g that is in the tree. */
static uint32_t own_present(struct thr *th, uint32_t g)
{
	const struct cfg *c = th->s->cfg;
	uint32_t m = c->per / c->threads, j0 = below(&th->rng, m);

	for (uint32_t j = 0; j < m; j++) {
		uint32_t l = g + c->groups * (th->id + c->threads * ((j0 + j) % m));

		if (th->s->present[l])
			return l;
	}
	return NONE;
}

static bool op_insert(struct thr *th)
{
	struct stress *s = th->s;
	uint32_t n = below(&th->rng, 8) ? 1 + below(&th->rng, 16) :
		     1 + below(&th->rng, INSERT_MAX);
	struct sdtree_key keys[INSERT_MAX];
	struct sdtree_result res[INSERT_MAX];

	for (uint32_t i = 0; i < n; i++) {
		/* Often the group of an earlier key: equal keys in a batch;
		 * sometimes the very same leaf. */
		uint32_t g = i && below(&th->rng, 4) == 0 ?
			     group_of(s, keys[below(&th->rng, i)].leaf) :
			     below(&th->rng, s->cfg->groups);
		uint32_t l = i && below(&th->rng, 32) == 0 ?
			     keys[below(&th->rng, i)].leaf : own_leaf(th, g, true);

		g = group_of(s, l);
		keys[i] = (struct sdtree_key){ s->ghash[g], l, leaf_page(s, l) };
		/* Before the insert: others may get it back at once. */
		__atomic_store_n(&s->ever[l], 1, __ATOMIC_RELEASE);
	}
	sdtree_insert_batch(s->t, &th->w, n, keys, res);
	if (!check_balanced(th, "insert"))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t l = keys[i].leaf, g = group_of(s, l);
		const struct sdtree_result *r = &res[i];

		if (s->present[l]) {
			if (!CHECK(th, !r->inserted, "insert %u/%u group %u: "
				   "our leaf %u inserted twice", i, n, g, l))
				return false;
			th->stats[ST_NOT_INSERTED]++;
			continue;
		}
		if (!CHECK(th, r->inserted, "insert %u/%u group %u: leaf %u "
			   "not inserted", i, n, g, l))
			return false;
		if (r->equal != NONE &&
		    !check_named(th, g, r->equal, l, "insert"))
			return false;
		if (!CHECK(th, r->equal != NONE || !th->own_cnt[g],
			   "insert %u/%u group %u leaf %u: SDTREE_NONE, %u of "
			   "our leaves in", i, n, g, l, th->own_cnt[g]) ||
		    !CHECK(th, !r->new_group || r->equal != NONE,
			   "insert group %u leaf %u: new group of none", g, l) ||
		    !CHECK(th, !r->new_group || th->own_cnt[g] < 2,
			   "insert %u/%u group %u leaf %u: new group, %u of "
			   "our leaves in", i, n, g, l, th->own_cnt[g]))
			return false;
		s->present[l] = true;
		th->own_cnt[g]++;
		th->stats[ST_INSERTED]++;
		if (r->equal != NONE && owner_of(s, r->equal) != th->id)
			th->stats[ST_EQUAL_OTHER]++;
		if (r->new_group)
			th->stats[ST_NEW_GROUP]++;
	}
	return true;
}

static bool op_lookup(struct thr *th)
{
	struct stress *s = th->s;
	uint32_t n = 1 + below(&th->rng, LOOKUP_MAX);
	struct sdtree_key keys[LOOKUP_MAX];
	uint32_t g[LOOKUP_MAX], found[LOOKUP_MAX];

	for (uint32_t i = 0; i < n; i++) {
		g[i] = below(&th->rng, s->cfg->groups);
		/*
		 * The leaf id is ignored: give any, but not one of ours
		 * (see test_lookup_leaf_in_tree in test_sdtree_insert.c: a
		 * lookup whose id is that of an equal leaf in the tree finds
		 * nothing).
		 */
		keys[i] = (struct sdtree_key){ s->ghash[g[i]],
					       s->nleaf + below(&th->rng,
						SDTREE_LEAF_MAX - s->nleaf),
					       probe_page(s, g[i]) };
	}
	sdtree_lookup_batch(s->t, &th->w, n, keys, found);
	if (!check_balanced(th, "lookup"))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (found[i] == NONE) {
			if (!CHECK(th, !th->own_cnt[g[i]], "lookup group %u: "
				   "none, %u of our leaves in", g[i],
				   th->own_cnt[g[i]]))
				return false;
			th->stats[ST_LOOKUP_NONE]++;
			continue;
		}
		if (!check_named(th, g[i], found[i], NONE, "lookup"))
			return false;
		if (owner_of(s, found[i]) != th->id)
			th->stats[ST_LOOKUP_OTHER]++;
	}
	return true;
}

static bool op_delete(struct thr *th)
{
	struct stress *s = th->s;
	uint32_t ng = s->cfg->groups, n = 1 + below(&th->rng, 24);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t g = below(&th->rng, ng), l = NONE;
		struct sdtree_key k;
		int ret, want;

		/* Mostly a leaf of ours that is in, so the tree keeps changing. */
		if (below(&th->rng, 4)) {
			for (uint32_t j = 0; j < ng; j++, g = (g + 1) % ng)
				if (th->own_cnt[g])
					break;
			if (th->own_cnt[g])
				l = own_present(th, g);
		}
		if (l == NONE)
			l = own_leaf(th, g, false);
		want = s->present[l] ? 0 : -ENOENT;
		k = (struct sdtree_key){ s->ghash[g], l, NULL };
		switch (below(&th->rng, 3)) {
		case 0:
			k.page = leaf_page(s, l);
			break;
		case 1:
			k.page = probe_page(s, g);
			break;
		}
		ret = sdtree_delete(s->t, &k);
		if (!CHECK(th, ret == want, "delete group %u leaf %u (page %s): "
			   "%d, expected %d", g, l, k.page ? "given" : "NULL",
			   ret, want) || !check_balanced(th, "delete"))
			return false;
		if (!ret) {
			s->present[l] = false;
			th->own_cnt[g]--;
			th->stats[ST_DELETED]++;
		}
	}
	return true;
}

static void *thread_main(void *arg)
{
	struct thr *th = arg;
	struct stress *s = th->s;
	unsigned int ops = s->cfg->ops / OPS_SCALE;

	/* What of ours is in the tree, from the model the main thread kept. */
	for (uint32_t g = 0; g < s->cfg->groups; g++)
		th->own_cnt[g] = 0;
	for (uint32_t l = 0; l < s->nleaf; l++)
		if (owner_of(s, l) == th->id && s->present[l])
			th->own_cnt[group_of(s, l)]++;
	held = 0;
	bad_puts = 0;

	for (unsigned int i = 0; i < ops; i++) {
		uint32_t r = below(&th->rng, 100);
		bool ok;

		if (__atomic_load_n(&s->failed, __ATOMIC_RELAXED))
			break;
		if (r < 40)
			ok = op_insert(th);
		else if (r < 70)
			ok = op_lookup(th);
		else
			ok = op_delete(th);
		if (!ok)
			break;
	}
	for (int i = 0; i < ST_NR; i++) {
		__atomic_fetch_add(&s->stats[i], th->stats[i], __ATOMIC_RELAXED);
		th->stats[i] = 0;
	}
	return NULL;
}

/* ---- between phases: all threads joined --------------------------------- */

static void verify(struct stress *s, struct sdtree_worker *w, unsigned int ph)
{
	const struct cfg *c = s->cfg;
	uint32_t *cnt = calloc(c->groups, sizeof(*cnt));
	size_t present = 0;

	assert_non_null(cnt);
	for (uint32_t l = 0; l < s->nleaf; l++) {
		if (!s->present[l])
			continue;
		cnt[group_of(s, l)]++;
		present++;
	}
	assert_int_equal(sdtree_count(s->t), present);

	for (uint32_t g0 = 0; g0 < c->groups; g0 += SDTREE_BATCH_MAX) {
		struct sdtree_key keys[SDTREE_BATCH_MAX];
		uint32_t found[SDTREE_BATCH_MAX], n = c->groups - g0;

		if (n > SDTREE_BATCH_MAX)
			n = SDTREE_BATCH_MAX;
		for (uint32_t i = 0; i < n; i++)
			keys[i] = (struct sdtree_key){ s->ghash[g0 + i],
						       SDTREE_LEAF_MAX,
						       probe_page(s, g0 + i) };
		sdtree_lookup_batch(s->t, w, n, keys, found);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t g = g0 + i, f = found[i];

			if (cnt[g] ? f >= s->nleaf || group_of(s, f) != g ||
				     !s->present[f] : f != NONE)
				fail_msg("group %u: found %#x, model has %u "
					 "leaves in", g, f, cnt[g]);
		}
	}

	/* Leaves not in the tree are not found by delete either. */
	for (uint32_t l = 0; l < s->nleaf; l++) {
		uint32_t g = group_of(s, l);
		struct sdtree_key k = { s->ghash[g], l,
					l % 5 ? leaf_page(s, l) : NULL };

		if (!s->present[l])
			assert_int_equal(sdtree_delete(s->t, &k), -ENOENT);
	}

	/*
	 * A quarter of the groups get one more leaf, exactly checked: the
	 * model knows every leaf in. A leaf in already is not inserted.
	 */
	for (uint32_t g = ph % 4; g < c->groups; g += 4) {
		uint32_t l = NONE, in = NONE;
		struct sdtree_key k;
		struct sdtree_result r;

		for (uint32_t j = 0; j < c->per; j++) {
			uint32_t x = g + c->groups * ((j + ph) % c->per);

			if (s->present[x])
				in = x;
			else if (l == NONE)
				l = x;
		}
		if (in != NONE) {
			k = (struct sdtree_key){ s->ghash[g], in, leaf_page(s, in) };
			sdtree_insert_batch(s->t, w, 1, &k, &r);
			assert_false(r.inserted);
		}
		if (l == NONE)
			continue;
		__atomic_store_n(&s->ever[l], 1, __ATOMIC_RELAXED);
		k = (struct sdtree_key){ s->ghash[g], l, leaf_page(s, l) };
		sdtree_insert_batch(s->t, w, 1, &k, &r);
		assert_true(r.inserted);
		if (!cnt[g] ? r.equal != NONE || r.new_group :
		    r.equal >= s->nleaf || group_of(s, r.equal) != g ||
		    !s->present[r.equal] || r.new_group != (cnt[g] == 1))
			fail_msg("group %u, %u leaves in: insert of leaf %u "
				 "named %#x, new_group %d", g, cnt[g], l,
				 r.equal, r.new_group);
		s->present[l] = true;
		cnt[g]++;
		present++;
	}
	assert_int_equal(sdtree_count(s->t), present);
	assert_int_equal(__atomic_load_n(&s->bad_leaf, __ATOMIC_RELAXED), 0);
	assert_int_equal(__atomic_load_n(&s->gets, __ATOMIC_RELAXED),
			 __atomic_load_n(&s->puts, __ATOMIC_RELAXED));
	assert_int_equal(held, 0);
	assert_int_equal(bad_puts, 0);
	free(cnt);
}

/* Delete every leaf in the tree, half without pages: each must be 0. */
static void delete_present(struct stress *s)
{
	for (uint32_t l = 0; l < s->nleaf; l++) {
		struct sdtree_key k = { s->ghash[group_of(s, l)], l,
					l % 2 ? leaf_page(s, l) : NULL };

		if (s->present[l]) {
			assert_int_equal(sdtree_delete(s->t, &k), 0);
			s->present[l] = false;
		}
	}
	assert_int_equal(sdtree_count(s->t), 0);
}

static void stuck(int sig)
{
	static const char msg[] = "sdtree stress: a run did not finish in "
		"time: a thread is stuck in the tree (deadlock, livelock or a "
		"cycle of nodes)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void run(const struct cfg *c)
{
	struct stress *s = calloc(1, sizeof(*s));
	struct thr *th = calloc(c->threads, sizeof(*th));
	struct sdtree_worker mw;
	void *mscratch = page_alloc(SDTREE_BATCH_MAX);
	double t0 = now();
	size_t most = 0;

	assert_true(s && th);
	assert_int_equal(c->per % c->threads, 0);
	signal(SIGALRM, stuck);
	alarm(RUN_TIMEOUT);
	s->cfg = c;
	s->nleaf = c->groups * c->per;
	s->pages = page_alloc(s->nleaf);
	s->probe = page_alloc(c->groups);
	s->ghash = calloc(c->groups, sizeof(*s->ghash));
	s->ever = calloc(s->nleaf, 1);
	s->present = calloc(s->nleaf, sizeof(*s->present));
	assert_true(s->ghash && s->ever && s->present);
	for (uint32_t g = 0; g < c->groups; g++) {
		gen_content(probe_page(s, g), g);
		s->ghash[g] = (uint64_t)group_hash32(g, probe_page(s, g)) << 32;
		/* The model needs distinct groups to be distinct contents. */
		for (uint32_t h = 0; h < g; h++)
			assert_int_not_equal(memcmp(probe_page(s, g),
						    probe_page(s, h), PS), 0);
	}
	for (uint32_t l = 0; l < s->nleaf; l++)
		memcpy(leaf_page(s, l), probe_page(s, group_of(s, l)), PS);

	s->src = (struct sdtree_source){
		.ctx = s, .leaf_hash = src_hash, .leaf_prefetch = src_prefetch,
		.leaf_get = src_get, .leaf_put = src_put,
	};
	s->be = pone_backend_cpu_new();
	assert_non_null(s->be);
	assert_int_equal(sdtree_new(&s->src, s->be, SDTREE_BY_CONTENT, &s->t),
			 0);
	assert_int_equal(sdtree_worker_init(&mw, mscratch), 0);
	for (unsigned int i = 0; i < c->threads; i++) {
		th[i].s = s;
		th[i].id = i;
		th[i].rng = 0x1234567ull * (i + 1);
		th[i].scratch = page_alloc(INSERT_MAX);
		th[i].own_cnt = calloc(c->groups, sizeof(*th[i].own_cnt));
		assert_non_null(th[i].own_cnt);
		assert_int_equal(sdtree_worker_init(&th[i].w, th[i].scratch), 0);
	}

	for (unsigned int ph = 0; ph < c->phases; ph++) {
		/* Once, midway: empty the tree under the workers' caches. */
		if (ph == c->phases / 2 && ph) {
			delete_present(s);
			sdtree_quiesce(s->t);
		}
		for (unsigned int i = 0; i < c->threads; i++)
			assert_int_equal(pthread_create(&th[i].tid, NULL,
							thread_main, &th[i]), 0);
		for (unsigned int i = 0; i < c->threads; i++)
			assert_int_equal(pthread_join(th[i].tid, NULL), 0);
		if (s->failed)
			fail_msg("phase %u: %d failed checks", ph, s->failed);
		verify(s, &mw, ph);
		if (sdtree_count(s->t) > most)
			most = sdtree_count(s->t);
		sdtree_quiesce(s->t);
	}

	/* Everything out, half without pages; the tree is empty. */
	delete_present(s);
	verify(s, &mw, 0);
	delete_present(s);	/* what verify put in */
	sdtree_quiesce(s->t);

	print_message("%u threads, %u groups x %u: %.2f s%s, up to %zu "
		      "leaves; ", c->threads, c->groups, c->per, now() - t0,
		      UNDER_TSAN ? " (tsan, ops / 10)" : "", most);
	for (int i = 0; i < ST_NR; i++)
		print_message("%s %lu%s", st_name[i], s->stats[i],
			      i + 1 < ST_NR ? ", " : "\n");
	/* The races the test is for did happen. */
	assert_true(s->stats[ST_EQUAL_OTHER] > 0);
	assert_true(s->stats[ST_NEW_GROUP] > 0);
	assert_true(s->stats[ST_LOOKUP_OTHER] > 0);

	for (unsigned int i = 0; i < c->threads; i++) {
		sdtree_worker_fini(&th[i].w);
		free(th[i].scratch);
		free(th[i].own_cnt);
	}
	sdtree_worker_fini(&mw);
	sdtree_free(s->t);
	pone_backend_destroy(s->be);
	free(mscratch);
	free(s->pages);
	free(s->probe);
	free(s->ghash);
	free(s->ever);
	free(s->present);
	free(s);
	free(th);
	alarm(0);
}

static const struct cfg cfgs[] = {
	/* 64 contents, many leaves each. */
	{ .threads = 4, .groups = 64, .per = 16, .phases = 8, .ops = 24000 },
	{ .threads = 8, .groups = 64, .per = 16, .phases = 8, .ops = 12000 },
	/* A few hot contents: every operation on the same few nodes. */
	{ .threads = 8, .groups = 6, .per = 32, .phases = 8, .ops = 12000 },
	/* Two contents: the tree is often nearly empty, the root races. */
	{ .threads = 8, .groups = 2, .per = 16, .phases = 8, .ops = 12000 },
	/* A deeper tree. */
	{ .threads = 4, .groups = 1024, .per = 4, .phases = 6, .ops = 18000 },
};

static void test_stress(void **state)
{
	run(*state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_stress, (void *)&cfgs[0]),
		cmocka_unit_test_prestate(test_stress, (void *)&cfgs[1]),
		cmocka_unit_test_prestate(test_stress, (void *)&cfgs[2]),
		cmocka_unit_test_prestate(test_stress, (void *)&cfgs[3]),
		cmocka_unit_test_prestate(test_stress, (void *)&cfgs[4]),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
