/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which zero pages of a guest to recycle, and recycling them: paged out
 * (reclaim.h), or discarded by pone.ko for a /dev/pone guest (ponedev.h).
 *
 * Paging out one 4 KiB page of a transparent huge page splits it, which
 * costs the guest TLB reach, so pages inside huge pages follow a policy:
 * a huge page whose 512 pages are all found zero in one pass goes out
 * whole (no split), and otherwise its zero pages go out only with
 * THP_ALWAYS, or with THP_IDLE when none of its pages changed over a merge
 * period (written pages are what the daemon sees; reads are not).
 *
 * Called from the engine's workers; per-huge-page counts are atomic.
 */
#ifndef PONED_RECYCLE_H
#define PONED_RECYCLE_H

#include <stddef.h>
#include <stdint.h>

#include <pone/engine.h>

#include "config.h"
#include "guests.h"

struct recycle_pass {
	struct pone_engine *engine;
	enum thp_split policy;
	uint32_t number;		/* of the pass, to reset the counts */
};

/* Zero pages of guest g, ascending, found stable in this pass. */
void recycle_zero(const struct recycle_pass *rp, struct guest *g,
		  const struct pone_page_ref *pages, size_t n);

#endif
