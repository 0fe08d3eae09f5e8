/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Thread pool: N workers that run one job at a time, the first n of them
 * on it (n <= N, chosen per run). The caller of pool_run() waits until
 * every one of them has returned, which makes the end of a run a point
 * where no worker is inside the engine.
 */
#ifndef PONE_POOL_H
#define PONE_POOL_H

#include <stdint.h>

struct pool;

typedef void pool_fn(void *arg, unsigned int worker);

int pool_new(unsigned int workers, struct pool **out);
void pool_free(struct pool *p);

/* Run fn on workers 0..n-1; returns the CPU time they spent on it, in ns. */
uint64_t pool_run(struct pool *p, unsigned int n, pool_fn *fn, void *arg);

unsigned int pool_size(const struct pool *p);

#endif
