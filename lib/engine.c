// SPDX-License-Identifier: GPL-2.0-only
/*
 * Engine lifetime and regions. A region removed during a pass is unhooked at
 * once (no worker starts a read of it, the tree sees its leaves as gone) and
 * freed when the pass ends, since workers may still hold its pointer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_priv.h"

#define DEFAULT_BATCH 64

static uint64_t leaf_hash(void *ctx, uint32_t gpn)
{
	struct region *r = engine_region_of(ctx, gpn);

	return r ? region_key_hash(r, gpn - region_gpn(r, 0)) : 0;
}

static void leaf_prefetch(void *ctx, uint32_t gpn)
{
	struct region *r = engine_region_of(ctx, gpn);

	if (!r)
		return;
	if (r->hash)
		__builtin_prefetch(&r->hash[gpn - region_gpn(r, 0)]);
	else
		__builtin_prefetch(&r->ps.word[gpn - region_gpn(r, 0)]);
}

/* The region stays until leaf_put(): no removal can finish meanwhile. */
static const void *leaf_get(void *ctx, uint32_t gpn, void *buf)
{
	struct region *r = engine_region_of(ctx, gpn);
	const void *page;

	if (!r || !region_get(r))
		return NULL;
	if (region_read(r, gpn - region_gpn(r, 0), 1, buf, &page) == 1)
		return page;
	region_put(r);
	return NULL;
}

static void leaf_put(void *ctx, uint32_t gpn)
{
	region_put(engine_region_of(ctx, gpn));
}

static void workers_fini(struct pone_engine *e)
{
	unsigned int i, k;

	for (i = 0; e->workers && i < e->nworkers; i++) {
		struct worker *w = &e->workers[i];

		free(w->buf);
		free(w->scratch);
		for (k = 0; k < SDTREE_KEYINGS; k++) {
			sdtree_worker_fini(&w->tw[k].canonical);
			sdtree_worker_fini(&w->tw[k].candidates);
		}
	}
	free(e->workers);
}

static int workers_init(struct pone_engine *e, unsigned int n)
{
	size_t room = (size_t)e->batch * PONE_PAGE_SIZE;
	unsigned int i, k;

	e->workers = aligned_alloc(64, n * sizeof(*e->workers));
	if (!e->workers)
		return -ENOMEM;
	memset(e->workers, 0, n * sizeof(*e->workers));
	e->nworkers = n;
	e->active = n;
	for (i = 0; i < n; i++) {
		struct worker *w = &e->workers[i];

		w->buf = aligned_alloc(64, room);
		w->scratch = aligned_alloc(64, room);
		if (!w->buf || !w->scratch)
			return -ENOMEM;
		for (k = 0; k < SDTREE_KEYINGS; k++) {
			struct tree_workers *tw = &w->tw[k];

			if (sdtree_worker_init(&tw->canonical, w->scratch) ||
			    sdtree_worker_init(&tw->candidates, w->scratch))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Each worker's node, once its thread is bound to it. */
static int start_pool(struct pone_engine *e, bool numa_workers)
{
	struct placement *pl = NULL;
	unsigned int i;
	int ret = 0;

	if (numa_workers) {
		pl = malloc(sizeof(*pl));
		ret = pl ? placement_init(pl) : -ENOMEM;
	}
	if (!ret)
		ret = pool_new(e->nworkers, pl, &e->pool);
	free(pl);
	for (i = 0; !ret && i < e->nworkers; i++) {
		int node = pool_worker_node(e->pool, i);

		if (node < 0)
			continue;
		e->workers[i].home = (unsigned int)node + 1;
		e->node_workers[node].workers++;
	}
	return ret;
}

int pone_engine_new(const struct pone_engine_config *cfg,
		    struct pone_engine **out)
{
	struct sdtree_source src = { .leaf_hash = leaf_hash,
				     .leaf_prefetch = leaf_prefetch,
				     .leaf_get = leaf_get,
				     .leaf_put = leaf_put };
	unsigned int threads = cfg->threads;
	enum sdtree_keying k;
	struct pone_engine *e;
	int ret;

	if (cfg->batch_pages > ENGINE_BATCH_MAX || threads > 1024)
		return -EINVAL;
	if (!threads) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		threads = ncpu > 0 ? (unsigned int)ncpu : 1;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->pass_lock, NULL);
	e->batch = cfg->batch_pages ? cfg->batch_pages : DEFAULT_BATCH;
	e->stable_periods = PS_STABLE_PERIODS;
	e->be = cfg->backend;
	if (!e->be) {
		e->be = pone_backend_cpu_new();
		e->own_be = true;
	}
	src.ctx = e;
	ret = e->be ? 0 : -ENOMEM;
	for (k = 0; !ret && k < SDTREE_KEYINGS; k++) {
		ret = sdtree_new(&src, e->be, k, &e->trees[k].canonical);
		if (!ret)
			ret = sdtree_new(&src, e->be, k,
					 &e->trees[k].candidates);
	}
	if (!ret)
		ret = workers_init(e, threads);
	if (!ret)
		ret = start_pool(e, cfg->numa_workers);
	if (ret) {
		pone_engine_free(e);
		return ret;
	}
	*out = e;
	return 0;
}

void pone_engine_free(struct pone_engine *e)
{
	struct region *r, *next;
	unsigned int k;

	if (!e)
		return;
	pool_free(e->pool);
	for (r = e->regions; r; r = next) {
		next = r->next;
		region_free(r);
	}
	engine_reap(e);
	workers_fini(e);
	free(e->merged);
	for (k = 0; k < SDTREE_KEYINGS; k++) {
		sdtree_free(e->trees[k].canonical);
		sdtree_free(e->trees[k].candidates);
	}
	if (e->own_be)
		pone_backend_destroy(e->be);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->pass_lock);
	free(e);
}

/* First run of n free slots; the lock is held. */
static long find_slots(const struct pone_engine *e, uint32_t n)
{
	uint32_t i, run = 0;

	for (i = 0; i < REGION_SLOTS; i++) {
		run = e->slot[i] ? 0 : run + 1;
		if (run == n)
			return i + 1 - n;
	}
	return -ENOSPC;
}

static void set_slots(struct pone_engine *e, struct region *r,
		      struct region *to)
{
	uint32_t i;

	for (i = 0; i < r->nslots; i++)
		__atomic_store_n(&e->slot[r->id + i], to, __ATOMIC_RELEASE);
}

int pone_engine_add_region(struct pone_engine *e,
			   const struct pone_region_desc *desc, uint32_t *id)
{
	struct region *r;
	long first;
	int ret = region_new(desc, e->be, &r);

	if (ret)
		return ret;
	pthread_mutex_lock(&e->lock);
	first = find_slots(e, r->nslots);
	if (first >= 0) {
		r->id = (uint32_t)first;
		set_slots(e, r, r);
		r->next = e->regions;
		e->regions = r;
		*id = r->id;
	}
	pthread_mutex_unlock(&e->lock);
	if (first < 0)
		region_free(r);
	return first < 0 ? (int)first : 0;
}

static struct region *unlink_region(struct pone_engine *e, uint32_t id)
{
	struct region **pp, *r;

	for (pp = &e->regions; (r = *pp); pp = &r->next) {
		if (r->id == id) {
			*pp = r->next;
			return r;
		}
	}
	return NULL;
}

void engine_leave_trees(struct pone_engine *e, struct region *r, uint64_t i)
{
	uint32_t word = pagestate_word(&r->ps, i);
	struct sdtree_key k = { region_key_hash(r, i), region_gpn(r, i), NULL };
	struct trees *t = &e->trees[r->keying];

	if (ps_in_tree(word)) {
		sdtree_delete(t->candidates, &k);
		pagestate_set_role(&r->ps, i, PS_IN_ANY_TREE, PS_CLEAN2);
	}
	if (word & PS_CANONICAL)
		sdtree_delete(t->canonical, &k);
}

/* Its slots may soon name another region's pages: forget its leaves. */
static void region_destroy(struct pone_engine *e, struct region *r)
{
	uint64_t i;

	for (i = 0; i < r->desc.pages; i++)
		engine_leave_trees(e, r, i);
	pthread_mutex_lock(&e->lock);
	set_slots(e, r, NULL);
	pthread_mutex_unlock(&e->lock);
	region_free(r);
}

/*
 * Reports name regions by id, which a region added after this one's
 * removal takes: one applied to it would mark its pages merged or
 * canonical for another region's sake. None can come once the region is
 * dead. The lock is held.
 */
static void drop_reports(struct pone_engine *e, uint32_t id)
{
	size_t i, n = 0;

	for (i = 0; i < e->nmerged; i++) {
		const struct pone_dup *d = &e->merged[i].dup;

		if (d->member.region != id && d->canonical.region != id)
			e->merged[n++] = e->merged[i];
	}
	e->nmerged = n;
}

int pone_engine_remove_region(struct pone_engine *e, uint32_t id)
{
	struct region *r;
	bool later;

	pthread_mutex_lock(&e->lock);
	r = unlink_region(e, id);
	pthread_mutex_unlock(&e->lock);
	if (!r)
		return -ENOENT;
	/* No reader left before a pass's end may free it. */
	region_kill(r);
	pthread_mutex_lock(&e->lock);
	drop_reports(e, id);
	later = e->in_pass;
	if (later) {
		r->next = e->graveyard;
		e->graveyard = r;
	}
	pthread_mutex_unlock(&e->lock);
	if (!later) {
		pthread_mutex_lock(&e->pass_lock);
		region_destroy(e, r);
		pthread_mutex_unlock(&e->pass_lock);
	}
	return 0;
}

void engine_reap(struct pone_engine *e)
{
	struct region *r, *next;

	pthread_mutex_lock(&e->lock);
	r = e->graveyard;
	e->graveyard = NULL;
	pthread_mutex_unlock(&e->lock);
	for (; r; r = next) {
		next = r->next;
		region_destroy(e, r);
	}
}

struct region *engine_find(struct pone_engine *e, uint32_t id)
{
	struct region *r = id < REGION_SLOTS ? e->slot[id] : NULL;

	return r && r->id == id && !__atomic_load_n(&r->dead, __ATOMIC_ACQUIRE) ?
	       r : NULL;
}

static bool valid_ref(struct pone_engine *e, const struct pone_page_ref *ref)
{
	struct region *r = engine_find(e, ref->region);

	return r && ref->index < r->desc.pages;
}

static int reserve_reports(struct pone_engine *e, size_t n)
{
	size_t cap = e->merged_cap ? e->merged_cap : 1024;
	struct report *m;

	if (e->nmerged + n <= e->merged_cap)
		return 0;
	while (cap < e->nmerged + n)
		cap *= 2;
	m = realloc(e->merged, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	e->merged = m;
	e->merged_cap = cap;
	return 0;
}

static int check_report(struct pone_engine *e, const struct pone_dup *dup)
{
	if (!engine_find(e, dup->member.region) ||
	    !engine_find(e, dup->canonical.region))
		return -ENOENT;
	if (!valid_ref(e, &dup->member) || !valid_ref(e, &dup->canonical))
		return -EINVAL;
	return 0;
}

static bool same_page(const struct pone_page_ref *a,
		      const struct pone_page_ref *b)
{
	return a->region == b->region && a->index == b->index;
}

/* Reports wait for the next pass, under one lock a batch. */
static int queue_reports(struct pone_engine *e, const struct pone_dup *dups,
			 size_t n, enum report_kind kind)
{
	int ret, first = 0;
	size_t i;

	pthread_mutex_lock(&e->lock);
	ret = reserve_reports(e, n);
	for (i = 0; !ret && i < n; i++) {
		int err = check_report(e, &dups[i]);

		if (!err)
			e->merged[e->nmerged++] = (struct report){ dups[i],
								   kind };
		else if (!first)
			first = err;
	}
	pthread_mutex_unlock(&e->lock);
	return ret ? ret : first;
}

int pone_engine_merged(struct pone_engine *e, const struct pone_dup *dups,
		       size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (same_page(&dups[i].member, &dups[i].canonical))
			return -EINVAL;
	return queue_reports(e, dups, n, REPORT_MERGED);
}

int pone_engine_retry(struct pone_engine *e, const struct pone_page_ref *page)
{
	struct pone_dup self = { .member = *page, .canonical = *page };

	return queue_reports(e, &self, 1, REPORT_RETRY);
}

int pone_engine_full(struct pone_engine *e, const struct pone_dup *dup)
{
	if (same_page(&dup->member, &dup->canonical))
		return -EINVAL;
	return queue_reports(e, dup, 1, REPORT_FULL);
}

/* Put a canonical page in the static tree, keyed by its current content
 * (or, keyed by hash, by its hash as of its last read). */
static void make_canonical(struct pone_engine *e, struct region *r,
			   uint64_t idx)
{
	struct worker *w = &e->workers[0];
	struct sdtree_result res;
	struct sdtree_key k;
	uint32_t leaf = region_gpn(r, idx);
	const void *page = NULL;

	if (pagestate_word(&r->ps, idx) & PS_CANONICAL)
		return;
	if (r->keying == SDTREE_BY_CONTENT &&
	    region_read(r, idx, 1, w->buf, &page) != 1)
		return;
	engine_leave_trees(e, r, idx);
	k = (struct sdtree_key){ region_key_hash(r, idx), leaf, page };
	sdtree_insert_batch(e->trees[r->keying].canonical,
			    &w->tw[r->keying].canonical, 1, &k, &res);
	if (res.inserted)
		pagestate_set_flag(&r->ps, idx, PS_CANONICAL);
}

/*
 * Marks (or unmarks) the members of the merges being applied, and the
 * pages to be looked up again: neither is a canonical page to merge into.
 */
static void mark_members(struct pone_engine *e, bool on)
{
	size_t i;

	for (i = 0; i < e->nmerged; i++) {
		const struct pone_page_ref *member = &e->merged[i].dup.member;
		struct region *m = engine_find(e, member->region);

		if (!m)
			continue;
		if (on)
			pagestate_set_flag(&m->ps, member->index, PS_MARK);
		else
			pagestate_clear_flag(&m->ps, member->index, PS_MARK);
	}
}

/*
 * A member merged into a page that was itself merged into a third (C into
 * B, B into A, in one period) shares B's old frame, not A's: it is looked
 * up again, finds A in the static part and is merged into it. So is one
 * merged into a page the kernel could not merge (B busy): B would stand
 * as a second canonical page beside A.
 */
static bool merged_into_member(struct region *c, uint64_t idx)
{
	return pagestate_word(&c->ps, idx) & (PS_MARK | PS_MERGED);
}

/*
 * The canonical page's frame has as many sharers as the kernel allows: the
 * member, equal to it, takes its place in the static part, and the next
 * equal pages merge into the member's frame. The old canonical page stays
 * with the sharers of its frame, as a merged page, until it changes. A
 * second member found full against it in one period is looked up again,
 * and finds the first.
 */
static void replace_canonical(struct pone_engine *e, const struct pone_dup *d,
			      struct region *m, struct region *c)
{
	uint64_t ci = d->canonical.index;

	if (!(pagestate_word(&c->ps, ci) & PS_CANONICAL) ||
	    merged_into_member(c, ci)) {
		engine_leave_trees(e, m, d->member.index);
		return;
	}
	engine_leave_trees(e, c, ci);
	pagestate_clear_flag(&c->ps, ci, PS_CANONICAL);
	pagestate_set_flag(&c->ps, ci, PS_MERGED);
	make_canonical(e, m, d->member.index);
}

/*
 * The reports of one period: merges and retries first, then the full
 * frames, so that a merge into a canonical page found full in the same
 * period is taken as one, not looked up again.
 */
void engine_apply_merged(struct pone_engine *e)
{
	size_t i;

	pthread_mutex_lock(&e->lock);
	mark_members(e, true);
	for (i = 0; i < e->nmerged; i++) {
		const struct pone_dup *d = &e->merged[i].dup;
		struct region *m = engine_find(e, d->member.region);
		struct region *c = engine_find(e, d->canonical.region);

		if (!m || !c || e->merged[i].kind == REPORT_FULL)
			continue;
		if (e->merged[i].kind == REPORT_RETRY ||
		    merged_into_member(c, d->canonical.index)) {
			/* Out of the tree, a candidate again. */
			engine_leave_trees(e, m, d->member.index);
			continue;
		}
		/* Merged pages are no candidates any more: the canonical page
		 * stands for them all, in the static part. */
		engine_leave_trees(e, m, d->member.index);
		pagestate_set_flag(&m->ps, d->member.index, PS_MERGED);
		make_canonical(e, c, d->canonical.index);
	}
	for (i = 0; i < e->nmerged; i++) {
		const struct pone_dup *d = &e->merged[i].dup;
		struct region *m = engine_find(e, d->member.region);
		struct region *c = engine_find(e, d->canonical.region);

		if (m && c && e->merged[i].kind == REPORT_FULL)
			replace_canonical(e, d, m, c);
	}
	mark_members(e, false);
	e->nmerged = 0;
	pthread_mutex_unlock(&e->lock);
}

int pone_engine_region_counts(struct pone_engine *e, uint32_t id,
			      struct pone_region_counts *c)
{
	struct region *r;
	uint64_t i;

	pthread_mutex_lock(&e->lock);
	r = engine_find(e, id);
	*c = (struct pone_region_counts){ .pages = r ? r->desc.pages : 0 };
	for (i = 0; r && i < r->desc.pages; i++) {
		uint32_t w = pagestate_word(&r->ps, i);
		unsigned int role = ps_role(w);

		c->seen += role != PS_UNSEEN;
		c->zero += !!(w & PS_ZERO);
		c->stable += !(w & PS_ZERO) && role >= PS_CLEAN2;
		c->duplicate += ps_in_group(w);
		c->merged += !!(w & PS_MERGED);
	}
	pthread_mutex_unlock(&e->lock);
	return r ? 0 : -ENOENT;
}

bool pone_engine_range_idle(struct pone_engine *e, uint32_t id,
			    uint64_t first, uint64_t n)
{
	struct region *r;
	bool idle;
	uint64_t i;

	pthread_mutex_lock(&e->lock);
	r = engine_find(e, id);
	idle = r && first <= r->desc.pages && n <= r->desc.pages - first;
	for (i = first; idle && i < first + n; i++)
		idle = ps_role(pagestate_word(&r->ps, i)) >= PS_CLEAN1;
	pthread_mutex_unlock(&e->lock);
	return idle;
}

unsigned int pone_engine_threads(const struct pone_engine *e)
{
	return __atomic_load_n(&e->active, __ATOMIC_RELAXED);
}

int pone_engine_set_threads(struct pone_engine *e, unsigned int n)
{
	if (!n || n > e->nworkers)
		return -EINVAL;
	__atomic_store_n(&e->active, n, __ATOMIC_RELAXED);
	return 0;
}

unsigned int pone_engine_stable_periods(const struct pone_engine *e)
{
	return __atomic_load_n(&e->stable_periods, __ATOMIC_RELAXED);
}

int pone_engine_set_stable_periods(struct pone_engine *e, unsigned int n)
{
	if (n < 1 || n > 2)
		return -EINVAL;
	__atomic_store_n(&e->stable_periods, n, __ATOMIC_RELAXED);
	return 0;
}

int pone_engine_set_cpu_limit(struct pone_engine *e, double cores)
{
	if (!(cores >= 0.001 || cores == 0) || cores > 1024)
		return -EINVAL;
	__atomic_store_n(&e->cpu_millicores, (unsigned int)(cores * 1000 + 0.5),
			 __ATOMIC_RELAXED);
	return 0;
}

void pone_engine_memory(const struct pone_engine *e,
			struct pone_engine_memory *m)
{
	struct pone_engine *me = (struct pone_engine *)e;
	const struct region *r;
	unsigned int k;

	*m = (struct pone_engine_memory){
		.fixed_bytes = sizeof(*e) +
			       (uint64_t)e->nworkers *
			       (sizeof(struct worker) +
				2ull * e->batch * PONE_PAGE_SIZE +
				2ull * SDTREE_KEYINGS * sdtree_worker_bytes()),
	};
	for (k = 0; k < SDTREE_KEYINGS; k++) {
		size_t nodes[2], arena[2];

		sdtree_memory(e->trees[k].canonical, &nodes[0], &arena[0]);
		sdtree_memory(e->trees[k].candidates, &nodes[1], &arena[1]);
		m->page_bytes += nodes[0] + nodes[1];
		m->fixed_bytes += arena[0] + arena[1];
	}
	pthread_mutex_lock(&me->lock);
	for (r = e->regions; r; r = r->next) {
		m->pages += r->desc.pages;
		m->page_bytes += pagestate_bytes(&r->ps) +
				 (r->hash ? r->desc.pages * sizeof(*r->hash) : 0);
		m->fixed_bytes += sizeof(*r);
	}
	pthread_mutex_unlock(&me->lock);
}

int pone_engine_node_workers(struct pone_engine *e, int node,
			     struct pone_node_workers *nw)
{
	int ret = -ENOENT;

	if (node < 0 || node >= PONE_NODES)
		return ret;
	pthread_mutex_lock(&e->lock);
	if (e->node_workers[node].workers) {
		*nw = e->node_workers[node];
		ret = 0;
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}
