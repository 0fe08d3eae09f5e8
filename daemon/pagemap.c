// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

#ifndef PAGE_IS_SOFT_DIRTY
#define PAGE_IS_SOFT_DIRTY (1 << 7)
#endif

#define PM_PRESENT (1ull << 63)
#define PM_EXCLUSIVE (1ull << 56)	/* a frame mapped only here */
#define PM_SOFT_DIRTY (1ull << 55)
#define PM_PFN ((1ull << 55) - 1)	/* 0 without CAP_SYS_ADMIN */
#define KPF_THP 22			/* in /proc/kpageflags */

static void set_bits(uint64_t *mask, uint64_t from, uint64_t to)
{
	for (; mask && from < to; from++)
		mask[from / 64] |= 1ull << (from % 64);
}

/*
 * PAGEMAP_SCAN over pages [first, first + n) of the region with the masks
 * of want; each run of pages found goes to fn, as offsets from first.
 */
static int scan_pages(const struct pagemap *pm, uint64_t first, uint64_t n,
		      const struct pm_scan_arg *want,
		      void (*fn)(void *ctx, uint64_t from, uint64_t to,
				 uint64_t categories),
		      void *ctx)
{
	struct page_region r[PAGEMAP_MAX];
	uint64_t base = (pm->first_page + first) << PONE_PAGE_SHIFT;
	struct pm_scan_arg a = *want;

	a.size = sizeof(a);
	a.start = base;
	a.end = base + (n << PONE_PAGE_SHIFT);
	a.vec = (uintptr_t)r;
	a.vec_len = PAGEMAP_MAX;
	while (a.start < a.end) {
		int k = ioctl(pm->fd, PAGEMAP_SCAN, &a), i;

		if (k < 0)
			return -errno;
		for (i = 0; i < k; i++)
			fn(ctx, (r[i].start - base) >> PONE_PAGE_SHIFT,
			   (r[i].end - base) >> PONE_PAGE_SHIFT,
			   r[i].categories);
		if (a.walk_end <= a.start)
			break;
		a.start = a.walk_end;
	}
	return 0;
}

struct query {
	uint64_t *resident, *huge;
};

static void query_run(void *ctx, uint64_t from, uint64_t to,
		      uint64_t categories)
{
	struct query *q = ctx;

	set_bits(q->resident, from, to);
	if (categories & PAGE_IS_HUGE)
		set_bits(q->huge, from, to);
}

static int query_scan(const struct pagemap *pm, uint64_t first,
		      unsigned int n, uint64_t *resident, uint64_t *huge)
{
	/* Present, and not the shared zero page. */
	const struct pm_scan_arg want = {
		.category_mask = PAGE_IS_PRESENT | PAGE_IS_PFNZERO,
		.category_inverted = PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE,
	};
	struct query q = { resident, huge };

	return scan_pages(pm, first, n, &want, query_run, &q);
}

/* Entries [first, first + n) of the region, n <= PAGEMAP_MAX. */
static int read_entries(const struct pagemap *pm, uint64_t first,
			unsigned int n, uint64_t *e)
{
	size_t want = (size_t)n * sizeof(e[0]);
	ssize_t got = pread(pm->fd, e, want,
			    (off_t)((pm->first_page + first) * sizeof(e[0])));

	if (got != (ssize_t)want)
		return got < 0 ? -errno : -EIO;
	return 0;
}

/* Pages in a transparent huge page, by the flags of their frames: one read
 * of /proc/kpageflags a run of consecutive frames (a huge page is one). */
static int huge_from_flags(const struct pagemap *pm, const uint64_t *e,
			   unsigned int n, uint64_t *huge)
{
	uint64_t flags[PAGEMAP_MAX];
	unsigned int i = 0, j, k;

	while (i < n) {
		uint64_t pfn = e[i] & PM_PFN;
		size_t want;

		if (!(e[i] & PM_PRESENT) || !pfn || pfn == pm->zero_pfn) {
			i++;
			continue;
		}
		for (j = i + 1; j < n && (e[j] & PM_PRESENT) &&
				(e[j] & PM_PFN) == pfn + (j - i); j++)
			;
		want = (size_t)(j - i) * sizeof(flags[0]);
		if (pread(pm->kpageflags, flags, want,
			  (off_t)(pfn * sizeof(flags[0]))) != (ssize_t)want)
			return -EIO;
		for (k = i; k < j; k++)
			if (flags[k - i] >> KPF_THP & 1)
				set_bits(huge, k, k + 1);
		i = j;
	}
	return 0;
}

static int query_read(const struct pagemap *pm, uint64_t first,
		      unsigned int n, uint64_t *resident, uint64_t *huge)
{
	uint64_t e[PAGEMAP_MAX];
	int ret = read_entries(pm, first, n, e);
	unsigned int i;

	for (i = 0; !ret && resident && i < n; i++)
		if ((e[i] & PM_PRESENT) &&
		    (!pm->zero_pfn || (e[i] & PM_PFN) != pm->zero_pfn))
			set_bits(resident, i, i + 1);
	if (!ret && huge && pm->kpageflags >= 0)
		ret = huge_from_flags(pm, e, n, huge);
	return ret;
}

int pagemap_query(const struct pagemap *pm, uint64_t first, unsigned int n,
		  uint64_t *resident, uint64_t *huge)
{
	if (n > PAGEMAP_MAX)
		return -EINVAL;
	if (pm->scan)
		return query_scan(pm, first, n, resident, huge);
	return query_read(pm, first, n, resident, huge);
}

struct category {
	uint64_t *bits;
	int64_t count;
};

static void category_run(void *ctx, uint64_t from, uint64_t to,
			 uint64_t categories)
{
	struct category *c = ctx;

	(void)categories;
	c->count += (int64_t)(to - from);
	set_bits(c->bits, from, to);
}

/* The pages of the first @pages of the region in @category: counted, and
 * set in bits (if not NULL); negative errno if the scan fails. */
static int64_t scan_category(const struct pagemap *pm, uint64_t pages,
			     uint64_t category, uint64_t *bits)
{
	const struct pm_scan_arg want = {
		.category_mask = category,
		.return_mask = category,
	};
	struct category c = { bits, 0 };
	int ret = scan_pages(pm, 0, pages, &want, category_run, &c);

	return ret ? ret : c.count;
}

uint64_t pagemap_zero_pages(const struct pagemap *pm)
{
	int64_t n = pm->scan ? scan_category(pm, pm->pages, PAGE_IS_PFNZERO,
					     NULL) : 0;

	return n > 0 ? (uint64_t)n : 0;
}

/* The pagemap entry of a page of our own, new and written or only read. */
static uint64_t self_entry(bool write)
{
	volatile uint8_t *p = mmap(NULL, PONE_PAGE_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pagemap self = { .clear_refs = -1, .kpageflags = -1 };
	uint64_t e = 0;

	if (p == MAP_FAILED)
		return 0;
	if (write)
		p[0] = 1;
	else
		e = p[0];
	self.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	self.first_page = (uintptr_t)p >> PONE_PAGE_SHIFT;
	if (self.fd < 0 || read_entries(&self, 0, 1, &e))
		e = 0;
	pagemap_close(&self);
	munmap((void *)p, PONE_PAGE_SIZE);
	return e;
}

/* Whether the entry of a page only read is the shared zero page: some
 * kernels map it, which no process maps exclusively; others give the page
 * a frame of its own. */
static bool is_zero_page_read(uint64_t entry)
{
	return (entry & PM_PRESENT) && !(entry & PM_EXCLUSIVE);
}

bool pagemap_read_maps_zero_page(void)
{
	return is_zero_page_read(self_entry(false));
}

/* A mapping is soft-dirty when new wherever the kernel keeps the bit; a
 * kernel without it reports the bit clear always. */
bool pagemap_soft_dirty(void)
{
	return self_entry(true) & PM_SOFT_DIRTY;
}

int pagemap_open(struct pagemap *pm, pid_t pid, uint64_t addr,
		 uint64_t pages)
{
	char path[64];
	uint64_t probe = 0, entry;

	*pm = (struct pagemap){ .clear_refs = -1, .kpageflags = -1 };
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0)
		return -errno;
	pm->first_page = addr >> PONE_PAGE_SHIFT;
	pm->pages = pages;
	pm->scan = true;
	if (query_scan(pm, 0, 1, &probe, NULL) != -ENOTTY)
		return 0;
	/* Frame numbers, if we may see them: the frames' flags, and the
	 * zero page's frame where a read of a new page maps it. */
	pm->scan = false;
	entry = self_entry(false);
	if (entry & PM_PFN)
		pm->kpageflags = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (is_zero_page_read(entry))
		pm->zero_pfn = entry & PM_PFN;
	return 0;
}

bool pagemap_knows_huge(const struct pagemap *pm)
{
	return pm->scan || pm->kpageflags >= 0;
}

void pagemap_close(struct pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	if (pm->clear_refs >= 0)
		close(pm->clear_refs);
	if (pm->kpageflags >= 0)
		close(pm->kpageflags);
	free(pm->written);
	*pm = (struct pagemap){ .fd = -1, .clear_refs = -1, .kpageflags = -1 };
}

int pagemap_track_open(struct pagemap *pm, pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	pm->clear_refs = open(path, O_WRONLY | O_CLOEXEC);
	return pm->clear_refs < 0 ? -errno : 0;
}

static int written_read(const struct pagemap *pm, uint64_t *bits)
{
	uint64_t e[PAGEMAP_MAX], first, i;
	int ret = 0;

	for (first = 0; !ret && first < pm->pages; first += PAGEMAP_MAX) {
		unsigned int n = pm->pages - first < PAGEMAP_MAX ?
				 (unsigned int)(pm->pages - first) : PAGEMAP_MAX;

		ret = read_entries(pm, first, n, e);
		for (i = 0; !ret && i < n; i++)
			if (e[i] & PM_SOFT_DIRTY)
				set_bits(bits, first + i, first + i + 1);
	}
	return ret;
}

/* "4" clears the soft-dirty bits of the whole process. */
int pagemap_track_writes(struct pagemap *pm)
{
	size_t bytes = (pm->pages + 63) / 64 * sizeof(uint64_t);
	int64_t ret;

	if (pm->clear_refs < 0)
		return -EBADF;
	if (!pm->written && !(pm->written = malloc(bytes ? bytes : 1)))
		return -ENOMEM;
	memset(pm->written, 0, bytes);
	ret = pm->scan ? scan_category(pm, pm->pages, PAGE_IS_SOFT_DIRTY,
				       pm->written) : -EINVAL;
	/* No PAGEMAP_SCAN, or one without the soft-dirty category. */
	if (ret == -EINVAL)
		ret = written_read(pm, pm->written);
	if (ret >= 0 && pwrite(pm->clear_refs, "4", 1, 0) != 1)
		ret = -errno;
	if (ret < 0) {
		free(pm->written);
		pm->written = NULL;
		return (int)ret;
	}
	return 0;
}

static bool bit_set(const uint64_t *bits, uint64_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

/* Pages present but not exclusive out of mask. */
static int leave_shared(const struct pagemap *pm, uint64_t first,
			unsigned int n, uint64_t *mask)
{
	uint64_t e[PAGEMAP_MAX];
	unsigned int i;
	int ret = read_entries(pm, first, n, e);

	for (i = 0; !ret && i < n; i++)
		if ((e[i] & PM_PRESENT) && !(e[i] & PM_EXCLUSIVE))
			mask[i / 64] &= ~(1ull << (i % 64));
	return ret;
}

int pagemap_resident(void *ctx, uint64_t first, unsigned int n,
		     uint64_t *mask, uint64_t *unwritten, uint64_t *hash)
{
	const struct pagemap *pm = ctx;
	int ret = pagemap_query(pm, first, n, mask, NULL);
	unsigned int i;

	(void)hash;
	if (!ret && pm->ksm)
		ret = leave_shared(pm, first, n, mask);
	for (i = 0; !ret && pm->written && i < n; i++)
		if (bit_set(mask, i) && !bit_set(pm->written, first + i))
			set_bits(unwritten, i, i + 1);
	return ret;
}
