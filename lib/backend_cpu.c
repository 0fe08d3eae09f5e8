/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPU backend: xxh3-64 for hashing, and a zero test and compare, at the
 * SIMD level (portable, SSE2, AVX2, AVX-512) that runs fastest on this CPU.
 * The level is chosen in pone_backend_cpu_new() and kept in the object, so
 * a backend never changes after creation and any number of threads may
 * share it.
 *
 * Every load is unaligned (loadu or memcpy): callers may hand in any
 * pointer, and on aligned data an unaligned load costs nothing extra.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_X86 1
#else
#define CPU_X86 0
#endif

#include <pone/backend.h>

#include "xxh3_scalar.h"

/*
 * Non-zero pages almost always differ from zero within their first bytes,
 * so the zero test checks what it has read every ZERO_STEP bytes: the cost
 * of the check is small next to 256 bytes of loads, and a non-zero page
 * costs one step instead of the whole page.
 */
#define ZERO_STEP 256u

/* Sample of the level calibration: a few pages, best of a few rounds. */
#define CAL_PAGES 8
#define CAL_ROUNDS 3

typedef XXH64_hash_t (*page_hash_fn)(const void *p, size_t len);
typedef bool (*page_zero_fn)(const unsigned char *p);
typedef uint32_t (*page_cmp_fn)(const unsigned char *a,
				const unsigned char *b);

enum simd_level {
	SIMD_PORTABLE,
	SIMD_SSE2,
	SIMD_AVX2,
	SIMD_AVX512,
	SIMD_NR,
};

struct simd_impl {
	const char *name;	/* PONE_SIMD value, pone_backend_cpu_simd() */
	const char *be_name;	/* struct pone_backend.name */
	bool (*usable)(void);
	page_zero_fn zero;
	page_cmp_fn cmp;
};

struct cpu_backend {
	struct pone_backend be;	/* first: to_cpu() relies on it */
	page_hash_fn hash;
	page_zero_fn zero;
	page_cmp_fn cmp;
};

static const struct cpu_backend *to_cpu(const struct pone_backend *be)
{
	return (const struct cpu_backend *)be;
}

/* ---- portable: 64-bit words ---- */

static uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Index of the first (lowest-address) non-zero byte of a non-zero word. */
static uint32_t first_byte(uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)__builtin_ctzll(x) / 8;
#else
	return (uint32_t)__builtin_clzll(x) / 8;
#endif
}

static bool usable_portable(void)
{
	return true;
}

/* Four accumulators: one OR chain would do a word per cycle at most. */
static bool zero_portable(const unsigned char *p)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += ZERO_STEP) {
		uint64_t x0 = 0, x1 = 0, x2 = 0, x3 = 0;

		for (uint32_t i = off; i < off + ZERO_STEP; i += 32) {
			x0 |= load64(p + i);
			x1 |= load64(p + i + 8);
			x2 |= load64(p + i + 16);
			x3 |= load64(p + i + 24);
		}
		if (x0 | x1 | x2 | x3)
			return false;
	}
	return true;
}

static uint32_t cmp_portable(const unsigned char *a, const unsigned char *b)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += 64) {
		uint64_t x[8], acc = 0;

		for (uint32_t i = 0; i < 8; i++) {
			uint32_t at = off + 8 * i;

			x[i] = load64(a + at) ^ load64(b + at);
			acc |= x[i];
		}
		if (!acc)
			continue;
		for (uint32_t i = 0;; i++)
			if (x[i])
				return off + 8 * i + first_byte(x[i]);
	}
	return PONE_PAGE_SIZE;
}

#if CPU_X86

/*
 * The target attributes let one build carry every level; nothing here runs
 * unless pone_backend_cpu_new() found the level usable.
 * __builtin_cpu_supports() also checks that the OS saves the wider
 * registers (XCR0), not only CPUID.
 */

/* ---- SSE2: 16-byte vectors ---- */

static bool usable_sse2(void)
{
	return __builtin_cpu_supports("sse2");
}

__attribute__((target("sse2")))
static __m128i ld128(const unsigned char *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

__attribute__((target("sse2")))
static bool zero_sse2(const unsigned char *p)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += ZERO_STEP) {
		__m128i x0 = ld128(p + off), x1 = ld128(p + off + 16);
		__m128i x2 = ld128(p + off + 32), x3 = ld128(p + off + 48);

		for (uint32_t i = off + 64; i < off + ZERO_STEP; i += 64) {
			x0 = _mm_or_si128(x0, ld128(p + i));
			x1 = _mm_or_si128(x1, ld128(p + i + 16));
			x2 = _mm_or_si128(x2, ld128(p + i + 32));
			x3 = _mm_or_si128(x3, ld128(p + i + 48));
		}
		x0 = _mm_or_si128(_mm_or_si128(x0, x1), _mm_or_si128(x2, x3));
		x0 = _mm_cmpeq_epi8(x0, _mm_setzero_si128());
		if (_mm_movemask_epi8(x0) != 0xffff)
			return false;
	}
	return true;
}

/* Bit i set: byte i of the 16 differs. */
__attribute__((target("sse2")))
static uint64_t ne_mask_sse2(__m128i eq)
{
	return ~(uint32_t)_mm_movemask_epi8(eq) & 0xffffu;
}

__attribute__((target("sse2")))
static uint32_t cmp_sse2(const unsigned char *a, const unsigned char *b)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += 64) {
		const unsigned char *pa = a + off, *pb = b + off;
		__m128i e0 = _mm_cmpeq_epi8(ld128(pa), ld128(pb));
		__m128i e1 = _mm_cmpeq_epi8(ld128(pa + 16), ld128(pb + 16));
		__m128i e2 = _mm_cmpeq_epi8(ld128(pa + 32), ld128(pb + 32));
		__m128i e3 = _mm_cmpeq_epi8(ld128(pa + 48), ld128(pb + 48));
		__m128i all = _mm_and_si128(_mm_and_si128(e0, e1),
					    _mm_and_si128(e2, e3));
		uint64_t ne;

		/* Equal blocks are the common case: pages compared have
		 * equal hashes. Build the exact mask only on a mismatch. */
		if (_mm_movemask_epi8(all) == 0xffff)
			continue;
		ne = ne_mask_sse2(e0) | ne_mask_sse2(e1) << 16 |
		     ne_mask_sse2(e2) << 32 | ne_mask_sse2(e3) << 48;
		return off + (uint32_t)__builtin_ctzll(ne);
	}
	return PONE_PAGE_SIZE;
}

/* ---- AVX2: 32-byte vectors ---- */

static bool usable_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx2")))
static __m256i ld256(const unsigned char *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

__attribute__((target("avx2")))
static bool zero_avx2(const unsigned char *p)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += ZERO_STEP) {
		const unsigned char *q = p + off;
		__m256i x0 = _mm256_or_si256(ld256(q), ld256(q + 32));
		__m256i x1 = _mm256_or_si256(ld256(q + 64), ld256(q + 96));
		__m256i x2 = _mm256_or_si256(ld256(q + 128), ld256(q + 160));
		__m256i x3 = _mm256_or_si256(ld256(q + 192), ld256(q + 224));

		x0 = _mm256_or_si256(_mm256_or_si256(x0, x1),
				     _mm256_or_si256(x2, x3));
		if (!_mm256_testz_si256(x0, x0))
			return false;
	}
	return true;
}

__attribute__((target("avx2")))
static uint64_t ne_mask_avx2(__m256i eq)
{
	return ~(uint32_t)_mm256_movemask_epi8(eq);
}

__attribute__((target("avx2")))
static uint32_t cmp_avx2(const unsigned char *a, const unsigned char *b)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += 128) {
		const unsigned char *pa = a + off, *pb = b + off;
		__m256i e0 = _mm256_cmpeq_epi8(ld256(pa), ld256(pb));
		__m256i e1 = _mm256_cmpeq_epi8(ld256(pa + 32), ld256(pb + 32));
		__m256i e2 = _mm256_cmpeq_epi8(ld256(pa + 64), ld256(pb + 64));
		__m256i e3 = _mm256_cmpeq_epi8(ld256(pa + 96), ld256(pb + 96));
		__m256i all = _mm256_and_si256(_mm256_and_si256(e0, e1),
					       _mm256_and_si256(e2, e3));
		uint64_t ne;

		if (_mm256_movemask_epi8(all) == -1)
			continue;
		ne = ne_mask_avx2(e0) | ne_mask_avx2(e1) << 32;
		if (ne)
			return off + (uint32_t)__builtin_ctzll(ne);
		ne = ne_mask_avx2(e2) | ne_mask_avx2(e3) << 32;
		return off + 64 + (uint32_t)__builtin_ctzll(ne);
	}
	return PONE_PAGE_SIZE;
}

/* ---- AVX-512: 64-byte vectors, byte compares need BW ---- */

static bool usable_avx512(void)
{
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw");
}

__attribute__((target("avx512f,avx512bw")))
static __m512i ld512(const unsigned char *p)
{
	return _mm512_loadu_si512(p);
}

__attribute__((target("avx512f,avx512bw")))
static bool zero_avx512(const unsigned char *p)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += ZERO_STEP) {
		const unsigned char *q = p + off;
		__m512i acc = _mm512_or_si512(
			_mm512_or_si512(ld512(q), ld512(q + 64)),
			_mm512_or_si512(ld512(q + 128), ld512(q + 192)));

		if (_mm512_test_epi64_mask(acc, acc))
			return false;
	}
	return true;
}

__attribute__((target("avx512f,avx512bw")))
static uint32_t cmp_avx512(const unsigned char *a, const unsigned char *b)
{
	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += 256) {
		const unsigned char *pa = a + off, *pb = b + off;
		/* A mask bit per byte: set where the bytes differ. */
		__mmask64 m0 = _mm512_cmpneq_epi8_mask(ld512(pa), ld512(pb));
		__mmask64 m1 = _mm512_cmpneq_epi8_mask(ld512(pa + 64),
						       ld512(pb + 64));
		__mmask64 m2 = _mm512_cmpneq_epi8_mask(ld512(pa + 128),
						       ld512(pb + 128));
		__mmask64 m3 = _mm512_cmpneq_epi8_mask(ld512(pa + 192),
						       ld512(pb + 192));

		if (!(m0 | m1 | m2 | m3))
			continue;
		if (m0)
			return off + (uint32_t)__builtin_ctzll(m0);
		if (m1)
			return off + 64 + (uint32_t)__builtin_ctzll(m1);
		if (m2)
			return off + 128 + (uint32_t)__builtin_ctzll(m2);
		return off + 192 + (uint32_t)__builtin_ctzll(m3);
	}
	return PONE_PAGE_SIZE;
}

/*
 * libxxhash built with DISPATCH=1 (Debian's is) exports this XXH3_64bits()
 * that picks AVX2 or AVX-512 at run time; the plain one is built for the
 * baseline (SSE2) and hashed 4 KiB pages 3-5 times slower here. Results
 * are the same. Weak, so a library without it still links and we keep
 * the plain one.
 */
extern XXH64_hash_t XXH3_64bits_dispatch(const void *input, size_t len)
	__attribute__((weak));

#endif /* CPU_X86 */

/* Indexed by enum simd_level; a level not built here is all NULL. */
static const struct simd_impl simd_impls[SIMD_NR] = {
	[SIMD_PORTABLE] = { "portable", "cpu-portable", usable_portable,
			    zero_portable, cmp_portable },
#if CPU_X86
	[SIMD_SSE2] = { "sse2", "cpu-sse2", usable_sse2,
			zero_sse2, cmp_sse2 },
	[SIMD_AVX2] = { "avx2", "cpu-avx2", usable_avx2,
			zero_avx2, cmp_avx2 },
	[SIMD_AVX512] = { "avx512", "cpu-avx512", usable_avx512,
			  zero_avx512, cmp_avx512 },
#endif
};

static bool level_usable(int level)
{
	return simd_impls[level].usable && simd_impls[level].usable();
}

/* The best usable level at or below @top; portable is always usable. */
static int best_level_from(int top)
{
	int level = top;

#if CPU_X86
	__builtin_cpu_init();
#endif
	while (level > SIMD_PORTABLE && !level_usable(level))
		level--;
	return level;
}

/* On x86 the portable level has no vector code at all, hashing included;
 * elsewhere libxxhash's own build is the portable one. */
static page_hash_fn hash_for(int level)
{
#if CPU_X86
	if (level == SIMD_PORTABLE)
		return xxh3_scalar;
	if (level > SIMD_SSE2 && XXH3_64bits_dispatch)
		return XXH3_64bits_dispatch;
#endif
	(void)level;
	return XXH3_64bits;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The least time of a few rounds of what a pass does to a page: hash it,
 * zero-test a zero page, compare two equal pages (both whole pages). */
static uint64_t level_cost(int level, const unsigned char *data,
			   const unsigned char *copy, const unsigned char *zero)
{
	const struct simd_impl *impl = &simd_impls[level];
	page_hash_fn hash = hash_for(level);
	uint64_t best = UINT64_MAX, sink = 0;

	for (int round = 0; round < CAL_ROUNDS; round++) {
		uint64_t t0 = now_ns(), t;

		for (int i = 0; i < CAL_PAGES; i++) {
			const unsigned char *p = data + i * PONE_PAGE_SIZE;

			sink += hash(p, PONE_PAGE_SIZE);
			sink += impl->zero(zero);
			sink += impl->cmp(p, copy + i * PONE_PAGE_SIZE);
		}
		t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	__asm__ volatile("" : : "r"(sink));
	return best;
}

/*
 * The fastest usable level, measured as the kernel measures its RAID and
 * xor routines: wider is not faster everywhere. Under an emulator (QEMU's
 * TCG) every vector instruction is a helper call and SSE2 xxh3 runs ten
 * times slower than scalar code; wide vectors can lower the clock. Ties go
 * to the wider level. Portable if the sample cannot be allocated.
 */
static int fastest_level(void)
{
	size_t bytes = (2 * CAL_PAGES + 1) * PONE_PAGE_SIZE;
	unsigned char *data = aligned_alloc(64, bytes), *copy, *zero;
	uint64_t best = UINT64_MAX, x = 0x9e3779b97f4a7c15ull;
	int level, fastest = SIMD_PORTABLE;

	if (!data)
		return SIMD_PORTABLE;
	copy = data + CAL_PAGES * PONE_PAGE_SIZE;
	zero = copy + CAL_PAGES * PONE_PAGE_SIZE;
	for (size_t i = 0; i < CAL_PAGES * PONE_PAGE_SIZE; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		data[i] = (unsigned char)(x >> 56);
	}
	memcpy(copy, data, CAL_PAGES * PONE_PAGE_SIZE);
	memset(zero, 0, PONE_PAGE_SIZE);
	for (level = SIMD_NR - 1; level >= SIMD_PORTABLE; level--) {
		uint64_t cost;

		if (!level_usable(level))
			continue;
		cost = level_cost(level, data, copy, zero);
		if (cost < best) {
			best = cost;
			fastest = level;
		}
	}
	free(data);
	return fastest;
}

/* Measured once a process: the CPU does not change under it, and every
 * backend of the process then runs the same code. */
static pthread_once_t fastest_once = PTHREAD_ONCE_INIT;
static int fastest;

static void find_fastest(void)
{
	fastest = fastest_level();
}

/* PONE_SIMD forces a level, capped at what the CPU has so a forced level
 * never faults; otherwise the fastest. */
static int chosen_level(void)
{
	const char *want = getenv("PONE_SIMD");

	if (want) {
		for (int level = 0; level < SIMD_NR; level++) {
			const char *name = simd_impls[level].name;

			if (name && !strcmp(want, name))
				return best_level_from(level);
		}
	}
	pthread_once(&fastest_once, find_fastest);
	return fastest;
}

/*
 * The hardware prefetchers stop at page boundaries, so every page would
 * start with a stall on DRAM: ask for the next page while hashing this one.
 */
static inline void prefetch_page(const void *page)
{
	const char *p = page;
	unsigned int off;

	for (off = 0; off < PONE_PAGE_SIZE; off += 64)
		__builtin_prefetch(p + off);
}

static void cpu_hash(const struct pone_backend *be, const void *const *pages,
		     size_t n, uint64_t *out)
{
	page_hash_fn hash = to_cpu(be)->hash;

	if (n > 1)
		prefetch_page(pages[1]);
	for (size_t i = 0; i < n; i++) {
		if (i + 2 < n)
			prefetch_page(pages[i + 2]);
		out[i] = hash(pages[i], PONE_PAGE_SIZE);
	}
}

static void cpu_is_zero(const struct pone_backend *be,
			const void *const *pages, size_t n, bool *out)
{
	page_zero_fn zero = to_cpu(be)->zero;

	for (size_t i = 0; i < n; i++)
		out[i] = zero(pages[i]);
}

static void cpu_compare(const struct pone_backend *be, const void *const *a,
			const void *const *b, size_t n, uint32_t *out)
{
	page_cmp_fn cmp = to_cpu(be)->cmp;

	for (size_t i = 0; i < n; i++)
		out[i] = cmp(a[i], b[i]);
}

static void cpu_destroy(struct pone_backend *be)
{
	free((struct cpu_backend *)be);
}

struct pone_backend *pone_backend_cpu_new(void)
{
	int level = chosen_level();
	const struct simd_impl *impl = &simd_impls[level];
	struct cpu_backend *cpu = calloc(1, sizeof(*cpu));

	if (!cpu)
		return NULL;
	cpu->be.name = impl->be_name;
	cpu->be.checksum = PONE_CHECKSUM_XXH3;
	cpu->be.hash = cpu_hash;
	cpu->be.is_zero = cpu_is_zero;
	cpu->be.compare = cpu_compare;
	cpu->be.destroy = cpu_destroy;
	cpu->hash = hash_for(level);
	cpu->zero = impl->zero;
	cpu->cmp = impl->cmp;
	return &cpu->be;
}

const char *pone_backend_cpu_simd(void)
{
	return simd_impls[chosen_level()].name;
}

uint64_t pone_zero_page_hash(const struct pone_backend *be)
{
	static const unsigned char zero_page[PONE_PAGE_SIZE]
		__attribute__((aligned(64)));
	const void *page = zero_page;
	uint64_t h;

	be->hash(be, &page, 1, &h);
	return h;
}
