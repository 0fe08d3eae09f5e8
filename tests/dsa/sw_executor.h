/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TEST ONLY: a software executor of the DSA semantics the backend relies
 * on, as the DSA specification documents them, behind the same submitter
 * interface as a work queue portal. It runs each descriptor when it is
 * submitted and writes its completion record, status last:
 *   COMPARE  result 0 equal, else 1 and bytes_completed = first difference
 *   COMPVAL  the same against the 8-byte pattern repeated
 *   CRCGEN   crc_val = CRC-32C (seed and result inverted, data reflected)
 *   BATCH    2..max_batch descriptors from a 64-byte aligned list; status
 *            SUCCESS if all of them succeeded, else BATCH_FAIL
 * and what a device does on a page fault without Block On Fault: the
 * descriptor stops where it met the page, with PAGE_FAULT_NOBOF,
 * bytes_completed and fault_addr. Faults, error statuses, a full queue and
 * a lost descriptor are injected by the fields below, set while no call
 * runs; the counts may be shared by any number of threads.
 */
#ifndef PONE_TEST_SW_EXECUTOR_H
#define PONE_TEST_SW_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "submit.h"

#define SWX_SIZES_MAX 64

struct sw_executor {
	struct dsa_submitter sub;
	uint32_t max_batch;

	/* Injections. */
	const void *fault_at;	/* reading this byte faults ... */
	unsigned int faults;	/* ... this many times (then it is in) */
	bool fault_elsewhere;	/* report a fault_addr outside the op */
	uint8_t fail_status;	/* status for the op run fail_op-th (0: none) */
	long fail_op;
	uint8_t batch_status;	/* status for the next batch, members not run */
	bool busy;		/* refuse every submission */
	bool lose_next;		/* accept the next submission, never run it */

	/* What it saw. */
	unsigned long submitted, retired, ops, batches, released;
	uint32_t sizes[SWX_SIZES_MAX];	/* of the first batches */
};

void sw_executor_init(struct sw_executor *x, uint32_t max_batch);

/* Bitwise CRC-32C of the spec, sharing no code with the backend's. */
uint32_t sw_crc32c(uint32_t seed, const void *buf, uint32_t len);

#endif
