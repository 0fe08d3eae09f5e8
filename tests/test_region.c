// SPDX-License-Identifier: GPL-2.0-only
/* Regions: the three ways to read guest pages, and safe removal. */
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
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "region.h"

#define PAGES 16

/* Backends of two kinds whose hash is a page's first bytes. */
static void first_bytes(const struct pone_backend *be,
			const void *const *pages, size_t n, uint64_t *out)
{
	(void)be;
	for (size_t i = 0; i < n; i++)
		memcpy(&out[i], pages[i], sizeof(out[i]));
}

static const struct pone_backend xxh3_kind = {
	.checksum = PONE_CHECKSUM_XXH3, .hash = first_bytes };
static const struct pone_backend crc32c_kind = {
	.checksum = PONE_CHECKSUM_CRC32C, .hash = first_bytes };

static uint8_t *make_pages(void)
{
	uint8_t *m = mmap(NULL, PAGES * PONE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int i;

	assert_true(m != MAP_FAILED);
	for (i = 0; i < PAGES; i++)
		memset(m + i * PONE_PAGE_SIZE, 'a' + i, PONE_PAGE_SIZE);
	return m;
}

static void read_all(const struct pone_region_desc *d, const uint8_t *want)
{
	static uint8_t buf[PAGES * PONE_PAGE_SIZE];
	const void *pages[PAGES];
	struct region *r;
	unsigned int i;

	assert_int_equal(region_new(d, &xxh3_kind, &r), 0);
	assert_int_equal(r->nslots, 1);
	assert_int_equal(region_read(r, 0, PAGES, buf, pages), PAGES);
	for (i = 0; i < PAGES; i++)
		assert_memory_equal(pages[i], want + i * PONE_PAGE_SIZE,
				    PONE_PAGE_SIZE);
	/* Reads past the end are cut to the region. */
	assert_int_equal(region_read(r, PAGES - 2, 8, buf, pages), 2);
	assert_memory_equal(pages[1], want + (PAGES - 1) * PONE_PAGE_SIZE,
			    PONE_PAGE_SIZE);
	assert_int_equal(region_read(r, PAGES, 1, buf, pages), 0);
	region_free(r);
}

static void three_ways(void **state)
{
	uint8_t *m = make_pages();
	int fd = memfd_create("guest", 0);
	struct pone_region_desc d = { .name = "m", .pages = PAGES,
				      .mode = PONE_READ_MAP, .map = m, .fd = -1 };

	(void)state;
	read_all(&d, m);
	assert_int_equal(write(fd, m, PAGES * PONE_PAGE_SIZE),
			 PAGES * PONE_PAGE_SIZE);
	d = (struct pone_region_desc){ .name = "f", .pages = PAGES,
				       .mode = PONE_READ_PREAD, .fd = fd };
	read_all(&d, m);
	d = (struct pone_region_desc){ .name = "v", .pages = PAGES,
				       .mode = PONE_READ_VM, .fd = -1,
				       .pid = getpid(), .addr = (uintptr_t)m };
	read_all(&d, m);
	close(fd);
	munmap(m, PAGES * PONE_PAGE_SIZE);
}

/* A file shorter than the region reads what it has, then nothing. */
static void short_file(void **state)
{
	uint8_t *m = make_pages(), buf[4 * PONE_PAGE_SIZE];
	int fd = memfd_create("short", 0);
	struct pone_region_desc d = { .name = "f", .pages = PAGES,
				      .mode = PONE_READ_PREAD, .fd = fd,
				      .offset = PONE_PAGE_SIZE };
	const void *pages[4];
	struct region *r;

	(void)state;
	/* Page 0 of the region is page 1 of the file; the file has 3. */
	assert_int_equal(write(fd, m, 3 * PONE_PAGE_SIZE), 3 * PONE_PAGE_SIZE);
	assert_int_equal(region_new(&d, &xxh3_kind, &r), 0);
	assert_int_equal(region_read(r, 0, 4, buf, pages), 2);
	assert_memory_equal(pages[0], m + PONE_PAGE_SIZE, PONE_PAGE_SIZE);
	assert_int_equal(region_read(r, 5, 4, buf, pages), 0);
	region_free(r);
	close(fd);
	munmap(m, PAGES * PONE_PAGE_SIZE);
}

/*
 * A region's page state holds hashes of its backend's kind, or xxh64 where
 * resident() gives them; the trees know its pages by their hash where the
 * kernel verifies merges and the hash is 64 bits strong.
 */
static int no_resident(void *ctx, uint64_t first, unsigned int n,
		       uint64_t *mask, uint64_t *unwritten, uint64_t *hash)
{
	(void)ctx, (void)first, (void)n, (void)mask, (void)unwritten,
	(void)hash;
	return -EIO;
}

static void checksum_kind(void **state)
{
	static const unsigned char zeros[PONE_PAGE_SIZE];
	struct pone_region_desc d = { .name = "k", .pages = 4,
				      .mode = PONE_READ_PREAD, .fd = 0 };
	struct region *r;

	(void)state;
	assert_int_equal(region_new(&d, &crc32c_kind, &r), 0);
	assert_int_equal(r->ps.checksum, PONE_CHECKSUM_CRC32C);
	assert_int_equal(r->keying, SDTREE_BY_CONTENT);
	region_free(r);
	d.merges_verified = true;
	assert_int_equal(region_new(&d, &crc32c_kind, &r), 0);
	assert_int_equal(r->keying, SDTREE_BY_CONTENT);
	region_free(r);
	assert_int_equal(region_new(&d, &xxh3_kind, &r), 0);
	assert_int_equal(r->ps.checksum, PONE_CHECKSUM_XXH3);
	assert_int_equal(r->keying, SDTREE_BY_HASH);
	assert_int_equal(r->zero_hash, 0);
	region_free(r);
	d.resident = no_resident;
	d.unwritten_exact = d.resident_hashes = true;
	assert_int_equal(region_new(&d, &crc32c_kind, &r), 0);
	assert_int_equal(r->ps.checksum, PONE_CHECKSUM_XXH64);
	assert_int_equal(r->keying, SDTREE_BY_HASH);
	assert_int_equal(r->zero_hash, XXH64(zeros, sizeof(zeros), 0));
	region_free(r);
}

static void bad_descriptions(void **state)
{
	struct pone_region_desc bad[] = {
		{ .pages = 0, .mode = PONE_READ_MAP, .map = &bad },
		{ .pages = 1, .mode = PONE_READ_MAP, .map = NULL },
		{ .pages = 1, .mode = PONE_READ_PREAD, .fd = -1 },
		{ .pages = 1, .mode = PONE_READ_PREAD, .fd = 0, .offset = 100 },
		{ .pages = 1, .mode = PONE_READ_VM, .pid = 0 },
		{ .pages = 1, .mode = PONE_READ_VM, .pid = 1, .addr = 4095 },
		{ .pages = 1ull << 40, .mode = PONE_READ_MAP, .map = &bad },
		{ .pages = 1, .mode = (enum pone_read_mode)7, .map = &bad },
		/* hashes from resident() need it, exact and verified */
		{ .pages = 1, .mode = PONE_READ_MAP, .map = &bad,
		  .resident_hashes = true, .unwritten_exact = true,
		  .merges_verified = true },
		{ .pages = 1, .mode = PONE_READ_MAP, .map = &bad,
		  .resident = no_resident, .resident_hashes = true,
		  .merges_verified = true },
	};
	struct region *r = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(region_new(&bad[i], &xxh3_kind, &r),
				 -EINVAL);
	assert_null(r);
}

struct holder {
	struct region *r;
	int released;
};

static void *hold_then_release(void *arg)
{
	struct holder *h = arg;
	struct timespec ts = { 0, 50000000 };

	nanosleep(&ts, NULL);
	__atomic_store_n(&h->released, 1, __ATOMIC_RELEASE);
	region_put(h->r);
	return NULL;
}

/* Killing waits for the reads in flight; afterwards no read starts. */
static void kill_waits_for_readers(void **state)
{
	uint8_t page[PONE_PAGE_SIZE] = { 0 };
	struct pone_region_desc d = { .name = "k", .pages = 1,
				      .mode = PONE_READ_MAP, .map = page,
				      .fd = -1 };
	struct holder h = { 0 };
	pthread_t t;

	(void)state;
	assert_int_equal(region_new(&d, &xxh3_kind, &h.r), 0);
	assert_true(region_get(h.r));
	assert_int_equal(pthread_create(&t, NULL, hold_then_release, &h), 0);
	region_kill(h.r);
	assert_int_equal(__atomic_load_n(&h.released, __ATOMIC_ACQUIRE), 1);
	assert_false(region_get(h.r));
	pthread_join(t, NULL);
	region_free(h.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(three_ways),
		cmocka_unit_test(short_file),
		cmocka_unit_test(checksum_kind),
		cmocka_unit_test(bad_descriptions),
		cmocka_unit_test(kill_waits_for_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
