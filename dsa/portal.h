/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A user work queue's portal, /dev/dsa/wqX.Y, mapped for submission.
 * Dedicated queues take MOVDIR64B, which the device drops without a word
 * when the queue is full, so the portal counts descriptors in flight
 * against the queue size. Shared queues take ENQCMD, which says when the
 * queue is full; the portal retries that a bounded number of times.
 */
#ifndef PONE_DSA_PORTAL_H
#define PONE_DSA_PORTAL_H

#include <stdbool.h>

#include "submit.h"

/* wq_size: the queue's entries (dedicated: the bound on what is in flight). */
int dsa_portal_open(const char *path, bool dedicated, unsigned int wq_size,
		    struct dsa_submitter **out);

#endif
