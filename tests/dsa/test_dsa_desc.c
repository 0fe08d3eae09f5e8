// SPDX-License-Identifier: GPL-2.0-only
/*
 * Descriptors and completion records as the backend writes and reads them,
 * checked field by field against the kernel's <linux/idxd.h>: where each
 * field lies (offsetof, sizeof), and the raw bits of the first word, where
 * the bitfields (pasid, priv, flags, opcode) are packed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "desc.h"

static _Alignas(64) struct dsa_hw_desc desc;
static _Alignas(32) struct dsa_completion_record cr;
static _Alignas(64) struct dsa_hw_desc list[4];
static uint8_t page_a[4096], page_b[4096];

static uint64_t word(const struct dsa_hw_desc *d, unsigned int i)
{
	uint64_t w[8];

	memcpy(w, d, sizeof(w));
	return w[i];
}

static void layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct dsa_hw_desc), 64);
	assert_int_equal(offsetof(struct dsa_hw_desc, completion_addr), 8);
	assert_int_equal(offsetof(struct dsa_hw_desc, src_addr), 16);
	assert_int_equal(offsetof(struct dsa_hw_desc, pattern), 16);
	assert_int_equal(offsetof(struct dsa_hw_desc, desc_list_addr), 16);
	assert_int_equal(offsetof(struct dsa_hw_desc, src2_addr), 24);
	assert_int_equal(offsetof(struct dsa_hw_desc, comp_pattern), 24);
	assert_int_equal(offsetof(struct dsa_hw_desc, xfer_size), 32);
	assert_int_equal(offsetof(struct dsa_hw_desc, desc_count), 32);
	assert_int_equal(offsetof(struct dsa_hw_desc, int_handle), 36);
	assert_int_equal(offsetof(struct dsa_hw_desc, crc_seed), 40);
	assert_int_equal(offsetof(struct dsa_hw_desc, seed_addr), 48);

	assert_int_equal(sizeof(struct dsa_completion_record), 32);
	assert_int_equal(offsetof(struct dsa_completion_record, status), 0);
	assert_int_equal(offsetof(struct dsa_completion_record, result), 1);
	assert_int_equal(offsetof(struct dsa_completion_record,
				  bytes_completed), 4);
	assert_int_equal(offsetof(struct dsa_completion_record, fault_addr),
			 8);
	assert_int_equal(offsetof(struct dsa_completion_record, crc_val), 16);
}

/* The DSA specification's numbers, against the header's names. */
static void constants(void **state)
{
	(void)state;
	assert_int_equal(DSA_OPCODE_BATCH, 0x01);
	assert_int_equal(DSA_OPCODE_COMPARE, 0x05);
	assert_int_equal(DSA_OPCODE_COMPVAL, 0x06);
	assert_int_equal(DSA_OPCODE_CRCGEN, 0x10);
	assert_int_equal(IDXD_OP_FLAG_CRAV, 1 << 2);
	assert_int_equal(IDXD_OP_FLAG_RCR, 1 << 3);
	assert_int_equal(IDXD_OP_FLAG_BOF, 1 << 1);
	assert_int_equal(DSA_COMP_SUCCESS, 0x01);
	assert_int_equal(DSA_COMP_PAGE_FAULT_NOBOF, 0x03);
	assert_int_equal(DSA_COMP_BATCH_FAIL, 0x05);
	assert_int_equal(DSA_COMP_STATUS_MASK, 0x7f);
}

/* Word 0: pasid bits 0-19, priv bit 31, flags 32-55, opcode 56-63. */
static void check_word0(uint8_t opcode)
{
	uint64_t w0 = word(&desc, 0);

	assert_int_equal(w0 >> 56, opcode);
	assert_int_equal((w0 >> 32) & 0xffffff, IDXD_OP_FLAG_CRAV |
						IDXD_OP_FLAG_RCR);
	assert_int_equal(w0 & 0xfffff, 0);		/* pasid: the WQ's */
	assert_int_equal((w0 >> 31) & 1, 0);		/* user mode */
	assert_false((w0 >> 32) & IDXD_OP_FLAG_BOF);	/* faults come back */
	assert_int_equal(word(&desc, 1), (uintptr_t)&cr);
}

static void compare(void **state)
{
	(void)state;
	memset(&desc, 0xa5, sizeof(desc));
	dsa_desc_compare(&desc, page_a, page_b, 4096, &cr);
	check_word0(DSA_OPCODE_COMPARE);
	assert_int_equal(word(&desc, 2), (uintptr_t)page_a);
	assert_int_equal(word(&desc, 3), (uintptr_t)page_b);
	assert_int_equal(word(&desc, 4), 4096);	/* size; int_handle 0 */
	for (int i = 5; i < 8; i++)
		assert_int_equal(word(&desc, i), 0);
}

static void compval(void **state)
{
	(void)state;
	memset(&desc, 0xa5, sizeof(desc));
	dsa_desc_compval(&desc, page_a, 4096, 0x0123456789abcdefull, &cr);
	check_word0(DSA_OPCODE_COMPVAL);
	assert_int_equal(word(&desc, 2), (uintptr_t)page_a);
	assert_int_equal(word(&desc, 3), 0x0123456789abcdefull);
	assert_int_equal(word(&desc, 4), 4096);
	for (int i = 5; i < 8; i++)
		assert_int_equal(word(&desc, i), 0);
}

static void crcgen(void **state)
{
	(void)state;
	memset(&desc, 0xa5, sizeof(desc));
	dsa_desc_crcgen(&desc, page_a, 4096, 0xdeadbeef, &cr);
	check_word0(DSA_OPCODE_CRCGEN);
	assert_int_equal(word(&desc, 2), (uintptr_t)page_a);
	assert_int_equal(word(&desc, 3), 0);
	assert_int_equal(word(&desc, 4), 4096);
	assert_int_equal(word(&desc, 5), 0xdeadbeef);	/* seed, not read */
	assert_int_equal(word(&desc, 6), 0);
	assert_int_equal(word(&desc, 7), 0);
}

static void batch(void **state)
{
	(void)state;
	memset(&desc, 0xa5, sizeof(desc));
	dsa_desc_batch(&desc, list, 4, &cr);
	check_word0(DSA_OPCODE_BATCH);
	assert_int_equal(word(&desc, 2), (uintptr_t)list);
	assert_int_equal(word(&desc, 2) % DSA_DESC_ALIGN, 0);
	assert_int_equal(word(&desc, 3), 0);
	assert_int_equal(word(&desc, 4), 4);	/* desc_count */
	for (int i = 5; i < 8; i++)
		assert_int_equal(word(&desc, i), 0);
}

/* Every status the header names, and the write bit a fault may carry. */
static void outcomes(void **state)
{
	struct dsa_completion_record r = { 0 };

	(void)state;
	for (unsigned int s = 0; s <= DSA_COMP_STATUS_MASK; s++) {
		enum dsa_outcome want = DSA_FAILED;

		if (s == DSA_COMP_NONE)
			want = DSA_PENDING;
		else if (s == DSA_COMP_SUCCESS)
			want = DSA_DONE;
		else if (s == DSA_COMP_PAGE_FAULT_NOBOF ||
			 s == DSA_COMP_PAGE_FAULT_IR)
			want = DSA_FAULT;
		r.status = (uint8_t)s;
		assert_int_equal(dsa_cr_outcome(&r), want);
		if (s != DSA_COMP_NONE) {
			r.status = (uint8_t)(s | DSA_COMP_STATUS_WRITE);
			assert_int_equal(dsa_cr_outcome(&r), want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout),
		cmocka_unit_test(constants),
		cmocka_unit_test(compare),
		cmocka_unit_test(compval),
		cmocka_unit_test(crcgen),
		cmocka_unit_test(batch),
		cmocka_unit_test(outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
