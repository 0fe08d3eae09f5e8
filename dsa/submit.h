/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the backend's descriptors go: a work queue portal in production,
 * or an executor a test provides. The backend owns the submitter and
 * calls release() once, when it is destroyed.
 *
 * submit() hands one descriptor (a batch descriptor counts as one) to the
 * queue: 0, or negative errno (-EBUSY: the queue stayed full). The caller
 * must call retire() once for each descriptor submitted whose completion
 * record it saw written; one it gave up on (timeout) keeps its queue slot,
 * as the device may still hold it; release() must not return before the
 * queue holds nothing of ours any more. Any thread may submit any time.
 */
#ifndef PONE_DSA_SUBMIT_H
#define PONE_DSA_SUBMIT_H

#include <linux/idxd.h>

struct dsa_submitter {
	int (*submit)(struct dsa_submitter *s, const struct dsa_hw_desc *d);
	void (*retire)(struct dsa_submitter *s);
	void (*release)(struct dsa_submitter *s);
};

#endif
