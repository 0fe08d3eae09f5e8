/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the guest process's page tables say of its RAM, from its
 * /proc/PID/pagemap: which pages are resident (a frame of their own, not
 * the shared zero page: a page that was recycled is swapped out, gone or
 * the zero page, and reading it would bring it back), and which sit in a
 * transparent huge page. The PAGEMAP_SCAN ioctl (Linux 6.7) answers a
 * range in one call; older kernels get the present bit of each entry, and
 * no huge page is told apart there.
 */
#ifndef PONED_PAGEMAP_H
#define PONED_PAGEMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PAGEMAP_MAX 512		/* pages a query: a 2 MiB huge page */

struct pagemap {
	int fd;
	uint64_t first_page;	/* virtual page number of the region's page 0 */
	bool scan;		/* the kernel has PAGEMAP_SCAN */
};

int pagemap_open(struct pagemap *pm, pid_t pid, uint64_t addr);
void pagemap_close(struct pagemap *pm);

/* Bits of pages [first, first + n) of the region (n <= PAGEMAP_MAX), 64 a
 * word, ORed into resident and huge (either may be NULL). */
int pagemap_query(const struct pagemap *pm, uint64_t first, unsigned int n,
		  uint64_t *resident, uint64_t *huge);

/* How many of the region's pages are mapped to the shared zero page (no
 * memory of their own); 0 where the kernel cannot say. */
uint64_t pagemap_zero_pages(const struct pagemap *pm, uint64_t pages);

/* pone_region_desc.resident: ctx is a struct pagemap. */
int pagemap_resident(void *ctx, uint64_t first, unsigned int n,
		     uint64_t *mask);

#endif
