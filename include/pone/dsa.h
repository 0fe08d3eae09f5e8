/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The DSA backend: the batch backend interface (pone/backend.h) on an
 * Intel Data Streaming Accelerator user work queue. Compares are COMPARE
 * descriptors, zero tests COMPVAL against a zero pattern, hashes CRC-32C
 * (CRCGEN; its checksum kind is PONE_CHECKSUM_CRC32C), a backend call's
 * pages going to the device in batch descriptors of up to the queue's max
 * batch size. Whatever the device does not finish (faults it could not
 * get past, errors, a full queue, a timeout) is finished on the CPU, so
 * results are always exact.
 */
#ifndef PONE_DSA_H
#define PONE_DSA_H

#include <stddef.h>
#include <stdint.h>

#include <pone/backend.h>

/*
 * wq: "auto" (or NULL) for the first usable work queue, a device name
 * ("dsa0") or a work queue name ("wq0.1"). Returns 0, or negative errno
 * with a sentence in why saying what was looked for and not found
 * (-ENODEV: no usable device here; the caller runs the CPU backend).
 */
int pone_backend_dsa_new(const char *wq, struct pone_backend **out,
			 char *why, size_t whylen);

/*
 * Counts since creation. How full the batches were is
 * batched / (batches * max_batch); ops / calls is how many pages the
 * engine hands over a call (the paper's comparison skewness shows there).
 */
struct pone_dsa_stats {
	uint64_t calls;		/* backend calls */
	uint64_t ops;		/* pages (compares: pairs) asked for */
	uint64_t batches;	/* batch descriptors submitted */
	uint64_t batched;	/* descriptors inside them */
	uint64_t singles;	/* descriptors submitted alone */
	uint64_t faults;	/* partial completions on a page fault */
	uint64_t resubmitted;	/* descriptors submitted again after one */
	uint64_t errors;	/* other error statuses */
	uint64_t busy;		/* submissions refused: queue full */
	uint64_t timeouts;	/* completions not seen in time */
	uint64_t cpu_ops;	/* ops finished on the CPU */
	uint64_t max_batch;	/* the queue's max batch size */
};

/* -EINVAL if be is not a DSA backend. */
int pone_backend_dsa_stats(const struct pone_backend *be,
			   struct pone_dsa_stats *st);

#endif
