// SPDX-License-Identifier: GPL-2.0-only
/*
 * DSA offload against the CPU backend (Para-ksm's figures 7, 15, 16): for
 * compares of equal pages, zero tests of zero pages and CRCs, pages/s and
 * the CPU cycles a page costs the calling thread, on the CPU backend, on
 * the DSA one page a call, and on the DSA in calls of 16 to 1024 pages
 * (batches of at most the queue's max batch size). PONE_DSA_WQ picks the
 * work queue ("auto" by default). Without a device it says so and why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

#include <pone/dsa.h>

#include "bench.h"

#define DSA_PAGES 16384u	/* 64 MiB a side: past the caches */

enum op { OP_COMPARE, OP_ZERO, OP_CRC, OP_NR };

static const char *const op_names[OP_NR] = { "compare", "zero", "crc" };

struct bufs {
	uint8_t *mem;
	const void **a, **b;
	void *out;
};

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void call(struct pone_backend *be, enum op op, const struct bufs *b,
		 size_t at, size_t n)
{
	switch (op) {
	case OP_COMPARE:
		be->compare(be, b->a + at, b->b + at, n, b->out);
		break;
	case OP_ZERO:
		be->is_zero(be, b->b + at, n, b->out);
		break;
	case OP_CRC:
		be->hash(be, b->a + at, n, b->out);
		break;
	default:
		break;
	}
}

/* Every page once, in calls of n; figures named prefix_... */
static void measure(struct pone_backend *be, enum op op, const struct bufs *b,
		    size_t n, const char *prefix)
{
	uint64_t w0 = bench_now_ns(), c0 = thread_ns(), t0 = __rdtsc();
	uint64_t wall, cpu, tsc;
	char name[64];

	for (size_t at = 0; at < DSA_PAGES; at += n)
		call(be, op, b, at, DSA_PAGES - at < n ? DSA_PAGES - at : n);
	tsc = __rdtsc() - t0;
	cpu = thread_ns() - c0;
	wall = bench_now_ns() - w0;
	snprintf(name, sizeof(name), "%s_pages_s", prefix);
	out_figure(name, DSA_PAGES * 1e9 / (double)wall, "pages/s");
	/* TSC ticks per ns of wall time, times this thread's CPU time. */
	snprintf(name, sizeof(name), "%s_cycles_page", prefix);
	out_figure(name, (double)tsc / (double)wall * (double)cpu / DSA_PAGES,
		   "cycles");
}

static void fill_batch(struct pone_backend *be, const char *prefix,
		       const struct pone_dsa_stats *before)
{
	struct pone_dsa_stats st;
	char name[64];
	double batches;

	pone_backend_dsa_stats(be, &st);
	batches = (double)(st.batches - before->batches);
	snprintf(name, sizeof(name), "%s_batch_fill", prefix);
	out_figure(name, batches ? 100.0 * (double)(st.batched -
				   before->batched) /
				   (batches * (double)st.max_batch) : 0, "%");
}

static void bench_op(struct pone_backend *cpu, struct pone_backend *dsa,
		     enum op op, const struct bufs *b)
{
	static const size_t calls[] = { 1, 16, 64, 256, 1024 };
	char prefix[48];

	snprintf(prefix, sizeof(prefix), "dsa_%s_cpu", op_names[op]);
	measure(cpu, op, b, 256, prefix);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		struct pone_dsa_stats before;

		pone_backend_dsa_stats(dsa, &before);
		snprintf(prefix, sizeof(prefix), "dsa_%s_%zu", op_names[op],
			 calls[i]);
		measure(dsa, op, b, calls[i], prefix);
		fill_batch(dsa, prefix, &before);
	}
}

/* a: random pages; b: copies of them (compares run to the end), then
 * zero pages over b for the zero tests. */
static int bufs_init(struct bufs *b)
{
	size_t bytes = 2ul * DSA_PAGES * 4096;
	uint64_t s = 1;

	b->mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	b->a = calloc(DSA_PAGES, sizeof(*b->a));
	b->b = calloc(DSA_PAGES, sizeof(*b->b));
	b->out = calloc(DSA_PAGES, sizeof(uint64_t));
	if (b->mem == MAP_FAILED || !b->a || !b->b || !b->out)
		return -ENOMEM;
	for (size_t i = 0; i < bytes / 2; i += 8) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		memcpy(b->mem + i, &s, 8);
	}
	memcpy(b->mem + bytes / 2, b->mem, bytes / 2);
	for (size_t i = 0; i < DSA_PAGES; i++) {
		b->a[i] = b->mem + i * 4096;
		b->b[i] = b->mem + (DSA_PAGES + i) * 4096;
	}
	return 0;
}

static void bufs_fini(struct bufs *b)
{
	if (b->mem && b->mem != MAP_FAILED)
		munmap(b->mem, 2ul * DSA_PAGES * 4096);
	free(b->a);
	free(b->b);
	free(b->out);
}

int bench_dsa(void)
{
	const char *wq = getenv("PONE_DSA_WQ");
	struct pone_backend *dsa, *cpu;
	struct bufs b = { 0 };
	char why[512];
	int ret;

	out_group("DSA offload: pages/s and CPU cycles a page, by call size",
		  "compares of equal pages, zero tests, CRC-32C; cpu: the CPU\n"
		  "   backend, N: the DSA in calls of N pages (batch fill: %)");
	ret = pone_backend_dsa_new(wq, &dsa, why, sizeof(why));
	if (ret) {
		out_skip("dsa", "", why);
		return 0;
	}
	cpu = pone_backend_cpu_new();
	ret = cpu ? bufs_init(&b) : -ENOMEM;
	if (!ret) {
		out_note("on %s", dsa->name);
		for (int op = 0; op < OP_NR; op++) {
			if (op == OP_ZERO)
				memset(b.mem + DSA_PAGES * 4096ul, 0,
				       DSA_PAGES * 4096ul);
			bench_op(cpu, dsa, (enum op)op, &b);
		}
	}
	bufs_fini(&b);
	pone_backend_destroy(cpu);
	pone_backend_destroy(dsa);
	return ret;
}
