// SPDX-License-Identifier: GPL-2.0-only
/*
 * Merges the kernel reports back: merged pages are not reported again and
 * are found in the static part, a member the kernel could not merge comes
 * back, one it found full replaces its canonical page, every member is
 * reported against its group's head.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "scan_fixture.h"

/* A member the kernel could not merge now is reported again, alone. */
static void retried_pages_come_back(void **state)
{
	struct scan_fx *f = *state;
	struct pone_page_ref page;
	struct pone_dup self;

	add_map(f->e, &f->img);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, GROUPS * (GROUP_SIZE - 1));
	page = f->s.dup[0].member;
	assert_int_equal(pone_engine_retry(f->e, &page), 0);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, 1);
	assert_int_equal(f->s.dup[0].member.index, page.index);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, 0);
	/* Not a report of a merge: a page merged into itself. */
	self = (struct pone_dup){ page, page, false };
	assert_int_equal(pone_engine_merged(f->e, &self, 1), -EINVAL);
}

static bool same_page(struct pone_page_ref a, struct pone_page_ref b)
{
	return a.region == b.region && a.index == b.index;
}

static uint64_t ref_key(struct pone_page_ref r)
{
	return (uint64_t)r.region << 40 | r.index;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Member content << 40 | canonical, of every dup: sorted, one canonical a
 * content. */
static void check_one_head(const struct seen *s, const struct image *img)
{
	uint64_t *members = calloc(s->ndup, sizeof(*members));
	uint64_t *heads = calloc(s->ndup, sizeof(*heads));
	size_t i;

	assert_non_null(members);
	assert_non_null(heads);
	for (i = 0; i < s->ndup; i++) {
		members[i] = ref_key(s->dup[i].member);
		heads[i] = img->content[s->dup[i].member.index] << 40 |
			   ref_key(s->dup[i].canonical);
	}
	qsort(members, s->ndup, sizeof(*members), by_u64);
	qsort(heads, s->ndup, sizeof(*heads), by_u64);
	for (i = 0; i < s->ndup; i++) {
		uint64_t head = ref_key(s->dup[i].canonical);

		assert_null(bsearch(&head, members, s->ndup, sizeof(*members),
				    by_u64));
		if (i && heads[i] >> 40 == heads[i - 1] >> 40)
			assert_true(heads[i] == heads[i - 1]);
	}
	free(members);
	free(heads);
}

/*
 * Every member of a group is reported against one page, the group's head,
 * which is no member itself: nothing to merge twice (C into B, B into A),
 * so the period after reports nothing. Groups of group_size pages in each
 * of three regions with the same contents, added in turn: also groups
 * larger than the leaves group_head() looks at for the head, spread over
 * regions whose ids do not follow the order they were added in. One
 * thread: with two, a page being inserted can briefly look like a head to
 * the other thread (merged_into_busy_page covers what follows).
 */
static void members_report_their_head_in(uint64_t group_size)
{
	struct image_layout l = { .zero = ZERO, .groups = GROUPS,
				  .group_size = group_size, .unique = UNIQUE,
				  .seed = 42 };
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER, .merge = true };
	struct pone_engine *e = engine(1);
	struct image img;
	int r;

	assert_int_equal(image_build(&img, &l), 0);
	s.engine = e;
	for (r = 0; r < 3; r++)
		add_map(e, &img);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 3 * GROUPS * group_size - GROUPS +
				 2 * UNIQUE);
	check_one_head(&s, &img);
	scan(e, PONE_PASS_MERGE, &s);
	assert_int_equal(s.ndup, 0);
	pone_engine_free(e);
	image_free(&img);
	seen_reset(&s);
}

static void members_report_their_head(void **state)
{
	(void)state;
	members_report_their_head_in(GROUP_SIZE);
	members_report_their_head_in(40);
}

/*
 * C reported against B, and B against A, in one pass (made up here from
 * two members B and C of A's group); the kernel merges C into B but finds
 * B busy: C shares B's frame, not A's, so it must be looked up again with
 * B, or B would stay a second canonical page.
 */
static void merged_into_busy_page(void **state)
{
	struct scan_fx *f = *state;
	struct pone_page_ref b = { 0 }, c = { 0 };
	size_t i, j;
	bool found = false;

	add_map(f->e, &f->img);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	for (i = 0; i < f->s.ndup && !found; i++)
		for (j = i + 1; j < f->s.ndup && !found; j++)
			if (same_page(f->s.dup[j].canonical,
				      f->s.dup[i].canonical)) {
				b = f->s.dup[i].member;
				c = f->s.dup[j].member;
				found = true;
			}
	assert_true(found);	/* groups of 3: two members each */
	for (i = 0; i < f->s.ndup; i++) {
		struct pone_dup into_b = { c, b, false };

		if (same_page(f->s.dup[i].member, b))
			assert_int_equal(pone_engine_retry(f->e, &b), 0);
		else if (same_page(f->s.dup[i].member, c))
			assert_int_equal(pone_engine_merged(f->e, &into_b, 1),
					 0);
		else
			assert_int_equal(pone_engine_merged(f->e, &f->s.dup[i],
							    1), 0);
	}
	scan(f->e, PONE_PASS_MERGE, &f->s);
	found = false;
	for (i = 0; i < f->s.ndup; i++)
		found |= same_page(f->s.dup[i].member, c);
	assert_true(found);
}

/*
 * Reported merges move the canonical pages to the static part: merged
 * members are not reported again, and a page that becomes equal to a merged
 * canonical later is found there.
 */
static void merged_pages_use_static_part_in(bool verified)
{
	struct scan_fx *f = scan_fx_new(2, 0);
	uint32_t id = add_map_verified(f->e, &f->img, verified);
	struct pone_pass_stats st;
	uint64_t u = 0;
	size_t i;

	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	f->s.merge = true;
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, GROUPS * (GROUP_SIZE - 1));
	/* A member reported against another member (C to B, while B went to
	 * A) shares B's old frame: it is looked up again, in the static
	 * part, and merged into A. */
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_true(f->s.ndup < GROUPS);
	for (i = 0; i < f->s.ndup; i++) {
		assert_true(f->s.dup[i].canonical_merged);
		assert_int_equal(f->img.content[f->s.dup[i].member.index],
				 f->img.content[f->s.dup[i].canonical.index]);
	}
	f->s.merge = false;
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, 0);
	assert_int_equal(st.dup_groups + st.unique, 0);
	/* Merged pages left the dynamic part; nothing to group any more. */
	assert_int_equal(st.dup_pages, 0);

	/* A unique page takes the content of group 1. */
	while (f->img.content[u] <= GROUPS)
		u++;
	f->img.content[u] = 1;
	image_fill(image_page(&f->img, u), 1, 0);
	for (i = 0; i < 3; i++) {
		st = scan(f->e, PONE_PASS_MERGE, &f->s);
		assert_int_equal(f->s.ndup, i == 2 ? 1 : 0);
	}
	assert_int_equal(f->s.dup[0].member.index, u);
	assert_true(f->s.dup[0].canonical_merged);
	assert_int_equal(f->img.content[f->s.dup[0].canonical.index], 1);
	assert_int_equal(f->s.dup[0].canonical.region, id);

	/* A canonical page that changes leaves the static part: the page that
	 * matched it has no equal left (the other members are merged). */
	image_rewrite(&f->img, f->s.dup[0].canonical.index, 77);
	for (i = 0; i < 3; i++) {
		st = scan(f->e, PONE_PASS_MERGE, &f->s);
		assert_int_equal(f->s.ndup, 0);
	}
	assert_int_equal(st.unique, 1);	/* the canonical's new content */
	scan_fx_free(f);
}

/*
 * A member the kernel could not merge because its canonical page's frame
 * was full takes that page's place in the static part: neither is
 * reported again, and a page that takes their content later is reported
 * against the member, not against the full frame's page.
 */
static void full_canonical_is_replaced_in(bool verified)
{
	struct scan_fx *f = scan_fx_new(2, 0);
	uint32_t id = add_map_verified(f->e, &f->img, verified);
	struct pone_page_ref head, full = { 0 };
	bool head_merged = false, found = false;
	uint64_t u = 0;
	size_t i;

	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, GROUPS * (GROUP_SIZE - 1));
	head = f->s.dup[0].canonical;
	/* Of head's group, one member merged, the other found full. */
	for (i = 0; i < f->s.ndup; i++) {
		const struct pone_dup *d = &f->s.dup[i];

		if (same_page(d->canonical, head) && head_merged) {
			full = d->member;
			found = true;
			assert_int_equal(pone_engine_full(f->e, d), 0);
			continue;
		}
		head_merged |= same_page(d->canonical, head);
		assert_int_equal(pone_engine_merged(f->e, d, 1), 0);
	}
	assert_true(found);
	/* Neither is reported again; a member reported against another
	 * member (see merged_into_busy_page) is, and is merged now. */
	scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_true(f->s.ndup < GROUPS);
	for (i = 0; i < f->s.ndup; i++) {
		assert_false(same_page(f->s.dup[i].member, head));
		assert_false(same_page(f->s.dup[i].member, full));
		assert_int_equal(pone_engine_merged(f->e, &f->s.dup[i], 1), 0);
	}
	scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, 0);

	while (f->img.content[u] <= GROUPS)
		u++;
	f->img.content[u] = f->img.content[head.index];
	image_fill(image_page(&f->img, u), f->img.content[u], 0);
	for (i = 0; i < 3; i++) {
		scan(f->e, PONE_PASS_MERGE, &f->s);
		assert_int_equal(f->s.ndup, i == 2 ? 1 : 0);
	}
	assert_int_equal(f->s.dup[0].member.index, u);
	assert_true(f->s.dup[0].canonical_merged);
	assert_true(same_page(f->s.dup[0].canonical, full));
	assert_int_equal(f->s.dup[0].canonical.region, id);
	scan_fx_free(f);
}

static void full_canonical_is_replaced(void **state)
{
	(void)state;
	full_canonical_is_replaced_in(false);
	full_canonical_is_replaced_in(true);
}

/* Keyed by content, and by hash where the kernel verifies merges. */
static void merged_pages_use_static_part(void **state)
{
	(void)state;
	merged_pages_use_static_part_in(false);
	merged_pages_use_static_part_in(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scan_fx_test(retried_pages_come_back),
		cmocka_unit_test(members_report_their_head),
		scan_fx_test(merged_into_busy_page),
		cmocka_unit_test(merged_pages_use_static_part),
		cmocka_unit_test(full_canonical_is_replaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
