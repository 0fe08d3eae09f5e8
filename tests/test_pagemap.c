// SPDX-License-Identifier: GPL-2.0-only
/*
 * pagemap.c against this process's own page tables: which pages are
 * resident, which map the shared zero page, which sit in a transparent huge
 * page, and, where the kernel keeps soft-dirty bits, which were written
 * since the last track.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pone/page.h>

#include "pagemap.h"

#define PAGES 64
#define PM_PFN ((1ull << 55) - 1)	/* in /proc/PID/pagemap */
#define KPF_ZERO_PAGE 24		/* in /proc/kpageflags */

struct ram {
	uint8_t *mem;
	struct pagemap pm;
};

static int setup(void **state)
{
	static struct ram r;

	r.mem = mmap(NULL, PAGES * PONE_PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.mem == MAP_FAILED)
		return -1;
	/* Small pages only: a huge page would make every page resident. */
	madvise(r.mem, PAGES * PONE_PAGE_SIZE, MADV_NOHUGEPAGE);
	if (pagemap_open(&r.pm, getpid(), (uintptr_t)r.mem, PAGES))
		return -1;
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	struct ram *r = *state;

	pagemap_close(&r->pm);
	munmap(r->mem, PAGES * PONE_PAGE_SIZE);
	return 0;
}

static bool bit(const uint64_t *bits, unsigned int i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

static void written(struct ram *r, unsigned int i, uint8_t v)
{
	*(volatile uint8_t *)(r->mem + (size_t)i * PONE_PAGE_SIZE) = v;
}

/*
 * What this kernel does on a read fault of a new page, learnt the way the
 * test means it: the flags of the frame it mapped. Where frame numbers are
 * hidden (no CAP_SYS_ADMIN), the answer pagemap.c gives stands unchecked.
 */
static bool kernel_maps_zero_page(bool *pfns)
{
	volatile uint8_t *p = mmap(NULL, PONE_PAGE_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool zero = pagemap_read_maps_zero_page();
	uint64_t e = 0, flags = 0;
	int pm, kpf;

	assert_true(p != MAP_FAILED);
	(void)p[0];
	pm = open("/proc/self/pagemap", O_RDONLY);
	assert_true(pm >= 0);
	assert_int_equal(pread(pm, &e, sizeof(e),
			       (off_t)(((uintptr_t)p >> PONE_PAGE_SHIFT) *
				       sizeof(e))), sizeof(e));
	close(pm);
	munmap((void *)p, PONE_PAGE_SIZE);
	*pfns = e & PM_PFN;
	kpf = open("/proc/kpageflags", O_RDONLY);
	if (kpf >= 0 && (e & PM_PFN) &&
	    pread(kpf, &flags, sizeof(flags),
		  (off_t)((e & PM_PFN) * sizeof(flags))) == sizeof(flags))
		assert_int_equal(zero, flags >> KPF_ZERO_PAGE & 1);
	if (kpf >= 0)
		close(kpf);
	printf("# a read of a new page maps %s\n",
	       zero ? "the shared zero page" : "a frame of its own");
	return zero;
}

/*
 * Written pages are resident; dropped and untouched ones are not. Pages
 * only read are resident where the kernel gives them frames of their own,
 * and where it maps the shared zero page they are not, as far as pagemap.c
 * can tell it (PAGEMAP_SCAN, or the zero page's frame number).
 */
static void residency(void **state)
{
	struct ram *r = *state;
	uint64_t mask[1] = { 0 }, unwritten[1] = { 0 };
	volatile uint8_t sink = 0;
	bool pfns, zero = kernel_maps_zero_page(&pfns), told;
	unsigned int i;

	madvise(r->mem, PAGES * PONE_PAGE_SIZE, MADV_DONTNEED);
	for (i = 0; i < PAGES; i += 3)
		written(r, i, 1);
	for (i = 1; i < PAGES; i += 3)
		sink += r->mem[(size_t)i * PONE_PAGE_SIZE];
	madvise(r->mem + 3 * PONE_PAGE_SIZE, PONE_PAGE_SIZE, MADV_DONTNEED);
	(void)sink;
	assert_int_equal(pagemap_resident(&r->pm, 0, PAGES, mask, unwritten,
					  NULL), 0);
	/* Without PAGEMAP_SCAN the zero page is known by its frame, where
	 * reads map it and frame numbers can be seen. */
	if (!r->pm.scan)
		assert_int_equal(r->pm.zero_pfn != 0, zero && pfns);
	told = r->pm.scan || r->pm.zero_pfn;
	for (i = 0; i < PAGES; i++)
		assert_int_equal(bit(mask, i), (i % 3 == 0 && i != 3) ||
					       (i % 3 == 1 && (!zero || !told)));
	/* Nothing tracked: nothing is known unwritten. */
	assert_int_equal(unwritten[0], 0);
	if (r->pm.scan)
		assert_int_equal(pagemap_zero_pages(&r->pm),
				 zero ? (PAGES + 1) / 3 : 0);
}

/* After a track, only pages written since are not unwritten. */
static void write_tracking(void **state)
{
	struct ram *r = *state;
	uint64_t mask[1] = { 0 }, unwritten[1] = { 0 };
	unsigned int i;

	if (!pagemap_soft_dirty())
		skip();		/* the kernel keeps no soft-dirty bits */
	for (i = 0; i < PAGES; i++)
		written(r, i, 2);
	assert_int_equal(pagemap_track_open(&r->pm, getpid()), 0);
	assert_int_equal(pagemap_track_writes(&r->pm), 0);
	assert_int_equal(pagemap_track_writes(&r->pm), 0);
	for (i = 0; i < PAGES; i += 5)
		written(r, i, 3);
	assert_int_equal(pagemap_track_writes(&r->pm), 0);
	assert_int_equal(pagemap_resident(&r->pm, 0, PAGES, mask, unwritten,
					  NULL), 0);
	for (i = 0; i < PAGES; i++)
		assert_int_equal(bit(unwritten, i), i % 5 != 0);
	/* From an offset, as the engine asks batch by batch. */
	mask[0] = unwritten[0] = 0;
	assert_int_equal(pagemap_resident(&r->pm, 5, 20, mask, unwritten,
					  NULL), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(bit(unwritten, i), (i + 5) % 5 != 0);
}

/* AnonHugePages of our mapping that starts at start, in KiB, or -1. */
static long huge_kib(const void *start)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in = false;
	long kib = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long from, to;

		if (sscanf(line, "%lx-%lx ", &from, &to) == 2)
			in = from == (uintptr_t)start;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* The pages of a transparent huge page are told apart, and only those. */
static void huge_pages(void **state)
{
	const size_t huge = PAGEMAP_MAX * PONE_PAGE_SIZE;
	uint8_t *raw = mmap(NULL, 3 * huge, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	uint64_t bits[2][PAGEMAP_MAX / 64] = { { 0 } };
	struct pagemap pm;
	bool known;
	int i;

	(void)state;
	assert_true(raw != MAP_FAILED);
	p = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(p, huge, MADV_HUGEPAGE);
	madvise(p + huge, huge, MADV_NOHUGEPAGE);
	memset(p, 1, 2 * huge);
	assert_int_equal(pagemap_open(&pm, getpid(), (uintptr_t)p,
				      2 * PAGEMAP_MAX), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pagemap_query(&pm, (uint64_t)i * PAGEMAP_MAX,
					       PAGEMAP_MAX, NULL, bits[i]), 0);
	known = pagemap_knows_huge(&pm);
	pagemap_close(&pm);
	if (!known || huge_kib(p) < (long)(huge >> 10)) {
		munmap(raw, 3 * huge);
		skip();		/* no huge page given, or none told apart */
	}
	for (i = 0; i < PAGEMAP_MAX; i++) {
		assert_true(bit(bits[0], (unsigned int)i));
		assert_false(bit(bits[1], (unsigned int)i));
	}
	munmap(raw, 3 * huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(residency),
		cmocka_unit_test(write_tracking),
		cmocka_unit_test(huge_pages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
