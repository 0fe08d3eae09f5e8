/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Demo memory images with a known layout, for tests, the demo and the
 * benchmark: zero pages, groups of equal pages and unique pages, scattered
 * over the image in a seeded random order, optionally all sharing a prefix
 * of zero bytes (the memcmp worst case).
 */
#ifndef PONE_TEST_IMAGE_H
#define PONE_TEST_IMAGE_H

#include <stdint.h>

struct image_layout {
	uint64_t zero;		/* zero pages */
	uint64_t groups;	/* groups of equal pages ... */
	uint64_t group_size;	/* ... of this many pages each, or, */
	uint64_t group_size_max;	/* if larger, sizes in turn up to it */
	uint64_t unique;	/* pages equal to no other */
	uint32_t zero_prefix;	/* bytes of zeros opening every non-zero page */
	uint64_t seed;
};

struct image {
	uint8_t *mem;
	uint64_t pages;
	uint32_t zero_prefix;
	uint64_t *content;	/* content id of each page; 0 = zero page */
};

int image_build(struct image *img, const struct image_layout *l);

/* Size of group g (0-based), and pages in all groups. */
uint64_t image_group_size(const struct image_layout *l, uint64_t g);
uint64_t image_grouped(const struct image_layout *l);
void image_free(struct image *img);

static inline uint8_t *image_page(const struct image *img, uint64_t i)
{
	return img->mem + i * 4096;
}

/* Give page i content no other page has (and remember it). */
void image_rewrite(struct image *img, uint64_t i, uint64_t stamp);

/* Fill a page with the content of id (0: zeros). */
void image_fill(uint8_t *page, uint64_t id, uint32_t zero_prefix);

#endif
