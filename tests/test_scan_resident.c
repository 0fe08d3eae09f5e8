// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the region's resident() callback says: pages not resident are
 * skipped, pages unwritten since they were read are not read again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scan_fixture.h"

static bool reported_zero(const struct seen *s, uint64_t page)
{
	for (size_t i = 0; i < s->nzero; i++)
		if (s->zero[i].index == page)
			return true;
	return false;
}

/*
 * Pages that are not resident are not read, not reported and forgotten:
 * a duplicate that goes away leaves its group, and comes back as new.
 */
static void absent_pages_are_skipped(void **state)
{
	struct scan_fx *f = *state;
	struct pone_pass_stats st;
	uint64_t i, gone = 0, gone_zero = 0, gone_dup = 0;

	add_with_residency(f->e, &f->img, &f->res, false, false);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.absent, 0);
	assert_int_equal(f->s.ndup, GROUPS * (GROUP_SIZE - 1));
	/* Every seventh page goes away. */
	for (i = 0; i < f->img.pages; i += 7) {
		f->res.bits[i / 64] &= ~(1ull << (i % 64));
		gone++;
		gone_zero += f->img.content[i] == 0;
		gone_dup += f->img.content[i] && f->img.content[i] <= GROUPS;
	}
	assert_true(gone_zero > 0 && gone_dup > 0);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.absent, gone);
	assert_int_equal(st.scanned, PAGES - gone);
	assert_int_equal(st.zero, ZERO - gone_zero);
	assert_int_equal(st.zero_stable, ZERO - gone_zero);
	for (i = 0; i < f->img.pages; i += 7)
		assert_false(reported(&f->s, i));
	/* Back, with their old content: seen for the first time again. */
	memset(f->res.bits, 0xff, sizeof(f->res.bits));
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.absent, 0);
	assert_int_equal(st.zero_stable, ZERO - gone_zero);
	assert_int_equal(st.changed, 0);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.zero_stable, ZERO);
	/* The pages that left their groups were found again, and only they. */
	assert_int_equal(st.dup_members, gone_dup);
	for (i = 0; i < f->s.ndup; i++)
		assert_int_equal(f->s.dup[i].member.index % 7, 0);
	/* Asked once a stripe of 512 pages (for /dev/pone, one ioctl) in
	 * each of the seven passes, not once a batch. */
	assert_int_equal(f->res.calls, 7 * ((PAGES + 511) / 512));
}

/*
 * Pages the caller says are unwritten since they were read are not read
 * by a reclaim pass: a change made behind the caller's back (the test
 * writes the image without telling) is not seen there, a zero page stays
 * a recycle candidate, and pages never read are read all the same. A
 * merge pass reads every page and sees the change.
 */
static void unwritten_pages_are_not_read(void **state)
{
	struct scan_fx *f = *state;
	struct pone_pass_stats st;
	uint64_t i, zero_page = PAGES, data_page = PAGES;

	add_with_residency(f->e, &f->img, &f->res, false, false);
	memset(f->res.unwritten, 0xff, sizeof(f->res.unwritten));
	/* Never read yet: every page is read, whatever the caller says. */
	st = scan(f->e, PONE_PASS_RECLAIM, &f->s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.unwritten, 0);
	for (i = 0; i < f->img.pages &&
		    (zero_page == PAGES || data_page == PAGES); i++) {
		if (!f->img.content[i] && zero_page == PAGES)
			zero_page = i;
		else if (f->img.content[i] > GROUPS && data_page == PAGES)
			data_page = i;
	}
	/* Behind the caller's back: a zero page gets data, a page of data
	 * becomes zero. Half the pages are said to be written. */
	image_rewrite(&f->img, zero_page, 77);
	memset(image_page(&f->img, data_page), 0, 4096);
	for (i = 0; i < f->img.pages; i += 2)
		if (i != zero_page && i != data_page)
			set_unwritten(&f->res, i, false);
	st = scan(f->e, PONE_PASS_RECLAIM, &f->s);
	assert_int_equal(st.unwritten, PAGES / 2 + (zero_page % 2 == 0) +
					       (data_page % 2 == 0));
	assert_int_equal(st.scanned, PAGES - st.unwritten);
	assert_int_equal(st.changed, 0);
	assert_int_equal(st.zero, ZERO);
	assert_int_equal(st.zero_stable, ZERO);
	assert_true(reported_zero(&f->s, zero_page));
	assert_false(reported_zero(&f->s, data_page));
	/* A merge pass reads them all. */
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.unwritten, 0);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.changed, 2);
	assert_int_equal(st.zero, ZERO);
	assert_false(reported_zero(&f->s, zero_page));
}

/*
 * Where the caller misses no write, merge passes take unwritten pages as
 * they were too, but read those about to enter the tree, which is keyed by
 * their content; their hashes stand. A page written just before is read
 * and hashed, seen changed, and not reported; the rest of the groups are.
 */
static void exact_unwritten_pages_are_read_to_enter_the_tree(void **state)
{
	struct scan_fx *f = *state;
	struct pone_pass_stats st;
	uint64_t moved;

	add_with_residency(f->e, &f->img, &f->res, true, false);
	memset(f->res.unwritten, 0xff, sizeof(f->res.unwritten));
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.hashed, PAGES);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(st.unwritten, PAGES);
	moved = rewrite_first_grouped(&f->img, &f->res, 7777);
	/* Every non-zero page enters the tree: read; zero pages are not. */
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES - ZERO);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.unwritten, ZERO);
	assert_int_equal(st.changed, 1);
	assert_int_equal(st.zero_stable, ZERO);
	assert_int_equal(f->s.ndup, GROUPS * (GROUP_SIZE - 1) - 1);
	assert_false(reported(&f->s, moved));
	/* In the tree, or counting its periods again, unwritten: not read. */
	set_unwritten(&f->res, moved, true);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, 0);
	/* Nor will merge passes read it once it is unwritten: a reclaim pass
	 * that reads it hashes it too. */
	image_rewrite(&f->img, moved, 8888);
	set_unwritten(&f->res, moved, false);
	st = scan(f->e, PONE_PASS_RECLAIM, &f->s);
	assert_int_equal(st.scanned, 1);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.changed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scan_fx_test(absent_pages_are_skipped),
		scan_fx_test(unwritten_pages_are_not_read),
		scan_fx_test(exact_unwritten_pages_are_read_to_enter_the_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
