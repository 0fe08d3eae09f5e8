// SPDX-License-Identifier: GPL-2.0-only
/*
 * SD tree. See sdtree.h for the contract.
 *
 * Layout: inner nodes live in chunks of an arena and are named by 31-bit
 * indices; node 0 is the head, whose child[0] is the root. A child is
 * either an inner node index or LEAF_BIT | leaf id. Twelve bytes a node,
 * one inner node per leaf. Key bits: [0, hash_bits) hash, [hash_bits,
 * leaf_start) page (none when keyed by hash), [leaf_start, +31) leaf id.
 *
 * Rules:
 * - child[] is read with acquire and written with release, by writers
 *   holding the lock of that node; bit never changes once a node is linked.
 * - Bit indices strictly increase along every path. An insert checks it
 *   under the parent's lock against a leaf found below the insertion point,
 *   so a stale descent can only make it retry, never break the order.
 * - An insert locks the parent it links into; a delete locks the grandparent
 *   and then the parent it unlinks. Locks are taken in increasing bit order
 *   (the head counts as bit -1), so no cycle of waiters can form.
 * - No page is read while a node lock is held: leaf sources may block
 *   (pread) or take locks of their own.
 * - A node is marked dead under its lock when unlinked; writers that locked
 *   it check the mark. Readers may still be walking it: it is reused only
 *   after sdtree_quiesce(), when no thread is inside the tree.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sdtree.h"

#define LEAF_BIT 0x80000000u
#define CHUNK_SHIFT 14
#define CHUNK_NODES (1u << CHUNK_SHIFT)
#define MAX_CHUNKS (1u << (31 - CHUNK_SHIFT))
#define KEY_SAME_LEAF (-1)
#define KEY_UNREADABLE (-2)
#define HEAD 0u
#define PATH_MAX_DEPTH 48

/* Where one key's descent went: its inner nodes, root first, and the leaf. */
struct sdtree_descent {
	uint32_t leaf;
	uint32_t depth;		/* may exceed PATH_MAX_DEPTH: path cut short */
	uint32_t path[PATH_MAX_DEPTH];
};

struct sdnode {
	uint32_t child[2];
	uint16_t bit;
	uint8_t lock;
	uint8_t dead;
};

struct sdtree {
	struct sdtree_source src;
	const struct pone_backend *be;
	bool by_hash;
	unsigned int hash_bits;		/* of the key's hash, its high bits */
	int leaf_start;			/* first bit of the leaf id */
	struct sdnode **chunk;		/* MAX_CHUNKS slots */
	uint32_t nchunks;		/* chunks handed out since reset */
	uint32_t allocated;		/* chunks ever allocated */
	pthread_mutex_t slow;		/* chunk hand-out, free and retire lists */
	uint32_t *free, nfree, free_cap;
	uint32_t *retired, nretired, retired_cap;
	uint64_t leaves;
};

static inline bool is_leaf(uint32_t ref)
{
	return ref & LEAF_BIT;
}

static inline struct sdnode *node(const struct sdtree *t, uint32_t idx)
{
	struct sdnode *c = __atomic_load_n(&t->chunk[idx >> CHUNK_SHIFT],
					   __ATOMIC_RELAXED);

	return &c[idx & (CHUNK_NODES - 1)];
}

static inline uint32_t child(const struct sdnode *n, int dir)
{
	return __atomic_load_n(&n->child[dir], __ATOMIC_ACQUIRE);
}

static inline void set_child(struct sdnode *n, int dir, uint32_t ref)
{
	__atomic_store_n(&n->child[dir], ref, __ATOMIC_RELEASE);
}

/* Bit index of a node for ordering; the head sorts before every bit. */
static inline int node_bit(const struct sdtree *t, uint32_t idx)
{
	return idx == HEAD ? -1 : node(t, idx)->bit;
}

static void node_lock(struct sdnode *n)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(&n->lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&n->lock, __ATOMIC_RELAXED)) {
			/* The holder may be preempted: more threads than CPUs. */
			if (++spins % 64 == 0)
				sched_yield();
			else
				__builtin_ia32_pause();
		}
	}
}

static void node_unlock(struct sdnode *n)
{
	__atomic_store_n(&n->lock, 0, __ATOMIC_RELEASE);
}

static inline int key_bit(const struct sdtree *t, const struct sdtree_key *k,
			  unsigned int bit)
{
	const uint8_t *p = k->page;

	if (bit < t->hash_bits)
		return (k->hash >> (63 - bit)) & 1;
	if ((int)bit >= t->leaf_start)
		return (k->leaf >> (30 - (bit - t->leaf_start))) & 1;
	bit -= t->hash_bits;
	return (p[bit >> 3] >> (7 - (bit & 7))) & 1;
}

/* Leaf reached from ref by following key's bits. */
static uint32_t descend(const struct sdtree *t, const struct sdtree_key *k,
			uint32_t ref)
{
	while (!is_leaf(ref)) {
		const struct sdnode *n = node(t, ref);

		ref = child(n, key_bit(t, k, n->bit));
	}
	return ref & ~LEAF_BIT;
}

/* Where key k and leaf differ, given that all bits before the id agree. */
static int crit_of_leaf(const struct sdtree *t, const struct sdtree_key *k,
			uint32_t leaf)
{
	if (k->leaf == leaf)
		return KEY_SAME_LEAF;
	return t->leaf_start + __builtin_clz((k->leaf ^ leaf) << 1);
}

/* Where key k and leaf differ, given the first byte where their pages do. */
static int crit_after_page(const struct sdtree *t, const struct sdtree_key *k,
			   uint32_t leaf, const uint8_t *page, uint32_t off)
{
	const uint8_t *a = k->page;
	unsigned int diff;

	if (off >= PONE_PAGE_SIZE)
		return crit_of_leaf(t, k, leaf);
	/* Guest pages may change under us: never take clz of zero. */
	diff = (unsigned int)(a[off] ^ page[off]) | 1;
	return (int)t->hash_bits + off * 8 + __builtin_clz(diff << 24);
}

/* Bits of the two hashes that differ; only the key's part counts. */
static inline uint64_t hash_diff(const struct sdtree *t, uint32_t leaf,
				 const struct sdtree_key *k)
{
	uint64_t d = t->src.leaf_hash(t->src.ctx, leaf) ^ k->hash;

	return t->by_hash ? d : d & ~(UINT64_MAX >> t->hash_bits);
}

/*
 * First bit where key and leaf differ, or KEY_SAME_LEAF, if their hashes
 * tell it: they differ, or the tree is keyed by hash. False when only
 * their pages can.
 */
static bool crit_of_hash(const struct sdtree *t, const struct sdtree_key *k,
			 uint32_t leaf, int *crit)
{
	uint64_t d = hash_diff(t, leaf, k);

	if (d)
		*crit = __builtin_clzll(d);
	else if (t->by_hash)
		*crit = crit_of_leaf(t, k, leaf);
	return d || t->by_hash;
}

/* First bit where key and leaf differ, KEY_SAME_LEAF or KEY_UNREADABLE. */
static int crit_bit(struct sdtree *t, struct sdtree_worker *w,
		    const struct sdtree_key *k, uint32_t leaf)
{
	const void *page;
	uint32_t off;
	int c;

	if (crit_of_hash(t, k, leaf, &c))
		return c;
	page = t->src.leaf_get(t->src.ctx, leaf, w->scratch);
	if (!page)
		return KEY_UNREADABLE;
	t->be->compare(t->be, &k->page, &page, 1, &off);
	w->compares++;
	w->compare_calls++;
	c = crit_after_page(t, k, leaf, page, off);
	t->src.leaf_put(t->src.ctx, leaf);
	return c;
}

/* --- node allocation ---------------------------------------------------- */

static int grow(uint32_t **arr, uint32_t *cap, uint32_t need)
{
	uint32_t ncap = *cap ? *cap * 2 : 256;
	uint32_t *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * sizeof(**arr));
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

static int refill(struct sdtree *t, struct sdtree_worker *w)
{
	int ret = 0;

	pthread_mutex_lock(&t->slow);
	if (t->nfree) {
		/* Hand out a recycled node as a one-node range. */
		w->next = t->free[--t->nfree];
		w->end = w->next + 1;
	} else if (t->nchunks == MAX_CHUNKS) {
		ret = -ENOMEM;
	} else {
		uint32_t c = t->nchunks;

		if (c == t->allocated) {
			struct sdnode *mem = calloc(CHUNK_NODES, sizeof(*mem));

			if (!mem) {
				ret = -ENOMEM;
				goto out;
			}
			__atomic_store_n(&t->chunk[c], mem, __ATOMIC_RELAXED);
			t->allocated++;
		}
		t->nchunks++;
		w->next = c << CHUNK_SHIFT;
		w->end = w->next + CHUNK_NODES;
		if (c == 0)
			w->next++;	/* the head */
	}
out:
	pthread_mutex_unlock(&t->slow);
	return ret;
}

static uint32_t node_alloc(struct sdtree *t, struct sdtree_worker *w)
{
	if (w->next == w->end && refill(t, w))
		return 0;
	return w->next++;
}

static void node_retire(struct sdtree *t, uint32_t idx)
{
	pthread_mutex_lock(&t->slow);
	/* If this fails the node leaks until reset: harmless. */
	if (!grow(&t->retired, &t->retired_cap, t->nretired + 1))
		t->retired[t->nretired++] = idx;
	pthread_mutex_unlock(&t->slow);
}

/* --- insert --------------------------------------------------------------- */

/* Link a new inner node at bit c between p (locked) and its child x. */
static bool link_leaf(struct sdtree *t, struct sdtree_worker *w,
		      const struct sdtree_key *k, struct sdnode *pn, int dir,
		      uint32_t x, int c)
{
	uint32_t nidx = node_alloc(t, w);
	struct sdnode *nn;

	if (!nidx)
		return false;
	nn = node(t, nidx);
	nn->bit = (uint16_t)c;
	nn->dead = 0;
	nn->lock = 0;
	nn->child[key_bit(t, k, c)] = k->leaf | LEAF_BIT;
	nn->child[!key_bit(t, k, c)] = x;
	set_child(pn, dir, nidx);
	return true;
}

/* The key went in beside x at bit c; leaf, below x, was compared with it. */
static void found_equal(const struct sdtree *t, uint32_t p, uint32_t x,
			uint32_t leaf, int c, struct sdtree_result *res)
{
	res->inserted = true;
	if (c < t->leaf_start)
		return;
	res->equal = leaf;
	/* Under p's lock, a lone leaf x was all of its group. */
	res->new_group = is_leaf(x) && node_bit(t, p) < t->leaf_start;
}

/*
 * The common case: link k where its first descent says, without walking
 * again. x, taken from that path, is an ancestor of the leaf k was compared
 * with (or that leaf), so every key below x shares the prefix that makes c
 * right; p's lock and child pointer tell that nothing moved in between.
 */
static bool insert_along(struct sdtree *t, struct sdtree_worker *w,
			 const struct sdtree_key *k,
			 const struct sdtree_descent *d, int c,
			 struct sdtree_result *res)
{
	uint32_t j = 0, p = HEAD, x;
	struct sdnode *pn;
	int dir = 0;
	bool ok;

	if (d->depth > PATH_MAX_DEPTH)
		return false;
	while (j < d->depth && node(t, d->path[j])->bit < c)
		j++;
	if (j < d->depth && node(t, d->path[j])->bit == c)
		return false;
	if (j) {
		p = d->path[j - 1];
		dir = key_bit(t, k, node(t, p)->bit);
	}
	x = j < d->depth ? d->path[j] : d->leaf | LEAF_BIT;
	pn = node(t, p);
	node_lock(pn);
	ok = !pn->dead && child(pn, dir) == x && link_leaf(t, w, k, pn, dir, x, c);
	node_unlock(pn);
	/* The leaf compared may have left since; any leaf below x is equal. */
	if (ok)
		found_equal(t, p, x, is_leaf(x) ? d->leaf : descend(t, k, x), c,
			    res);
	return ok;
}

/*
 * Insert key k, walking from the root. hint_leaf/hint_crit: a leaf k was
 * last compared with and the result, so pages are compared once if the
 * tree holds still.
 */
static void insert_one(struct sdtree *t, struct sdtree_worker *w,
		       const struct sdtree_key *k, uint32_t hint_leaf,
		       int hint_crit, struct sdtree_result *res)
{
	for (;;) {
		struct sdnode *head = node(t, HEAD), *pn;
		uint32_t p = HEAD, x, l2;
		int dir = 0, c;

		x = child(head, 0);
		if (x == 0) {
			node_lock(head);
			if (child(head, 0) == 0) {
				set_child(head, 0, k->leaf | LEAF_BIT);
				res->inserted = true;
			}
			node_unlock(head);
			if (res->inserted)
				return;
			continue;
		}
		if (hint_leaf == SDTREE_NONE) {
			hint_leaf = descend(t, k, x);
			hint_crit = crit_bit(t, w, k, hint_leaf);
		}
		c = hint_crit;
		if (c < 0)
			return;		/* unreadable, or there already */
		while (!is_leaf(x) && node(t, x)->bit < c) {
			p = x;
			dir = key_bit(t, k, node(t, x)->bit);
			x = child(node(t, x), dir);
		}
		pn = node(t, p);
		node_lock(pn);
		if (pn->dead || child(pn, dir) != x)
			goto retry;
		/*
		 * x is pinned as p's child: c must hold for what is below it.
		 * A new leaf there is compared with after unlocking: pages
		 * are never read under a node lock.
		 */
		l2 = descend(t, k, x);
		if (l2 != hint_leaf) {
			node_unlock(pn);
			hint_leaf = l2;
			hint_crit = crit_bit(t, w, k, l2);
			continue;
		}
		/*
		 * k reaches l2 through x yet differs from it at x's own bit:
		 * l2's page changed since it went in (a guest wrote it) and
		 * sits where it no longer belongs. Nothing a retry would see
		 * differently: k stays out, and comes back once l2 has left.
		 */
		if (!is_leaf(x) && c == node(t, x)->bit) {
			node_unlock(pn);
			return;
		}
		if (c <= node_bit(t, p) || (!is_leaf(x) && c > node(t, x)->bit))
			goto retry;
		if (!link_leaf(t, w, k, pn, dir, x, c)) {
			node_unlock(pn);
			return;
		}
		node_unlock(pn);
		res->inserted = true;
		found_equal(t, p, x, l2, c, res);
		return;
retry:
		node_unlock(pn);
		hint_leaf = SDTREE_NONE;
	}
}

/*
 * Descend all keys together, one level a round, prefetching each key's next
 * node: a lone descent waits for one cache miss a level, a batch overlaps
 * them. Leaves the leaf each key reaches in leaf[] (SDTREE_NONE: empty).
 */
static void descend_batch(const struct sdtree *t, size_t n,
			  const struct sdtree_key *keys,
			  struct sdtree_descent *d)
{
	uint32_t root = child(node(t, HEAD), 0);
	size_t i, active = 0, idx[SDTREE_BATCH_MAX];

	for (i = 0; i < n; i++) {
		d[i].leaf = root ? root : SDTREE_NONE;
		d[i].depth = 0;
		if (root && !is_leaf(root))
			idx[active++] = i;
	}
	while (active) {
		size_t still = 0;

		for (i = 0; i < active; i++) {
			struct sdtree_descent *di = &d[idx[i]];
			const struct sdnode *nd = node(t, di->leaf);

			if (di->depth < PATH_MAX_DEPTH)
				di->path[di->depth] = di->leaf;
			di->depth++;
			di->leaf = child(nd,
					 key_bit(t, &keys[idx[i]], nd->bit));
			if (is_leaf(di->leaf))
				continue;
			__builtin_prefetch(node(t, di->leaf));
			idx[still++] = idx[i];
		}
		active = still;
	}
	for (i = 0; i < n; i++) {
		if (d[i].leaf != SDTREE_NONE) {
			d[i].leaf &= ~LEAF_BIT;
			t->src.leaf_prefetch(t->src.ctx, d[i].leaf);
		}
	}
}

/*
 * Descend every key first, touching no page memory, then compare all keys
 * whose hash matched their leaf in one backend call: a batch for an offload
 * engine, and a page read only where the pages may be equal.
 */
static void first_crits(struct sdtree *t, struct sdtree_worker *w, size_t n,
			const struct sdtree_key *keys, int *crit)
{
	struct sdtree_descent *d = w->descents;
	const void *a[SDTREE_BATCH_MAX], *b[SDTREE_BATCH_MAX];
	uint32_t off[SDTREE_BATCH_MAX];
	size_t at[SDTREE_BATCH_MAX], m = 0, i;

	descend_batch(t, n, keys, d);
	for (i = 0; i < n; i++) {
		crit[i] = KEY_UNREADABLE;
		if (d[i].leaf == SDTREE_NONE ||
		    crit_of_hash(t, &keys[i], d[i].leaf, &crit[i]))
			continue;
		b[m] = t->src.leaf_get(t->src.ctx, d[i].leaf,
				       (char *)w->scratch + m * PONE_PAGE_SIZE);
		if (!b[m])
			continue;
		/* Start every page's first lines on their way at once. */
		__builtin_prefetch(b[m]);
		__builtin_prefetch((const char *)b[m] + 64);
		a[m] = keys[i].page;
		at[m++] = i;
	}
	if (!m)
		return;
	t->be->compare(t->be, a, b, m, off);
	w->compares += m;
	w->compare_calls++;
	for (i = 0; i < m; i++) {
		crit[at[i]] = crit_after_page(t, &keys[at[i]], d[at[i]].leaf,
					      b[i], off[i]);
		t->src.leaf_put(t->src.ctx, d[at[i]].leaf);
	}
}

void sdtree_insert_batch(struct sdtree *t, struct sdtree_worker *w, size_t n,
			 const struct sdtree_key *keys,
			 struct sdtree_result *res)
{
	struct sdtree_descent *d = w->descents;
	int crit[SDTREE_BATCH_MAX];
	size_t i;

	first_crits(t, w, n, keys, crit);
	for (i = 0; i < n; i++) {
		res[i] = (struct sdtree_result){ .equal = SDTREE_NONE };
		if (crit[i] < 0 || !insert_along(t, w, &keys[i], &d[i], crit[i],
						 &res[i]))
			insert_one(t, w, &keys[i], d[i].leaf, crit[i], &res[i]);
		if (res[i].inserted)
			__atomic_fetch_add(&t->leaves, 1, __ATOMIC_RELAXED);
	}
}

void sdtree_lookup_batch(struct sdtree *t, struct sdtree_worker *w, size_t n,
			 const struct sdtree_key *keys, uint32_t *found)
{
	struct sdtree_descent *d = w->descents;
	int crit[SDTREE_BATCH_MAX];
	size_t i;

	first_crits(t, w, n, keys, crit);
	/* Equal pages: they differ in the leaf id, if they differ at all. */
	for (i = 0; i < n; i++)
		found[i] = d[i].leaf != SDTREE_NONE &&
			   (crit[i] >= t->leaf_start ||
			    crit[i] == KEY_SAME_LEAF) ? d[i].leaf : SDTREE_NONE;
}

/* --- groups --------------------------------------------------------------- */

/* Whether the subtree at ref holds leaf: its id bits lead there. */
static bool subtree_holds(const struct sdtree *t, uint32_t ref, uint32_t leaf)
{
	const struct sdtree_key id = { .leaf = leaf };

	while (ref && !is_leaf(ref))
		ref = child(node(t, ref), key_bit(t, &id, node(t, ref)->bit));
	return ref == (leaf | LEAF_BIT);
}

size_t sdtree_group(const struct sdtree *t, const struct sdtree_key *k,
		    uint32_t equal, uint32_t *leaves, size_t max)
{
	/* Below a group's root, bits grow along a path: 31 leaf-id bits. */
	uint32_t stack[2 * 32], ref = child(node(t, HEAD), 0);
	size_t n = 0, depth = 0;

	while (ref && !is_leaf(ref) && node(t, ref)->bit < t->leaf_start) {
		const struct sdnode *nd = node(t, ref);

		ref = child(nd, key_bit(t, k, nd->bit));
	}
	if (!ref || !subtree_holds(t, ref, equal))
		return 0;
	stack[depth++] = ref;
	while (depth && n < max) {
		ref = stack[--depth];
		if (is_leaf(ref)) {
			leaves[n++] = ref & ~LEAF_BIT;
		} else if (depth + 2 <= sizeof(stack) / sizeof(stack[0])) {
			stack[depth++] = child(node(t, ref), 1);
			stack[depth++] = child(node(t, ref), 0);
		}
	}
	return n;
}

/* --- delete --------------------------------------------------------------- */

struct path {
	uint32_t gp, p;
	int gdir, pdir;
};

/*
 * Find the parent and grandparent of leaf k->leaf. Without the page, a node
 * that tests a page bit only splits keys of one hash: search both sides.
 */
static bool find_leaf(const struct sdtree *t, const struct sdtree_key *k,
		      uint32_t gp, int gdir, uint32_t p, int pdir,
		      struct path *out)
{
	uint32_t x = child(node(t, p), pdir);

	while (!is_leaf(x)) {
		const struct sdnode *n;

		if (x == 0)
			return false;
		n = node(t, x);
		if (!k->page && n->bit >= t->hash_bits &&
		    n->bit < t->leaf_start)
			return find_leaf(t, k, p, pdir, x, 0, out) ||
			       find_leaf(t, k, p, pdir, x, 1, out);
		gp = p;
		gdir = pdir;
		p = x;
		pdir = key_bit(t, k, n->bit);
		x = child(n, pdir);
	}
	if (x != (k->leaf | LEAF_BIT))
		return false;
	*out = (struct path){ .gp = gp, .gdir = gdir, .p = p, .pdir = pdir };
	return true;
}

static int unlink_leaf(struct sdtree *t, const struct path *w, uint32_t leaf)
{
	struct sdnode *gn, *pn;
	bool ok;

	if (w->p == HEAD) {
		pn = node(t, HEAD);
		node_lock(pn);
		ok = child(pn, 0) == (leaf | LEAF_BIT);
		if (ok)
			set_child(pn, 0, 0);
		node_unlock(pn);
		return ok ? 0 : -EAGAIN;
	}
	gn = node(t, w->gp);
	pn = node(t, w->p);
	node_lock(gn);
	node_lock(pn);
	ok = !gn->dead && !pn->dead && child(gn, w->gdir) == w->p &&
	     child(pn, w->pdir) == (leaf | LEAF_BIT);
	if (ok) {
		set_child(gn, w->gdir, child(pn, !w->pdir));
		pn->dead = 1;
	}
	node_unlock(pn);
	node_unlock(gn);
	if (!ok)
		return -EAGAIN;
	node_retire(t, w->p);
	return 0;
}

int sdtree_delete(struct sdtree *t, const struct sdtree_key *key)
{
	struct path w;
	int ret;

	do {
		if (!find_leaf(t, key, HEAD, 0, HEAD, 0, &w))
			return -ENOENT;
		ret = unlink_leaf(t, &w, key->leaf);
	} while (ret == -EAGAIN);
	__atomic_fetch_sub(&t->leaves, 1, __ATOMIC_RELAXED);
	return 0;
}

/* --- lifetime ------------------------------------------------------------- */

int sdtree_new(const struct sdtree_source *src, const struct pone_backend *be,
	       enum sdtree_keying keying, struct sdtree **out)
{
	struct sdtree *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->chunk = calloc(MAX_CHUNKS, sizeof(*t->chunk));
	t->chunk[0] = calloc(CHUNK_NODES, sizeof(struct sdnode));
	if (!t->chunk || !t->chunk[0]) {
		sdtree_free(t);
		return -ENOMEM;
	}
	t->allocated = 1;
	t->src = *src;
	t->be = be;
	t->by_hash = keying == SDTREE_BY_HASH;
	t->hash_bits = t->by_hash ? 64 : SDTREE_HASH_BITS;
	t->leaf_start = (int)t->hash_bits +
			(t->by_hash ? 0 : PONE_PAGE_SIZE * 8);
	pthread_mutex_init(&t->slow, NULL);
	*out = t;
	return 0;
}

void sdtree_free(struct sdtree *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 0; t->chunk && i < MAX_CHUNKS && t->chunk[i]; i++)
		free(t->chunk[i]);
	free(t->chunk);
	free(t->free);
	free(t->retired);
	pthread_mutex_destroy(&t->slow);
	free(t);
}

int sdtree_worker_init(struct sdtree_worker *w, void *scratch)
{
	*w = (struct sdtree_worker){ .scratch = scratch };
	w->descents = calloc(SDTREE_BATCH_MAX, sizeof(*w->descents));
	return w->descents ? 0 : -ENOMEM;
}

size_t sdtree_worker_bytes(void)
{
	return SDTREE_BATCH_MAX * sizeof(struct sdtree_descent);
}

void sdtree_worker_fini(struct sdtree_worker *w)
{
	free(w->descents);
	w->descents = NULL;
}

void sdtree_quiesce(struct sdtree *t)
{
	pthread_mutex_lock(&t->slow);
	if (t->nretired &&
	    !grow(&t->free, &t->free_cap, t->nfree + t->nretired)) {
		memcpy(t->free + t->nfree, t->retired,
		       t->nretired * sizeof(*t->retired));
		t->nfree += t->nretired;
		t->nretired = 0;
	}
	pthread_mutex_unlock(&t->slow);
}

void sdtree_memory(const struct sdtree *t, size_t *nodes, size_t *arena)
{
	struct sdtree *m = (struct sdtree *)t;
	size_t used, all;

	pthread_mutex_lock(&m->slow);
	used = ((size_t)sdtree_count(t) + t->nfree + t->nretired) *
	       sizeof(struct sdnode);
	all = (size_t)t->allocated * CHUNK_NODES * sizeof(struct sdnode);
	*nodes = used;
	*arena = sizeof(*t) + (all > used ? all - used : 0) +
		 (size_t)MAX_CHUNKS * sizeof(*t->chunk) +
		 (t->free_cap + t->retired_cap) * sizeof(uint32_t);
	pthread_mutex_unlock(&m->slow);
}

size_t sdtree_count(const struct sdtree *t)
{
	return __atomic_load_n(&t->leaves, __ATOMIC_RELAXED);
}
