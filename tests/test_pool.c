// SPDX-License-Identifier: GPL-2.0-only
/* Thread pool: every worker runs every job, once, and the caller waits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <time.h>

#include "pool.h"

struct job {
	unsigned int calls[8];
	unsigned int done;
};

static void count(void *arg, unsigned int worker)
{
	struct job *j = arg;
	struct timespec ts = { 0, 2000000 };

	/* Slow enough that a caller not waiting would see it unfinished. */
	nanosleep(&ts, NULL);
	__atomic_fetch_add(&j->calls[worker], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&j->done, 1, __ATOMIC_RELEASE);
}

static void burn(void *arg, unsigned int worker)
{
	volatile uint64_t x = 0;
	uint64_t i;

	(void)arg;
	(void)worker;
	for (i = 0; i < 20000000; i++)
		x += i;
}

static void every_worker_every_run(void **state)
{
	struct pool *p;
	struct job j = { 0 };
	unsigned int run, i;

	(void)state;
	assert_int_equal(pool_new(8, &p), 0);
	assert_int_equal(pool_size(p), 8);
	for (run = 1; run <= 50; run++) {
		pool_run(p, 8, count, &j);
		assert_int_equal(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE),
				 run * 8);
		for (i = 0; i < 8; i++)
			assert_int_equal(j.calls[i], run);
	}
	pool_free(p);
}

/* Runs on fewer workers leave the others out, and the next full run
 * takes them back. */
static void first_n_workers(void **state)
{
	struct pool *p;
	struct job j = { 0 };
	unsigned int i;

	(void)state;
	assert_int_equal(pool_new(4, &p), 0);
	pool_run(p, 1, count, &j);
	pool_run(p, 3, count, &j);
	pool_run(p, 9, count, &j);	/* more than there are: all of them */
	assert_int_equal(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE), 8);
	assert_int_equal(j.calls[0], 3);
	assert_int_equal(j.calls[1], 2);
	assert_int_equal(j.calls[2], 2);
	assert_int_equal(j.calls[3], 1);
	for (i = 4; i < 8; i++)
		assert_int_equal(j.calls[i], 0);
	pool_free(p);
}

static void cpu_time_is_measured(void **state)
{
	struct pool *p;

	(void)state;
	assert_int_equal(pool_new(2, &p), 0);
	/* Two workers spinning 20M iterations each: well over a millisecond. */
	assert_true(pool_run(p, 2, burn, NULL) > 1000000);
	pool_free(p);
}

static void bad_size(void **state)
{
	struct pool *p = NULL;

	(void)state;
	assert_int_equal(pool_new(0, &p), -EINVAL);
	assert_null(p);
	pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_worker_every_run),
		cmocka_unit_test(first_n_workers),
		cmocka_unit_test(cpu_time_is_measured),
		cmocka_unit_test(bad_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
