// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine end to end on in-process memory images of known layout: exact
 * counts and exact reports, for every way of reading a region and for 1, 2
 * and 8 threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pone/engine.h>
#include <xxhash.h>

#include "image.h"

#define ZERO 300
#define GROUPS 100
#define GROUP_SIZE 3
#define UNIQUE 500
#define PAGES (ZERO + GROUPS * GROUP_SIZE + UNIQUE)

/* What the actuator was told in one pass. */
struct seen {
	pthread_mutex_t lock;
	struct pone_page_ref *zero;
	size_t nzero;
	struct pone_dup *dup;
	size_t ndup;
	size_t dup_calls;			/* of the actuator */
	struct pone_engine *engine;
	uint32_t remove_on_first_report;	/* region id + 1, or 0 */
	bool merge;				/* report every dup as merged */
	/* Calls back into the engine that failed: counted in the workers,
	 * which cmocka's assertions must not run in, and asserted after. */
	unsigned int failed;
};

static void on_zero(void *ctx, const struct pone_page_ref *p, size_t n)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->lock);
	s->zero = realloc(s->zero, (s->nzero + n) * sizeof(*p));
	memcpy(s->zero + s->nzero, p, n * sizeof(*p));
	s->nzero += n;
	pthread_mutex_unlock(&s->lock);
}

static void on_dup(void *ctx, const struct pone_dup *d, size_t n)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->lock);
	s->dup = realloc(s->dup, (s->ndup + n) * sizeof(*d));
	memcpy(s->dup + s->ndup, d, n * sizeof(*d));
	s->ndup += n;
	s->dup_calls++;
	pthread_mutex_unlock(&s->lock);
	if (s->merge && pone_engine_merged(s->engine, d, n))
		__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
}

static void seen_reset(struct seen *s)
{
	free(s->zero);
	free(s->dup);
	s->zero = NULL;
	s->dup = NULL;
	s->nzero = s->ndup = s->dup_calls = 0;
}

static struct pone_actuator actuator(struct seen *s)
{
	return (struct pone_actuator){ .ctx = s, .zero = on_zero,
				       .duplicate = on_dup };
}

static uint64_t pages_of(const struct pone_engine *e)
{
	struct pone_engine_memory m;

	pone_engine_memory(e, &m);
	return m.pages;
}

static struct pone_engine *engine_batched(unsigned int threads,
					  unsigned int batch)
{
	struct pone_engine_config cfg = { .threads = threads,
					  .batch_pages = batch };
	struct pone_engine *e;

	assert_int_equal(pone_engine_new(&cfg, &e), 0);
	assert_int_equal(pone_engine_threads(e), threads);
	return e;
}

static struct pone_engine *engine(unsigned int threads)
{
	return engine_batched(threads, 0);
}

static struct image build(void)
{
	struct image_layout l = { .zero = ZERO, .groups = GROUPS,
				  .group_size = GROUP_SIZE, .unique = UNIQUE,
				  .seed = 42 };
	struct image img;

	assert_int_equal(image_build(&img, &l), 0);
	return img;
}

/* verified: the kernel checks every merge of its pages. */
static uint32_t add_map_verified(struct pone_engine *e,
				 const struct image *img, bool verified)
{
	struct pone_region_desc d = { .name = "image", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1, .merges_verified = verified };
	uint32_t id;

	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	return id;
}

static uint32_t add_map(struct pone_engine *e, const struct image *img)
{
	return add_map_verified(e, img, false);
}

static struct pone_pass_stats scan(struct pone_engine *e, enum pone_pass k,
				   struct seen *s)
{
	struct pone_actuator act = actuator(s);
	struct pone_pass_stats st;

	seen_reset(s);
	assert_int_equal(pone_engine_scan(e, k, &act, &st), 0);
	assert_int_equal(s->failed, 0);
	return st;
}

/* Every reported member equals its canonical; each member once. */
static void check_dups(const struct seen *s, const struct image *img,
		       uint32_t id, size_t expect)
{
	uint8_t *once = calloc(img->pages, 1);
	size_t i;

	assert_int_equal(s->ndup, expect);
	for (i = 0; i < s->ndup; i++) {
		const struct pone_dup *d = &s->dup[i];

		assert_int_equal(d->member.region, id);
		assert_int_equal(d->canonical.region, id);
		assert_int_not_equal(d->member.index, d->canonical.index);
		assert_true(img->content[d->member.index] ==
			    img->content[d->canonical.index]);
		assert_int_not_equal(img->content[d->member.index], 0);
		assert_int_equal(once[d->member.index]++, 0);
	}
	free(once);
}

static void check_zero(const struct seen *s, const struct image *img)
{
	size_t i;

	assert_int_equal(s->nzero, ZERO);
	for (i = 0; i < s->nzero; i++)
		assert_int_equal(img->content[s->zero[i].index], 0);
}

/* Three merge passes: observe, observe, then report. */
static void layout_is_found(unsigned int threads, unsigned int batch)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine_batched(threads, batch);
	uint32_t id = add_map(e, &img);
	struct pone_pass_stats st;

	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.zero, ZERO);
	assert_int_equal(st.zero_stable, 0);
	assert_int_equal(st.changed, 0);
	assert_int_equal(st.stable, 0);
	assert_int_equal(s.ndup + s.nzero, 0);

	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.zero_stable, ZERO);
	check_zero(&s, &img);
	assert_int_equal(st.stable, 0);
	assert_int_equal(s.ndup, 0);

	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.unreadable, 0);
	assert_int_equal(st.stable, PAGES - ZERO);
	assert_int_equal(st.dup_groups, GROUPS);
	assert_int_equal(st.dup_members, GROUPS * (GROUP_SIZE - 1));
	assert_int_equal(st.unique, UNIQUE);
	assert_true(st.tree_compares >= GROUPS * (GROUP_SIZE - 1));
	/* Batched: at least one compare a call, and fewer calls than them. */
	assert_in_range(st.tree_compare_calls, 1, st.tree_compares - 1);
	check_zero(&s, &img);
	check_dups(&s, &img, id, GROUPS * (GROUP_SIZE - 1));

	assert_int_equal(st.dup_pages, 0);	/* counted as scanned */

	/* Found once: the next period knows them and reports nothing. */
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.stable, PAGES - ZERO);
	assert_int_equal(st.dup_pages, GROUPS * GROUP_SIZE);
	assert_int_equal(st.dup_groups + st.dup_members + st.unique, 0);
	assert_int_equal(st.tree_compares, 0);
	assert_int_equal(st.tree_compare_calls, 0);
	assert_int_equal(s.ndup, 0);

	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

static void one_thread(void **state)
{
	(void)state;
	layout_is_found(1, 0);
}

static void two_threads(void **state)
{
	(void)state;
	layout_is_found(2, 0);
}

static void eight_threads(void **state)
{
	(void)state;
	layout_is_found(8, 0);
}

/* Batches that do not divide a worker's stripe of pages. */
static void odd_batches(void **state)
{
	(void)state;
	layout_is_found(2, 100);
	layout_is_found(3, 7);
}

static bool reported_zero(const struct seen *s, uint64_t page)
{
	for (size_t i = 0; i < s->nzero; i++)
		if (s->zero[i].index == page)
			return true;
	return false;
}

static bool reported(const struct seen *s, uint64_t page)
{
	size_t i;

	for (i = 0; i < s->ndup; i++)
		if (s->dup[i].member.index == page ||
		    s->dup[i].canonical.index == page)
			return true;
	for (i = 0; i < s->nzero; i++)
		if (s->zero[i].index == page)
			return true;
	return false;
}

/*
 * A page rewritten between passes (even between reclaim passes) is never
 * reported until it was unchanged for two merge periods again.
 */
static void changed_pages_are_not_stable(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct pone_pass_stats st;
	uint64_t victim[8], i, twin, was_zero = 0;
	int pass;

	(void)state;
	add_map(e, &img);
	/* Victims: zero pages and group members, the pages a bug would report. */
	for (i = 0, twin = 0; i < img.pages && twin < 8; i++)
		if (img.content[i] <= GROUPS)
			victim[twin++] = i;
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	for (i = 0; i < 8; i++) {
		was_zero += img.content[victim[i]] == 0;
		image_rewrite(&img, victim[i], i);
	}
	assert_true(was_zero > 0 && was_zero < 8);
	/* A reclaim pass zero-tests every page, and hashes only those no
	 * longer zero: the others keep their hashes until the merge pass. */
	st = scan(e, PONE_PASS_RECLAIM, &s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.hashed, was_zero);
	assert_int_equal(st.changed, was_zero);
	for (i = 0; i < 8; i++)
		assert_false(reported(&s, victim[i]));
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.hashed, PAGES);
	assert_int_equal(st.changed, 8 - was_zero);
	for (i = 0; i < 8; i++)
		assert_false(reported(&s, victim[i]));
	for (pass = 0; pass < 2; pass++) {
		st = scan(e, PONE_PASS_MERGE, &s);
		assert_int_equal(st.changed, 0);
		for (i = 0; i < 8; i++)
			assert_false(reported(&s, victim[i]));
	}
	st = scan(e, PONE_PASS_MERGE, &s);
	for (i = 0; i < 8; i++)
		assert_true(img.content[victim[i]] >> 63);
	/* Rewritten pages are unique now: stable, but in no group. */
	assert_int_equal(st.stable + st.zero_stable, PAGES);
	for (i = 0; i < 8; i++)
		assert_false(reported(&s, victim[i]));

	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

static void expect_layout(struct pone_engine *e, uint32_t id,
			  const struct image *img)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct pone_pass_stats st;

	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.dup_groups, GROUPS);
	assert_int_equal(st.unique, UNIQUE);
	check_zero(&s, img);
	check_dups(&s, img, id, GROUPS * (GROUP_SIZE - 1));
	seen_reset(&s);
}

/* The same image through an fd (pread) finds the same. */
static void pread_region(void **state)
{
	struct image img = build();
	struct pone_engine *e = engine(2);
	int fd = memfd_create("guest", 0);
	struct pone_region_desc d = { .name = "memfd", .pages = img.pages,
				      .mode = PONE_READ_PREAD, .fd = fd };
	uint32_t id;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img.mem, img.pages * 4096),
			 (ssize_t)(img.pages * 4096));
	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	expect_layout(e, id, &img);
	pone_engine_free(e);
	close(fd);
	image_free(&img);
}

/* ... and read from a process with process_vm_readv (ourselves here). */
static void vm_region(void **state)
{
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct pone_region_desc d = { .name = "vm", .pages = img.pages,
				      .mode = PONE_READ_VM, .fd = -1,
				      .pid = getpid(),
				      .addr = (uintptr_t)img.mem };
	uint32_t id;

	(void)state;
	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	expect_layout(e, id, &img);
	pone_engine_free(e);
	image_free(&img);
}

/* Pages that cannot be read are counted, not guessed at. */
static void unreadable_pages(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct pone_region_desc d = { .name = "holes", .pages = img.pages,
				      .mode = PONE_READ_VM, .fd = -1,
				      .pid = getpid(),
				      .addr = (uintptr_t)img.mem };
	struct pone_pass_stats st;
	uint32_t id;

	(void)state;
	/* Unmap 10 pages in the middle: the guest's view has a hole. */
	assert_int_equal(munmap(img.mem + 400 * 4096, 10 * 4096), 0);
	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.unreadable, 10);
	assert_int_equal(st.scanned, PAGES - 10);
	pone_engine_free(e);
	/* Map the hole again so image_free unmaps a whole range. */
	assert_true(mmap(img.mem + 400 * 4096, 10 * 4096, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    MAP_FAILED);
	image_free(&img);
	seen_reset(&s);
}

/* Residency as a guest's page table would tell it: a bitmap of the image,
 * and one of the pages not written since the engine read them. */
struct residency {
	uint64_t bits[(PAGES + 63) / 64];
	uint64_t unwritten[(PAGES + 63) / 64];
	unsigned int calls;
	const uint8_t *hashes_of;	/* pages whose xxh64 it gives, or NULL */
};

static bool bit_of(const uint64_t *bits, uint64_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

static bool resident_page(const struct residency *res, uint64_t i)
{
	return bit_of(res->bits, i);
}

static int image_resident(void *ctx, uint64_t first, unsigned int n,
			  uint64_t *mask, uint64_t *unwritten, uint64_t *hash)
{
	struct residency *res = ctx;
	unsigned int i;

	__atomic_fetch_add(&res->calls, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		if (resident_page(res, first + i))
			mask[i / 64] |= 1ull << (i % 64);
		if (bit_of(res->unwritten, first + i))
			unwritten[i / 64] |= 1ull << (i % 64);
		else if (res->hashes_of)
			hash[i] = XXH64(res->hashes_of + (first + i) * 4096,
					4096, 0);
	}
	return 0;
}

/* The image as a region, all resident and nothing known unwritten until
 * the test says otherwise in res; exact: res misses no write; verified:
 * the kernel checks every merge. */
static uint32_t add_with_residency(struct pone_engine *e, struct image *img,
				   struct residency *res, bool exact,
				   bool verified)
{
	struct pone_region_desc d = { .name = "resident", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1, .resident = image_resident,
				      .resident_ctx = res,
				      .unwritten_exact = exact,
				      .merges_verified = verified };
	uint32_t id;

	memset(res, 0, sizeof(*res));
	memset(res->bits, 0xff, sizeof(res->bits));
	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	return id;
}

/* Whether the caller says page i is unwritten since the engine read it. */
static void set_unwritten(struct residency *res, uint64_t i, bool unwritten)
{
	if (unwritten)
		res->unwritten[i / 64] |= 1ull << (i % 64);
	else
		res->unwritten[i / 64] &= ~(1ull << (i % 64));
}

/* The first page of a group gets content of its own, and the caller
 * says so: returns the page. */
static uint64_t rewrite_first_grouped(struct image *img, struct residency *res,
				      uint32_t content)
{
	uint64_t i = 0;

	while (!img->content[i] || img->content[i] > GROUPS)
		i++;
	image_rewrite(img, i, content);
	set_unwritten(res, i, false);
	return i;
}

/*
 * Pages that are not resident are not read, not reported and forgotten:
 * a duplicate that goes away leaves its group, and comes back as new.
 */
static void absent_pages_are_skipped(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct residency res;
	struct pone_pass_stats st;
	uint64_t i, gone = 0, gone_zero = 0, gone_dup = 0;

	(void)state;
	add_with_residency(e, &img, &res, false, false);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.absent, 0);
	assert_int_equal(s.ndup, GROUPS * (GROUP_SIZE - 1));
	/* Every seventh page goes away. */
	for (i = 0; i < img.pages; i += 7) {
		res.bits[i / 64] &= ~(1ull << (i % 64));
		gone++;
		gone_zero += img.content[i] == 0;
		gone_dup += img.content[i] && img.content[i] <= GROUPS;
	}
	assert_true(gone_zero > 0 && gone_dup > 0);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.absent, gone);
	assert_int_equal(st.scanned, PAGES - gone);
	assert_int_equal(st.zero, ZERO - gone_zero);
	assert_int_equal(st.zero_stable, ZERO - gone_zero);
	for (i = 0; i < img.pages; i += 7)
		assert_false(reported(&s, i));
	/* Back, with their old content: seen for the first time again. */
	memset(res.bits, 0xff, sizeof(res.bits));
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.absent, 0);
	assert_int_equal(st.zero_stable, ZERO - gone_zero);
	assert_int_equal(st.changed, 0);
	scan(e, PONE_PASS_MERGE, &s);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.zero_stable, ZERO);
	/* The pages that left their groups were found again, and only they. */
	assert_int_equal(st.dup_members, gone_dup);
	for (i = 0; i < s.ndup; i++)
		assert_int_equal(s.dup[i].member.index % 7, 0);
	/* Asked once a stripe of 512 pages (for /dev/pone, one ioctl) in
	 * each of the seven passes, not once a batch. */
	assert_int_equal(res.calls, 7 * ((PAGES + 511) / 512));
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

/*
 * Pages the caller says are unwritten since they were read are not read
 * by a reclaim pass: a change made behind the caller's back (the test
 * writes the image without telling) is not seen there, a zero page stays
 * a recycle candidate, and pages never read are read all the same. A
 * merge pass reads every page and sees the change.
 */
static void unwritten_pages_are_not_read(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct residency res;
	struct pone_pass_stats st;
	uint64_t i, zero_page = PAGES, data_page = PAGES;

	(void)state;
	add_with_residency(e, &img, &res, false, false);
	memset(res.unwritten, 0xff, sizeof(res.unwritten));
	/* Never read yet: every page is read, whatever the caller says. */
	st = scan(e, PONE_PASS_RECLAIM, &s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.unwritten, 0);
	for (i = 0; i < img.pages && (zero_page == PAGES || data_page == PAGES);
	     i++) {
		if (!img.content[i] && zero_page == PAGES)
			zero_page = i;
		else if (img.content[i] > GROUPS && data_page == PAGES)
			data_page = i;
	}
	/* Behind the caller's back: a zero page gets data, a page of data
	 * becomes zero. Half the pages are said to be written. */
	image_rewrite(&img, zero_page, 77);
	memset(image_page(&img, data_page), 0, 4096);
	for (i = 0; i < img.pages; i += 2)
		if (i != zero_page && i != data_page)
			set_unwritten(&res, i, false);
	st = scan(e, PONE_PASS_RECLAIM, &s);
	assert_int_equal(st.unwritten, PAGES / 2 + (zero_page % 2 == 0) +
					       (data_page % 2 == 0));
	assert_int_equal(st.scanned, PAGES - st.unwritten);
	assert_int_equal(st.changed, 0);
	assert_int_equal(st.zero, ZERO);
	assert_int_equal(st.zero_stable, ZERO);
	assert_true(reported_zero(&s, zero_page));
	assert_false(reported_zero(&s, data_page));
	/* A merge pass reads them all. */
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.unwritten, 0);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.changed, 2);
	assert_int_equal(st.zero, ZERO);
	assert_false(reported_zero(&s, zero_page));
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

/*
 * Where the caller misses no write, merge passes take unwritten pages as
 * they were too, but read those about to enter the tree, which is keyed by
 * their content; their hashes stand. A page written just before is read
 * and hashed, seen changed, and not reported; the rest of the groups are.
 */
static void exact_unwritten_pages_are_read_to_enter_the_tree(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct residency res;
	struct pone_pass_stats st;
	uint64_t moved;

	(void)state;
	add_with_residency(e, &img, &res, true, false);
	memset(res.unwritten, 0xff, sizeof(res.unwritten));
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.hashed, PAGES);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(st.unwritten, PAGES);
	moved = rewrite_first_grouped(&img, &res, 7777);
	/* Every non-zero page enters the tree: read; zero pages are not. */
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES - ZERO);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.unwritten, ZERO);
	assert_int_equal(st.changed, 1);
	assert_int_equal(st.zero_stable, ZERO);
	assert_int_equal(s.ndup, GROUPS * (GROUP_SIZE - 1) - 1);
	assert_false(reported(&s, moved));
	/* In the tree, or counting its periods again, unwritten: not read. */
	set_unwritten(&res, moved, true);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, 0);
	/* Nor will merge passes read it once it is unwritten: a reclaim pass
	 * that reads it hashes it too. */
	image_rewrite(&img, moved, 8888);
	set_unwritten(&res, moved, false);
	st = scan(e, PONE_PASS_RECLAIM, &s);
	assert_int_equal(st.scanned, 1);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.changed, 1);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

/*
 * Where the kernel verifies every merge, the tree knows pages by their
 * 64-bit hash: pages unwritten since they were hashed enter it unread, it
 * compares no page, and what it reports is still right (xxh3 does not
 * collide on these pages). A page written just before is read, and only
 * it.
 */
static void verified_pages_enter_the_tree_unread(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct residency res;
	struct pone_pass_stats st;
	struct pone_region_counts rc;
	struct pone_page_ref retried;
	uint64_t moved;
	uint32_t id;

	(void)state;
	id = add_with_residency(e, &img, &res, true, true);
	memset(res.unwritten, 0xff, sizeof(res.unwritten));
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES);
	scan(e, PONE_PASS_MERGE, &s);
	moved = rewrite_first_grouped(&img, &res, 7777);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, 1);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.unwritten, PAGES - 1);
	assert_int_equal(st.changed, 1);
	assert_int_equal(st.tree_compares, 0);
	check_dups(&s, &img, id, GROUPS * (GROUP_SIZE - 1) - 1);
	assert_false(reported(&s, moved));
	/* Found batch by batch, they go to the actuator in a few calls
	 * (for /dev/pone, MERGE ioctls): at most two for each worker. */
	assert_true(s.dup_calls <= 2 * 2);
	/* Converged: the pages in the tree are passed over, untouched, and
	 * still counted; a member the kernel was busy with comes back. */
	set_unwritten(&res, moved, true);
	retried = s.dup[0].member;
	assert_int_equal(pone_engine_retry(e, &retried), 0);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(st.unwritten, PAGES);
	assert_int_equal(st.stable, PAGES - ZERO - 1);
	assert_int_equal(s.ndup, 1);
	assert_int_equal(s.dup[0].member.index, retried.index);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 0);
	assert_int_equal(st.dup_pages, 0);	/* all passed over */
	assert_int_equal(pone_engine_region_counts(e, id, &rc), 0);
	assert_int_equal(rc.duplicate, GROUPS * GROUP_SIZE - 1);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

/*
 * Where resident() gives the hashes of the pages it finds written (as
 * pone.ko does), those pages are not read: duplicates and zero pages are
 * found by their hashes alone. A page seen first unwritten (written
 * before the engine started) is read, and hashed the same way: it joins
 * its group.
 */
static void written_pages_known_by_their_hash(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	size_t size = img.pages * 4096;
	uint8_t *copy = malloc(size);
	struct pone_engine *e = engine(2);
	struct pone_region_desc d = { .name = "hashed", .pages = img.pages,
				      .mode = PONE_READ_MAP, .map = img.mem,
				      .fd = -1, .resident = image_resident,
				      .unwritten_exact = true,
				      .merges_verified = true,
				      .resident_hashes = true };
	struct residency res = { .hashes_of = copy };
	struct pone_pass_stats st;
	uint64_t unseen = 0;
	uint32_t id;

	(void)state;
	memcpy(copy, img.mem, size);
	memset(res.bits, 0xff, sizeof(res.bits));
	d.resident_ctx = &res;
	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	while (!img.content[unseen] || img.content[unseen] > GROUPS)
		unseen++;
	set_unwritten(&res, unseen, true);
	/* Any read of another page faults. */
	assert_int_equal(mprotect(img.mem, size, PROT_NONE), 0);
	assert_int_equal(mprotect(image_page(&img, unseen), 4096, PROT_READ),
			 0);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.zero, ZERO);
	memset(res.unwritten, 0xff, sizeof(res.unwritten));
	scan(e, PONE_PASS_MERGE, &s);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(st.tree_compares, 0);
	check_dups(&s, &img, id, GROUPS * (GROUP_SIZE - 1));
	assert_true(s.nzero >= ZERO);
	for (size_t i = 0; i < s.nzero; i++)
		assert_int_equal(img.content[s.zero[i].index], 0);
	assert_int_equal(mprotect(img.mem, size, PROT_READ | PROT_WRITE), 0);
	d.unwritten_exact = false;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	pone_engine_free(e);
	free(copy);
	image_free(&img);
	seen_reset(&s);
}

/* A backend of the CPU's whose hash is one value for every page. */
struct colliding {
	struct pone_backend be;
	struct pone_backend *cpu;
};

static void colliding_hash(const struct pone_backend *be,
			   const void *const *pages, size_t n, uint64_t *out)
{
	(void)be;
	(void)pages;
	for (size_t i = 0; i < n; i++)
		out[i] = 0x5eed5eed5eed5eedull;
}

static void colliding_is_zero(const struct pone_backend *be,
			      const void *const *pages, size_t n, bool *out)
{
	const struct pone_backend *cpu = ((const struct colliding *)be)->cpu;

	cpu->is_zero(cpu, pages, n, out);
}

static void colliding_compare(const struct pone_backend *be,
			      const void *const *a, const void *const *b,
			      size_t n, uint32_t *out)
{
	const struct pone_backend *cpu = ((const struct colliding *)be)->cpu;

	cpu->compare(cpu, a, b, n, out);
}

static void colliding_destroy(struct pone_backend *be)
{
	pone_backend_destroy(((struct colliding *)be)->cpu);
}

/*
 * Keyed by hash, a collision is reported as a duplicate (for the kernel to
 * refuse): with every page colliding, every non-zero page but the first
 * is. A hash of 32 bits (CRC-32C) would collide far too often to be
 * trusted: a verified region is then keyed by content, and its reports are
 * exact.
 */
static void collisions_where_the_kernel_verifies(void **state)
{
	static const enum pone_checksum kinds[] = { PONE_CHECKSUM_XXH3,
						    PONE_CHECKSUM_CRC32C };
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	unsigned int k, i;

	(void)state;
	for (k = 0; k < 2; k++) {
		struct colliding c = {
			.be = { .name = "colliding", .checksum = kinds[k],
				.hash = colliding_hash,
				.is_zero = colliding_is_zero,
				.compare = colliding_compare,
				.destroy = colliding_destroy },
			.cpu = pone_backend_cpu_new(),
		};
		struct pone_engine_config cfg = { .threads = 2,
						  .backend = &c.be };
		struct pone_pass_stats st;
		struct pone_engine *e;
		uint32_t id;

		assert_non_null(c.cpu);
		assert_int_equal(pone_engine_new(&cfg, &e), 0);
		id = add_map_verified(e, &img, true);
		for (i = 0; i < 3; i++)
			st = scan(e, PONE_PASS_MERGE, &s);
		assert_int_equal(st.zero, ZERO);
		if (kinds[k] == PONE_CHECKSUM_XXH3) {
			assert_int_equal(s.ndup, PAGES - ZERO - 1);
			assert_int_equal(st.tree_compares, 0);
		} else {
			check_dups(&s, &img, id, GROUPS * (GROUP_SIZE - 1));
			assert_true(st.tree_compares > 0);
		}
		pone_engine_free(e);
		pone_backend_destroy(&c.be);
		seen_reset(&s);
	}
	image_free(&img);
}

/*
 * With one stable period, pages of an exactly tracked region are found at
 * the second merge pass; those of a region whose writes may be missed
 * still wait two periods, whatever the setting.
 */
static void one_stable_period_where_writes_are_exact(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e;
	struct residency res;
	struct pone_pass_stats st;
	uint32_t id;
	int exact;

	(void)state;
	for (exact = 0; exact < 2; exact++) {
		e = engine(2);
		assert_int_equal(pone_engine_stable_periods(e), 2);
		assert_int_equal(pone_engine_set_stable_periods(e, 0), -EINVAL);
		assert_int_equal(pone_engine_set_stable_periods(e, 3), -EINVAL);
		assert_int_equal(pone_engine_set_stable_periods(e, 1), 0);
		assert_int_equal(pone_engine_stable_periods(e), 1);
		id = add_with_residency(e, &img, &res, exact, false);
		memset(res.unwritten, 0xff, sizeof(res.unwritten));
		scan(e, PONE_PASS_MERGE, &s);
		scan(e, PONE_PASS_RECLAIM, &s);
		st = scan(e, PONE_PASS_MERGE, &s);
		assert_int_equal(st.stable, exact ? PAGES - ZERO : 0);
		if (!exact) {
			assert_int_equal(s.ndup, 0);
			st = scan(e, PONE_PASS_MERGE, &s);
		}
		assert_int_equal(st.dup_members, GROUPS * (GROUP_SIZE - 1));
		check_dups(&s, &img, id, GROUPS * (GROUP_SIZE - 1));
		pone_engine_free(e);
		seen_reset(&s);
	}
	image_free(&img);
}

/*
 * A CPU limit holds within a pass: its workers, two here, sleep so that
 * their CPU stays within the limit times the pass's wall time, give or
 * take one quantum of sleep (200 ms). Without the limit they use what
 * they get (up to two cores). The limit is low, so that the pass's CPU
 * allows it far more than a quantum.
 */
static void cpu_limit_holds_within_a_pass(void **state)
{
	/* Enough pages that the workers' share dwarfs the caller's. */
	struct image_layout l = { .zero = ZERO, .groups = GROUPS,
				  .group_size = GROUP_SIZE, .unique = 16384,
				  .seed = 7 };
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct pone_engine *e = engine(2);
	struct pone_pass_stats st;
	struct image img;

	(void)state;
	assert_int_equal(image_build(&img, &l), 0);
	assert_int_equal(pone_engine_set_cpu_limit(e, -1), -EINVAL);
	assert_int_equal(pone_engine_set_cpu_limit(e, 2000), -EINVAL);
	assert_int_equal(pone_engine_set_cpu_limit(e, 0.02), 0);
	add_map(e, &img);
	st = scan(e, PONE_PASS_MERGE, &s);
	/* The caller's own share (planning, counting) is outside the
	 * workers' accounting: a tenth to spare. */
	if ((st.wall_ns + 200e6) * 0.02 < st.cpu_ns * 0.9)
		fail_msg("%.4f CPU-s in %.4f s, over 0.02 cores",
			 st.cpu_ns / 1e9, st.wall_ns / 1e9);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

static void bad_input(void **state)
{
	struct pone_engine *e = engine(1);
	struct pone_region_desc d = { .name = "bad", .pages = 0,
				      .mode = PONE_READ_MAP, .fd = -1 };
	struct pone_dup dup = { .member = { 7, 0 }, .canonical = { 7, 1 } };
	uint32_t id;

	(void)state;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	d.pages = 4;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	d.mode = PONE_READ_PREAD;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	d.mode = (enum pone_read_mode)99;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	assert_int_equal(pone_engine_remove_region(e, 12345), -ENOENT);
	assert_int_equal(pone_engine_merged(e, &dup, 1), -ENOENT);
	assert_int_equal(pone_engine_scan(e, (enum pone_pass)9, NULL, NULL),
			 -EINVAL);
	assert_int_equal(pages_of(e), 0);
	pone_engine_free(e);
}

static void remove_on_report(void *ctx, const struct pone_page_ref *p,
			     size_t n)
{
	struct seen *s = ctx;
	uint32_t id = __atomic_exchange_n(&s->remove_on_first_report, 0,
					  __ATOMIC_RELAXED);

	(void)p;
	(void)n;
	if (id && pone_engine_remove_region(s->engine, id - 1))
		__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
}

/* Regions come and go while a pass runs; the pass finishes cleanly. */
static void remove_during_pass(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image a = build(), b = build();
	struct pone_engine *e = engine(2);
	struct pone_actuator act = { .ctx = &s, .zero = remove_on_report };
	struct pone_pass_stats st;
	uint32_t ia = add_map(e, &a), ib;

	(void)state;
	ib = add_map(e, &b);
	assert_int_not_equal(ia, ib);
	assert_int_equal(pages_of(e), 2 * PAGES);
	s.engine = e;
	assert_int_equal(pone_engine_scan(e, PONE_PASS_MERGE, &act, &st), 0);
	assert_int_equal(pone_engine_scan(e, PONE_PASS_MERGE, &act, &st), 0);
	s.remove_on_first_report = ib + 1;
	assert_int_equal(pone_engine_scan(e, PONE_PASS_MERGE, &act, &st), 0);
	assert_int_equal(s.remove_on_first_report, 0);
	assert_int_equal(s.failed, 0);
	assert_true(st.scanned < 2 * PAGES);
	assert_int_equal(pages_of(e), PAGES);
	assert_int_equal(pone_engine_remove_region(e, ib), -ENOENT);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.scanned, PAGES);

	/*
	 * Added again (on the same slots), the copy finds every one of its
	 * pages in the first image: none of its old leaves is left to be
	 * mistaken for the new ones.
	 */
	assert_int_equal(add_map(e, &b), ib);
	assert_int_equal(pages_of(e), 2 * PAGES);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(st.dup_members, PAGES - ZERO);
	assert_int_equal(st.dup_groups, UNIQUE);
	assert_int_equal(st.unique, 0);
	assert_int_equal(s.ndup, PAGES - ZERO);
	for (size_t i = 0; i < s.ndup; i++) {
		assert_int_equal(s.dup[i].member.region, ib);
		assert_true(b.content[s.dup[i].member.index] ==
			    a.content[s.dup[i].canonical.index]);
	}
	pone_engine_free(e);
	image_free(&a);
	image_free(&b);
	seen_reset(&s);
}

/*
 * Reported merges move the canonical pages to the static part: merged
 * members are not reported again, and a page that becomes equal to a merged
 * canonical later is found there.
 */
/* A member the kernel could not merge now is reported again, alone. */
static void retried_pages_come_back(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct pone_page_ref page;

	(void)state;
	add_map(e, &img);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, GROUPS * (GROUP_SIZE - 1));
	page = s.dup[0].member;
	assert_int_equal(pone_engine_retry(e, &page), 0);
	scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 1);
	assert_int_equal(s.dup[0].member.index, page.index);
	scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 0);
	/* Not a report of a merge: a page merged into itself. */
	assert_int_equal(pone_engine_merged(e, &(struct pone_dup){ page, page,
								  false }, 1),
			 -EINVAL);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

static bool same_page(struct pone_page_ref a, struct pone_page_ref b)
{
	return a.region == b.region && a.index == b.index;
}

static uint64_t ref_key(struct pone_page_ref r)
{
	return (uint64_t)r.region << 40 | r.index;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Member content << 40 | canonical, of every dup: sorted, one canonical a
 * content. */
static void check_one_head(const struct seen *s, const struct image *img)
{
	uint64_t *members = calloc(s->ndup, sizeof(*members));
	uint64_t *heads = calloc(s->ndup, sizeof(*heads));
	size_t i;

	assert_non_null(members);
	assert_non_null(heads);
	for (i = 0; i < s->ndup; i++) {
		members[i] = ref_key(s->dup[i].member);
		heads[i] = img->content[s->dup[i].member.index] << 40 |
			   ref_key(s->dup[i].canonical);
	}
	qsort(members, s->ndup, sizeof(*members), by_u64);
	qsort(heads, s->ndup, sizeof(*heads), by_u64);
	for (i = 0; i < s->ndup; i++) {
		uint64_t head = ref_key(s->dup[i].canonical);

		assert_null(bsearch(&head, members, s->ndup, sizeof(*members),
				    by_u64));
		if (i && heads[i] >> 40 == heads[i - 1] >> 40)
			assert_true(heads[i] == heads[i - 1]);
	}
	free(members);
	free(heads);
}

/*
 * Every member of a group is reported against one page, the group's head,
 * which is no member itself: nothing to merge twice (C into B, B into A),
 * so the period after reports nothing. Groups of group_size pages in each
 * of three regions with the same contents, added in turn: also groups
 * larger than the leaves group_head() looks at for the head, spread over
 * regions whose ids do not follow the order they were added in. One
 * thread: with two, a page being inserted can briefly look like a head to
 * the other thread (merged_into_busy_page covers what follows).
 */
static void members_report_their_head_in(uint64_t group_size)
{
	struct image_layout l = { .zero = ZERO, .groups = GROUPS,
				  .group_size = group_size, .unique = UNIQUE,
				  .seed = 42 };
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER, .merge = true };
	struct pone_engine *e = engine(1);
	struct image img;
	int r;

	assert_int_equal(image_build(&img, &l), 0);
	s.engine = e;
	for (r = 0; r < 3; r++)
		add_map(e, &img);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 3 * GROUPS * group_size - GROUPS +
				 2 * UNIQUE);
	check_one_head(&s, &img);
	scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 0);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

static void members_report_their_head(void **state)
{
	(void)state;
	members_report_their_head_in(GROUP_SIZE);
	members_report_their_head_in(40);
}

/*
 * C reported against B, and B against A, in one pass (made up here from
 * two members B and C of A's group); the kernel merges C into B but finds
 * B busy: C shares B's frame, not A's, so it must be looked up again with
 * B, or B would stay a second canonical page.
 */
static void merged_into_busy_page(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	struct pone_page_ref b = { 0 }, c = { 0 };
	size_t i, j;
	bool found = false;

	(void)state;
	add_map(e, &img);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	for (i = 0; i < s.ndup && !found; i++)
		for (j = i + 1; j < s.ndup && !found; j++)
			if (same_page(s.dup[j].canonical, s.dup[i].canonical)) {
				b = s.dup[i].member;
				c = s.dup[j].member;
				found = true;
			}
	assert_true(found);	/* groups of 3: two members each */
	for (i = 0; i < s.ndup; i++) {
		struct pone_dup into_b = { c, b, false };

		if (same_page(s.dup[i].member, b))
			assert_int_equal(pone_engine_retry(e, &b), 0);
		else if (same_page(s.dup[i].member, c))
			assert_int_equal(pone_engine_merged(e, &into_b, 1), 0);
		else
			assert_int_equal(pone_engine_merged(e, &s.dup[i], 1), 0);
	}
	scan(e, PONE_PASS_MERGE, &s);
	found = false;
	for (i = 0; i < s.ndup; i++)
		found |= same_page(s.dup[i].member, c);
	assert_true(found);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

static void merged_pages_use_static_part_in(bool verified)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	struct pone_engine *e = engine(2);
	uint32_t id = add_map_verified(e, &img, verified);
	struct pone_pass_stats st;
	uint64_t u = 0;
	size_t i;

	s.engine = e;
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	s.merge = true;
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, GROUPS * (GROUP_SIZE - 1));
	/* A member reported against another member (C to B, while B went to
	 * A) shares B's old frame: it is looked up again, in the static
	 * part, and merged into A. */
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_true(s.ndup < GROUPS);
	for (i = 0; i < s.ndup; i++) {
		assert_true(s.dup[i].canonical_merged);
		assert_int_equal(img.content[s.dup[i].member.index],
				 img.content[s.dup[i].canonical.index]);
	}
	s.merge = false;
	st = scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 0);
	assert_int_equal(st.dup_groups + st.unique, 0);
	/* Merged pages left the dynamic part; nothing to group any more. */
	assert_int_equal(st.dup_pages, 0);

	/* A unique page takes the content of group 1. */
	while (img.content[u] <= GROUPS)
		u++;
	img.content[u] = 1;
	image_fill(image_page(&img, u), 1, 0);
	for (i = 0; i < 3; i++) {
		st = scan(e, PONE_PASS_MERGE, &s);
		assert_int_equal(s.ndup, i == 2 ? 1 : 0);
	}
	assert_int_equal(s.dup[0].member.index, u);
	assert_true(s.dup[0].canonical_merged);
	assert_int_equal(img.content[s.dup[0].canonical.index], 1);
	assert_int_equal(s.dup[0].canonical.region, id);

	/* A canonical page that changes leaves the static part: the page that
	 * matched it has no equal left (the other members are merged). */
	image_rewrite(&img, s.dup[0].canonical.index, 77);
	for (i = 0; i < 3; i++) {
		st = scan(e, PONE_PASS_MERGE, &s);
		assert_int_equal(s.ndup, 0);
	}
	assert_int_equal(st.unique, 1);	/* the canonical's new content */
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

/* Keyed by content, and by hash where the kernel verifies merges. */
static void merged_pages_use_static_part(void **state)
{
	(void)state;
	merged_pages_use_static_part_in(false);
	merged_pages_use_static_part_in(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_thread),
		cmocka_unit_test(two_threads),
		cmocka_unit_test(eight_threads),
		cmocka_unit_test(odd_batches),
		cmocka_unit_test(changed_pages_are_not_stable),
		cmocka_unit_test(pread_region),
		cmocka_unit_test(vm_region),
		cmocka_unit_test(unreadable_pages),
		cmocka_unit_test(absent_pages_are_skipped),
		cmocka_unit_test(unwritten_pages_are_not_read),
		cmocka_unit_test(exact_unwritten_pages_are_read_to_enter_the_tree),
		cmocka_unit_test(verified_pages_enter_the_tree_unread),
		cmocka_unit_test(collisions_where_the_kernel_verifies),
		cmocka_unit_test(written_pages_known_by_their_hash),
		cmocka_unit_test(one_stable_period_where_writes_are_exact),
		cmocka_unit_test(cpu_limit_holds_within_a_pass),
		cmocka_unit_test(bad_input),
		cmocka_unit_test(remove_during_pass),
		cmocka_unit_test(retried_pages_come_back),
		cmocka_unit_test(members_report_their_head),
		cmocka_unit_test(merged_into_busy_page),
		cmocka_unit_test(merged_pages_use_static_part),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
