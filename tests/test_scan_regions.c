// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ways of reading a region (mapped, pread, process_vm_readv), pages
 * that cannot be read, regions removed during a pass, and bad requests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scan_fixture.h"

static uint64_t pages_of(const struct pone_engine *e)
{
	struct pone_engine_memory m;

	pone_engine_memory(e, &m);
	return m.pages;
}

static void expect_layout(struct scan_fx *f, uint32_t id)
{
	struct pone_pass_stats st;

	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES);
	assert_int_equal(st.dup_groups, GROUPS);
	assert_int_equal(st.unique, UNIQUE);
	check_zero(&f->s, &f->img);
	check_dups(&f->s, &f->img, id, GROUPS * (GROUP_SIZE - 1));
}

/* The same image through an fd (pread) finds the same. */
static void pread_region(void **state)
{
	struct scan_fx *f = *state;
	int fd = memfd_create("guest", 0);
	struct pone_region_desc d = { .name = "memfd", .pages = f->img.pages,
				      .mode = PONE_READ_PREAD, .fd = fd };
	uint32_t id;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->img.mem, f->img.pages * 4096),
			 (ssize_t)(f->img.pages * 4096));
	assert_int_equal(pone_engine_add_region(f->e, &d, &id), 0);
	expect_layout(f, id);
	close(fd);
}

/* ... and read from a process with process_vm_readv (ourselves here). */
static void vm_region(void **state)
{
	struct scan_fx *f = *state;
	struct pone_region_desc d = { .name = "vm", .pages = f->img.pages,
				      .mode = PONE_READ_VM, .fd = -1,
				      .pid = getpid(),
				      .addr = (uintptr_t)f->img.mem };
	uint32_t id;

	assert_int_equal(pone_engine_add_region(f->e, &d, &id), 0);
	expect_layout(f, id);
}

/* Pages that cannot be read are counted, not guessed at. */
static void unreadable_pages(void **state)
{
	struct scan_fx *f = *state;
	struct pone_region_desc d = { .name = "holes", .pages = f->img.pages,
				      .mode = PONE_READ_VM, .fd = -1,
				      .pid = getpid(),
				      .addr = (uintptr_t)f->img.mem };
	struct pone_pass_stats st;
	uint32_t id;

	/* Unmap 10 pages in the middle: the guest's view has a hole. */
	assert_int_equal(munmap(f->img.mem + 400 * 4096, 10 * 4096), 0);
	assert_int_equal(pone_engine_add_region(f->e, &d, &id), 0);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.unreadable, 10);
	assert_int_equal(st.scanned, PAGES - 10);
	/* Map the hole again so image_free unmaps a whole range. */
	assert_true(mmap(f->img.mem + 400 * 4096, 10 * 4096, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    MAP_FAILED);
}

static void bad_input(void **state)
{
	struct pone_engine *e = engine(1);
	struct pone_region_desc d = { .name = "bad", .pages = 0,
				      .mode = PONE_READ_MAP, .fd = -1 };
	struct pone_dup dup = { .member = { 7, 0 }, .canonical = { 7, 1 } };
	uint32_t id;

	(void)state;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	d.pages = 4;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	d.mode = PONE_READ_PREAD;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	d.mode = (enum pone_read_mode)99;
	assert_int_equal(pone_engine_add_region(e, &d, &id), -EINVAL);
	assert_int_equal(pone_engine_remove_region(e, 12345), -ENOENT);
	assert_int_equal(pone_engine_merged(e, &dup, 1), -ENOENT);
	assert_int_equal(pone_engine_scan(e, (enum pone_pass)9, NULL, NULL),
			 -EINVAL);
	assert_int_equal(pages_of(e), 0);
	pone_engine_free(e);
}

static void remove_on_report(void *ctx, const struct pone_page_ref *p,
			     size_t n)
{
	struct seen *s = ctx;
	uint32_t id = __atomic_exchange_n(&s->remove_on_first_report, 0,
					  __ATOMIC_RELAXED);

	(void)p;
	(void)n;
	if (id && pone_engine_remove_region(s->engine, id - 1))
		__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
}

/* Regions come and go while a pass runs; the pass finishes cleanly. */
static void remove_during_pass(void **state)
{
	struct scan_fx *f = *state;
	struct image b = build();
	struct pone_actuator act = { .ctx = &f->s, .zero = remove_on_report };
	struct pone_pass_stats st;
	uint32_t ia = add_map(f->e, &f->img), ib;

	ib = add_map(f->e, &b);
	assert_int_not_equal(ia, ib);
	assert_int_equal(pages_of(f->e), 2 * PAGES);
	assert_int_equal(pone_engine_scan(f->e, PONE_PASS_MERGE, &act, &st), 0);
	assert_int_equal(pone_engine_scan(f->e, PONE_PASS_MERGE, &act, &st), 0);
	f->s.remove_on_first_report = ib + 1;
	assert_int_equal(pone_engine_scan(f->e, PONE_PASS_MERGE, &act, &st), 0);
	assert_int_equal(f->s.remove_on_first_report, 0);
	assert_int_equal(f->s.failed, 0);
	assert_true(st.scanned < 2 * PAGES);
	assert_int_equal(pages_of(f->e), PAGES);
	assert_int_equal(pone_engine_remove_region(f->e, ib), -ENOENT);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.scanned, PAGES);

	/*
	 * Added again (on the same slots), the copy finds every one of its
	 * pages in the first image: none of its old leaves is left to be
	 * mistaken for the new ones.
	 */
	assert_int_equal(add_map(f->e, &b), ib);
	assert_int_equal(pages_of(f->e), 2 * PAGES);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	scan(f->e, PONE_PASS_MERGE, &f->s);
	st = scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(st.dup_members, PAGES - ZERO);
	assert_int_equal(st.dup_groups, UNIQUE);
	assert_int_equal(st.unique, 0);
	assert_int_equal(f->s.ndup, PAGES - ZERO);
	for (size_t i = 0; i < f->s.ndup; i++) {
		assert_int_equal(f->s.dup[i].member.region, ib);
		assert_true(b.content[f->s.dup[i].member.index] ==
			    f->img.content[f->s.dup[i].canonical.index]);
	}
	image_free(&b);
}

/*
 * Reports wait for the next pass and name regions by id, which a region
 * added after the reported one's removal takes: it finds its duplicates
 * as any new region does, none against itself, whatever was reported of
 * the old one (as by pone.ko: pages known by the hashes it gives).
 */
static void reports_die_with_region_in(bool hashes)
{
	struct scan_fx *f = scan_fx_new(2, 0);
	struct residency *res = calloc(1, sizeof(*res));
	uint32_t id = add_with_residency(f->e, &f->img, res, hashes, true);
	size_t found = 0, i, k;

	assert_non_null(res);
	res->hashes_of = hashes ? f->img.mem : NULL;
	for (k = 0; k < 3; k++)
		scan(f->e, PONE_PASS_MERGE, &f->s);
	assert_int_equal(f->s.ndup, GROUPS * (GROUP_SIZE - 1));
	assert_int_equal(pone_engine_merged(f->e, f->s.dup, f->s.ndup - 1), 0);
	assert_int_equal(pone_engine_full(f->e, &f->s.dup[f->s.ndup - 1]), 0);
	assert_int_equal(pone_engine_remove_region(f->e, id), 0);
	assert_int_equal(add_with_residency(f->e, &f->img, res, hashes, true),
			 id);
	res->hashes_of = hashes ? f->img.mem : NULL;
	for (k = 0; k < 4; k++) {
		scan(f->e, PONE_PASS_MERGE, &f->s);
		for (i = 0; i < f->s.ndup; i++)
			assert_int_not_equal(f->s.dup[i].member.index,
					     f->s.dup[i].canonical.index);
		found += f->s.ndup;
	}
	assert_int_equal(found, GROUPS * (GROUP_SIZE - 1));
	free(res);
	scan_fx_free(f);
}

static void reports_die_with_region(void **state)
{
	(void)state;
	reports_die_with_region_in(false);
	reports_die_with_region_in(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scan_fx_test(pread_region),
		scan_fx_test(vm_region),
		scan_fx_test(unreadable_pages),
		cmocka_unit_test(bad_input),
		scan_fx_test(remove_during_pass),
		cmocka_unit_test(reports_die_with_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
