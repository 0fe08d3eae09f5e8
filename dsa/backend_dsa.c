// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DSA backend. A call's pages become one descriptor each, sent in
 * batch descriptors of up to the queue's max batch size, one batch in
 * flight per call (the engine's threads keep the queue busy together).
 * Each completion record then settles its page: a result, a page fault
 * (touch the page, send it again in the next round), or anything else
 * (finish it on the CPU). After a timeout the device may still write into
 * the call's records, so they are kept until the backend is destroyed,
 * after its queue is closed (closing drains what the process left in
 * it), and the backend stops using the device: correct and slow beats
 * fast and wrong.
 */
#include <cpuid.h>
#include <errno.h>
#include <immintrin.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_dsa.h"
#include "desc.h"
#include "portal.h"
#include "probe.h"

/* Rounds of resubmission after page faults before the CPU takes over. */
#define FAULT_ROUNDS 3
/* A completion takes microseconds: sleep in slices about that long. */
#define UMWAIT_TSC 10000
/* Far beyond any healthy completion, short enough not to stall a pass. */
#define DSA_TIMEOUT_NS 100000000ull

enum op_kind { OP_COMPARE, OP_ZERO, OP_CRC };

struct dsa_backend {
	struct pone_backend be;		/* first: to_dsa() relies on it */
	struct pone_backend *cpu;	/* compares, zero tests left to it */
	struct dsa_submitter *sub;
	struct dsa_limits lim;
	bool waitpkg;
	bool dead;		/* a timeout: the device may hold our memory */
	struct job *abandoned;	/* what it holds, freed at destroy */
	char *name;
	struct pone_dsa_stats st;	/* added to atomically */
};

/* One backend call: its pages, where results go, and what it cost. */
struct call {
	enum op_kind kind;
	size_t n;
	const void *const *a, *const *b;
	uint32_t *off;		/* OP_COMPARE */
	bool *zero;		/* OP_ZERO */
	uint64_t *hash;		/* OP_CRC */
	struct pone_dsa_stats st;
};

/*
 * Descriptors and records of one batch (k of them, then the batch's own),
 * and the call's pages still to do. One allocation, 64-byte aligned.
 */
struct job {
	struct job *next;	/* on the abandoned list */
	size_t k;
	struct dsa_hw_desc *desc;
	struct dsa_completion_record *cr;
	uint32_t *todo;
};

_Static_assert(sizeof(struct dsa_hw_desc) == DSA_DESC_ALIGN,
	       "descriptors follow each other at their alignment");
_Static_assert(sizeof(struct dsa_completion_record) == DSA_CR_ALIGN,
	       "records follow each other at their alignment");

static struct dsa_backend *to_dsa(const struct pone_backend *be)
{
	return (struct dsa_backend *)be;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the CPU side ---- */

__attribute__((target("sse4.2")))
static uint32_t crc32c_page(const void *page)
{
	const unsigned char *p = page;
	uint64_t crc = UINT32_MAX;

	for (uint32_t off = 0; off < PONE_PAGE_SIZE; off += 8) {
		uint64_t w;

		memcpy(&w, p + off, sizeof(w));
		crc = _mm_crc32_u64(crc, w);
	}
	return ~(uint32_t)crc;
}

/* The CRC in both halves: page state keys on the high bits. */
static uint64_t crc_hash(uint32_t crc)
{
	return (uint64_t)crc << 32 | crc;
}

static void cpu_one(const struct dsa_backend *d, struct call *c, uint32_t i)
{
	switch (c->kind) {
	case OP_COMPARE:
		d->cpu->compare(d->cpu, &c->a[i], &c->b[i], 1, &c->off[i]);
		break;
	case OP_ZERO:
		d->cpu->is_zero(d->cpu, &c->a[i], 1, &c->zero[i]);
		break;
	case OP_CRC:
		c->hash[i] = crc_hash(crc32c_page(c->a[i]));
		break;
	}
	c->st.cpu_ops++;
}

static void cpu_each(const struct dsa_backend *d, struct call *c,
		     const uint32_t *ops, size_t m)
{
	for (size_t i = 0; i < m; i++)
		cpu_one(d, c, ops[i]);
}

/* ---- descriptors and their completions ---- */

static void encode(const struct call *c, uint32_t i, struct dsa_hw_desc *desc,
		   struct dsa_completion_record *cr)
{
	memset(cr, 0, sizeof(*cr));
	switch (c->kind) {
	case OP_COMPARE:
		dsa_desc_compare(desc, c->a[i], c->b[i], PONE_PAGE_SIZE, cr);
		break;
	case OP_ZERO:
		dsa_desc_compval(desc, c->a[i], PONE_PAGE_SIZE, 0, cr);
		break;
	case OP_CRC:
		dsa_desc_crcgen(desc, c->a[i], PONE_PAGE_SIZE, 0, cr);
		break;
	}
}

/*
 * The device says how many bytes matched before the first difference; the
 * tree needs the exact byte, so look for it in that 64-byte block. None
 * there means the record cannot be trusted.
 */
static bool first_difference(const unsigned char *a, const unsigned char *b,
			     uint32_t done, uint32_t *off)
{
	uint32_t at = done & ~63u;

	for (uint32_t end = at + 64; at < end && at < PONE_PAGE_SIZE; at++) {
		if (a[at] != b[at]) {
			*off = at;
			return true;
		}
	}
	return false;
}

static bool take_result(struct call *c, uint32_t i,
			const struct dsa_completion_record *cr)
{
	switch (c->kind) {
	case OP_COMPARE:
		if (!cr->result) {
			c->off[i] = PONE_PAGE_SIZE;
			return true;
		}
		return first_difference(c->a[i], c->b[i], cr->bytes_completed,
					&c->off[i]);
	case OP_ZERO:
		c->zero[i] = !cr->result;
		return true;
	case OP_CRC:
		c->hash[i] = crc_hash((uint32_t)cr->crc_val);
		return true;
	}
	return false;
}

static bool in_page(const void *page, uint64_t addr)
{
	uintptr_t p = (uintptr_t)page;

	return page && addr >= p && addr < p + PONE_PAGE_SIZE;
}

/* Fault the page in as the device would have needed it: one read does,
 * the device only reads. Only a page of this op is ever touched. */
static bool touch(const struct call *c, uint32_t i, uint64_t addr)
{
	const void *b = c->kind == OP_COMPARE ? c->b[i] : NULL;

	if (!in_page(c->a[i], addr) && !in_page(b, addr))
		return false;
	(void)*(const volatile char *)(uintptr_t)addr;
	return true;
}

/* Settle op i by its record; ops to send again go to todo[(*next)++]. */
static void settle(const struct dsa_backend *d, struct call *c, uint32_t i,
		   const struct dsa_completion_record *cr, uint32_t *todo,
		   size_t *next)
{
	switch (dsa_cr_outcome(cr)) {
	case DSA_DONE:
		if (take_result(c, i, cr))
			return;
		c->st.errors++;
		break;
	case DSA_FAULT:
		c->st.faults++;
		if (touch(c, i, cr->fault_addr)) {
			todo[(*next)++] = i;
			return;
		}
		break;
	case DSA_PENDING:	/* its batch stopped before it: send again */
		todo[(*next)++] = i;
		return;
	case DSA_FAILED:
		c->st.errors++;
		break;
	}
	cpu_one(d, c, i);
}

__attribute__((target("waitpkg")))
static void umwait_while_zero(const volatile uint8_t *status)
{
	_umonitor((void *)(uintptr_t)status);
	if (!*status)
		_umwait(1, __rdtsc() + UMWAIT_TSC);
}

static int wait_record(const struct dsa_backend *d,
		       const struct dsa_completion_record *cr)
{
	uint64_t deadline = now_ns() + d->lim.timeout_ns;

	/* Acquire: the rest of the record was written before its status. */
	for (unsigned int spin = 1;
	     !__atomic_load_n(&cr->status, __ATOMIC_ACQUIRE); spin++) {
		if (d->waitpkg)
			umwait_while_zero(&cr->status);
		else
			_mm_pause();
		if (!(spin % 64) && now_ns() > deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

/*
 * Run ops[0..m) (m <= j->k) as one submission. Returns -ETIMEDOUT when the
 * device kept it: j must then stay allocated and nothing of it settled.
 */
static int run_batch(const struct dsa_backend *d, struct call *c,
		     struct job *j, const uint32_t *ops, size_t m,
		     size_t *next)
{
	const struct dsa_hw_desc *top = &j->desc[0];
	const struct dsa_completion_record *top_cr = &j->cr[0];

	for (size_t i = 0; i < m; i++)
		encode(c, ops[i], &j->desc[i], &j->cr[i]);
	if (m >= DSA_BATCH_MIN) {
		memset(&j->cr[j->k], 0, sizeof(j->cr[j->k]));
		dsa_desc_batch(&j->desc[j->k], j->desc, (uint32_t)m,
			       &j->cr[j->k]);
		top = &j->desc[j->k];
		top_cr = &j->cr[j->k];
		c->st.batches++;
		c->st.batched += m;
	} else {
		c->st.singles++;
	}
	if (d->sub->submit(d->sub, top)) {
		c->st.busy++;
		cpu_each(d, c, ops, m);
		return 0;
	}
	if (wait_record(d, top_cr)) {
		c->st.timeouts++;
		return -ETIMEDOUT;
	}
	d->sub->retire(d->sub);
	/* Failed as a whole, not through an op: its ops were not run and
	 * settle as pending. */
	if (top != &j->desc[0] && dsa_cr_outcome(top_cr) == DSA_FAILED &&
	    (top_cr->status & DSA_COMP_STATUS_MASK) != DSA_COMP_BATCH_FAIL)
		c->st.errors++;
	for (size_t i = 0; i < m; i++)
		settle(d, c, ops[i], &j->cr[i], j->todo, next);
	return 0;
}

static struct job *job_new(size_t k, size_t n)
{
	size_t records = (k + 1) * sizeof(struct dsa_completion_record);
	size_t descs = (k + 1) * sizeof(struct dsa_hw_desc);
	size_t size = descs + records + n * sizeof(uint32_t);
	struct job *j = malloc(sizeof(*j));
	char *mem = aligned_alloc(DSA_DESC_ALIGN,
				  (size + DSA_DESC_ALIGN - 1) &
				  ~(size_t)(DSA_DESC_ALIGN - 1));

	if (!j || !mem) {
		free(j);
		free(mem);
		return NULL;
	}
	*j = (struct job){ .k = k, .desc = (struct dsa_hw_desc *)mem,
			   .cr = (struct dsa_completion_record *)(mem + descs),
			   .todo = (uint32_t *)(mem + descs + records) };
	return j;
}

static void job_free(struct job *j)
{
	free(j->desc);
	free(j);
}

static void abandon(struct dsa_backend *d, struct job *j)
{
	__atomic_store_n(&d->dead, true, __ATOMIC_RELAXED);
	j->next = __atomic_load_n(&d->abandoned, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&d->abandoned, &j->next, j, true,
					    __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

/*
 * One round over todo[0..left): batches of up to k. Returns how many ops
 * to send again (moved to the front of todo), or -ETIMEDOUT after the ops
 * not settled yet were finished on the CPU.
 */
static long run_round(struct dsa_backend *d, struct call *c, struct job *j,
		      size_t left)
{
	size_t next = 0;

	for (size_t at = 0; at < left; at += j->k) {
		size_t m = left - at < j->k ? left - at : j->k;

		/* Ops to resend land at todo[next], never past this batch. */
		if (run_batch(d, c, j, j->todo + at, m, &next)) {
			cpu_each(d, c, j->todo, next);
			cpu_each(d, c, j->todo + at, left - at);
			return -ETIMEDOUT;
		}
	}
	return (long)next;
}

_Static_assert(offsetof(struct pone_dsa_stats, max_batch) + sizeof(uint64_t) ==
	       sizeof(struct pone_dsa_stats),
	       "stats are counters added as an array, then max_batch");

static void flush_stats(struct dsa_backend *d, const struct call *c)
{
	const uint64_t *src = (const uint64_t *)&c->st;
	uint64_t *dst = (uint64_t *)&d->st;

	for (size_t i = 0; i + 1 < sizeof(d->st) / sizeof(uint64_t); i++)
		if (src[i])
			__atomic_fetch_add(&dst[i], src[i], __ATOMIC_RELAXED);
}

static void dsa_run(struct dsa_backend *d, struct call *c)
{
	size_t k = c->n < d->lim.max_batch ? c->n : d->lim.max_batch;
	struct job *j = NULL;
	long left = (long)c->n;

	c->st.calls = 1;
	c->st.ops = c->n;
	if (c->n && !__atomic_load_n(&d->dead, __ATOMIC_RELAXED))
		j = job_new(k, c->n);
	if (!j) {
		for (uint32_t i = 0; i < c->n; i++)
			cpu_one(d, c, i);
		flush_stats(d, c);
		return;
	}
	for (uint32_t i = 0; i < c->n; i++)
		j->todo[i] = i;
	for (int round = 0; left > 0 && round <= FAULT_ROUNDS; round++) {
		if (round)
			c->st.resubmitted += (uint64_t)left;
		left = run_round(d, c, j, (size_t)left);
	}
	if (left == -ETIMEDOUT) {
		abandon(d, j);	/* the device may still write it */
	} else {
		cpu_each(d, c, j->todo, (size_t)left);
		job_free(j);
	}
	flush_stats(d, c);
}

/* ---- the backend interface ---- */

static void dsa_hash(const struct pone_backend *be, const void *const *pages,
		     size_t n, uint64_t *out)
{
	struct call c = { .kind = OP_CRC, .n = n, .a = pages, .hash = out };

	dsa_run(to_dsa(be), &c);
}

static void dsa_is_zero(const struct pone_backend *be,
			const void *const *pages, size_t n, bool *out)
{
	struct call c = { .kind = OP_ZERO, .n = n, .a = pages, .zero = out };

	dsa_run(to_dsa(be), &c);
}

static void dsa_compare(const struct pone_backend *be, const void *const *a,
			const void *const *b, size_t n, uint32_t *out)
{
	struct call c = { .kind = OP_COMPARE, .n = n, .a = a, .b = b,
			  .off = out };

	dsa_run(to_dsa(be), &c);
}

static void dsa_destroy(struct pone_backend *be)
{
	struct dsa_backend *d = to_dsa(be);
	struct job *j, *next;

	d->sub->release(d->sub);
	for (j = d->abandoned; j; j = next) {
		next = j->next;
		job_free(j);
	}
	pone_backend_destroy(d->cpu);
	free(d->name);
	free(d);
}

static bool cpu_has_waitpkg(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & bit_WAITPKG);
}

int dsa_backend_new(struct dsa_submitter *sub, const struct dsa_limits *lim,
		    const char *name, struct pone_backend **out)
{
	struct dsa_backend *d;

	__builtin_cpu_init();
	if (!__builtin_cpu_supports("sse4.2") || !lim->max_batch) {
		sub->release(sub);
		return lim->max_batch ? -ENOTSUP : -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d) {
		d->cpu = pone_backend_cpu_new();
		d->name = strdup(name);
	}
	if (!d || !d->cpu || !d->name) {
		if (d) {
			pone_backend_destroy(d->cpu);
			free(d->name);
		}
		free(d);
		sub->release(sub);
		return -ENOMEM;
	}
	d->be = (struct pone_backend){
		.name = d->name,
		.checksum = PONE_CHECKSUM_CRC32C,
		.hash = dsa_hash,
		.is_zero = dsa_is_zero,
		.compare = dsa_compare,
		.destroy = dsa_destroy,
	};
	d->sub = sub;
	d->lim = *lim;
	d->waitpkg = cpu_has_waitpkg();
	d->st.max_batch = lim->max_batch;
	*out = &d->be;
	return 0;
}

int pone_backend_dsa_stats(const struct pone_backend *be,
			   struct pone_dsa_stats *st)
{
	const uint64_t *src = (const uint64_t *)&to_dsa(be)->st;
	uint64_t *dst = (uint64_t *)st;

	if (be->destroy != dsa_destroy)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	return 0;
}

int pone_backend_dsa_new(const char *wq, struct pone_backend **out,
			 char *why, size_t whylen)
{
	struct dsa_limits lim = { .timeout_ns = DSA_TIMEOUT_NS };
	struct dsa_submitter *sub;
	struct dsa_wq_info info;
	char name[96];
	int ret = dsa_probe(wq, &info, why, whylen);

	if (ret)
		return ret;
	ret = dsa_portal_open(info.path, info.dedicated, info.size, &sub);
	if (ret) {
		snprintf(why, whylen, "%s: cannot map %s: %s", info.wq,
			 info.path, strerror(-ret));
		return ret;
	}
	lim.max_batch = info.max_batch ? info.max_batch : 1;
	/* The node tells where the engine's threads are best placed. */
	snprintf(name, sizeof(name), "dsa-%s-%s-node%d", info.wq,
		 info.dedicated ? "dedicated" : "shared", info.numa_node);
	ret = dsa_backend_new(sub, &lim, name, out);
	if (ret)
		snprintf(why, whylen, "%s: %s", info.wq,
			 ret == -ENOTSUP ? "this CPU has no SSE4.2 for CRC-32C"
					 : strerror(-ret));
	return ret;
}
