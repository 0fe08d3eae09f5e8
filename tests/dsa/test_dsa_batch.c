// SPDX-License-Identifier: GPL-2.0-only
/*
 * The backend's batching and completion handling, driven by the software
 * executor: batches split at the max batch size, results read from the
 * records, and every way a descriptor can end badly (each error status, a
 * page fault it gets past or not, a batch that did not run, a full queue,
 * a lost descriptor) ending in the exact result all the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <pone/dsa.h>

#include "backend_dsa.h"
#include "checks.h"
#include "sw_executor.h"

#define NPAIRS 100

static _Alignas(4096) uint8_t mem[2][NPAIRS][PONE_PAGE_SIZE];

struct fixture {
	struct sw_executor x;
	struct pone_backend *be, *cpu;
	const void *a[NPAIRS], *b[NPAIRS];
	uint32_t off[NPAIRS], want[NPAIRS];
};

static struct fixture fx;

/* Pair i differs at byte 37 * i (from 4096 on: equal). */
static void fill_pairs(void)
{
	for (unsigned int i = 0; i < NPAIRS; i++) {
		for (unsigned int k = 0; k < PONE_PAGE_SIZE; k++)
			mem[0][i][k] = (uint8_t)(k * 7 + i);
		memcpy(mem[1][i], mem[0][i], PONE_PAGE_SIZE);
		if (37 * i < PONE_PAGE_SIZE)
			mem[1][i][37 * i] ^= 0x40;
		fx.a[i] = mem[0][i];
		fx.b[i] = mem[1][i];
	}
}

static void backend_on(uint32_t exec_batch, uint32_t max_batch)
{
	struct dsa_limits lim = { .max_batch = max_batch,
				  .timeout_ns = 2000000 };

	sw_executor_init(&fx.x, exec_batch);
	assert_int_equal(dsa_backend_new(&fx.x.sub, &lim, "dsa-sw", &fx.be), 0);
}

static int setup(void **state)
{
	(void)state;
	fill_pairs();
	fx.cpu = pone_backend_cpu_new();
	fx.cpu->compare(fx.cpu, fx.a, fx.b, NPAIRS, fx.want);
	backend_on(32, 32);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pone_backend_destroy(fx.be);
	assert_int_equal(fx.x.released, 1);
	pone_backend_destroy(fx.cpu);
	return 0;
}

static struct pone_dsa_stats stats(void)
{
	struct pone_dsa_stats st;

	assert_int_equal(pone_backend_dsa_stats(fx.be, &st), 0);
	return st;
}

static void compare_n(size_t n)
{
	memset(fx.off, 0xff, sizeof(fx.off));
	fx.be->compare(fx.be, fx.a, fx.b, n, fx.off);
	assert_memory_equal(fx.off, fx.want, n * sizeof(fx.off[0]));
}

static void split_at_max_batch(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	compare_n(NPAIRS);
	st = stats();
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.ops, NPAIRS);
	assert_int_equal(st.batches, 4);
	assert_int_equal(st.batched, NPAIRS);
	assert_int_equal(st.singles, 0);
	assert_int_equal(st.cpu_ops, 0);
	assert_int_equal(st.max_batch, 32);
	assert_int_equal(fx.x.sizes[0], 32);
	assert_int_equal(fx.x.sizes[1], 32);
	assert_int_equal(fx.x.sizes[2], 32);
	assert_int_equal(fx.x.sizes[3], 4);

	/* One past a batch: the last one alone, as a batch needs two. */
	compare_n(33);
	compare_n(1);
	st = stats();
	assert_int_equal(st.batches, 5);
	assert_int_equal(st.singles, 2);
	assert_int_equal(fx.x.sizes[4], 32);
	assert_int_equal(fx.x.submitted, fx.x.retired);
	assert_int_equal(fx.x.submitted, 7);
}

static void nothing_to_do(void **state)
{
	(void)state;
	compare_n(0);
	assert_int_equal(fx.x.submitted, 0);
	assert_int_equal(stats().calls, 1);
}

static void results_match_cpu(void **state)
{
	(void)state;
	check_ops_match_cpu(fx.be);
	assert_int_equal(stats().cpu_ops, 0);
	assert_int_equal(stats().errors, 0);
	assert_int_equal(fx.x.submitted, fx.x.retired);
}

/* The spec's check value, and the zero page's hash through the engine's
 * helper: the reference the checks use is right. */
static void crc32c_reference(void **state)
{
	static const uint8_t zero[PONE_PAGE_SIZE];
	uint32_t crc = sw_crc32c(0, zero, PONE_PAGE_SIZE);

	(void)state;
	assert_int_equal(sw_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(pone_zero_page_hash(fx.be), (uint64_t)crc << 32 | crc);
}

/* Any status but success and a fault: that op on the CPU, no other. */
static void every_error_status(void **state)
{
	unsigned int tried = 0;

	(void)state;
	for (unsigned int s = 0; s <= DSA_COMP_STATUS_MASK; s++) {
		struct pone_dsa_stats st;

		if (s == DSA_COMP_NONE || s == DSA_COMP_SUCCESS ||
		    s == DSA_COMP_PAGE_FAULT_NOBOF ||
		    s == DSA_COMP_PAGE_FAULT_IR)
			continue;
		pone_backend_destroy(fx.be);
		backend_on(32, 32);
		fx.x.fail_status = (uint8_t)s;
		fx.x.fail_op = 5;
		compare_n(20);
		st = stats();
		assert_int_equal(st.errors, 1);
		assert_int_equal(st.cpu_ops, 1);
		assert_int_equal(st.resubmitted, 0);
		tried++;
	}
	assert_int_equal(tried, DSA_COMP_STATUS_MASK + 1 - 4);
}

/* Faulted once: touched, sent again, done by the device. */
static void page_fault_resubmitted(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	fx.x.fault_at = (const uint8_t *)fx.b[3] + 40;
	fx.x.faults = 1;
	compare_n(20);
	st = stats();
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.resubmitted, 1);
	assert_int_equal(st.cpu_ops, 0);
	assert_int_equal(st.singles, 1);	/* the one sent again */
	assert_int_equal(fx.x.faults, 0);
}

/* A difference before the faulting byte ends the compare first. */
static void difference_before_fault(void **state)
{
	(void)state;
	fx.x.fault_at = (const uint8_t *)fx.b[2] + 37 * 2 + 1;
	fx.x.faults = 1;
	compare_n(20);
	assert_int_equal(stats().faults, 0);
	assert_int_equal(fx.x.faults, 1);
}

static void fault_on_zero_test_and_hash(void **state)
{
	bool z[4], want[4] = { false, false, false, false };
	uint64_t h[4];

	(void)state;
	fx.x.fault_at = (const uint8_t *)fx.a[2] + 4000;
	fx.x.faults = 2;
	fx.be->is_zero(fx.be, fx.a, 4, z);
	assert_memory_equal(z, want, sizeof(z));
	fx.be->hash(fx.be, fx.a, 4, h);
	for (int i = 0; i < 4; i++) {
		uint32_t crc = sw_crc32c(0, fx.a[i], PONE_PAGE_SIZE);

		assert_int_equal(h[i], (uint64_t)crc << 32 | crc);
	}
	assert_int_equal(stats().faults, 2);
	assert_int_equal(stats().cpu_ops, 0);
}

/* Still faulting after every round: the CPU finishes it. */
static void fault_persists(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	fx.x.fault_at = fx.a[7];
	fx.x.faults = 1000;
	compare_n(20);
	st = stats();
	assert_int_equal(st.faults, 4);
	assert_int_equal(st.resubmitted, 3);
	assert_int_equal(st.cpu_ops, 1);
}

/* A fault address that is none of the op's pages is not touched. */
static void fault_elsewhere(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	fx.x.fault_at = fx.a[7];
	fx.x.faults = 1;
	fx.x.fault_elsewhere = true;
	compare_n(20);
	st = stats();
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.resubmitted, 0);
	assert_int_equal(st.cpu_ops, 1);
}

/* A batch that failed as a whole ran none of its ops: all sent again. */
static void batch_not_run(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	fx.x.batch_status = DSA_COMP_BATCH_PAGE_FAULT;
	compare_n(20);
	st = stats();
	assert_int_equal(st.batches, 2);
	assert_int_equal(st.resubmitted, 20);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.cpu_ops, 0);
}

/* A queue that refuses every batch of this size: rounds, then the CPU. */
static void batch_refused(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	pone_backend_destroy(fx.be);
	backend_on(8, 16);
	compare_n(16);
	st = stats();
	assert_int_equal(st.batches, 4);	/* 1 + FAULT_ROUNDS */
	assert_int_equal(st.errors, 4);
	assert_int_equal(st.cpu_ops, 16);
}

static void queue_full(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	fx.x.busy = true;
	compare_n(NPAIRS);
	st = stats();
	assert_int_equal(st.busy, 4);
	assert_int_equal(st.cpu_ops, NPAIRS);
	assert_int_equal(fx.x.submitted, 0);
}

/* A descriptor never completed: the CPU does it all, the device is not
 * used again, and the lost one keeps its queue slot. */
static void timeout(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	fx.x.lose_next = true;
	compare_n(NPAIRS);
	st = stats();
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.cpu_ops, NPAIRS);
	assert_int_equal(fx.x.submitted, 1);
	assert_int_equal(fx.x.retired, 0);
	compare_n(NPAIRS);
	assert_int_equal(fx.x.submitted, 1);
	assert_int_equal(stats().cpu_ops, 2 * NPAIRS);
}

static void stats_of_other_backend(void **state)
{
	struct pone_dsa_stats st;

	(void)state;
	assert_int_equal(pone_backend_dsa_stats(fx.cpu, &st), -EINVAL);
}

static void bad_limits(void **state)
{
	struct dsa_limits lim = { .max_batch = 0, .timeout_ns = 1 };
	struct sw_executor x;
	struct pone_backend *be;

	(void)state;
	sw_executor_init(&x, 1);
	assert_int_equal(dsa_backend_new(&x.sub, &lim, "bad", &be), -EINVAL);
	assert_int_equal(x.released, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(split_at_max_batch),
		T(nothing_to_do),
		T(results_match_cpu),
		T(crc32c_reference),
		T(every_error_status),
		T(page_fault_resubmitted),
		T(difference_before_fault),
		T(fault_on_zero_test_and_hash),
		T(fault_persists),
		T(fault_elsewhere),
		T(batch_not_run),
		T(batch_refused),
		T(queue_full),
		T(timeout),
		T(stats_of_other_backend),
		T(bad_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
