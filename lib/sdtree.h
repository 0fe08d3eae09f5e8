/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SD tree: a concurrent binary Patricia (crit-bit) tree of pages.
 *
 * The key of a page is its 24-bit hash, then its 4096 bytes, then its 31-bit
 * leaf id, compared bit by bit; an inner node holds only the index of the
 * first bit on which its two subtrees differ. A descent reads one key bit
 * per level and never page memory; the page is read once, at the leaf, and
 * only when the hash is equal, so a long common prefix in the pages costs
 * nothing extra, and equality is always a full compare, never the hash.
 *
 * A tree keyed by hash (SDTREE_BY_HASH) is for pages whose equality someone
 * else verifies before acting on it (a kernel that compares every pair it
 * merges): the key is the page's 64-bit hash, then its leaf id, and no page
 * is ever read. Pages of equal hash are "equal" there; a collision costs
 * the verifier one refusal.
 *
 * Equal pages differ only in their leaf ids, so they hang together in one
 * subtree: inserting a page tells at once whether an equal one is there,
 * and a page leaving its group takes no one else with it.
 *
 * Leaves are ids the caller gives; the tree reads their hash and page
 * through struct sdtree_source. Lookups are wait-free and take no lock.
 * Inserts and deletes lock one or two inner nodes (in increasing bit order,
 * so they cannot deadlock), never the tree. Nodes unlinked by deletes are
 * reused only after sdtree_quiesce(), which the caller calls when no thread
 * is inside the tree (the end of a pass): readers need no marking at all.
 *
 * The key of a leaf must not change while it is in the tree: delete it
 * before its hash changes. If its page changes under it anyway, results for
 * that page are wrong (to be verified by whoever acts on them) but the tree
 * stays well formed.
 */
#ifndef PONE_SDTREE_H
#define PONE_SDTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pone/backend.h>

#define SDTREE_LEAF_MAX 0x7ffffffeu
#define SDTREE_NONE 0xffffffffu

#define SDTREE_HASH_BITS 24

enum sdtree_keying {
	SDTREE_BY_CONTENT,	/* SDTREE_HASH_BITS of hash, then the page */
	SDTREE_BY_HASH,		/* all 64 bits of hash; no page */
	SDTREE_KEYINGS,
};

struct sdtree_key {
	uint64_t hash;		/* the key's bits of it are its high bits */
	uint32_t leaf;		/* the page's leaf id; ignored by lookups */
	/* NULL: unknown (for sdtree_delete), or the tree is keyed by hash */
	const void *page;
};

struct sdtree_result {
	uint32_t equal;		/* a leaf with an equal page, or SDTREE_NONE */
	bool inserted;		/* false: its page or a leaf's was unreadable,
				 * a leaf's page changed under the tree, no
				 * memory, or the leaf was there already */
	bool new_group;		/* equal had no equal page until now */
};

struct sdtree_source {
	void *ctx;
	uint64_t (*leaf_hash)(void *ctx, uint32_t leaf);
	/* A hint that leaf_hash(leaf) comes soon. */
	void (*leaf_prefetch)(void *ctx, uint32_t leaf);
	/* Content of a leaf, in place or copied into buf (PONE_PAGE_SIZE),
	 * valid until leaf_put(); NULL when it cannot be read any more (its
	 * region went away), and then no leaf_put(). Keyed by hash: unused. */
	const void *(*leaf_get)(void *ctx, uint32_t leaf, void *buf);
	void (*leaf_put)(void *ctx, uint32_t leaf);
};

/*
 * Per-thread state for one tree: its node cache, and scratch room the caller
 * provides for copies of leaf pages: one page per key of the largest batch
 * it passes (at least one page).
 */
struct sdtree_worker {
	uint32_t next, end;
	uint64_t compares;	/* full page compares this worker made */
	uint64_t compare_calls;	/* ... in this many backend calls */
	void *scratch;
	struct sdtree_descent *descents;	/* the batch's descents */
};

#define SDTREE_BATCH_MAX 256

struct sdtree;

/* be does the compares; keyed by hash there are none, and it may be NULL. */
int sdtree_new(const struct sdtree_source *src, const struct pone_backend *be,
	       enum sdtree_keying keying, struct sdtree **out);
void sdtree_free(struct sdtree *t);

int sdtree_worker_init(struct sdtree_worker *w, void *scratch);
size_t sdtree_worker_bytes(void);	/* what init allocates */
void sdtree_worker_fini(struct sdtree_worker *w);

/* Insert keys[i] (n <= SDTREE_BATCH_MAX) and say what equals each. */
void sdtree_insert_batch(struct sdtree *t, struct sdtree_worker *w, size_t n,
			 const struct sdtree_key *keys,
			 struct sdtree_result *res);

/* found[i] = a leaf whose page equals keys[i]'s, or SDTREE_NONE. */
void sdtree_lookup_batch(struct sdtree *t, struct sdtree_worker *w, size_t n,
			 const struct sdtree_key *keys, uint32_t *found);

/*
 * Up to max leaves of the group of equal, a leaf known equal to k, smallest
 * leaf ids first, reading no page: the subtree that k's hash and page bits
 * lead to, if equal is in it (then all of it is pages equal to k's, as of
 * their insert); else none. Wait-free, like a lookup.
 */
size_t sdtree_group(const struct sdtree *t, const struct sdtree_key *k,
		    uint32_t equal, uint32_t *leaves, size_t max);

/* Remove the leaf key->leaf. Returns 0 or -ENOENT. */
int sdtree_delete(struct sdtree *t, const struct sdtree_key *key);

/* Recycle unlinked nodes; only when no other thread uses the tree. */
void sdtree_quiesce(struct sdtree *t);

/* Bytes of the nodes in use (one a leaf, or waiting for reuse), and of
 * the arena around them, allocated but not in use. */
void sdtree_memory(const struct sdtree *t, size_t *nodes, size_t *arena);
/* Leaves in the tree; only a snapshot while other threads change it. */
size_t sdtree_count(const struct sdtree *t);

#endif
