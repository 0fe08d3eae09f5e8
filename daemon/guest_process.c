// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest RAM that only the QEMU process maps: anonymous memory, or a memfd.
 * Its page tables say which pages are resident and, with soft-dirty bits,
 * which were written (pagemap.h); its zero pages are paged out
 * (recycle.h); nothing merges its duplicates, which are only counted.
 */
#include <errno.h>
#include <string.h>

#include "guests.h"
#include "ksm.h"
#include "log.h"
#include "numa.h"
#include "pageout.h"
#include "procfs.h"
#include "recycle.h"

static void warn_no_huge(const struct guest *g)
{
	log_warn("guest %s: this kernel has no PAGEMAP_SCAN, and poned may not "
		 "read frame numbers and /proc/kpageflags (it needs "
		 "CAP_SYS_ADMIN): huge pages cannot be told apart, and paging "
		 "out a zero page splits its huge page whatever thp_split "
		 "says", g->name);
}

static void track_open(struct guest *g)
{
	int ret = pagemap_track_open(&g->pagemap, g->pid);
	const char *fix = ret == -EACCES ? " (poned needs CAP_DAC_OVERRIDE)" :
			  "";

	if (ret)
		log_warn("guest %s: cannot track its writes: /proc/%d/"
			 "clear_refs: %s%s; every pass reads all of its pages",
			 g->name, (int)g->pid, strerror(-ret), fix);
}

/* Recycling needs swap: say so at each attach while there is none. */
static void warn_swap(void)
{
	struct swap_space s;
	const char *problem = swap_problem(swap_space(&s), &s);

	if (problem)
		log_warn("%s", problem);
}

/* pone_region_desc.nodes: where the guest process's pages are. */
static int process_nodes(void *ctx, uint64_t first, unsigned int n,
			 int16_t *node)
{
	const struct guest *g = ctx;

	return numa_nodes_of(g->pid, g->ram.addr + first * PONE_PAGE_SIZE, n,
			     node);
}

static int process_open(struct guests *gs, struct guest *g,
			struct pone_region_desc *d, struct failure *f)
{
	int ret = pagemap_open(&g->pagemap, g->pid, g->ram.addr, d->pages);

	if (ret)
		return ret == -ESRCH ? ret : failure(f, GUESTRAM_PROC, ret);
	if (!pagemap_knows_huge(&g->pagemap))
		warn_no_huge(g);
	if (gs->cfg.track_writes)
		track_open(g);
	ret = recycle_attach(g);
	if (ret)
		return ret;
	warn_swap();
	d->resident = pagemap_resident;
	d->resident_ctx = &g->pagemap;
	if (gs->cfg.numa) {
		d->nodes = process_nodes;
		d->nodes_ctx = g;
		d->nodes_apart = gs->cfg.nodes_apart;
	}
	return 0;
}

/*
 * Never through a mapping of ours: MADV_PAGEOUT skips pages that more than
 * one process maps. Anonymous memory is read from the process itself, a
 * memfd through its fd.
 */
static int anon_open(struct guests *gs, struct guest *g,
		     struct pone_region_desc *d, struct failure *f)
{
	int ret;

	d->mode = PONE_READ_VM;
	ret = process_open(gs, g, d, f);
	if (!ret) {
		g->ksm_mergeable = ksm_mapping_mergeable(g->pid, g->ram.addr);
		g->pagemap.ksm = g->ksm_mergeable;
	}
	return ret;
}

static int memfd_open(struct guests *gs, struct guest *g,
		      struct pone_region_desc *d, struct failure *f)
{
	d->mode = PONE_READ_PREAD;
	return process_open(gs, g, d, f);
}

static void process_close(struct guest *g)
{
	pagemap_close(&g->pagemap);
	recycle_detach(g);
}

static void process_track_writes(struct guest *g)
{
	int ret;

	if (g->pagemap.clear_refs < 0)
		return;
	ret = pagemap_track_writes(&g->pagemap);
	if (ret)
		log_debug("guest %s: soft-dirty bits not taken (%s): this pass "
			  "reads all of its pages", g->name, strerror(-ret));
}

/* What KSM did of the guest's RAM, or why it cannot. */
static json_t *ksm_json(const struct guest *g)
{
	if (!g->ops->ksm)
		return json_pack("{s:s}", "ksm", "KSM cannot merge memfd RAM "
				 "(shared memory): put the guest's RAM on "
				 "/dev/pone to merge it");
	if (!g->ksm_mergeable)
		return json_pack("{s:s}", "ksm", "the guest's RAM is not marked "
				 "mergeable (QEMU's mem-merge=off): KSM cannot "
				 "merge it");
	return json_pack("{s:{s:I, s:I, s:s?}}", "ksm",
			 "merged_pages", (json_int_t)ksm_process_merged(g->pid),
			 "profit_bytes", (json_int_t)ksm_process_profit(g->pid),
			 /* KSM knows no domains. */
			 "sharing", g->domain ? "KSM merges this guest's RAM "
			 "with any mergeable process's, across sharing "
			 "domains: put its RAM on /dev/pone to keep it to its "
			 "domain" : NULL);
}

/* Where its zero pages go, and what KSM did of the guest. */
static json_t *detail_json(const struct guest *g)
{
	json_t *o = ksm_json(g);
	bool ksm = __atomic_load_n(&g->zero_to_ksm, __ATOMIC_RELAXED);

	json_object_set_new(o, "zero_pages_to", json_string(ksm ? "ksm" :
							   "swap"));
	return o;
}

static void process_usage(struct guest *g, struct guest_usage *u)
{
	struct proc_usage pu = { 0 };

	proc_usage(g->pid, g->ram.addr, g->ram.addr + g->ram.size, &pu);
	/* Splitting a huge page to page part of it out, the kernel maps its
	 * zero parts to the shared zero page: no memory, no swap either. */
	*u = (struct guest_usage){
		.resident = pu.rss, .swap = pu.swap,
		.saved = pu.swap +
			 pagemap_zero_pages(&g->pagemap) * PONE_PAGE_SIZE,
		.detail = detail_json(g),
	};
}

const struct guest_ops guest_anon_ops = {
	.name = "anonymous",
	.ksm = true,		/* QEMU marks it mergeable */
	.open = anon_open,
	.close = process_close,
	.track_writes = process_track_writes,
	.recycle = recycle_pageout,
	.usage = process_usage,
};

const struct guest_ops guest_memfd_ops = {
	.name = "memfd",
	.open = memfd_open,
	.close = process_close,
	.track_writes = process_track_writes,
	.recycle = recycle_pageout,
	.usage = process_usage,
};
