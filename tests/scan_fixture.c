// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "scan_fixture.h"

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

void seen_reset(struct seen *s)
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

struct pone_engine *engine(unsigned int threads)
{
	return engine_batched(threads, 0);
}

struct image build(void)
{
	struct image_layout l = { .zero = ZERO, .groups = GROUPS,
				  .group_size = GROUP_SIZE, .unique = UNIQUE,
				  .seed = 42 };
	struct image img;

	assert_int_equal(image_build(&img, &l), 0);
	return img;
}

uint32_t add_map_verified(struct pone_engine *e, const struct image *img,
			  bool verified)
{
	struct pone_region_desc d = { .name = "image", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1, .merges_verified = verified };
	uint32_t id;

	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	return id;
}

uint32_t add_map(struct pone_engine *e, const struct image *img)
{
	return add_map_verified(e, img, false);
}

struct pone_pass_stats scan(struct pone_engine *e, enum pone_pass k,
			    struct seen *s)
{
	struct pone_actuator act = actuator(s);
	struct pone_pass_stats st;

	seen_reset(s);
	assert_int_equal(pone_engine_scan(e, k, &act, &st), 0);
	assert_int_equal(s->failed, 0);
	return st;
}

void check_dups(const struct seen *s, const struct image *img, uint32_t id,
		size_t expect)
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

void check_zero(const struct seen *s, const struct image *img)
{
	size_t i;

	assert_int_equal(s->nzero, ZERO);
	for (i = 0; i < s->nzero; i++)
		assert_int_equal(img->content[s->zero[i].index], 0);
}

bool reported(const struct seen *s, uint64_t page)
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

static bool bit_of(const uint64_t *bits, uint64_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

static bool resident_page(const struct residency *res, uint64_t i)
{
	return bit_of(res->bits, i);
}

int image_resident(void *ctx, uint64_t first, unsigned int n, uint64_t *mask,
		   uint64_t *unwritten, uint64_t *hash)
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

uint32_t add_with_residency(struct pone_engine *e, struct image *img,
			    struct residency *res, bool exact, bool verified)
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

void set_unwritten(struct residency *res, uint64_t i, bool unwritten)
{
	if (unwritten)
		res->unwritten[i / 64] |= 1ull << (i % 64);
	else
		res->unwritten[i / 64] &= ~(1ull << (i % 64));
}

uint64_t rewrite_first_grouped(struct image *img, struct residency *res,
			       uint32_t content)
{
	uint64_t i = 0;

	while (!img->content[i] || img->content[i] > GROUPS)
		i++;
	image_rewrite(img, i, content);
	set_unwritten(res, i, false);
	return i;
}

struct scan_fx *scan_fx_new(unsigned int threads, unsigned int batch)
{
	struct scan_fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pthread_mutex_init(&f->s.lock, NULL), 0);
	f->img = build();
	f->e = engine_batched(threads, batch);
	f->s.engine = f->e;
	return f;
}

void scan_fx_free(struct scan_fx *f)
{
	pone_engine_free(f->e);
	image_free(&f->img);
	seen_reset(&f->s);
	pthread_mutex_destroy(&f->s.lock);
	free(f);
}

int scan_fx_setup(void **state)
{
	*state = scan_fx_new(2, 0);
	return 0;
}

int scan_fx_teardown(void **state)
{
	scan_fx_free(*state);
	return 0;
}
