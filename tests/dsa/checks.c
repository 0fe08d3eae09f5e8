// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <pone/dsa.h>
#include <pone/engine.h>

#include "checks.h"
#include "image.h"
#include "rand.h"
#include "sw_executor.h"

#define NPAGES 300

/* Where page pairs first differ; PONE_PAGE_SIZE: equal. */
static const uint32_t diff_at[] = { 0, 1, 7, 8, 63, 64, 65, 100, 2047,
				    4032, 4095, PONE_PAGE_SIZE };
#define NDIFF (sizeof(diff_at) / sizeof(diff_at[0]))

struct pages {
	uint8_t *a, *b;
	const void *pa[NPAGES], *pb[NPAGES];
};

static void pages_build(struct pages *p)
{
	uint64_t rng = 7;

	p->a = mmap(NULL, 2ul * NPAGES * PONE_PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p->a != MAP_FAILED);
	p->b = p->a + NPAGES * PONE_PAGE_SIZE;
	for (unsigned int i = 0; i < NPAGES; i++) {
		uint8_t *a = p->a + (size_t)i * PONE_PAGE_SIZE;
		uint8_t *b = p->b + (size_t)i * PONE_PAGE_SIZE;
		uint32_t d = diff_at[i % NDIFF];

		/* Every third page stays zero (and never touched: the device
		 * faults on it first); the rest random. */
		if (i % 3) {
			for (uint32_t k = 0; k < PONE_PAGE_SIZE; k += 8) {
				uint64_t v = splitmix64(&rng);

				memcpy(a + k, &v, 8);
			}
			memcpy(b, a, PONE_PAGE_SIZE);
			if (d < PONE_PAGE_SIZE)
				b[d] ^= 0x10;
		} else if (d < PONE_PAGE_SIZE) {
			b[d] = 1;
		}
		p->pa[i] = a;
		p->pb[i] = b;
	}
}

static void check_calls(struct pone_backend *be, struct pone_backend *cpu,
			const struct pages *p, size_t n)
{
	uint32_t off[NPAGES], want_off[NPAGES];
	bool z[NPAGES], want_z[NPAGES];
	uint64_t h[NPAGES];

	for (size_t at = 0; at < NPAGES; at += n) {
		size_t m = NPAGES - at < n ? NPAGES - at : n;

		be->compare(be, p->pa + at, p->pb + at, m, off);
		cpu->compare(cpu, p->pa + at, p->pb + at, m, want_off);
		be->is_zero(be, p->pb + at, m, z);
		cpu->is_zero(cpu, p->pb + at, m, want_z);
		be->hash(be, p->pa + at, m, h);
		for (size_t i = 0; i < m; i++) {
			uint32_t crc = sw_crc32c(0, p->pa[at + i],
						 PONE_PAGE_SIZE);

			assert_int_equal(off[i], want_off[i]);
			assert_int_equal(z[i], want_z[i]);
			assert_int_equal(h[i], (uint64_t)crc << 32 | crc);
		}
	}
}

void check_ops_match_cpu(struct pone_backend *be)
{
	static const size_t sizes[] = { 1, 2, 16, 64, 255, NPAGES };
	struct pone_backend *cpu = pone_backend_cpu_new();
	struct pages p;

	assert_non_null(cpu);
	assert_int_equal(be->checksum, PONE_CHECKSUM_CRC32C);
	pages_build(&p);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		check_calls(be, cpu, &p, sizes[s]);
	munmap(p.a, 2ul * NPAGES * PONE_PAGE_SIZE);
	pone_backend_destroy(cpu);
}

/* ---- the engine on both backends ---- */

struct found {
	pthread_mutex_t lock;
	struct pone_page_ref *zero;
	size_t nzero;
	struct pone_dup *dup;
	size_t ndup;
};

static void on_zero(void *ctx, const struct pone_page_ref *p, size_t n)
{
	struct found *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->zero = realloc(f->zero, (f->nzero + n) * sizeof(*p));
	assert_non_null(f->zero);
	memcpy(f->zero + f->nzero, p, n * sizeof(*p));
	f->nzero += n;
	pthread_mutex_unlock(&f->lock);
}

static void on_dup(void *ctx, const struct pone_dup *d, size_t n)
{
	struct found *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->dup = realloc(f->dup, (f->ndup + n) * sizeof(*d));
	assert_non_null(f->dup);
	memcpy(f->dup + f->ndup, d, n * sizeof(*d));
	f->ndup += n;
	pthread_mutex_unlock(&f->lock);
}

static int by_index(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * Sorted page indexes of the zero pages, then (tagged) of the pages in the
 * duplicate pairs: which page of a group is reported as its member depends
 * on the order threads reach them, the pages in groups do not.
 */
static uint64_t *keys_of(const struct found *f, const struct image *img,
			 size_t *n)
{
	uint64_t *k = calloc(f->nzero + 2 * f->ndup + 1, sizeof(*k));
	size_t m = 0, u = 0;

	assert_non_null(k);
	for (size_t i = 0; i < f->nzero; i++)
		k[m++] = f->zero[i].index;
	for (size_t i = 0; i < f->ndup; i++) {
		const struct pone_dup *d = &f->dup[i];

		assert_int_equal(img->content[d->member.index],
				 img->content[d->canonical.index]);
		k[m++] = (1ull << 62) | d->member.index;
		k[m++] = (1ull << 62) | d->canonical.index;
	}
	qsort(k, m, sizeof(*k), by_index);
	for (size_t i = 0; i < m; i++)
		if (!u || k[u - 1] != k[i])
			k[u++] = k[i];
	*n = u;
	return k;
}

struct run {
	struct pone_pass_stats st[4];
	uint64_t *keys[4];
	size_t nkeys[4];
};

static void run_engine(struct pone_backend *be, unsigned int threads,
		       const struct image *img, struct run *out)
{
	static const enum pone_pass kinds[4] = {
		PONE_PASS_RECLAIM, PONE_PASS_MERGE, PONE_PASS_MERGE,
		PONE_PASS_MERGE };
	struct pone_engine_config cfg = { .threads = threads, .backend = be };
	struct pone_region_desc d = { .name = "image", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1 };
	struct pone_engine *e;
	uint32_t id;

	assert_int_equal(pone_engine_new(&cfg, &e), 0);
	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	for (int pass = 0; pass < 4; pass++) {
		struct found f = { .lock = PTHREAD_MUTEX_INITIALIZER };
		struct pone_actuator act = { .ctx = &f, .zero = on_zero,
					     .duplicate = on_dup };

		assert_int_equal(pone_engine_scan(e, kinds[pass], &act,
						  &out->st[pass]), 0);
		out->keys[pass] = keys_of(&f, img, &out->nkeys[pass]);
		free(f.zero);
		free(f.dup);
	}
	pone_engine_free(e);
}

static void same_stats(const struct pone_pass_stats *a,
		       const struct pone_pass_stats *b)
{
	assert_int_equal(a->scanned, b->scanned);
	assert_int_equal(a->unreadable, b->unreadable);
	assert_int_equal(a->zero, b->zero);
	assert_int_equal(a->zero_stable, b->zero_stable);
	assert_int_equal(a->changed, b->changed);
	assert_int_equal(a->stable, b->stable);
	assert_int_equal(a->unique, b->unique);
	assert_int_equal(a->dup_groups, b->dup_groups);
	assert_int_equal(a->dup_members, b->dup_members);
	assert_int_equal(a->dup_pages, b->dup_pages);
}

void check_engine_matches_cpu(struct pone_backend *be, unsigned int threads)
{
	struct image_layout l = { .zero = 200, .groups = 150, .group_size = 2,
				  .group_size_max = 5, .unique = 700,
				  .zero_prefix = 2048, .seed = 11 };
	struct pone_backend *cpu = pone_backend_cpu_new();
	struct run on_cpu, on_be;
	struct image img;

	assert_non_null(cpu);
	assert_int_equal(image_build(&img, &l), 0);
	run_engine(cpu, threads, &img, &on_cpu);
	run_engine(be, threads, &img, &on_be);
	for (int pass = 0; pass < 4; pass++) {
		same_stats(&on_cpu.st[pass], &on_be.st[pass]);
		assert_int_equal(on_cpu.nkeys[pass], on_be.nkeys[pass]);
		assert_memory_equal(on_cpu.keys[pass], on_be.keys[pass],
				    on_cpu.nkeys[pass] * sizeof(uint64_t));
		free(on_cpu.keys[pass]);
		free(on_be.keys[pass]);
	}
	/* The image has groups: the passes found them. */
	assert_int_equal(on_be.st[3].dup_groups, l.groups);
	print_message("tree: %.1f compares a backend call\n",
		      on_be.st[3].tree_compare_calls ?
		      (double)on_be.st[3].tree_compares /
		      (double)on_be.st[3].tree_compare_calls : 0.0);
	image_free(&img);
	pone_backend_destroy(cpu);
}
