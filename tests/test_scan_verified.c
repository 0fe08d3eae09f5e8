// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regions whose merges the kernel verifies: the tree knows their pages by
 * their hashes, given by resident() or computed, and trusts only a 64-bit
 * one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "scan_fixture.h"

/*
 * Where the kernel verifies every merge, the tree knows pages by their
 * 64-bit hash: pages unwritten since they were hashed enter it unread, it
 * compares no page, and what it reports is still right (xxh3 does not
 * collide on these pages). A page written just before is read, and only
 * it.
 */
static void verified_pages_enter_the_tree_unread(void **state)
{
	struct scan_fx *f = *state;
	struct pone_pass_stats st;
	struct pone_region_counts rc;
	struct pone_page_ref retried;
	uint64_t moved;
	uint32_t id;

	id = add_with_residency(f->e, &f->img, &f->res, true, true);
	memset(f->res.unwritten, 0xff, sizeof(f->res.unwritten));
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	moved = rewrite_first_grouped(&f->img, &f->res, 7777);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, 1);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.unwritten, PAGES - 1);
	assert_int_equal(st.changed, 1);
	assert_int_equal(st.tree_compares, 0);
	check_dups(&f->s, &f->img, id, GROUPS * (GROUP_SIZE - 1) - 1);
	assert_false(reported(&f->s, moved));
	/* Found batch by batch, they go to the actuator in a few calls
	 * (for /dev/pone, MERGE ioctls): at most two for each worker. */
	assert_true(f->s.dup_calls <= 2 * 2);
	/* Converged: the pages in the tree are passed over, untouched, and
	 * still counted; a member the kernel was busy with comes back. */
	set_unwritten(&f->res, moved, true);
	retried = f->s.dup[0].member;
	assert_int_equal(pone_engine_retry(f->e, &retried), 0);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(st.unwritten, PAGES);
	assert_int_equal(st.stable, PAGES - ZERO - 1);
	assert_int_equal(f->s.ndup, 1);
	assert_int_equal(f->s.dup[0].member.index, retried.index);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, 0);
	assert_int_equal(st.dup_pages, 0);	/* all passed over */
	assert_int_equal(pone_engine_region_counts(f->e, id, &rc), 0);
	assert_int_equal(rc.duplicate, GROUPS * GROUP_SIZE - 1);
}

/* A backend of the CPU's whose hash is one value for every page. */
struct colliding {
	struct pone_backend be;
	struct pone_backend *cpu;
};

static void colliding_hash(const struct pone_backend *be,
			   const void *const *pages, size_t n, uint64_t *out)
{
	(void)be;
	(void)pages;
	for (size_t i = 0; i < n; i++)
		out[i] = 0x5eed5eed5eed5eedull;
}

static void colliding_is_zero(const struct pone_backend *be,
			      const void *const *pages, size_t n, bool *out)
{
	const struct pone_backend *cpu = ((const struct colliding *)be)->cpu;

	cpu->is_zero(cpu, pages, n, out);
}

static void colliding_compare(const struct pone_backend *be,
			      const void *const *a, const void *const *b,
			      size_t n, uint32_t *out)
{
	const struct pone_backend *cpu = ((const struct colliding *)be)->cpu;

	cpu->compare(cpu, a, b, n, out);
}

static void colliding_destroy(struct pone_backend *be)
{
	pone_backend_destroy(((struct colliding *)be)->cpu);
}

/*
 * Keyed by hash, a collision is reported as a duplicate (for the kernel to
 * refuse): with every page colliding, every non-zero page but the first
 * is. A hash of 32 bits (CRC-32C) would collide far too often to be
 * trusted: a verified region is then keyed by content, and its reports are
 * exact.
 */
static void collisions_where_the_kernel_verifies(void **state)
{
	static const enum pone_checksum kinds[] = { PONE_CHECKSUM_XXH3,
						    PONE_CHECKSUM_CRC32C };
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct image img = build();
	unsigned int k, i;

	(void)state;
	for (k = 0; k < 2; k++) {
		struct colliding c = {
			.be = { .name = "colliding", .checksum = kinds[k],
				.hash = colliding_hash,
				.is_zero = colliding_is_zero,
				.compare = colliding_compare,
				.destroy = colliding_destroy },
			.cpu = pone_backend_cpu_new(),
		};
		struct pone_engine_config cfg = { .threads = 2,
						  .backend = &c.be };
		struct pone_pass_stats st;
		struct pone_engine *e;
		uint32_t id;

		assert_non_null(c.cpu);
		assert_int_equal(pone_engine_new(&cfg, &e), 0);
		id = add_map_verified(e, &img, true);
		for (i = 0; i < 3; i++)
			st = scan(e, PONE_PASS_MERGE, &s);
		assert_int_equal(st.zero, ZERO);
		if (kinds[k] == PONE_CHECKSUM_XXH3) {
			assert_int_equal(s.ndup, PAGES - ZERO - 1);
			assert_int_equal(st.tree_compares, 0);
		} else {
			check_dups(&s, &img, id, GROUPS * (GROUP_SIZE - 1));
			assert_true(st.tree_compares > 0);
		}
		pone_engine_free(e);
		pone_backend_destroy(&c.be);
		seen_reset(&s);
	}
	image_free(&img);
}

/*
 * Where resident() gives the hashes of the pages it finds written (as
 * pone.ko does), those pages are not read: duplicates and zero pages are
 * found by their hashes alone. A page seen first unwritten (written
 * before the engine started) is read, and hashed the same way: it joins
 * its group.
 */
static void written_pages_known_by_their_hash(void **state)
{
	struct scan_fx *f = *state;
	size_t size = f->img.pages * 4096;
	uint8_t *copy = malloc(size);
	struct pone_region_desc d = { .name = "hashed", .pages = f->img.pages,
				      .mode = PONE_READ_MAP, .map = f->img.mem,
				      .fd = -1, .resident = image_resident,
				      .unwritten_exact = true,
				      .merges_verified = true,
				      .resident_hashes = true };
	struct pone_pass_stats st;
	uint64_t unseen = 0;
	uint32_t id;

	memcpy(copy, f->img.mem, size);
	f->res.hashes_of = copy;
	memset(f->res.bits, 0xff, sizeof(f->res.bits));
	d.resident_ctx = &f->res;
	assert_int_equal(pone_engine_add_region(f->e, &d, &id), 0);
	while (!f->img.content[unseen] || f->img.content[unseen] > GROUPS)
		unseen++;
	set_unwritten(&f->res, unseen, true);
	/* Any read of another page faults. */
	assert_int_equal(mprotect(f->img.mem, size, PROT_NONE), 0);
	assert_int_equal(mprotect(image_page(&f->img, unseen), 4096, PROT_READ),
			 0);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.zero, ZERO);
	memset(f->res.unwritten, 0xff, sizeof(f->res.unwritten));
	scan(f->e, PONE_PASS_MERGE, &f->s);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(st.tree_compares, 0);
	check_dups(&f->s, &f->img, id, GROUPS * (GROUP_SIZE - 1));
	assert_true(f->s.nzero >= ZERO);
	for (size_t i = 0; i < f->s.nzero; i++)
		assert_int_equal(f->img.content[f->s.zero[i].index], 0);
	assert_int_equal(mprotect(f->img.mem, size, PROT_READ | PROT_WRITE), 0);
	d.unwritten_exact = false;
	assert_int_equal(pone_engine_add_region(f->e, &d, &id), -EINVAL);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scan_fx_test(verified_pages_enter_the_tree_unread),
		cmocka_unit_test(collisions_where_the_kernel_verifies),
		scan_fx_test(written_pages_known_by_their_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
