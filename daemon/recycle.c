// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pageout.h"
#include "recycle.h"

#define HUGE_PAGES 512			/* 4 KiB pages in a 2 MiB page */

/*
 * A huge page's count is one word, so that workers add to it with one
 * compare-and-swap: the pass it counts in, and how many of its pages were
 * found zero in that pass. A count of an earlier pass is stale and reads
 * as 0; the pass number wraps after 4 million passes, weeks of them.
 */
#define COUNT_BITS 10			/* up to 512 */
#define COUNT_MASK ((1u << COUNT_BITS) - 1)
#define PASS_MASK ((1u << (32 - COUNT_BITS)) - 1)

static uint32_t count_pack(uint32_t pass, uint32_t count)
{
	return pass << COUNT_BITS | count;
}

static uint32_t count_in(uint32_t word, uint32_t pass)
{
	return word >> COUNT_BITS == pass ? word & COUNT_MASK : 0;
}

void recycle_pass_init(struct recycle_pass *rp, struct pone_engine *e,
		       struct guests *gs, enum thp_split policy, uint64_t pass)
{
	*rp = (struct recycle_pass){ e, gs, policy,
				     (uint32_t)pass & PASS_MASK };
}

static void pageout(struct guest *g, const struct pone_page_ref *pages,
		    size_t n)
{
	long k = pageout_pages(g->pidfd, g->ram.addr, pages, n);

	if (k >= 0) {
		__atomic_add_fetch(&g->recycled_pages, (uint64_t)k,
				   __ATOMIC_RELAXED);
	} else if (__atomic_fetch_add(&g->recycle_errors, 1,
				      __ATOMIC_RELAXED) == 0) {
		log_warn("guest %s: cannot page out zero pages: %s%s", g->name,
			 strerror(-(int)k),
			 k == -EPERM ? " (poned needs CAP_SYS_NICE)" : "");
	}
}

/* The huge page (2 MiB of the guest's address space) page idx is in. */
static uint64_t block_of(const struct guest *g, uint64_t idx)
{
	return ((g->ram.addr >> PONE_PAGE_SHIFT) + idx) / HUGE_PAGES;
}

static uint64_t block_first(const struct guest *g, uint64_t block)
{
	return block * HUGE_PAGES - (g->ram.addr >> PONE_PAGE_SHIFT);
}

bool recycle_count(uint32_t *word, uint32_t pass, size_t n)
{
	uint32_t old = __atomic_load_n(word, __ATOMIC_RELAXED), new;

	do {
		new = count_pack(pass, count_in(old, pass) + (uint32_t)n);
	} while (!__atomic_compare_exchange_n(word, &old, new, false,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return count_in(new, pass) == HUGE_PAGES;
}

enum huge_verdict recycle_verdict(enum thp_split policy, bool whole,
				  bool idle)
{
	if (whole)
		return HUGE_WHOLE;
	if (policy == THP_ALWAYS || (policy == THP_IDLE && idle))
		return HUGE_SPLIT;
	return HUGE_KEEP;
}

static void huge_block(const struct recycle_pass *rp, struct guest *g,
		       uint64_t block, const struct pone_page_ref *pages,
		       size_t n)
{
	uint64_t first = block_first(g, block);
	struct pone_page_ref whole[HUGE_PAGES];
	bool all = recycle_count(&g->huge_zero[block - block_of(g, 0)],
				 rp->number, n);
	/* Asked only where the policy needs it: it walks 512 page states. */
	bool idle = !all && rp->policy == THP_IDLE &&
		    pone_engine_range_idle(rp->engine, pages[0].region, first,
					   HUGE_PAGES);
	size_t i;

	switch (recycle_verdict(rp->policy, all, idle)) {
	case HUGE_WHOLE:
		for (i = 0; i < HUGE_PAGES; i++)
			whole[i] = (struct pone_page_ref){ pages[0].region,
							   first + i };
		pageout(g, whole, HUGE_PAGES);
		__atomic_add_fetch(&g->huge_whole, 1, __ATOMIC_RELAXED);
		break;
	case HUGE_SPLIT:
		pageout(g, pages, n);
		__atomic_add_fetch(&g->huge_split, 1, __ATOMIC_RELAXED);
		break;
	case HUGE_KEEP:
		break;
	}
}

int recycle_attach(struct guest *g)
{
	/* One count a 2 MiB page, the partial ones at both ends too. */
	g->huge_zero = calloc((g->ram.size >> 21) + 2, sizeof(*g->huge_zero));
	return g->huge_zero ? 0 : -ENOMEM;
}

void recycle_detach(struct guest *g)
{
	free(g->huge_zero);
	g->huge_zero = NULL;
}

void recycle_pageout(const struct recycle_pass *rp, struct guest *g,
		     const struct pone_page_ref *pages, size_t n)
{
	uint64_t huge[PAGEMAP_MAX / 64] = { 0 };
	uint64_t base = pages[0].index, span = pages[n - 1].index + 1 - base;
	struct pone_page_ref small[PAGEMAP_MAX];
	size_t i, j, nsmall = 0;

	if (__atomic_load_n(&g->zero_to_ksm, __ATOMIC_RELAXED))
		return;		/* KSM maps them to the zero page */

	if (span > PAGEMAP_MAX ||
	    pagemap_query(&g->pagemap, base, (unsigned int)span, NULL, huge))
		memset(huge, 0, sizeof(huge));
	for (i = 0; i < n; i = j) {
		uint64_t off = pages[i].index - base;
		uint64_t block = block_of(g, pages[i].index);

		j = i + 1;
		if (!(huge[off / 64] >> (off % 64) & 1)) {
			small[nsmall++] = pages[i];
			continue;
		}
		while (j < n && block_of(g, pages[j].index) == block)
			j++;
		huge_block(rp, g, block, pages + i, j - i);
	}
	if (nsmall)
		pageout(g, small, nsmall);
}

/* Runs of pages of one region at a time; a batch is one region, but the
 * contract does not promise it. */
void recycle_found(const struct recycle_pass *rp,
		   const struct pone_page_ref *pages, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j) {
		struct guest *g = guests_get(rp->guests, pages[i].region);

		for (j = i + 1; j < n && pages[j].region == pages[i].region; j++)
			;
		if (g)
			g->ops->recycle(rp, g, pages + i, j - i);
		guest_put(g);
	}
}
