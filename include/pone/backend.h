/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Batch backend: every hash, zero test and compare of page contents goes
 * through one of these, N pages a call, so an offload engine (DSA) can take
 * whole batches. A backend is immutable after creation and may be called
 * from any number of threads at once. Results are always exact: a backend
 * that cannot finish a batch on its device finishes it on the CPU.
 */
#ifndef PONE_BACKEND_H
#define PONE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pone/page.h>

/*
 * What hash() computes. Hashes of two kinds never compare equal by
 * meaning, so page state keeps the kind its hashes are of (zero: xxh3,
 * so a backend that does not set it is the CPU's kind).
 */
enum pone_checksum {
	PONE_CHECKSUM_XXH3,	/* xxh3-64 */
	PONE_CHECKSUM_CRC32C,	/* CRC-32C in both 32-bit halves */
	PONE_CHECKSUM_XXH64,	/* xxh64, seed 0: what pone.ko gives */
};

struct pone_backend {
	const char *name;
	enum pone_checksum checksum;
	/* out[i] = 64-bit content hash of pages[i]. */
	void (*hash)(const struct pone_backend *be, const void *const *pages,
		     size_t n, uint64_t *out);
	/* out[i] = whether pages[i] holds only zero bytes. */
	void (*is_zero)(const struct pone_backend *be,
			const void *const *pages, size_t n, bool *out);
	/* out[i] = offset of the first byte where a[i] and b[i] differ,
	 * PONE_PAGE_SIZE when they are equal. */
	void (*compare)(const struct pone_backend *be, const void *const *a,
			const void *const *b, size_t n, uint32_t *out);
	void (*destroy)(struct pone_backend *be);
};

/* The CPU backend: xxh3-64 and a zero test / compare at the SIMD level
 * (AVX-512, AVX2, SSE2, portable) measured fastest on this CPU, once a
 * process; PONE_SIMD=level forces one (or the best the CPU has below it). */
struct pone_backend *pone_backend_cpu_new(void);

/* Name of the SIMD level pone_backend_cpu_new() chooses ("avx2", ...). */
const char *pone_backend_cpu_simd(void);

/* The hash every backend gives a page of zeros. */
uint64_t pone_zero_page_hash(const struct pone_backend *be);

static inline void pone_backend_destroy(struct pone_backend *be)
{
	if (be)
		be->destroy(be);
}

#endif
