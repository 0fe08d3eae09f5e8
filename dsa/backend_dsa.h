/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The DSA backend on any submitter: pone_backend_dsa_new() gives it a
 * probed work queue's portal, the tests an executor of their own.
 */
#ifndef PONE_DSA_BACKEND_H
#define PONE_DSA_BACKEND_H

#include <stdint.h>

#include <pone/dsa.h>

#include "submit.h"

struct dsa_limits {
	uint32_t max_batch;	/* descriptors a batch may hold, >= 1 */
	uint64_t timeout_ns;	/* wait for a completion at most this */
};

/* Takes sub (released on failure too). -ENOTSUP without SSE4.2, which
 * the CPU side of the CRC-32C needs. */
int dsa_backend_new(struct dsa_submitter *sub, const struct dsa_limits *lim,
		    const char *name, struct pone_backend **out);

#endif
