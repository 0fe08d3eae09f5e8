// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <pone/page.h>

#include "pagemap.h"

/* The PAGEMAP_SCAN ABI (Linux 6.7), for headers older than the kernel. */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)

struct page_region {
	__u64 start, end, categories;
};

struct pm_scan_arg {
	__u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	__u64 category_inverted, category_mask, category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#define PM_PRESENT (1ull << 63)

static void set_bits(uint64_t *mask, uint64_t from, uint64_t to)
{
	for (; mask && from < to; from++)
		mask[from / 64] |= 1ull << (from % 64);
}

static int query_scan(const struct pagemap *pm, uint64_t first,
		      unsigned int n, uint64_t *resident, uint64_t *huge)
{
	struct page_region r[PAGEMAP_MAX];
	uint64_t base = (pm->first_page + first) << PONE_PAGE_SHIFT;
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = base,
		.end = base + ((uint64_t)n << PONE_PAGE_SHIFT),
		.vec = (uintptr_t)r,
		.vec_len = n,
		/* Present, and not the shared zero page. */
		.category_mask = PAGE_IS_PRESENT | PAGE_IS_PFNZERO,
		.category_inverted = PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE,
	};
	int k = ioctl(pm->fd, PAGEMAP_SCAN, &a), i;

	if (k < 0)
		return -errno;
	for (i = 0; i < k; i++) {
		uint64_t from = (r[i].start - base) >> PONE_PAGE_SHIFT;
		uint64_t to = (r[i].end - base) >> PONE_PAGE_SHIFT;

		set_bits(resident, from, to);
		if (r[i].categories & PAGE_IS_HUGE)
			set_bits(huge, from, to);
	}
	return 0;
}

static int query_read(const struct pagemap *pm, uint64_t first,
		      unsigned int n, uint64_t *resident)
{
	uint64_t e[PAGEMAP_MAX];
	size_t want = (size_t)n * sizeof(e[0]);
	ssize_t got = pread(pm->fd, e, want,
			    (off_t)((pm->first_page + first) * sizeof(e[0])));
	unsigned int i;

	if (got != (ssize_t)want)
		return got < 0 ? -errno : -EIO;
	for (i = 0; i < n; i++)
		if (e[i] & PM_PRESENT)
			set_bits(resident, i, i + 1);
	return 0;
}

int pagemap_query(const struct pagemap *pm, uint64_t first, unsigned int n,
		  uint64_t *resident, uint64_t *huge)
{
	if (n > PAGEMAP_MAX)
		return -EINVAL;
	if (pm->scan)
		return query_scan(pm, first, n, resident, huge);
	return query_read(pm, first, n, resident);
}

uint64_t pagemap_zero_pages(const struct pagemap *pm, uint64_t pages)
{
	struct page_region r[PAGEMAP_MAX];
	uint64_t base = pm->first_page << PONE_PAGE_SHIFT, n = 0;
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = base,
		.end = base + (pages << PONE_PAGE_SHIFT),
		.vec = (uintptr_t)r,
		.vec_len = PAGEMAP_MAX,
		.category_mask = PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_PFNZERO,
	};

	while (pm->scan && a.start < a.end) {
		int k = ioctl(pm->fd, PAGEMAP_SCAN, &a), i;

		if (k < 0)
			break;
		for (i = 0; i < k; i++)
			n += (r[i].end - r[i].start) >> PONE_PAGE_SHIFT;
		if (a.walk_end <= a.start)
			break;
		a.start = a.walk_end;
	}
	return n;
}

int pagemap_open(struct pagemap *pm, pid_t pid, uint64_t addr)
{
	char path[64];
	uint64_t probe = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0)
		return -errno;
	pm->first_page = addr >> PONE_PAGE_SHIFT;
	pm->scan = true;
	if (query_scan(pm, 0, 1, &probe, NULL) == -ENOTTY)
		pm->scan = false;
	return 0;
}

void pagemap_close(struct pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}

int pagemap_resident(void *ctx, uint64_t first, unsigned int n,
		     uint64_t *mask)
{
	return pagemap_query(ctx, first, n, mask, NULL);
}
