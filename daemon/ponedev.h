/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guests whose RAM is a /dev/pone region (pone.ko): the module frees zero
 * pages (DISCARD) and makes equal pages share one frame (MERGE), checking
 * each page itself at the point of no return; poned only proposes. Batches
 * go from the worker that found them, one ioctl for up to PONE_BATCH_MAX
 * pages.
 */
#ifndef PONED_PONEDEV_H
#define PONED_PONEDEV_H

#include <stddef.h>

#include <pone/engine.h>
#include <pone/uapi.h>

#include "guests.h"

/* The module's ABI must be ours; why says what to do otherwise. */
int ponedev_check(int fd, char *why, size_t len);

/* Discard zero pages of guest g (a /dev/pone guest). */
void ponedev_discard(struct guest *g, const struct pone_page_ref *pages,
		     size_t n);

/*
 * Merge each member into its canonical page, where both are /dev/pone
 * guests (members of guest g); pages the module merged are reported to the
 * engine. Returns how many were merged.
 */
size_t ponedev_merge(struct guests *gs, struct pone_engine *e,
		     struct guest *g, const struct pone_dup *dups, size_t n);

int ponedev_info(int fd, struct pone_info *info);

/* The engine's resident callback for a /dev/pone guest (ctx): pages with a
 * frame (a hole reads as zeros and was never written or was discarded:
 * nothing to read there) and, if the guest's writes are tracked, those not
 * written since the last call asked, and the hashes of the others. */
int ponedev_resident(void *ctx, uint64_t first, unsigned int n,
		     uint64_t *mask, uint64_t *unwritten, uint64_t *hash);

#endif
