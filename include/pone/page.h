/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page geometry and the name of a page. A page is named by the region it
 * belongs to and its index there, never by an address: addresses of guest
 * memory go stale when a guest detaches.
 */
#ifndef PONE_PAGE_H
#define PONE_PAGE_H

#include <stdint.h>

#define PONE_PAGE_SHIFT 12
#define PONE_PAGE_SIZE (1u << PONE_PAGE_SHIFT)

struct pone_page_ref {
	uint32_t region;	/* region id from pone_engine_add_region() */
	uint64_t index;		/* page index inside the region */
};

#endif
