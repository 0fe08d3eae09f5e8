// SPDX-License-Identifier: GPL-2.0-only
/*
 * One pass over every region. The regions are cut into stripes of
 * STRIPE_PAGES, handed out by one atomic counter, and those into batches of
 * e->batch pages; a worker reads a batch, hashes and zero-tests it,
 * updates the pages' state and, in a merge pass, looks the stable ones up
 * in the SD tree, then hands its findings for the batch to the actuator.
 * Workers share nothing else but the trees; counters are per worker and
 * summed at the end.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_priv.h"

/* Leaves of a group looked at for its head: the smallest ids, which the
 * head (inserted first, as passes go up the pages) mostly has. */
#define GROUP_LOOK 16

struct plan_item {
	struct region *r;
	uint64_t first_stripe;
};

/*
 * The stripes a pass hands out, a queue a node (by node + 1), and queue 0
 * for those of no known node or of a node with no worker in the pass; in
 * the order of the stripes in each.
 */
#define QUEUES (PONE_NODES + 1)

struct queue {
	uint64_t start, n;		/* of pass.order */
	uint64_t taken;			/* atomic */
	unsigned int workers;		/* of the pass on its node */
} __attribute__((aligned(64)));

struct pass {
	struct pone_engine *e;
	bool merge;
	unsigned int exact_stable_periods;	/* of exactly tracked regions */
	unsigned int cpu_millicores;	/* 0: no limit */
	uint64_t start_ns;		/* CLOCK_MONOTONIC */
	uint64_t cpu_ns;		/* of the workers so far, atomic */
	const struct pone_actuator *act;
	struct plan_item *items;
	size_t nitems;
	uint64_t stripes;
	unsigned int threads;		/* workers of the pass */
	uint64_t *order;		/* stripes, by queue */
	struct queue queue[QUEUES];
};

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct pone_page_ref ref_of(struct pone_engine *e, uint32_t gpn)
{
	struct region *r = engine_region_of(e, gpn);

	return (struct pone_page_ref){ .region = r->id,
				       .index = gpn - region_gpn(r, 0) };
}

static void add_dup(struct pone_engine *e, struct findings *f, uint32_t member,
		    uint32_t canonical, bool merged)
{
	/* A region removed during the pass is still here, but dead. */
	if (__atomic_load_n(&engine_region_of(e, canonical)->dead, __ATOMIC_RELAXED))
		return;
	f->dup[f->ndup++] = (struct pone_dup){
		.member = ref_of(e, member),
		.canonical = ref_of(e, canonical),
		.canonical_merged = merged,
	};
}

static void join(struct pone_engine *e, uint32_t gpn)
{
	struct region *r = engine_region_of(e, gpn);

	pagestate_set_role(&r->ps, gpn - region_gpn(r, 0),
			   PS_ROLE_BIT(PS_IN_TREE), PS_IN_GROUP);
}

/* A page in the dynamic tree that no other page was reported against:
 * alone, or the head of its group. */
static bool is_head(struct pone_engine *e, uint32_t gpn)
{
	struct region *r = engine_region_of(e, gpn);
	unsigned int role = r ? ps_role(pagestate_word(&r->ps,
						      gpn - region_gpn(r, 0))) :
				PS_UNSEEN;

	return role == PS_IN_TREE || role == PS_IN_GROUP;
}

/*
 * What a new member of equal's group is reported against: the group's head,
 * so that the members of a group are merged into one page, never into each
 * other (C into B, B into A), which would cost every such member a second
 * lookup and merge. Only a head found in the group equal belongs to will
 * do; else equal itself.
 */
static uint32_t group_head(struct pone_engine *e, const struct sdtree *dyn,
			   const struct sdtree_key *k, uint32_t equal)
{
	uint32_t leaves[GROUP_LOOK];
	size_t n = sdtree_group(dyn, k, equal, leaves, GROUP_LOOK), i;

	for (i = 0; i < n; i++)
		if (leaves[i] != k->leaf && is_head(e, leaves[i]))
			return leaves[i];
	return equal;
}

/*
 * New candidates of region r. A candidate equal to a canonical (merged)
 * page is a member of its group; every candidate also enters the dynamic
 * part, where it meets the candidates equal to it, of any period.
 */
static void find_duplicates(struct pone_engine *e, struct worker *w,
			    struct region *r, struct findings *f)
{
	struct sdtree_result res[ENGINE_BATCH_MAX];
	const struct trees *t = &e->trees[r->keying];
	struct tree_workers *tw = &w->tw[r->keying];
	uint64_t base = region_gpn(r, 0);
	unsigned int i;

	for (i = 0; i < f->ncand; i++)
		f->canonical[i] = SDTREE_NONE;
	if (sdtree_count(t->canonical))
		sdtree_lookup_batch(t->canonical, &tw->canonical, f->ncand,
				    f->keys, f->canonical);
	/* In the tree before it is linked: whoever joins it sees the role. */
	for (i = 0; i < f->ncand; i++)
		pagestate_set_role(&r->ps, f->keys[i].leaf - base,
				   PS_ROLE_BIT(PS_CLEAN2), PS_IN_TREE);
	sdtree_insert_batch(t->candidates, &tw->candidates, f->ncand, f->keys,
			    res);
	/* Roles first, for the whole batch: a member inserted with this
	 * batch must not pass for a head when its group's head is sought. */
	for (i = 0; i < f->ncand; i++) {
		uint64_t idx = f->keys[i].leaf - base;
		bool member = f->canonical[i] != SDTREE_NONE ||
			      res[i].equal != SDTREE_NONE;

		if (!res[i].inserted)	/* unreadable: again next period */
			pagestate_set_role(&r->ps, idx,
					   PS_ROLE_BIT(PS_IN_TREE), PS_CLEAN2);
		else if (member)
			pagestate_set_role(&r->ps, idx,
					   PS_ROLE_BIT(PS_IN_TREE), PS_MEMBER);
		if (f->canonical[i] == SDTREE_NONE && res[i].new_group) {
			w->stats.dup_groups++;
			join(e, res[i].equal);
		}
		if (!member) {
			/* Alone so far: unique unless joined later. */
			if (res[i].inserted)
				pagestate_set_flag(&r->ps, idx, PS_NEW);
			w->inserted_alone += res[i].inserted;
		}
	}
	for (i = 0; i < f->ncand; i++) {
		uint32_t leaf = f->keys[i].leaf;

		if (f->canonical[i] != SDTREE_NONE)
			add_dup(e, f, leaf, f->canonical[i], true);
		else if (res[i].equal != SDTREE_NONE)
			add_dup(e, f, leaf,
				group_head(e, t->candidates, &f->keys[i],
					   res[i].equal), false);
	}
}

static unsigned int stable_periods(const struct pass *p,
				   const struct region *r)
{
	return r->desc.unwritten_exact ? p->exact_stable_periods :
					 PS_STABLE_PERIODS;
}

/* What resident() and nodes() said of a stripe's pages; bit i is page
 * first + i. */
struct stripe_bits {
	uint64_t first;
	int error;		/* of resident(): every page unreadable */
	bool nodes;		/* nodes() answered: node[] holds */
	uint64_t resident[STRIPE_PAGES / 64];
	uint64_t unwritten[STRIPE_PAGES / 64];
	uint8_t node[STRIPE_PAGES];	/* as region.node keeps them */
	uint64_t hash[STRIPE_PAGES];	/* see resident_hashes */
};

/* The node page i is on now, as region.node keeps it; where nodes() did
 * not answer, the one it was known on. */
static uint8_t node_now(const struct region *r, const struct stripe_bits *sb,
			uint64_t i)
{
	return sb->nodes ? sb->node[i - sb->first] : region_page_node(r, i);
}

static bool node_moved(const struct region *r, const struct stripe_bits *sb,
		       uint64_t i)
{
	return r->node && node_now(r, sb, i) != region_page_node(r, i);
}

static void update_states(struct pass *p, struct worker *w, struct region *r,
			  uint64_t first, unsigned int n, const void **pages,
			  const uint64_t *hash, const bool *zero,
			  struct findings *f)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t idx = first + i;
		uint32_t h = (uint32_t)(hash[i] >> 32) & PS_HASH_MASK;
		uint32_t word = pagestate_word(&r->ps, idx);
		unsigned int v;

		/* Out of the trees under its old key, before the key changes. */
		if (ps_changed(word, h) || region_key_changed(r, idx, hash[i]) ||
		    node_moved(r, w->sb, idx))
			engine_leave_trees(p->e, r, idx);
		region_set_key_hash(r, idx, hash[i]);
		region_set_node(r, idx, node_now(r, w->sb, idx));
		v = pagestate_update(&r->ps, idx, h, zero[i], p->merge,
				     stable_periods(p, r));
		w->stats.zero += zero[i];
		w->stats.changed += !!(v & PV_CHANGED);
		w->stats.stable += !!(v & PV_STABLE);
		w->stats.dup_pages += !!(v & PV_IN_GROUP);
		if (v & PV_ZERO_STABLE)
			f->zero[f->nzero++] = (struct pone_page_ref){ r->id, idx };
		/* Of no known node: no merge, which might cross nodes. */
		if ((v & PV_MERGE_CANDIDATE) && !r->desc.never_merge &&
		    (!r->node || region_page_node(r, idx)))
			f->keys[f->ncand++] = (struct sdtree_key){
				region_key_of(r, idx, hash[i]),
				region_gpn(r, idx), pages ? pages[i] : NULL };
	}
}

/* Candidates are looked up while their pages are at hand. */
static void look_up_candidates(struct pass *p, struct worker *w,
			       struct region *r)
{
	if (w->finds.ncand)
		find_duplicates(p->e, w, r, &w->finds);
	w->finds.ncand = 0;
}

/* Every page hashed; a zero page is known by its hash, then verified. */
static void hash_then_test(const struct pass *p, struct worker *w,
			   const struct region *r, unsigned int n,
			   const void **pages, uint64_t *hash, bool *zero)
{
	const struct pone_backend *be = p->e->be;
	const void *zp[ENGINE_BATCH_MAX];
	bool zres[ENGINE_BATCH_MAX];
	unsigned int zi[ENGINE_BATCH_MAX], nz = 0, i;

	region_hash(r, be, pages, n, hash);
	for (i = 0; i < n; i++) {
		zero[i] = false;
		if (hash[i] == r->zero_hash) {
			zp[nz] = pages[i];
			zi[nz++] = i;
		}
	}
	if (nz)
		be->is_zero(be, zp, nz, zres);
	for (i = 0; i < nz; i++)
		zero[zi[i]] = zres[i];
	w->stats.hashed += n;
}

/*
 * A reclaim pass of a region whose merge passes read every page needs to
 * know only which pages are zero: a page non-zero before and now keeps
 * its hash (the next merge pass sees whether it changed), and only pages
 * new or no longer zero are hashed. The zero test of a non-zero page
 * stops at its first non-zero bytes.
 */
static void test_then_hash(const struct pass *p, struct worker *w,
			   const struct region *r, uint64_t first,
			   unsigned int n, const void **pages, uint64_t *hash,
			   bool *zero)
{
	const struct pone_backend *be = p->e->be;
	const void *hp[ENGINE_BATCH_MAX];
	uint64_t hv[ENGINE_BATCH_MAX];
	unsigned int hi[ENGINE_BATCH_MAX], nh = 0, i;

	be->is_zero(be, pages, n, zero);
	for (i = 0; i < n; i++) {
		uint32_t word = pagestate_word(&r->ps, first + i);

		if (zero[i]) {
			hash[i] = r->zero_hash;
		} else if (ps_role(word) != PS_UNSEEN && !(word & PS_ZERO)) {
			hash[i] = region_page_hash(r, first + i);
		} else {
			hp[nh] = pages[i];
			hi[nh++] = i;
		}
	}
	if (nh)
		region_hash(r, be, hp, nh, hv);
	for (i = 0; i < nh; i++)
		hash[hi[i]] = hv[i];
	w->stats.hashed += nh;
}

/* Pages unwritten since they were last read: their hash and zero test
 * stand as they were. */
static void kept_states(const struct region *r, uint64_t first,
			unsigned int n, uint64_t *hash, bool *zero)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		hash[i] = region_page_hash(r, first + i);
		zero[i] = pagestate_word(&r->ps, first + i) & PS_ZERO;
	}
}

/* kept: the pages are unwritten since they were last read. */
static void classify(struct pass *p, struct worker *w, struct region *r,
		     uint64_t first, unsigned int n, const void **pages,
		     bool kept)
{
	uint64_t hash[ENGINE_BATCH_MAX];
	bool zero[ENGINE_BATCH_MAX];
	struct findings *f = &w->finds;

	/* A page of an exactly tracked region is read again only once it is
	 * written: a reclaim pass that reads it hashes it too. */
	if (kept)
		kept_states(r, first, n, hash, zero);
	else if (p->merge || r->desc.unwritten_exact)
		hash_then_test(p, w, r, n, pages, hash, zero);
	else
		test_then_hash(p, w, r, first, n, pages, hash, zero);
	update_states(p, w, r, first, n, pages, hash, zero, f);
	w->stats.scanned += n;
	look_up_candidates(p, w, r);
}

/*
 * Findings go out with no region held: an actuator may remove one. Zero
 * pages go a batch at a time, which lies within one huge page (the
 * actuator pages them out by huge page). Duplicates wait until the next
 * batch's could overflow, or the worker's last stripe is done (all): once
 * converged, a pass finds a few in each stripe, and each call of the
 * actuator costs it a system call (for /dev/pone, a MERGE).
 */
static void deliver(struct pass *p, struct worker *w, bool all)
{
	struct findings *f = &w->finds;

	w->stats.zero_stable += f->nzero;
	if (f->nzero && p->act && p->act->zero)
		p->act->zero(p->act->ctx, f->zero, f->nzero);
	f->nzero = 0;
	if (!all && f->ndup + p->e->batch <= ENGINE_BATCH_MAX)
		return;
	w->stats.dup_members += f->ndup;
	if (f->ndup && p->act && p->act->duplicate)
		p->act->duplicate(p->act->ctx, f->dup, f->ndup);
	f->ndup = 0;
}

/* A page that cannot be read is counted and skipped, never guessed at. */
static void read_run(struct pass *p, struct worker *w, struct region *r,
		     uint64_t first, unsigned int n, bool kept)
{
	const void *pages[ENGINE_BATCH_MAX];

	while (n) {
		long got = region_read(r, first, n, w->buf, pages);

		if (got <= 0) {
			w->stats.unreadable++;
			first++;
			n--;
			continue;
		}
		classify(p, w, r, first, (unsigned int)got, pages, kept);
		first += (uint64_t)got;
		n -= (unsigned int)got;
	}
}

static void scan_run(struct pass *p, struct worker *w, struct region *r,
		     uint64_t first, unsigned int n)
{
	read_run(p, w, r, first, n, false);
}

/* Unwritten pages entering the tree: read for the tree, which is keyed by
 * their content, but not hashed again. */
static void enter_run(struct pass *p, struct worker *w, struct region *r,
		      uint64_t first, unsigned int n)
{
	read_run(p, w, r, first, n, true);
}

/* Pages that are not resident: whatever they held is gone or out of reach,
 * so they leave the trees and start over when they are back. */
static void forget_run(struct pass *p, struct worker *w, struct region *r,
		       uint64_t first, unsigned int n)
{
	uint64_t i;

	for (i = first; i < first + n; i++) {
		if (ps_role(pagestate_word(&r->ps, i)) == PS_UNSEEN)
			continue;
		engine_leave_trees(p->e, r, i);
		pagestate_forget(&r->ps, i);
	}
	w->stats.absent += n;
}

/* Pages the caller knows unwritten since they were last read: their hash
 * and zero test stand as they were, unread. Only a tree keyed by hash
 * takes them in unread. */
static void keep_run(struct pass *p, struct worker *w, struct region *r,
		     uint64_t first, unsigned int n)
{
	uint64_t hash[ENGINE_BATCH_MAX];
	bool zero[ENGINE_BATCH_MAX];

	kept_states(r, first, n, hash, zero);
	update_states(p, w, r, first, n, NULL, hash, zero, &w->finds);
	w->stats.unwritten += n;
	look_up_candidates(p, w, r);
}


/* Pages resident() gave the hashes of: known without a read, a zero page
 * by its hash (the kernel checks its discard). */
static void hashed_run(struct pass *p, struct worker *w, struct region *r,
		       const struct stripe_bits *sb, uint64_t first,
		       unsigned int n)
{
	const uint64_t *hash = &sb->hash[first - sb->first];
	bool zero[ENGINE_BATCH_MAX];
	unsigned int i;

	for (i = 0; i < n; i++)
		zero[i] = hash[i] == r->zero_hash;
	update_states(p, w, r, first, n, NULL, hash, zero, &w->finds);
	w->stats.scanned += n;
	look_up_candidates(p, w, r);
}

static bool bit(const uint64_t *mask, uint64_t i)
{
	return mask[i / 64] >> (i % 64) & 1;
}

/*
 * PAGE_SETTLED: unwritten and settled (ps_settled()): counted as unwritten
 * and stable, and not touched. In a steady state nearly all pages are,
 * and a pass finds 64 of them at a time in its bitmaps.
 */
enum page_action { PAGE_FORGET, PAGE_READ, PAGE_HASHED, PAGE_KEEP,
		   PAGE_ENTER, PAGE_SETTLED };

/* Whether this pass takes r's unwritten pages as they were: all but a
 * merge pass of a region whose writes may be missed, which reads them. */
static bool unwritten_stand(const struct pass *p, const struct region *r)
{
	return !p->merge || r->desc.unwritten_exact;
}

static enum page_action action_of(const struct pass *p, const struct region *r,
				  const struct stripe_bits *sb, uint64_t page,
				  uint32_t word)
{
	if (!bit(sb->resident, page - sb->first))
		return PAGE_FORGET;
	/* Its key changes with its node: leaving the tree, it is read. */
	if (node_moved(r, sb, page))
		return PAGE_READ;
	if (!bit(sb->unwritten, page - sb->first))
		return r->desc.resident_hashes ? PAGE_HASHED : PAGE_READ;
	if (ps_role(word) == PS_UNSEEN)
		return PAGE_READ;
	if (!unwritten_stand(p, r))
		return PAGE_READ;
	if (ps_settled(word))
		return PAGE_SETTLED;
	return p->merge && r->keying == SDTREE_BY_CONTENT &&
	       ps_enters_tree(word, stable_periods(p, r)) ?
	       PAGE_ENTER : PAGE_KEEP;
}

/*
 * Pages [page, page + 64) of a batch that has them all, page a multiple
 * of 64: those settled, resident and unwritten by their bitmaps are passed
 * over, and only the others looked at, however few.
 */
static void classify64(struct worker *w, const struct region *r,
		       const struct stripe_bits *sb, uint64_t page,
		       uint8_t *a)
{
	uint64_t k = (page - sb->first) / 64;
	uint64_t skip = pagestate_settled64(&r->ps, page) & sb->resident[k] &
			sb->unwritten[k];
	uint64_t todo;
	unsigned int i;

	for (i = 0; r->node && i < 64; i++)
		if (node_moved(r, sb, page + i))
			skip &= ~(1ull << i);

	memset(a, PAGE_SETTLED, 64);
	w->stats.unwritten += (uint64_t)__builtin_popcountll(skip);
	w->stats.stable += (uint64_t)__builtin_popcountll(skip);
	for (todo = ~skip; todo; todo &= todo - 1)
		a[__builtin_ctzll(todo)] = PAGE_READ;
}

static void scan_batch(struct pass *p, struct worker *w, struct region *r,
		       uint64_t first, unsigned int n,
		       const struct stripe_bits *sb)
{
	static void (*const act[])(struct pass *, struct worker *,
				   struct region *, uint64_t, unsigned int) = {
		[PAGE_FORGET] = forget_run,
		[PAGE_READ] = scan_run,
		[PAGE_KEEP] = keep_run,
		[PAGE_ENTER] = enter_run,
	};
	uint8_t a[ENGINE_BATCH_MAX];
	unsigned int i, j;

	if (!r->desc.resident) {
		scan_run(p, w, r, first, n);
		return;
	}
	if (sb->error) {
		w->stats.unreadable += n;
		return;
	}
	/* Where unwritten pages stand as they were: 64 at a time first,
	 * then one at a time what that left, and the rest. */
	memset(a, PAGE_READ, n);
	if (unwritten_stand(p, r))
		for (i = -first % 64; i + 64 <= n; i += 64)
			classify64(w, r, sb, first + i, &a[i]);
	for (i = 0; i < n; i++) {
		if (a[i] == PAGE_SETTLED)
			continue;
		a[i] = (uint8_t)action_of(p, r, sb, first + i,
					  pagestate_word(&r->ps, first + i));
		w->stats.unwritten += a[i] == PAGE_SETTLED;
		w->stats.stable += a[i] == PAGE_SETTLED;
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && a[j] == a[i]; j++)
			;
		if (a[i] == PAGE_HASHED)
			hashed_run(p, w, r, sb, first + i, j - i);
		else if (a[i] != PAGE_SETTLED)
			act[a[i]](p, w, r, first + i, j - i);
	}
}

/* nodes() of a stripe, as region.node keeps them. */
static void query_nodes(struct region *r, uint64_t first, unsigned int n,
			struct stripe_bits *sb)
{
	int16_t node[STRIPE_PAGES];
	unsigned int i;

	sb->nodes = !r->desc.nodes(r->desc.nodes_ctx, first, n, node);
	for (i = 0; sb->nodes && i < n; i++)
		sb->node[i] = node[i] >= 0 && node[i] < PONE_NODES ?
			      (uint8_t)(node[i] + 1) : 0;
}

/* One call of resident() a stripe: for /dev/pone, one ioctl; and one of
 * nodes(). */
static void query_stripe(struct region *r, uint64_t first, unsigned int n,
			 struct stripe_bits *sb)
{
	/* The hashes are set where they are meant, nodes where asked. */
	memset(sb, 0, offsetof(struct stripe_bits, node));
	sb->first = first;
	if (!region_get(r))
		return;
	if (r->desc.resident)
		sb->error = r->desc.resident(r->desc.resident_ctx, first, n,
					     sb->resident, sb->unwritten,
					     sb->hash);
	if (r->desc.nodes)
		query_nodes(r, first, n, sb);
	region_put(r);
}

static const struct plan_item *item_of(const struct pass *p, uint64_t stripe)
{
	size_t lo = 0, hi = p->nitems;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (p->items[mid].first_stripe <= stripe)
			lo = mid;
		else
			hi = mid;
	}
	return &p->items[lo];
}

/*
 * Held to the pass's CPU limit as it goes, as ksmd is by its sleeps: a
 * worker that finds the workers' CPU so far ahead of what the limit allows
 * since the pass started sleeps the difference, once that is worth a
 * sleep (THROTTLE_MIN_NS): each wake-up finds the caches cold. Measured in
 * the VM bench (a merging pass of 118K pages at half a CPU, one thread):
 * sleeps of 20 ms cost it 1.65 times its CPU, of 100 ms 1.3 times, of
 * 200 ms nothing measurable. cpu0 is the thread's CPU when it last
 * accounted.
 */
#define THROTTLE_MIN_NS 200000000ull

static void throttle(struct pass *p, uint64_t *cpu0)
{
	uint64_t cpu, all, allowed, spent;

	if (!p->cpu_millicores)
		return;
	cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
	all = __atomic_add_fetch(&p->cpu_ns, cpu - *cpu0, __ATOMIC_RELAXED);
	*cpu0 = cpu;
	allowed = all / p->cpu_millicores * 1000;
	spent = now_ns(CLOCK_MONOTONIC) - p->start_ns;
	if (allowed > spent + THROTTLE_MIN_NS) {
		uint64_t ns = allowed - spent;
		struct timespec ts = { (time_t)(ns / 1000000000u),
				       (long)(ns % 1000000000u) };

		nanosleep(&ts, NULL);
	}
}

static bool take(struct pass *p, unsigned int q, uint64_t *stripe)
{
	struct queue *qu = &p->queue[q];
	uint64_t i;

	if (__atomic_load_n(&qu->taken, __ATOMIC_RELAXED) >= qu->n)
		return false;
	i = __atomic_fetch_add(&qu->taken, 1, __ATOMIC_RELAXED);
	if (i >= qu->n)
		return false;
	*stripe = p->order[qu->start + i];
	return true;
}

/*
 * Its own node's stripes, then those of no known node or of a node no
 * worker of the pass is on; never those of another node with workers,
 * which read them locally: a page read across nodes costs more CPU, and
 * CPU, not a pass's length, is what a pass is held to.
 */
static bool next_stripe(struct pass *p, unsigned int home, uint64_t *stripe)
{
	return (home && take(p, home, stripe)) || take(p, 0, stripe);
}

/*
 * The node most of a stripe's pages are on, for the next pass's plan; and
 * the worker's count of its pages of a known node, and of those on its
 * own.
 */
static void learn_node(struct worker *w, struct region *r, uint64_t stripe,
		       const struct stripe_bits *sb, unsigned int n)
{
	unsigned int count[QUEUES] = { 0 }, best = 0, q, i;

	if (!r->stripe_node || !sb->nodes)
		return;
	for (i = 0; i < n; i++)
		count[sb->node[i]]++;
	for (q = 1; q < QUEUES; q++)
		if (count[q] > (best ? count[best] : 0))
			best = q;
	__atomic_store_n(&r->stripe_node[stripe], (uint8_t)best,
			 __ATOMIC_RELAXED);
	w->node_pages += n - count[0];
	w->node_local += w->home ? count[w->home] : 0;
}

static void worker_run(void *arg, unsigned int id)
{
	struct pass *p = arg;
	struct worker *w = &p->e->workers[id];
	uint64_t s, first, end, cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	struct stripe_bits sb;

	w->sb = &sb;
	while (next_stripe(p, w->home, &s)) {
		const struct plan_item *it = item_of(p, s);

		first = (s - it->first_stripe) * STRIPE_PAGES;
		end = first + STRIPE_PAGES < it->r->desc.pages ?
		      first + STRIPE_PAGES : it->r->desc.pages;
		query_stripe(it->r, first, (unsigned int)(end - first), &sb);
		learn_node(w, it->r, s - it->first_stripe, &sb,
			   (unsigned int)(end - first));
		for (; first < end; first += p->e->batch) {
			if (!region_get(it->r))
				break;
			scan_batch(p, w, it->r, first,
				   end - first < p->e->batch ?
				   (unsigned int)(end - first) : p->e->batch,
				   &sb);
			region_put(it->r);
			deliver(p, w, false);
		}
		__atomic_add_fetch(&p->e->progress, 1, __ATOMIC_RELAXED);
		throttle(p, &cpu0);
	}
	deliver(p, w, true);
}

uint64_t pone_engine_progress(struct pone_engine *e)
{
	return __atomic_load_n(&e->progress, __ATOMIC_RELAXED);
}

static int by_region_id(const void *a, const void *b)
{
	uint32_t x = ((const struct plan_item *)a)->r->id;
	uint32_t y = ((const struct plan_item *)b)->r->id;

	return x < y ? -1 : x > y;
}

/* A stripe's queue: its node's where the pass has a worker there. */
static unsigned int queue_of(const struct pass *p, const struct region *r,
			     uint64_t stripe)
{
	unsigned int q = r->stripe_node ?
			 __atomic_load_n(&r->stripe_node[stripe],
					 __ATOMIC_RELAXED) : 0;

	return p->queue[q].workers ? q : 0;
}

/* The stripes sorted into their queues, each queue in stripe order. */
static int fill_queues(struct pass *p)
{
	uint64_t at = 0, s;
	size_t i;
	unsigned int q;

	p->order = malloc((p->stripes ? p->stripes : 1) * sizeof(*p->order));
	if (!p->order)
		return -ENOMEM;
	for (i = 0; i < p->threads; i++)
		p->queue[p->e->workers[i].home].workers++;
	for (i = 0; i < p->nitems; i++)
		for (s = 0; s < region_stripes(p->items[i].r); s++)
			p->queue[queue_of(p, p->items[i].r, s)].n++;
	for (q = 0; q < QUEUES; q++) {
		p->queue[q].start = at;
		at += p->queue[q].n;
		p->queue[q].n = 0;
	}
	for (i = 0; i < p->nitems; i++)
		for (s = 0; s < region_stripes(p->items[i].r); s++) {
			struct queue *qu = &p->queue[queue_of(p,
							     p->items[i].r, s)];

			p->order[qu->start + qu->n++] =
				p->items[i].first_stripe + s;
		}
	return 0;
}

/*
 * The regions in the order of their page ids: a pass then inserts the pages
 * of a group smallest id first, so the group's head, its first page, is
 * among the leaves group_head() looks at.
 */
static int plan(struct pass *p)
{
	struct pone_engine *e = p->e;
	struct region *r;
	size_t n = 0, i;
	int ret;

	pthread_mutex_lock(&e->lock);
	for (r = e->regions; r; r = r->next)
		n++;
	p->items = calloc(n ? n : 1, sizeof(*p->items));
	if (!p->items) {
		pthread_mutex_unlock(&e->lock);
		return -ENOMEM;
	}
	for (r = e->regions; r; r = r->next)
		p->items[p->nitems++].r = r;
	qsort(p->items, p->nitems, sizeof(*p->items), by_region_id);
	for (i = 0; i < p->nitems; i++) {
		p->items[i].first_stripe = p->stripes;
		p->stripes += region_stripes(p->items[i].r);
	}
	ret = fill_queues(p);
	e->in_pass = !ret;
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* Of the pages that entered the tree alone, those no page joined later. */
static uint64_t count_new_alone(struct pone_engine *e)
{
	struct region *r;
	uint64_t n = 0;

	pthread_mutex_lock(&e->lock);
	for (r = e->regions; r; r = r->next)
		n += pagestate_count_new_alone(&r->ps);
	pthread_mutex_unlock(&e->lock);
	return n;
}

_Static_assert(sizeof(struct pone_pass_stats) % sizeof(uint64_t) == 0,
	       "pass stats are summed as an array of counters");

static void add_stats(struct pone_pass_stats *s,
		      const struct pone_pass_stats *w)
{
	/* A field added to the struct must be added here too. */
	_Static_assert(sizeof(*s) == 17 * sizeof(uint64_t), "add every field");
	s->scanned += w->scanned;
	s->hashed += w->hashed;
	s->unreadable += w->unreadable;
	s->absent += w->absent;
	s->unwritten += w->unwritten;
	s->zero += w->zero;
	s->zero_stable += w->zero_stable;
	s->changed += w->changed;
	s->stable += w->stable;
	s->unique += w->unique;
	s->dup_groups += w->dup_groups;
	s->dup_members += w->dup_members;
	s->dup_pages += w->dup_pages;
	s->tree_compares += w->tree_compares;
	s->tree_compare_calls += w->tree_compare_calls;
	s->cpu_ns += w->cpu_ns;
	s->wall_ns += w->wall_ns;
}

static void take_compares(struct pone_pass_stats *s, struct sdtree_worker *tw)
{
	s->tree_compares += tw->compares;
	s->tree_compare_calls += tw->compare_calls;
	tw->compares = tw->compare_calls = 0;
}

static void take_node_pages(struct pone_engine *e, struct worker *w)
{
	struct pone_node_workers *nw;

	if (!w->home)
		return;
	nw = &e->node_workers[w->home - 1];
	pthread_mutex_lock(&e->lock);
	nw->pages += w->node_pages;
	nw->local += w->node_local;
	pthread_mutex_unlock(&e->lock);
	w->node_pages = w->node_local = 0;
}

static void sum_stats(struct pone_engine *e, struct pone_pass_stats *s)
{
	uint64_t alone = 0;
	unsigned int i, t;

	for (i = 0; i < e->nworkers; i++) {
		struct worker *w = &e->workers[i];

		add_stats(s, &w->stats);
		for (t = 0; t < SDTREE_KEYINGS; t++)
			take_compares(s, &w->tw[t].canonical);
		for (t = 0; t < SDTREE_KEYINGS; t++)
			take_compares(s, &w->tw[t].candidates);
		alone += w->inserted_alone;
		w->stats = (struct pone_pass_stats){ 0 };
		w->inserted_alone = 0;
		take_node_pages(e, w);
	}
	if (alone)
		s->unique = count_new_alone(e);
}

int pone_engine_scan(struct pone_engine *e, enum pone_pass kind,
		     const struct pone_actuator *act,
		     struct pone_pass_stats *stats)
{
	struct pass p = {
		.e = e, .merge = kind == PONE_PASS_MERGE, .act = act,
		.exact_stable_periods = pone_engine_stable_periods(e),
		.threads = pone_engine_threads(e),
		.cpu_millicores = __atomic_load_n(&e->cpu_millicores,
						  __ATOMIC_RELAXED),
	};
	struct pone_pass_stats s = { 0 };
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	/* The caller's own share (planning, merges, counting) is CPU too. */
	uint64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	int ret;

	if (kind != PONE_PASS_RECLAIM && kind != PONE_PASS_MERGE)
		return -EINVAL;
	pthread_mutex_lock(&e->pass_lock);
	engine_apply_merged(e);
	ret = plan(&p);
	p.start_ns = now_ns(CLOCK_MONOTONIC);
	if (!ret) {
		s.cpu_ns = pool_run(e->pool, p.threads, worker_run, &p);
		pthread_mutex_lock(&e->lock);
		e->in_pass = false;
		pthread_mutex_unlock(&e->lock);
		engine_reap(e);
		for (unsigned int k = 0; k < SDTREE_KEYINGS; k++) {
			sdtree_quiesce(e->trees[k].canonical);
			sdtree_quiesce(e->trees[k].candidates);
		}
		sum_stats(e, &s);
	}
	pthread_mutex_unlock(&e->pass_lock);
	free(p.items);
	free(p.order);
	if (ret)
		return ret;
	s.wall_ns = now_ns(CLOCK_MONOTONIC) - t0;
	s.cpu_ns += now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (stats)
		*stats = s;
	return 0;
}
