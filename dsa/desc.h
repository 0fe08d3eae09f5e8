/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DSA work descriptors for what the backend offloads, in the layout of the
 * kernel's <linux/idxd.h>: COMPARE of two buffers, COMPVAL of one against
 * an 8-byte pattern (zero test), CRCGEN (CRC-32C), and the batch descriptor
 * that hands the device a list of them in one submission.
 *
 * Every descriptor asks for a completion record (which must be 32-byte
 * aligned, a batch's list 64-byte aligned) and none sets Block On Fault: a
 * page fault ends it early with a partial completion the caller handles,
 * instead of stalling the engine on the fault.
 */
#ifndef PONE_DSA_DESC_H
#define PONE_DSA_DESC_H

#include <stdint.h>

#include <linux/idxd.h>

#define DSA_CR_ALIGN 32
#define DSA_DESC_ALIGN 64
/* The device rejects batches of fewer (DSA_COMP_DESC_CNT_ERANGE). */
#define DSA_BATCH_MIN 2

#define DSA_DESC_FLAGS (IDXD_OP_FLAG_CRAV | IDXD_OP_FLAG_RCR)

void dsa_desc_compare(struct dsa_hw_desc *d, const void *a, const void *b,
		      uint32_t len, struct dsa_completion_record *cr);
void dsa_desc_compval(struct dsa_hw_desc *d, const void *src, uint32_t len,
		      uint64_t pattern, struct dsa_completion_record *cr);
/* seed 0 gives the standard CRC-32C (the device inverts seed and result). */
void dsa_desc_crcgen(struct dsa_hw_desc *d, const void *src, uint32_t len,
		     uint32_t seed, struct dsa_completion_record *cr);
void dsa_desc_batch(struct dsa_hw_desc *d, const struct dsa_hw_desc *list,
		    uint32_t count, struct dsa_completion_record *cr);

enum dsa_outcome {
	DSA_PENDING,	/* no status written yet */
	DSA_DONE,	/* success: result fields are valid */
	DSA_FAULT,	/* stopped on a page fault at fault_addr */
	DSA_FAILED,	/* any other status: not to be trusted */
};

enum dsa_outcome dsa_cr_outcome(const struct dsa_completion_record *cr);

#endif
