/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scan tests' fixture: the engine end to end on in-process memory
 * images of known layout, for exact counts and exact reports. Most tests
 * start from the same image, an engine of two threads and an actuator
 * that records what it is told: scan_fx_setup() and scan_fx_teardown()
 * make and free them around a cmocka test.
 */
#ifndef PONE_TEST_SCAN_FIXTURE_H
#define PONE_TEST_SCAN_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pone/engine.h>

#include "image.h"

/* The image build() makes: zero pages, groups of equal pages, unique ones. */
#define ZERO 300
#define GROUPS 100
#define GROUP_SIZE 3
#define UNIQUE 500
#define PAGES (ZERO + GROUPS * GROUP_SIZE + UNIQUE)

/* What the actuator was told in one pass. */
struct seen {
	pthread_mutex_t lock;
	struct pone_page_ref *zero;
	size_t nzero;
	struct pone_dup *dup;
	size_t ndup;
	size_t dup_calls;			/* of the actuator */
	struct pone_engine *engine;
	uint32_t remove_on_first_report;	/* region id + 1, or 0 */
	bool merge;				/* report every dup as merged */
	/* Calls back into the engine that failed: counted in the workers,
	 * which cmocka's assertions must not run in, and asserted after. */
	unsigned int failed;
};

void seen_reset(struct seen *s);

struct pone_engine *engine(unsigned int threads);
struct image build(void);

/* verified: the kernel checks every merge of its pages. */
uint32_t add_map_verified(struct pone_engine *e, const struct image *img,
			  bool verified);
uint32_t add_map(struct pone_engine *e, const struct image *img);

/* One pass of kind k, what it reported in s (reset first). */
struct pone_pass_stats scan(struct pone_engine *e, enum pone_pass k,
			    struct seen *s);

/* Every reported member equals its canonical; each member once. */
void check_dups(const struct seen *s, const struct image *img, uint32_t id,
		size_t expect);
/* The zero pages of build()'s image, and only they. */
void check_zero(const struct seen *s, const struct image *img);
/* page was reported, as a zero page, a member or a canonical. */
bool reported(const struct seen *s, uint64_t page);

/* Residency as a guest's page table would tell it: a bitmap of the image,
 * and one of the pages not written since the engine read them. */
struct residency {
	uint64_t bits[(PAGES + 63) / 64];
	uint64_t unwritten[(PAGES + 63) / 64];
	unsigned int calls;
	const uint8_t *hashes_of;	/* pages whose xxh64 it gives, or NULL */
};

/* The region's resident() callback over a struct residency. */
int image_resident(void *ctx, uint64_t first, unsigned int n, uint64_t *mask,
		   uint64_t *unwritten, uint64_t *hash);

/* The image as a region, all resident and nothing known unwritten until
 * the test says otherwise in res; exact: res misses no write; verified:
 * the kernel checks every merge. */
uint32_t add_with_residency(struct pone_engine *e, struct image *img,
			    struct residency *res, bool exact, bool verified);

/* Whether the caller says page i is unwritten since the engine read it. */
void set_unwritten(struct residency *res, uint64_t i, bool unwritten);

/* The first page of a group gets content of its own, and the caller
 * says so: returns the page. */
uint64_t rewrite_first_grouped(struct image *img, struct residency *res,
			       uint32_t content);

/* build()'s image, an engine and what it reports (s.engine is e). */
struct scan_fx {
	struct seen s;
	struct image img;
	struct pone_engine *e;
	struct residency res;	/* for add_with_residency() */
};

/* batch: pages a worker takes at a time, 0 for the engine's default. */
struct scan_fx *scan_fx_new(unsigned int threads, unsigned int batch);
void scan_fx_free(struct scan_fx *f);

/* A scan_fx of two threads as *state, for the cmocka test t. */
int scan_fx_setup(void **state);
int scan_fx_teardown(void **state);
#define scan_fx_test(t) \
	cmocka_unit_test_setup_teardown(t, scan_fx_setup, scan_fx_teardown)

#endif
