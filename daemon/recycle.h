/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Recycling the zero pages a pass found: each run of a guest's pages goes
 * to its kind's recycle op. For RAM the guest process maps (anonymous,
 * memfd) that is recycle_pageout(): which of them to page out (pageout.h).
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
	struct guests *guests;
	enum thp_split policy;
	uint32_t number;		/* of the pass, to reset the counts */
};

/* pass: the daemon's count of passes, this one included. */
void recycle_pass_init(struct recycle_pass *rp, struct pone_engine *e,
		       struct guests *gs, enum thp_split policy, uint64_t pass);

/* The actuator's zero pages (pone_actuator.zero), of any guests. */
void recycle_found(const struct recycle_pass *rp,
		   const struct pone_page_ref *pages, size_t n);

/* The per-huge-page counts of a guest paged out, and their release. */
int recycle_attach(struct guest *g);
void recycle_detach(struct guest *g);

/*
 * The policy, on its own: recycle_count() adds n zero pages found in a
 * pass to a huge page's count word, and is true when that makes all 512
 * of them zero in that pass (a count of another pass reads as none);
 * recycle_verdict() says what of the huge page's zero pages goes out.
 */
enum huge_verdict {
	HUGE_KEEP,	/* none: the huge page stays whole */
	HUGE_SPLIT,	/* those found, splitting it */
	HUGE_WHOLE,	/* all of it, unsplit */
};

bool recycle_count(uint32_t *word, uint32_t pass, size_t n);
enum huge_verdict recycle_verdict(enum thp_split policy, bool whole,
				  bool idle);

/* guest_ops.recycle of RAM the guest process maps. */
void recycle_pageout(const struct recycle_pass *rp, struct guest *g,
		     const struct pone_page_ref *pages, size_t n);

#endif
