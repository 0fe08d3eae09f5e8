// SPDX-License-Identifier: GPL-2.0-only
/* TEST ONLY: see sw_executor.h. */
#include <errno.h>
#include <string.h>

#include "desc.h"
#include "sw_executor.h"

static struct sw_executor *to_x(struct dsa_submitter *s)
{
	return (struct sw_executor *)s;
}

uint32_t sw_crc32c(uint32_t seed, const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~seed;

	for (uint32_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
	}
	return ~crc;
}

/* Offset of the first byte of [src, src + len) that faults, or len. */
static uint32_t fault_offset(struct sw_executor *x, uint64_t src, uint32_t len)
{
	uint64_t f = (uintptr_t)x->fault_at;

	if (!x->faults || f < src || f >= src + len)
		return len;
	return (uint32_t)(f - src);
}

static void complete(struct dsa_completion_record *cr, uint8_t status)
{
	__atomic_store_n(&cr->status, status, __ATOMIC_RELEASE);
}

static bool fault(struct sw_executor *x, struct dsa_completion_record *cr,
		  uint64_t base, uint32_t at)
{
	x->faults--;
	cr->bytes_completed = at;
	cr->fault_addr = x->fault_elsewhere ? base + (1u << 20) : base + at;
	complete(cr, DSA_COMP_PAGE_FAULT_NOBOF);
	return false;
}

/* COMPARE and COMPVAL: b is the second buffer, or NULL for the pattern. */
static bool run_compare(struct sw_executor *x, const struct dsa_hw_desc *d,
			struct dsa_completion_record *cr, const uint8_t *b)
{
	const uint8_t *a = (const uint8_t *)(uintptr_t)d->src_addr;
	uint8_t pat[8];
	uint32_t len = d->xfer_size, diff, fa, fb;

	memcpy(pat, &d->comp_pattern, sizeof(pat));
	for (diff = 0; diff < len; diff++)
		if (a[diff] != (b ? b[diff] : pat[diff % 8]))
			break;
	fa = fault_offset(x, d->src_addr, len);
	fb = b ? fault_offset(x, d->src2_addr, len) : len;
	/* The device meets a fault before a difference past it. */
	if (fa <= diff && fa < len)
		return fault(x, cr, d->src_addr, fa);
	if (fb <= diff && fb < len)
		return fault(x, cr, d->src2_addr, fb);
	cr->result = diff < len;
	cr->bytes_completed = diff < len ? diff : 0;
	complete(cr, DSA_COMP_SUCCESS);
	return true;
}

static bool run_crc(struct sw_executor *x, const struct dsa_hw_desc *d,
		    struct dsa_completion_record *cr)
{
	uint32_t at = fault_offset(x, d->src_addr, d->xfer_size);
	const void *src = (const void *)(uintptr_t)d->src_addr;

	if (at < d->xfer_size)
		return fault(x, cr, d->src_addr, at);
	cr->crc_val = sw_crc32c(d->crc_seed, src, d->xfer_size);
	complete(cr, DSA_COMP_SUCCESS);
	return true;
}

/* One work descriptor; whether it succeeded. */
static bool run_op(struct sw_executor *x, const struct dsa_hw_desc *d)
{
	struct dsa_completion_record *cr =
		(struct dsa_completion_record *)(uintptr_t)d->completion_addr;
	unsigned long nth = __atomic_fetch_add(&x->ops, 1, __ATOMIC_RELAXED);

	if (x->fail_status && nth == (unsigned long)x->fail_op) {
		complete(cr, x->fail_status);
		return false;
	}
	if (d->flags != DSA_DESC_FLAGS) {
		complete(cr, DSA_COMP_INVALID_FLAGS);
		return false;
	}
	switch (d->opcode) {
	case DSA_OPCODE_COMPARE:
		return run_compare(x, d, cr,
				   (const uint8_t *)(uintptr_t)d->src2_addr);
	case DSA_OPCODE_COMPVAL:
		return run_compare(x, d, cr, NULL);
	case DSA_OPCODE_CRCGEN:
		return run_crc(x, d, cr);
	default:	/* a batch inside a batch, too */
		complete(cr, DSA_COMP_BAD_OPCODE);
		return false;
	}
}

static void run_batch(struct sw_executor *x, const struct dsa_hw_desc *d)
{
	const struct dsa_hw_desc *list =
		(const struct dsa_hw_desc *)(uintptr_t)d->desc_list_addr;
	struct dsa_completion_record *cr =
		(struct dsa_completion_record *)(uintptr_t)d->completion_addr;
	bool ok = true;

	unsigned long nth = __atomic_fetch_add(&x->batches, 1,
					       __ATOMIC_RELAXED);

	if (nth < SWX_SIZES_MAX)
		x->sizes[nth] = d->desc_count;
	if (x->batch_status) {
		complete(cr, x->batch_status);
		x->batch_status = 0;
		return;
	}
	if (d->desc_count < DSA_BATCH_MIN || d->desc_count > x->max_batch) {
		complete(cr, DSA_COMP_DESC_CNT_ERANGE);
		return;
	}
	if (d->desc_list_addr % DSA_DESC_ALIGN) {
		complete(cr, DSA_COMP_DESCLIST_ALIGN);
		return;
	}
	for (uint32_t i = 0; i < d->desc_count; i++)
		ok &= run_op(x, &list[i]);
	complete(cr, ok ? DSA_COMP_SUCCESS : DSA_COMP_BATCH_FAIL);
}

static int swx_submit(struct dsa_submitter *s, const struct dsa_hw_desc *d)
{
	struct sw_executor *x = to_x(s);

	if (x->busy)
		return -EBUSY;
	__atomic_fetch_add(&x->submitted, 1, __ATOMIC_RELAXED);
	if (x->lose_next) {
		x->lose_next = false;
		return 0;
	}
	if (d->opcode == DSA_OPCODE_BATCH)
		run_batch(x, d);
	else
		run_op(x, d);
	return 0;
}

static void swx_retire(struct dsa_submitter *s)
{
	__atomic_fetch_add(&to_x(s)->retired, 1, __ATOMIC_RELAXED);
}

/* The test owns the executor; it only checks that release came. */
static void swx_release(struct dsa_submitter *s)
{
	to_x(s)->released++;
}

void sw_executor_init(struct sw_executor *x, uint32_t max_batch)
{
	*x = (struct sw_executor){
		.sub = { .submit = swx_submit, .retire = swx_retire,
			 .release = swx_release },
		.max_batch = max_batch,
	};
}
