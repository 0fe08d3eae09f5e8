/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Thread pool: N workers that run one job at a time, all of them on it.
 * The caller of pool_run() waits until every worker has returned, which
 * makes the end of a run a point where no worker is inside the engine.
 */
#ifndef PONE_POOL_H
#define PONE_POOL_H

#include <stdint.h>

struct pool;

typedef void pool_fn(void *arg, unsigned int worker);

int pool_new(unsigned int workers, struct pool **out);
void pool_free(struct pool *p);

/* Run fn on every worker; returns the CPU time they spent on it, in ns. */
uint64_t pool_run(struct pool *p, pool_fn *fn, void *arg);

unsigned int pool_size(const struct pool *p);

#endif
