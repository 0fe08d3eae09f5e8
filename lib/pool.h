/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Thread pool: N workers that run one job at a time, the first n of them
 * on it (n <= N, chosen per run). The caller of pool_run() waits until
 * every one of them has returned, which makes the end of a run a point
 * where no worker is inside the engine. Given a placement, each worker
 * thread is bound to its node's CPUs from its start.
 */
#ifndef PONE_POOL_H
#define PONE_POOL_H

#include <stdint.h>

#include "placement.h"

struct pool;

typedef void pool_fn(void *arg, unsigned int worker);

/* pl: NULL, or where the workers run (pl->nodes 0: anywhere). */
int pool_new(unsigned int workers, const struct placement *pl,
	     struct pool **out);
void pool_free(struct pool *p);

/* Run fn on workers 0..n-1; returns the CPU time they spent on it, in ns. */
uint64_t pool_run(struct pool *p, unsigned int n, pool_fn *fn, void *arg);

unsigned int pool_size(const struct pool *p);

/* The node worker i is bound to, or -1. */
int pool_worker_node(const struct pool *p, unsigned int i);

#endif
