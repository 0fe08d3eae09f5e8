/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the guest process's page tables say of its RAM, from its
 * /proc/PID/pagemap: which pages are resident (a frame of their own, not
 * the shared zero page: a page that was recycled is swapped out, gone or
 * the zero page, and reading it would bring it back), and which sit in a
 * transparent huge page. The PAGEMAP_SCAN ioctl (Linux 6.7) answers a
 * range in one call. Older kernels get each page's entry; where we may see
 * frame numbers (CAP_SYS_ADMIN), the shared zero page is told by its frame
 * (where reads map it at all) and huge pages by their frames' flags in
 * /proc/kpageflags, else the zero page counts as resident and no huge page
 * is told apart.
 *
 * Write tracking: pagemap_track_writes(), at the start of a pass, takes the
 * soft-dirty bit of every page (set by the kernel on any write through the
 * guest process's page tables, KVM's included) and clears them all through
 * /proc/PID/clear_refs, so that at the next pass a page without it was not
 * written since this pass read it. A write between the two steps is missed
 * until the next merge pass, which reads every page; nothing acts on a page
 * without the kernel checking it, so a missed write costs a wasted or a
 * late recycle, never data.
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
	uint64_t pages;
	bool scan;		/* the kernel has PAGEMAP_SCAN */
	uint64_t zero_pfn;	/* without: the zero page's frame, or 0 */
	int kpageflags;		/* without: /proc/kpageflags, or -1 */
	int clear_refs;		/* /proc/PID/clear_refs, or -1: no tracking */
	uint64_t *written;	/* soft-dirty at the last track, or NULL */
	bool ksm;		/* KSM may merge it: its merged pages are
				 * KSM's to keep */
};

int pagemap_open(struct pagemap *pm, pid_t pid, uint64_t addr,
		 uint64_t pages);
void pagemap_close(struct pagemap *pm);

/* Whether pagemap_query() can tell pages of huge pages apart. */
bool pagemap_knows_huge(const struct pagemap *pm);

/* Whether a read fault of untouched anonymous memory maps the shared zero
 * page here (kernels differ: some give the page a frame of its own, which
 * is then resident, and zero, like any other). */
bool pagemap_read_maps_zero_page(void);

/* Whether this kernel keeps soft-dirty bits (CONFIG_MEM_SOFT_DIRTY). */
bool pagemap_soft_dirty(void);

/* Start tracking writes of pm's process (it clears its soft-dirty bits). */
int pagemap_track_open(struct pagemap *pm, pid_t pid);

/* Take and clear the soft-dirty bits; on error no page counts as unwritten
 * until the next call succeeds. */
int pagemap_track_writes(struct pagemap *pm);

/* Bits of pages [first, first + n) of the region (n <= PAGEMAP_MAX), 64 a
 * word, ORed into resident and huge (either may be NULL). */
int pagemap_query(const struct pagemap *pm, uint64_t first, unsigned int n,
		  uint64_t *resident, uint64_t *huge);

/* How many of the region's pages are mapped to the shared zero page (no
 * memory of their own); 0 where the kernel cannot say. */
uint64_t pagemap_zero_pages(const struct pagemap *pm);

/*
 * pone_region_desc.resident: ctx is a struct pagemap; pages are unwritten
 * if they are resident and had no soft-dirty bit at the last track. Of
 * RAM KSM may merge, a page mapped but not exclusively (KSM's, as QEMU
 * does not fork) counts as not resident: poned leaves KSM's pages alone,
 * as its reads of them, while ksmd scans, undo KSM's merges.
 */
int pagemap_resident(void *ctx, uint64_t first, unsigned int n,
		     uint64_t *mask, uint64_t *unwritten, uint64_t *hash);

#endif
