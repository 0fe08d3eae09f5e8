// SPDX-License-Identifier: GPL-2.0-only
/* Thread pool: every worker runs every job, once, and the caller waits;
 * placed workers run on their node's CPUs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
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

static void note_cpus(void *arg, unsigned int worker)
{
	cpu_set_t *cpus = arg;

	assert_int_equal(pthread_getaffinity_np(pthread_self(),
						sizeof(cpus[worker]),
						&cpus[worker]), 0);
}

/*
 * Two nodes made up of this host's first and last allowed CPU (one CPU
 * serves as both on a host of one), numbered 5 and 2: workers go round
 * them in the placement's order, each bound to its node's CPUs alone.
 */
static void placed_workers(void **state)
{
	struct placement *pl = calloc(1, sizeof(*pl));
	cpu_set_t allowed, seen[3];
	struct pool *p;
	int cpu, first = -1, last = -1;
	unsigned int i;

	(void)state;
	assert_non_null(pl);
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed)) {
			first = first < 0 ? cpu : first;
			last = cpu;
		}
	pl->nodes = 2;
	pl->node[0] = 5;
	pl->node[1] = 2;
	CPU_SET(first, &pl->cpus[0]);
	CPU_SET(last, &pl->cpus[1]);
	assert_int_equal(pool_new(3, pl, &p), 0);
	assert_int_equal(pool_worker_node(p, 0), 5);
	assert_int_equal(pool_worker_node(p, 1), 2);
	assert_int_equal(pool_worker_node(p, 2), 5);
	assert_int_equal(pool_worker_node(p, 3), -1);
	pool_run(p, 3, note_cpus, seen);
	for (i = 0; i < 3; i++)
		assert_true(CPU_EQUAL(&seen[i], &pl->cpus[i % 2]));
	pool_free(p);
	free(pl);
}

/* Unplaced, a worker may run on any CPU it could before. */
static void unplaced_workers(void **state)
{
	cpu_set_t allowed, seen[2];
	struct pool *p;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	assert_int_equal(pool_new(2, NULL, &p), 0);
	assert_int_equal(pool_worker_node(p, 1), -1);
	pool_run(p, 2, note_cpus, seen);
	assert_true(CPU_EQUAL(&seen[1], &allowed));
	pool_free(p);
}

static void every_worker_every_run(void **state)
{
	struct pool *p;
	struct job j = { 0 };
	unsigned int run, i;

	(void)state;
	assert_int_equal(pool_new(8, NULL, &p), 0);
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
	assert_int_equal(pool_new(4, NULL, &p), 0);
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
	assert_int_equal(pool_new(2, NULL, &p), 0);
	/* Two workers spinning 20M iterations each: well over a millisecond. */
	assert_true(pool_run(p, 2, burn, NULL) > 1000000);
	pool_free(p);
}

static void bad_size(void **state)
{
	struct pool *p = NULL;

	(void)state;
	assert_int_equal(pool_new(0, NULL, &p), -EINVAL);
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
		cmocka_unit_test(placed_workers),
		cmocka_unit_test(unplaced_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
