/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Paging out a guest's zero pages on a stock kernel: process_madvise() with
 * MADV_PAGEOUT on the guest process's own mapping of them. The kernel
 * unmaps each page before it writes it out, so a page the guest wrote
 * meanwhile is swapped out with its data, never lost; a page still zero
 * costs only a swap slot (since Linux 6.12 no I/O: the swap zero map).
 * Needs swap on the host, and pages mapped by the guest process alone.
 */
#ifndef PONED_PAGEOUT_H
#define PONED_PAGEOUT_H

#include <stddef.h>
#include <stdint.h>

#include <pone/page.h>

/*
 * Page out pages (indexes into the guest mapping at addr, ascending; runs
 * of neighbours go as one range). Returns how many pages the kernel took
 * the advice for, or negative errno (-ESRCH: the guest is gone; -EPERM:
 * no CAP_SYS_NICE).
 */
long pageout_pages(int pidfd, uint64_t addr,
		     const struct pone_page_ref *pages, size_t n);

struct swap_space {
	uint64_t total, free;	/* bytes */
	/* Of total, in swap files: the kernel splits a huge page before it
	 * pages it out to one, where a block device takes it whole. */
	uint64_t in_files;
};

int swap_space(struct swap_space *s);

/* err: what swap_space() returned for s. Why zero pages cannot be paged
 * out now, or NULL. */
const char *swap_problem(int err, const struct swap_space *s);
/* What the swap's kind costs paging out, where it matters; or NULL. */
const char *swap_note(const struct swap_space *s);

#endif
