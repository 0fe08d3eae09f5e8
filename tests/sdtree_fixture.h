/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SD tree tests' fixture, one thread: every operation is checked
 * against a reference model (per leaf: in the tree or not; per content: how
 * many of its leaves are in), and the whole model is checked after each
 * step that changes it. Equal pages coexist in the tree, so an insert of a
 * leaf whose content is present under other leaves links it and names one
 * of them (new_group when that one was alone); a lookup of a present
 * content gives one of its leaves, of an absent one SDTREE_NONE; a leaf id
 * already in the tree is not inserted again. Every successful leaf_get()
 * must be matched by exactly one leaf_put(), which is counted after every
 * operation.
 *
 * Contents are built so that pages, not hashes, decide most of the shape:
 * hashes can be weak (three values, or one), pages share long zero or
 * constant prefixes and differ by a single bit or a single trailing byte.
 */
#ifndef PONE_TEST_SDTREE_FIXTURE_H
#define PONE_TEST_SDTREE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pone/backend.h>
#include "sdtree.h"

#define PS PONE_PAGE_SIZE
#define NONE SDTREE_NONE
#define BMAX SDTREE_BATCH_MAX

/* The fixture's random stream, from a fixed seed: a failure reproduces. */
uint64_t rnd(void);
uint32_t rnd_below(uint32_t n);

/*
 * Mixed shapes, all distinct for distinct ids (checked at setup): random
 * pages, a 2 KiB zero prefix, one set bit (or none: the zero page), only
 * the last bytes non-zero, and a 2 KiB zero prefix then a constant run with
 * one byte changed somewhere in the second half.
 */
void gen_mixed(unsigned char *p, uint32_t cid);

/* All pages share a 2 KiB zero prefix; most differ only near the end. */
void gen_zero_prefix(unsigned char *p, uint32_t cid);

/* Hashes: xxh32 of the page, three values (0, 0x7fffffff, 0xfffffffe), one. */
enum { HASH_FULL, HASH_FEW, HASH_CONST };

struct params {
	int hmode;
	bool copy;		/* leaf_get copies into the scratch buffer */
	bool high_ids;		/* leaf ids end at SDTREE_LEAF_MAX */
	void (*gen)(unsigned char *p, uint32_t cid);	/* gen_mixed if NULL */
	uint32_t ncontent;	/* contents that exist */
	uint32_t per;		/* leaves (slots) per content */
};

/* A source over slots, a tree with two workers, and the model. */
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

/* Slot s holds content s % ncontent: equal contents far apart. */
struct fx *fx_new(const struct params *prm);
/* Also checks that every leaf_get was put, once. */
void fx_free(struct fx *f);

void *page_alloc(size_t n);	/* n pages, 64-byte aligned */
unsigned char *slot_page(struct fx *f, uint32_t s);
uint32_t leaf_of(struct fx *f, uint32_t s);
/* Slot of content c's k-th leaf. */
uint32_t slot_k(struct fx *f, uint32_t c, uint32_t k);
/* Some slot of content c whose leaf is in the tree (the model says so). */
uint32_t in_slot(struct fx *f, uint32_t c);
/* leaf names a leaf of content cid that the model has in the tree. */
bool in_leaf_of(struct fx *f, uint32_t leaf, uint32_t cid);

/*
 * A lookup key: the leaf id is ignored, so give it any, but none of ours
 * (test_lookup_leaf_in_tree covers that case).
 */
struct sdtree_key content_key(struct fx *f, uint32_t cid);
struct sdtree_key slot_key(struct fx *f, uint32_t s);

/* Every get of the operation just done was put, exactly once. */
void check_balanced(struct fx *f, const char *op);

/*
 * Insert slots[0..n) as one batch, no page unreadable. Keys are taken in
 * order: a key whose content is present (also by an earlier key of the same
 * batch) is linked and names a leaf of it; a leaf already in (also by an
 * earlier key) is not inserted. out, if not NULL, gets the n results.
 */
void do_insert_res(struct fx *f, struct sdtree_worker *w,
		   const uint32_t *slots, size_t n, struct sdtree_result *out);
void do_insert(struct fx *f, struct sdtree_worker *w, const uint32_t *slots,
	       size_t n);
struct sdtree_result insert1(struct fx *f, uint32_t s);
/* Delete slot s's leaf, by its key or with page == NULL. */
void do_delete(struct fx *f, uint32_t s, bool null_page);
/* Look up contents cids[0..n) as one batch. */
void lookup_check(struct fx *f, struct sdtree_worker *w, const uint32_t *cids,
		  size_t n);

/*
 * The whole model: every content looked up (in batches of every size up to
 * the maximum), and the count. With @reinsert, a leaf of every present
 * content is inserted again, which must not insert it and change nothing.
 */
void check_model(struct fx *f, bool reinsert);

void shuffle(uint32_t *a, size_t n);
/* from, from + 1, ... n numbers; caller frees. */
uint32_t *seq(uint32_t from, uint32_t n);
/* Insert slots[0..n) in batches of random sizes, up to the maximum. */
void insert_all(struct fx *f, const uint32_t *slots, size_t n);
/* Delete every leaf in the tree, in random order, some without pages. */
void delete_all(struct fx *f);

#endif
