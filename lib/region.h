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

#define REGION_SLOT_SHIFT 18			/* 1 GiB of pages a slot */
#define REGION_SLOT_PAGES (1ull << REGION_SLOT_SHIFT)
#define REGION_SLOTS (1u << (31 - REGION_SLOT_SHIFT))

struct region {
	uint32_t id;		/* = first slot */
	uint32_t nslots;
	struct pone_region_desc desc;
	char *name;
	struct pagestate ps;
	int readers;
	bool dead;
	struct region *next;	/* engine's list */
};

/* checksum: the kind of hash the region's page state will hold. */
int region_new(const struct pone_region_desc *desc,
	       enum pone_checksum checksum, struct region **out);
void region_free(struct region *r);

static inline uint32_t region_gpn(const struct region *r, uint64_t index)
{
	return (uint32_t)(((uint64_t)r->id << REGION_SLOT_SHIFT) + index);
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
