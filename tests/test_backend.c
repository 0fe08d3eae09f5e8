/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPU backend tests. Each group runs at one SIMD level (forced through
 * PONE_SIMD) and is skipped when the CPU lacks it, so the same assertions
 * cover every implementation this machine can execute.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include <pone/backend.h>

#include "rand.h"

#define PS PONE_PAGE_SIZE

static const char *const levels[] = { "portable", "sse2", "avx2", "avx512" };

/* Decided independently of the backend, to check what it selects. */
static bool cpu_has(const char *level)
{
	if (!strcmp(level, "portable"))
		return true;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	if (!strcmp(level, "sse2"))
		return __builtin_cpu_supports("sse2");
	if (!strcmp(level, "avx2"))
		return __builtin_cpu_supports("avx2");
	if (!strcmp(level, "avx512"))
		return __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw");
#endif
	return false;
}

static const char *best_level(void)
{
	const char *best = "portable";

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (cpu_has(levels[i]))
			best = levels[i];
	return best;
}

/* Fixed seed: a failure must reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return splitmix64(&rng_state);
}

static void fill_random(unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)rnd();
}

/* A byte value different from @v. */
static unsigned char other_byte(unsigned char v)
{
	return (unsigned char)(v ^ (1 + rnd() % 255));
}

static unsigned char *alloc_pages(size_t n)
{
	/* One spare page so tests can shift the start off alignment. */
	unsigned char *p = aligned_alloc(64, (n + 1) * PS);

	assert_non_null(p);
	return p;
}

static struct pone_backend *backend_at(const char *level)
{
	struct pone_backend *be;

	assert_int_equal(setenv("PONE_SIMD", level, 1), 0);
	be = pone_backend_cpu_new();
	assert_int_equal(unsetenv("PONE_SIMD"), 0);
	assert_non_null(be);
	return be;
}

/* Run twice from opposite initial values, so an unwritten result shows. */
static bool run_zero(const struct pone_backend *be, const void *page)
{
	bool z[2] = { true, false };

	be->is_zero(be, &page, 1, &z[0]);
	be->is_zero(be, &page, 1, &z[1]);
	assert_int_equal(z[0], z[1]);
	return z[0];
}

static uint32_t run_cmp(const struct pone_backend *be, const void *a,
			const void *b)
{
	uint32_t off = 0xdeadbeef;

	be->compare(be, &a, &b, 1, &off);
	return off;
}

/* ---- per-level group ---- */

static const char *cur_level;

static int group_setup(void **state)
{
	char want[32];

	*state = backend_at(cur_level);
	/* The forced level is the one in use, not silently another. */
	snprintf(want, sizeof(want), "cpu-%s", cur_level);
	assert_string_equal(((struct pone_backend *)*state)->name, want);
	return 0;
}

static int group_teardown(void **state)
{
	pone_backend_destroy(*state);
	return 0;
}

static void test_hash_matches_xxh3(void **state)
{
	const struct pone_backend *be = *state;
	enum { N = 64 };
	unsigned char *buf = alloc_pages(N);
	const void *pages[N];
	uint64_t out[N + 1];

	fill_random(buf, N * PS);
	/* Page 5 copies page 3: equal content must give equal hashes. */
	memcpy(buf + 5 * PS, buf + 3 * PS, PS);
	memset(buf + 7 * PS, 0, PS);
	for (int i = 0; i < N; i++)
		pages[i] = buf + (size_t)i * PS;
	out[N] = 0x1234;
	be->hash(be, pages, N, out);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], XXH3_64bits(pages[i], PS));
	assert_int_equal(out[N], 0x1234);
	assert_int_equal(out[3], out[5]);
	assert_int_not_equal(out[3], out[4]);
	assert_int_equal(out[7], pone_zero_page_hash(be));

	/* One changed bit changes the hash. */
	buf[3 * PS + 4095] ^= 0x80;
	be->hash(be, pages, N, out);
	assert_int_not_equal(out[3], out[5]);
	free(buf);
}

static void test_zero_page_hash(void **state)
{
	const struct pone_backend *be = *state;
	static const unsigned char zero[PS];

	assert_int_equal(pone_zero_page_hash(be), XXH3_64bits(zero, PS));
}

static void test_zero_positions(void **state)
{
	static const uint32_t pos[] = { 0, 1, 63, 64, 255, 256, 2047, 4095 };
	static const unsigned char vals[] = { 0x01, 0x80, 0xff };
	const struct pone_backend *be = *state;
	unsigned char *page = alloc_pages(1);

	memset(page, 0, PS);
	assert_true(run_zero(be, page));
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			page[pos[i]] = vals[v];
			assert_false(run_zero(be, page));
			page[pos[i]] = 0;
			assert_true(run_zero(be, page));
		}
	}
	free(page);
}

static void test_zero_every_position(void **state)
{
	const struct pone_backend *be = *state;
	unsigned char *page = alloc_pages(1);

	memset(page, 0, PS);
	for (uint32_t i = 0; i < PS; i++) {
		page[i] = (unsigned char)(1 + rnd() % 255);
		if (run_zero(be, page))
			fail_msg("non-zero byte at %u not seen", i);
		page[i] = 0;
	}
	assert_true(run_zero(be, page));
	free(page);
}

/*
 * Random, equal bytes before the difference so that no implementation can
 * get lucky on zeros; after it, either equal bytes (a single difference)
 * or different ones (only the first may count).
 */
static void test_compare_every_offset(void **state)
{
	const struct pone_backend *be = *state;
	unsigned char *a = alloc_pages(2);
	unsigned char *b = a + PS;

	fill_random(a, PS);
	memcpy(b, a, PS);
	assert_int_equal(run_cmp(be, a, b), PS);
	for (uint32_t i = 0; i < PS; i++) {
		b[i] = other_byte(a[i]);
		if (run_cmp(be, a, b) != i || run_cmp(be, b, a) != i)
			fail_msg("single difference at %u: got %u", i,
				 run_cmp(be, a, b));
		b[i] = a[i];
	}
	for (uint32_t i = 0; i < PS; i++) {
		for (uint32_t j = i; j < PS; j++)
			b[j] = other_byte(a[j]);
		if (run_cmp(be, a, b) != i)
			fail_msg("tail differing from %u: got %u", i,
				 run_cmp(be, a, b));
		memcpy(b, a, PS);
	}
	free(a);
}

static void test_compare_equal(void **state)
{
	const struct pone_backend *be = *state;
	unsigned char *a = alloc_pages(2);
	unsigned char *b = a + PS;

	memset(a, 0, 2 * PS);
	assert_int_equal(run_cmp(be, a, b), PS);
	fill_random(a, PS);
	memcpy(b, a, PS);
	assert_int_equal(run_cmp(be, a, b), PS);
	assert_int_equal(run_cmp(be, a, a), PS);
	free(a);
}

/*
 * A batch of @n pages at @shift bytes past 64-byte alignment: every third
 * page zero, and page i of b differing from a at an offset that depends on
 * i (or not at all when i % 4 == 0).
 */
static void check_batch(const struct pone_backend *be, size_t n,
			size_t shift)
{
	unsigned char *abuf = alloc_pages(n), *bbuf = alloc_pages(n);
	unsigned char *a = abuf + shift, *b = bbuf + (shift * 7) % 64;
	const void **pa = calloc(n, sizeof(*pa)), **pb = calloc(n, sizeof(*pb));
	uint64_t *hash = calloc(n + 1, sizeof(*hash));
	bool *zero = calloc(n + 1, sizeof(*zero));
	uint32_t *cmp = calloc(n + 1, sizeof(*cmp));
	uint32_t *want_cmp = calloc(n, sizeof(*want_cmp));

	assert_true(pa && pb && hash && zero && cmp && want_cmp);
	for (size_t i = 0; i < n; i++) {
		unsigned char *p = a + i * PS, *q = b + i * PS;

		if (i % 3 == 0) {
			memset(p, 0, PS);
			/* A lone non-zero byte deep in some pages. */
			if (i % 2)
				p[PS - 1 - i] = 1;
		} else {
			fill_random(p, PS);
		}
		memcpy(q, p, PS);
		want_cmp[i] = PS;
		if (i % 4) {
			want_cmp[i] = (uint32_t)((i * 613 + shift) % PS);
			q[want_cmp[i]] = other_byte(p[want_cmp[i]]);
		}
		pa[i] = p;
		pb[i] = q;
	}
	hash[n] = 77;
	zero[n] = true;
	cmp[n] = 77;
	be->hash(be, pa, n, hash);
	be->is_zero(be, pa, n, zero);
	be->compare(be, pa, pb, n, cmp);
	for (size_t i = 0; i < n; i++) {
		bool want_zero = i % 3 == 0 && i % 2 == 0;

		assert_int_equal(hash[i], XXH3_64bits(pa[i], PS));
		assert_int_equal(zero[i], want_zero);
		assert_int_equal(cmp[i], want_cmp[i]);
	}
	/* Nothing past n is written. */
	assert_int_equal(hash[n], 77);
	assert_true(zero[n]);
	assert_int_equal(cmp[n], 77);
	free(want_cmp);
	free(cmp);
	free(zero);
	free(hash);
	free(pb);
	free(pa);
	free(bbuf);
	free(abuf);
}

static void test_batches(void **state)
{
	static const size_t sizes[] = { 1, 7, 64 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_batch(*state, sizes[i], 0);
}

static void test_unaligned(void **state)
{
	static const size_t shifts[] = { 1, 3, 8, 31, 33, 63 };

	for (size_t i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		check_batch(*state, 7, shifts[i]);
		check_batch(*state, 64, shifts[i]);
	}
}

/* Unaligned pages whose first/last bytes sit right at the buffer ends. */
static void test_unaligned_edges(void **state)
{
	const struct pone_backend *be = *state;
	unsigned char *buf = alloc_pages(1);
	unsigned char *p = buf + 1;

	memset(buf, 0, 2 * PS);
	buf[0] = 0xff;		/* just before the page: must not be seen */
	assert_true(run_zero(be, p));
	p[PS - 1] = 1;
	assert_false(run_zero(be, p));
	p[PS - 1] = 0;
	p[0] = 1;
	assert_false(run_zero(be, p));
	assert_int_equal(run_cmp(be, p, buf + 2), 0);
	free(buf);
}

static void test_empty_batch(void **state)
{
	const struct pone_backend *be = *state;
	uint64_t h = 5;
	bool z = false;
	uint32_t c = 5;

	be->hash(be, NULL, 0, &h);
	be->is_zero(be, NULL, 0, &z);
	be->compare(be, NULL, NULL, 0, &c);
	assert_int_equal(h, 5);
	assert_false(z);
	assert_int_equal(c, 5);
}

static const struct CMUnitTest level_tests[] = {
	cmocka_unit_test(test_hash_matches_xxh3),
	cmocka_unit_test(test_zero_page_hash),
	cmocka_unit_test(test_zero_positions),
	cmocka_unit_test(test_zero_every_position),
	cmocka_unit_test(test_compare_every_offset),
	cmocka_unit_test(test_compare_equal),
	cmocka_unit_test(test_batches),
	cmocka_unit_test(test_unaligned),
	cmocka_unit_test(test_unaligned_edges),
	cmocka_unit_test(test_empty_batch),
};

/* ---- selection ---- */

/* Without PONE_SIMD: a level this CPU has, measured once, the same for
 * every backend of the process, and the one pone_backend_cpu_simd() names. */
static void test_default_level_is_measured_once(void **state)
{
	const char *chosen;
	char want[32];

	(void)state;
	assert_int_equal(unsetenv("PONE_SIMD"), 0);
	chosen = pone_backend_cpu_simd();
	assert_true(cpu_has(chosen));
	snprintf(want, sizeof(want), "cpu-%s", chosen);
	for (int i = 0; i < 3; i++) {
		struct pone_backend *be = pone_backend_cpu_new();

		assert_non_null(be);
		assert_string_equal(be->name, want);
		pone_backend_destroy(be);
	}
	assert_string_equal(pone_backend_cpu_simd(), chosen);
}

/* An unknown level is no level: the default applies. */
static void test_unknown_level_ignored(void **state)
{
	struct pone_backend *be = backend_at("mmx");
	char want[32];

	(void)state;
	snprintf(want, sizeof(want), "cpu-%s", pone_backend_cpu_simd());
	assert_string_equal(be->name, want);
	pone_backend_destroy(be);
}

/* Asking for more than the CPU has falls back to the best below it. */
static void test_missing_level_falls_back(void **state)
{
	char want[32];

	(void)state;
	snprintf(want, sizeof(want), "cpu-%s", best_level());
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		struct pone_backend *be;

		if (cpu_has(levels[i]))
			continue;
		be = backend_at(levels[i]);
		assert_string_equal(be->name, want);
		pone_backend_destroy(be);
	}
}

/* Every level agrees with every other on the same data. */
static void test_levels_agree(void **state)
{
	enum { N = 16 };
	unsigned char *a = alloc_pages(N), *b = alloc_pages(N);
	const void *pa[N], *pb[N];
	uint32_t ref_cmp[N], cmp[N];
	bool ref_zero[N], zero[N];

	(void)state;
	memset(a, 0, N * PS);
	for (int i = 0; i < N; i++) {
		pa[i] = a + (size_t)i * PS;
		pb[i] = b + (size_t)i * PS;
		if (i)
			a[(size_t)i * PS + rnd() % PS] = (unsigned char)i;
	}
	memcpy(b, a, N * PS);
	for (int i = 0; i < N; i += 2)
		b[(size_t)i * PS + rnd() % PS] ^= 0x40;
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		struct pone_backend *be;

		if (!cpu_has(levels[l]))
			continue;
		be = backend_at(levels[l]);
		be->is_zero(be, pa, N, l ? zero : ref_zero);
		be->compare(be, pa, pb, N, l ? cmp : ref_cmp);
		if (l) {
			assert_memory_equal(zero, ref_zero, sizeof(zero));
			assert_memory_equal(cmp, ref_cmp, sizeof(cmp));
		}
		pone_backend_destroy(be);
	}
	assert_true(ref_zero[0]);
	assert_false(ref_zero[1]);
	free(b);
	free(a);
}

static const struct CMUnitTest selection_tests[] = {
	cmocka_unit_test(test_default_level_is_measured_once),
	cmocka_unit_test(test_unknown_level_ignored),
	cmocka_unit_test(test_missing_level_falls_back),
	cmocka_unit_test(test_levels_agree),
};

int main(void)
{
	char name[64];
	int failed;

	failed = cmocka_run_group_tests_name("backend_cpu_selection",
					     selection_tests, NULL, NULL);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!cpu_has(levels[i])) {
			fprintf(stderr, "[  SKIP    ] backend_cpu_%s: %s\n",
				levels[i], "not on this CPU");
			continue;
		}
		cur_level = levels[i];
		snprintf(name, sizeof(name), "backend_cpu_%s", levels[i]);
		failed += cmocka_run_group_tests_name(name, level_tests,
						      group_setup,
						      group_teardown);
	}
	return failed ? 1 : 0;
}
