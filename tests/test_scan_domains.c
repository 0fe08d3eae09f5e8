// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sharing domains: regions of one domain find each other's equal pages,
 * regions of two never do, whichever way the trees are keyed (by content,
 * or by hash where the kernel verifies merges); a region none of whose
 * pages is merged finds none, within or across, and its zero pages still.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "scan_fixture.h"

static uint32_t add_in(struct pone_engine *e, const struct image *img,
		       uint32_t domain, bool verified)
{
	struct pone_region_desc d = { .name = "image", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1, .merges_verified = verified,
				      .domain = domain };
	uint32_t id;

	assert_int_equal(pone_engine_add_region(e, &d, &id), 0);
	return id;
}

/* Two images in domain 1 and one in domain 2, all alike. */
static void apart(struct scan_fx *f, bool verified)
{
	struct image b = build(), c = build();
	uint32_t a1 = add_in(f->e, &f->img, 1, verified);
	uint32_t b1 = add_in(f->e, &b, 1, verified);
	uint32_t c2 = add_in(f->e, &c, 2, verified);
	size_t i, across = 0;

	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	/* Every build() is alike, its unique pages too. Domain 1: each
	 * group's 2 x GROUP_SIZE pages but one, and one of each unique pair;
	 * domain 2: its own groups. Shared across domains, c's unique pages
	 * would make UNIQUE more, and its groups GROUPS more. */
	assert_int_equal(f->s.ndup, GROUPS * (2 * GROUP_SIZE - 1) + UNIQUE +
				    GROUPS * (GROUP_SIZE - 1));
	for (i = 0; i < f->s.ndup; i++) {
		const struct pone_dup *d = &f->s.dup[i];
		bool m2 = d->member.region == c2, c_2 = d->canonical.region == c2;

		assert_int_equal(m2, c_2);
		across += d->member.region != d->canonical.region;
		assert_true(d->member.region == a1 || d->member.region == b1 ||
			    m2);
	}
	assert_true(across > 0);	/* a1 and b1 do share */
	image_free(&b);
	image_free(&c);
}

static void apart_by_content(void **state)
{
	apart(*state, false);
}

static void apart_by_hash(void **state)
{
	apart(*state, true);
}

/* b (never_merge) holds a's pages, and its own zero pages. */
static void never_merged(void **state)
{
	struct scan_fx *f = *state;
	struct image b = build();
	uint32_t a1 = add_in(f->e, &f->img, 0, false);
	struct pone_region_desc d = { .name = "never", .pages = b.pages,
				      .mode = PONE_READ_MAP, .map = b.mem,
				      .fd = -1, .never_merge = true };
	size_t i, zero_b = 0;
	uint32_t b1;

	assert_int_equal(pone_engine_add_region(f->e, &d, &b1), 0);
	/* Stable, in the tree and met: the third merge pass reports. */
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	/* a's own groups only: 2 of each 3, none of its unique pages. */
	assert_int_equal(f->s.ndup, GROUPS * (GROUP_SIZE - 1));
	for (i = 0; i < f->s.ndup; i++) {
		assert_int_equal(f->s.dup[i].member.region, a1);
		assert_int_equal(f->s.dup[i].canonical.region, a1);
	}
	for (i = 0; i < f->s.nzero; i++)
		zero_b += f->s.zero[i].region == b1;
	assert_int_equal(zero_b, ZERO);
	image_free(&b);
}

static void domain_out_of_range(void **state)
{
	struct scan_fx *f = *state;
	struct pone_region_desc d = { .name = "image", .pages = f->img.pages,
				      .mode = PONE_READ_MAP, .map = f->img.mem,
				      .fd = -1, .domain = PONE_DOMAINS };
	uint32_t id;

	assert_int_equal(pone_engine_add_region(f->e, &d, &id), -EINVAL);
	d.domain = PONE_DOMAINS - 1;
	assert_int_equal(pone_engine_add_region(f->e, &d, &id), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scan_fx_test(apart_by_content),
		scan_fx_test(apart_by_hash),
		scan_fx_test(never_merged),
		scan_fx_test(domain_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
