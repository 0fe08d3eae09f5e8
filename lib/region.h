/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A region: a range of guest pages, how to read them, and their page state.
 *
 * Pages of all regions are also numbered in one global space (gpn, 31 bits)
 * so the SD tree can name a page in 32 bits: a region owns a run of slots of
 * REGION_SLOT_PAGES pages there.
 *
 * Readers bracket every read with region_get()/region_put(); removal marks
 * the region dead and waits for the readers in flight, so no read of it
 * starts or is still running once region_kill() returns.
 */
#ifndef PONE_REGION_H
#define PONE_REGION_H

#include <stdbool.h>
#include <stdint.h>

#include <pone/engine.h>

#include "pagestate.h"
#include "sdtree.h"

#define REGION_SLOT_SHIFT 18			/* 1 GiB of pages a slot */
#define REGION_SLOT_PAGES (1ull << REGION_SLOT_SHIFT)
#define REGION_SLOTS (1u << (31 - REGION_SLOT_SHIFT))

struct region {
	uint32_t id;		/* = first slot */
	uint32_t nslots;
	struct pone_region_desc desc;
	char *name;
	struct pagestate ps;
	/* How the trees know its pages: by their full hash where the kernel
	 * verifies every merge and the hash is 64 bits strong, which hash[]
	 * then keeps, a page's as of its last read (atomic: the trees read
	 * leaves' hashes while their pages' workers write). */
	enum sdtree_keying keying;
	uint64_t *hash;
	uint64_t zero_hash;	/* of a page of zeros, of ps.checksum's kind */
	/* Its domain in the key's high bits, which both keyings compare
	 * first: equal pages of two domains differ in their keys. */
	uint64_t domain_key;
	/* With desc.nodes_apart: each page's node + 1 as of its last read
	 * (0: none known), in the key's top bits, above the domain's.
	 * Atomic, as hash[]. */
	uint8_t *node;
	/* With desc.nodes: the node + 1 most of each stripe's pages were on
	 * at its last read (0: none known), which the next pass's plan
	 * reads; written by the stripe's worker. */
	uint8_t *stripe_node;
	int readers;
	bool dead;
	struct region *next;	/* engine's list */
};

/* Its page state holds hashes of be's kind, or xxh64 where resident()
 * gives hashes. */
int region_new(const struct pone_region_desc *desc,
	       const struct pone_backend *be, struct region **out);
void region_free(struct region *r);

/* out[i] = the hash of pages[i] of r's kind: be's, else xxh64. */
void region_hash(const struct region *r, const struct pone_backend *be,
		 const void *const *pages, size_t n, uint64_t *out);

static inline uint32_t region_gpn(const struct region *r, uint64_t index)
{
	return (uint32_t)(((uint64_t)r->id << REGION_SLOT_SHIFT) + index);
}

/* The hash of page i as of its last read: all 64 bits where the region
 * keeps them, else the high bits its state word keeps. */
static inline uint64_t region_page_hash(const struct region *r, uint64_t i)
{
	if (r->hash)
		return __atomic_load_n(&r->hash[i], __ATOMIC_RELAXED);
	return (uint64_t)ps_hash(pagestate_word(&r->ps, i)) << 32;
}

/*
 * Workers take a region's pages a stripe at a time, a page table's worth
 * (2 MiB of 4 KiB pages): two workers in one page table contend on its
 * lock in every read (process_vm_readv pins each page under it) and every
 * pageout.
 */
#define STRIPE_PAGES 512

static inline uint64_t region_stripes(const struct region *r)
{
	return (r->desc.pages + STRIPE_PAGES - 1) / STRIPE_PAGES;
}

#define REGION_NODE_SHIFT 58

static inline uint8_t region_page_node(const struct region *r, uint64_t i)
{
	return r->node ? __atomic_load_n(&r->node[i], __ATOMIC_RELAXED) : 0;
}

static inline void region_set_node(struct region *r, uint64_t i,
				   uint8_t node)
{
	if (r->node && region_page_node(r, i) != node)
		__atomic_store_n(&r->node[i], node, __ATOMIC_RELAXED);
}

/* The key hash the trees know page i of hash h by: in its domain, and on
 * its node where nodes are kept apart. */
static inline uint64_t region_key_of(const struct region *r, uint64_t i,
				     uint64_t h)
{
	return h ^ r->domain_key ^
	       (uint64_t)region_page_node(r, i) << REGION_NODE_SHIFT;
}

static inline uint64_t region_key_hash(const struct region *r, uint64_t i)
{
	return region_key_of(r, i, region_page_hash(r, i));
}

/* Whether a page seen before is known by another hash now; where the
 * region keeps full hashes, a change its state word's bits miss. */
static inline bool region_key_changed(const struct region *r, uint64_t i,
				      uint64_t hash)
{
	return r->hash && ps_role(pagestate_word(&r->ps, i)) != PS_UNSEEN &&
	       region_page_hash(r, i) != hash;
}

static inline void region_set_key_hash(struct region *r, uint64_t i,
				       uint64_t hash)
{
	if (r->hash && region_page_hash(r, i) != hash)
		__atomic_store_n(&r->hash[i], hash, __ATOMIC_RELAXED);
}

bool region_get(struct region *r);
void region_put(struct region *r);
void region_kill(struct region *r);

/*
 * Read pages [first, first + n) of r; pages[i] points at page i, in place
 * (PONE_READ_MAP) or in buf (n pages). Returns how many pages could be read
 * from the start (a short read at the end of an fd), or negative errno.
 */
long region_read(const struct region *r, uint64_t first, unsigned int n,
		 void *buf, const void **pages);

#endif
