// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine on the DSA backend (descriptors run by the software executor)
 * finds what it finds on the CPU backend, on one memory image, with batches
 * small enough that the tree's compare calls are split.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend_dsa.h"
#include "checks.h"
#include "sw_executor.h"

static void engine_on(uint32_t max_batch, unsigned int threads)
{
	struct dsa_limits lim = { .max_batch = max_batch,
				  .timeout_ns = 1000000000 };
	struct pone_backend *be;
	struct pone_dsa_stats st;
	struct sw_executor x;

	sw_executor_init(&x, max_batch);
	assert_int_equal(dsa_backend_new(&x.sub, &lim, "dsa-sw", &be), 0);
	check_engine_matches_cpu(be, threads);
	assert_int_equal(pone_backend_dsa_stats(be, &st), 0);
	assert_int_equal(st.cpu_ops, 0);
	assert_true(st.batches > 0);
	print_message("max batch %u: %.1f ops a call, batches %.0f%% full\n",
		      max_batch, (double)st.ops / (double)st.calls,
		      100.0 * (double)st.batched /
		      ((double)st.batches * max_batch));
	pone_backend_destroy(be);
}

static void same_as_cpu_batch_16(void **state)
{
	(void)state;
	engine_on(16, 1);
}

static void same_as_cpu_batch_256_two_threads(void **state)
{
	(void)state;
	engine_on(256, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_as_cpu_batch_16),
		cmocka_unit_test(same_as_cpu_batch_256_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
