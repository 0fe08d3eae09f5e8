// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "desc.h"

static void desc_init(struct dsa_hw_desc *d, uint8_t opcode,
		      struct dsa_completion_record *cr)
{
	memset(d, 0, sizeof(*d));
	d->opcode = opcode;
	d->flags = DSA_DESC_FLAGS;
	d->completion_addr = (uintptr_t)cr;
}

void dsa_desc_compare(struct dsa_hw_desc *d, const void *a, const void *b,
		      uint32_t len, struct dsa_completion_record *cr)
{
	desc_init(d, DSA_OPCODE_COMPARE, cr);
	d->src_addr = (uintptr_t)a;
	d->src2_addr = (uintptr_t)b;
	d->xfer_size = len;
}

void dsa_desc_compval(struct dsa_hw_desc *d, const void *src, uint32_t len,
		      uint64_t pattern, struct dsa_completion_record *cr)
{
	desc_init(d, DSA_OPCODE_COMPVAL, cr);
	d->src_addr = (uintptr_t)src;
	d->comp_pattern = pattern;
	d->xfer_size = len;
}

void dsa_desc_crcgen(struct dsa_hw_desc *d, const void *src, uint32_t len,
		     uint32_t seed, struct dsa_completion_record *cr)
{
	desc_init(d, DSA_OPCODE_CRCGEN, cr);
	d->src_addr = (uintptr_t)src;
	d->xfer_size = len;
	d->crc_seed = seed;
}

void dsa_desc_batch(struct dsa_hw_desc *d, const struct dsa_hw_desc *list,
		    uint32_t count, struct dsa_completion_record *cr)
{
	desc_init(d, DSA_OPCODE_BATCH, cr);
	d->desc_list_addr = (uintptr_t)list;
	d->desc_count = count;
}

enum dsa_outcome dsa_cr_outcome(const struct dsa_completion_record *cr)
{
	switch (cr->status & DSA_COMP_STATUS_MASK) {
	case DSA_COMP_NONE:
		return DSA_PENDING;
	case DSA_COMP_SUCCESS:
		return DSA_DONE;
	case DSA_COMP_PAGE_FAULT_NOBOF:
	case DSA_COMP_PAGE_FAULT_IR:
		return DSA_FAULT;
	default:
		return DSA_FAILED;
	}
}
