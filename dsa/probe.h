/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Finds a work queue the daemon can submit to, through libaccel-config:
 * an enabled user-mode WQ of an enabled DSA device that takes whole pages.
 * want: NULL or "auto" (the first such WQ), a device ("dsa0": its first
 * such WQ) or a WQ ("wq0.1"). When there is none, -ENODEV and why says
 * what was looked for and what was found instead.
 */
#ifndef PONE_DSA_PROBE_H
#define PONE_DSA_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dsa_wq_info {
	char device[32];	/* "dsa0" */
	char wq[32];		/* "wq0.1" */
	char path[64];		/* "/dev/dsa/wq0.1" */
	bool dedicated;
	unsigned int size;	/* queue entries */
	unsigned int max_batch;	/* descriptors a batch may hold */
	uint64_t max_xfer;	/* bytes one descriptor may cover */
	int numa_node;		/* the device's, -1 if unknown */
};

int dsa_probe(const char *want, struct dsa_wq_info *out, char *why,
	      size_t whylen);

#endif
