/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Engine internals shared by engine.c (lifetime, regions) and scan.c
 * (passes). The mutex guards the region list, the slot table's writers and
 * the graveyard; slot[] is read without it by workers. One pass at a time
 * (pass_lock).
 */
#ifndef PONE_ENGINE_PRIV_H
#define PONE_ENGINE_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include <pone/engine.h>

#include "pool.h"
#include "region.h"
#include "sdtree.h"

#define ENGINE_BATCH_MAX SDTREE_BATCH_MAX

/* What one batch produced, for the actuator. */
struct findings {
	unsigned int nzero, ncand, ndup;
	struct pone_page_ref zero[ENGINE_BATCH_MAX];
	struct sdtree_key keys[ENGINE_BATCH_MAX];
	uint32_t canonical[ENGINE_BATCH_MAX];	/* equal to each key, or NONE */
	struct pone_dup dup[ENGINE_BATCH_MAX];
};

/*
 * The trees of one keying: canonical (merged) pages, and candidates. A
 * region's pages meet only the pages of regions keyed as it is: a page
 * whose merges the kernel verifies can only be merged with another such.
 */
struct trees {
	struct sdtree *canonical;
	struct sdtree *candidates;
};

/* A worker's state in the trees of one keying. */
struct tree_workers {
	struct sdtree_worker canonical, candidates;
};

/* A cache line of its own at each end: the counters one worker bumps for
 * every page would otherwise share a line with the next one's findings. */
struct worker {
	struct findings finds;
	struct tree_workers tw[SDTREE_KEYINGS];
	void *buf;		/* copies of the batch's pages */
	void *scratch;		/* copies of leaf pages for the trees */
	struct pone_pass_stats stats;
	uint64_t inserted_alone;	/* pages that entered the tree alone */
	const struct stripe_bits *sb;	/* of the stripe it scans */
	unsigned int home;	/* node + 1 it is bound to; 0: none */
	uint64_t node_pages;	/* of a known node, in its stripes */
	uint64_t node_local;	/* ... of those, on its node */
} __attribute__((aligned(64)));

/* What the kernel said of a proposed merge, applied at the next pass: the
 * member now shares the canonical page's frame, the member is to be looked
 * up again, or the canonical page's frame was full and the member takes
 * its place. */
enum report_kind { REPORT_MERGED, REPORT_RETRY, REPORT_FULL };

struct report {
	struct pone_dup dup;
	enum report_kind kind;
};

struct pone_engine {
	struct pone_backend *be;
	bool own_be;
	unsigned int batch;
	struct pool *pool;
	struct worker *workers;
	unsigned int nworkers;
	unsigned int active;	/* workers a pass runs on, <= nworkers */
	unsigned int stable_periods;	/* of exactly tracked regions */
	unsigned int cpu_millicores;	/* a pass's CPU limit; 0: none */
	struct trees trees[SDTREE_KEYINGS];
	uint64_t progress;	/* stripes done, atomic */

	pthread_mutex_t pass_lock;
	pthread_mutex_t lock;
	struct region *regions;
	struct region *graveyard;	/* removed during a pass */
	bool in_pass;
	struct report *merged;		/* reported merges, applied per pass */
	size_t nmerged, merged_cap;
	struct pone_node_workers node_workers[PONE_NODES];
	struct region *slot[REGION_SLOTS];
};

/* Region owning global page number gpn, or NULL; any thread. */
static inline struct region *engine_region_of(struct pone_engine *e,
					      uint32_t gpn)
{
	return __atomic_load_n(&e->slot[gpn >> REGION_SLOT_SHIFT],
			       __ATOMIC_ACQUIRE);
}

/* Between passes, with the pass lock held: */
void engine_reap(struct pone_engine *e);	/* free removed regions */
void engine_apply_merged(struct pone_engine *e);

/* Take page i of r out of the trees, by the key they know it by. */
void engine_leave_trees(struct pone_engine *e, struct region *r, uint64_t i);

/* Live region with this id, or NULL; the lock is held. */
struct region *engine_find(struct pone_engine *e, uint32_t id);

#endif
