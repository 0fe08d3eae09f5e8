/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libpone engine: regions of guest pages scanned in periods by a pool of
 * worker threads. A pass reads every page once, in batches, hashes it, tests
 * zero pages, updates its stability, and in merge passes looks stable pages
 * up in the SD tree. Findings go to the caller's actuator from the workers.
 *
 * Threading: pone_engine_scan() runs one pass at a time; add and remove
 * regions from any thread at any time, also during a pass. A removed region
 * is no longer read once pone_engine_remove_region() returns, and its memory
 * is released at the end of the pass (or at once if none runs).
 * Errors are negative errno values.
 */
#ifndef PONE_ENGINE_H
#define PONE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <pone/backend.h>
#include <pone/page.h>

enum pone_read_mode {
	PONE_READ_MAP,		/* zero copy from a read-only mapping */
	PONE_READ_PREAD,	/* copy from an fd with pread() */
	PONE_READ_VM,		/* copy from another process, process_vm_readv() */
};

struct pone_region_desc {
	const char *name;
	uint64_t pages;
	enum pone_read_mode mode;
	const void *map;	/* PONE_READ_MAP: first page */
	int fd;			/* PONE_READ_PREAD: guest RAM fd, else -1 */
	off_t offset;		/* PONE_READ_PREAD: where page 0 starts */
	pid_t pid;		/* PONE_READ_VM: guest process */
	uint64_t addr;		/* PONE_READ_VM: its address of page 0 */
	/*
	 * Optional: set bit i of mask (n <= 512 bits, 64 a word) when page
	 * first + i is resident. Other pages are skipped unread, so a page
	 * that was recycled is not brought back by the scan, and they start
	 * over as unseen. A negative return skips the batch as unreadable.
	 * Set bit i of unwritten (or leave it zero) when the page is known
	 * not to have been written since the engine last read it: a reclaim
	 * pass takes such a page as it was, unread (a merge pass reads every
	 * resident page, so a write the caller missed is seen there).
	 * hash: see resident_hashes.
	 */
	int (*resident)(void *ctx, uint64_t first, unsigned int n,
			uint64_t *mask, uint64_t *unwritten, uint64_t *hash);
	void *resident_ctx;
	/*
	 * unwritten misses no write: one that lands after resident() returned
	 * is reported by its next call. Merge passes then also take
	 * unwritten pages as they were, and read only those about to enter
	 * the SD tree, whose content the tree needs (their hashes stand);
	 * none where merges_verified keys the tree by hash. They pass over
	 * pages unwritten and settled (in the tree, merged, canonical).
	 */
	bool unwritten_exact;
	/*
	 * Every merge of its pages is compared by the kernel at the point of
	 * no return: its duplicates may be found by their 64-bit hash alone
	 * (with a 64-bit hash backend or resident_hashes), reading no page to
	 * confirm them, and only among regions of this kind with hashes of
	 * the same function. A collision (at 2^-64 a pair) is reported as a
	 * duplicate, and the kernel refuses it.
	 */
	bool merges_verified;
	/*
	 * resident() sets hash[i] (n of them) of every resident page i it
	 * does not report unwritten: the xxh64 (seed 0) of its content when
	 * resident() returned, a later write being reported by its next call.
	 * Those pages are not read; a zero page is known by its hash. Only
	 * with unwritten_exact and merges_verified (the kernel also checks
	 * every discard of a zero page). Pages of the region that are read
	 * (unwritten, unseen before) are hashed with xxh64 too.
	 */
	bool resident_hashes;
	/*
	 * Its sharing domain, below PONE_DOMAINS: a page is found equal only
	 * to pages of regions of the same domain (the trees keep domains
	 * apart in their keys, so no lookup crosses one). 0 for all: every
	 * region shares with every other.
	 */
	uint32_t domain;
	/* None of its pages is ever merged: they are found zero (and
	 * reported) as any, but never enter the SD tree. */
	bool never_merge;
	/*
	 * Optional, on a host of several NUMA nodes: sets node[i] to the
	 * node of page first + i's frame (n <= 512), or -1 where none is
	 * known; called once a stripe of 512 pages. A stripe goes, at the
	 * next pass, to a worker on the node most of its pages were on (see
	 * pone_engine_config.numa_workers). A negative return leaves every
	 * page as it was known.
	 */
	int (*nodes)(void *ctx, uint64_t first, unsigned int n,
		     int16_t *node);
	void *nodes_ctx;
	/*
	 * With nodes(), where a page merges only with pages on its node: the
	 * trees keep nodes apart in their keys as they keep domains. A page
	 * of no known node, or of a node at or above PONE_NODES, is no merge
	 * candidate; one found on another node than before is read again and
	 * keyed by the new one.
	 */
	bool nodes_apart;
};

/* A tree key's high 24 bits: 6 of node, 18 of domain. */
#define PONE_DOMAINS (1u << 18)
#define PONE_NODES 63

enum pone_pass {
	PONE_PASS_RECLAIM,	/* hash and zero test: recycle candidates */
	PONE_PASS_MERGE,	/* the same, and duplicate search */
};

struct pone_dup {
	struct pone_page_ref member;
	struct pone_page_ref canonical;
	bool canonical_merged;	/* canonical is a merged (static) page */
};

/*
 * Called from worker threads, a batch at a time; must be thread safe.
 * zero:	pages that are zero and were zero one period ago.
 * duplicate:	a page that became stable, and an equal page found for it
 *		(a merged canonical page if there is one); each page is
 *		reported once, until it changes.
 * Either may be NULL.
 */
struct pone_actuator {
	void *ctx;
	void (*zero)(void *ctx, const struct pone_page_ref *pages, size_t n);
	void (*duplicate)(void *ctx, const struct pone_dup *dups, size_t n);
};

/*
 * Counts of one pass. Pages are stable once unchanged for two merge periods;
 * stable pages enter the SD tree once, where they meet every equal page
 * that is there or comes later: groups and members are what this pass
 * found, dup_pages the pages it visited known to have an equal page.
 */
struct pone_pass_stats {
	uint64_t scanned;	/* pages read */
	/* Pages hashed: all that were read, but in a reclaim pass of a
	 * region without exact write tracking, whose merge passes read
	 * every page, only those new or no longer zero. */
	uint64_t hashed;
	uint64_t unreadable;	/* pages the read failed on */
	uint64_t absent;	/* pages not resident, not read */
	uint64_t unwritten;	/* pages unwritten since read, not read */
	uint64_t zero;		/* zero pages */
	uint64_t zero_stable;	/* ... zero for a period: recycle candidates */
	uint64_t changed;	/* pages whose hash changed since last pass */
	uint64_t stable;	/* non-zero pages stable two merge periods */
	uint64_t unique;	/* pages that entered the tree and have no equal */
	uint64_t dup_groups;	/* groups of equal pages formed */
	uint64_t dup_members;	/* pages found equal to an earlier one */
	/* Pages in a group, as of their scan (not those passed over as
	 * settled: unwritten and stable in the tree, merged, canonical). */
	uint64_t dup_pages;
	uint64_t tree_compares;	/* full page compares done by the tree */
	/* Backend calls those compares took: tree_compares / calls against
	 * the batch size is how full the tree keeps an offload engine's
	 * batches (Para-ksm's "comparison skewness"). */
	uint64_t tree_compare_calls;
	uint64_t cpu_ns;	/* CPU time of all workers */
	uint64_t wall_ns;
};

struct pone_engine_config {
	unsigned int threads;		/* 0: one per online CPU */
	unsigned int batch_pages;	/* 0: default (64) */
	struct pone_backend *backend;	/* NULL: CPU backend (owned) */
	/*
	 * On a host of several NUMA nodes (by libnuma), worker i is bound to
	 * the CPUs of the (i mod n)-th of the n nodes this process has CPUs
	 * on, and takes the stripes on its node, then those of no known node
	 * or of a node without a worker in the pass, never another node's:
	 * a node's pages wait for its workers (give a pass as many threads
	 * as nodes, or a multiple). Stripes' nodes come from regions'
	 * nodes(). Nothing changes on one node.
	 */
	bool numa_workers;
};

struct pone_engine;

int pone_engine_new(const struct pone_engine_config *cfg,
		    struct pone_engine **out);
void pone_engine_free(struct pone_engine *e);

int pone_engine_add_region(struct pone_engine *e,
			   const struct pone_region_desc *desc, uint32_t *id);
int pone_engine_remove_region(struct pone_engine *e, uint32_t id);

int pone_engine_scan(struct pone_engine *e, enum pone_pass kind,
		     const struct pone_actuator *act,
		     struct pone_pass_stats *stats);

/*
 * Stripes of guest pages (a page table's worth each) that passes have
 * finished, ever: a pass that runs and makes it no larger is stuck. Any
 * thread.
 */
uint64_t pone_engine_progress(struct pone_engine *e);

/*
 * Report that the kernel now backs dups[i].member with dups[i].canonical's
 * frame, for each of n reports, under one lock. Takes effect when the next
 * pass starts: the canonical page joins the static part of the tree, and
 * the member is not looked up again until its content changes. Any thread.
 * Returns 0, or the error of the first report not taken: -ENOENT for a
 * region that is gone, -EINVAL for a page out of range (the others are
 * taken), -ENOMEM (none is); -EINVAL, taking none, if a member is its own
 * canonical.
 */
int pone_engine_merged(struct pone_engine *e, const struct pone_dup *dups,
		       size_t n);

/*
 * Report that a reported duplicate could not be merged this time (the
 * kernel said busy): at the next merge pass the page is looked up, and
 * reported, again. Same threads and errors as pone_engine_merged().
 */
int pone_engine_retry(struct pone_engine *e, const struct pone_page_ref *page);

/*
 * Report that a reported duplicate could not be merged because its
 * canonical page's frame has as many sharers as the kernel allows: from
 * the next pass the member is the canonical page of that content in its
 * place, and the old canonical page is taken as merged. Same threads and
 * errors as pone_engine_merged().
 */
int pone_engine_full(struct pone_engine *e, const struct pone_dup *dup);

/* What the page states of a region say now (a walk over them). */
struct pone_region_counts {
	uint64_t pages;
	uint64_t seen;		/* read when last resident */
	uint64_t zero;
	uint64_t stable;	/* non-zero, unchanged two merge periods */
	uint64_t duplicate;	/* with an equal page, here or elsewhere */
	uint64_t merged;	/* sharing a frame with a canonical page */
};

int pone_engine_region_counts(struct pone_engine *e, uint32_t id,
			      struct pone_region_counts *c);

/*
 * Whether no page of [first, first + n) of region id changed over a whole
 * merge period: each was the same at the last two merge passes. Any
 * thread; false for a region that is gone or a range out of it.
 */
bool pone_engine_range_idle(struct pone_engine *e, uint32_t id,
			    uint64_t first, uint64_t n);

/*
 * Of the workers bound to one node (numa_workers): how many there are, and
 * the pages of stripes they took whose node was known, and of those the
 * pages on their own node, over every pass so far. -ENOENT for a node no
 * worker is bound to.
 */
struct pone_node_workers {
	unsigned int workers;
	uint64_t pages;
	uint64_t local;
};

int pone_engine_node_workers(struct pone_engine *e, int node,
			     struct pone_node_workers *nw);

/* Worker threads of the passes: 1 up to the count the engine was made with
 * (its pool); any thread, effective from the next pass. */
unsigned int pone_engine_threads(const struct pone_engine *e);
int pone_engine_set_threads(struct pone_engine *e, unsigned int n);

/*
 * Merge periods a page of a region whose writes are tracked exactly
 * (unwritten_exact) must stay unwritten to become a merge candidate: 2 (the
 * default, as for every other region) or 1, since a write tracked with no
 * window is surer evidence than an unchanged hash. Any thread, effective
 * from the next pass.
 */
unsigned int pone_engine_stable_periods(const struct pone_engine *e);
int pone_engine_set_stable_periods(struct pone_engine *e, unsigned int n);

/*
 * CPU a pass may use, in cores (0: no limit, the default): its workers
 * sleep as they go so that their CPU stays within cores times the time
 * since the pass started, however many threads it runs on, give or take
 * a sleep of 200 ms (they sleep no less at a time). Any thread,
 * effective from the next pass; -EINVAL outside 0.001 to 1024 (or 0).
 */
int pone_engine_set_cpu_limit(struct pone_engine *e, double cores);

/*
 * What the engine's memory is: state that grows with the pages it covers
 * (a word a page, a tree node a stable page), and a fixed part (buffers
 * and arena room of each worker, tables) that does not.
 */
struct pone_engine_memory {
	uint64_t pages;		/* pages of all regions */
	uint64_t page_bytes;	/* page states and tree nodes */
	uint64_t fixed_bytes;
};

void pone_engine_memory(const struct pone_engine *e,
			struct pone_engine_memory *m);

#endif
