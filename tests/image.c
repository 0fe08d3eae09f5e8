// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "image.h"
#include "rand.h"

void image_fill(uint8_t *page, uint64_t id, uint32_t zero_prefix)
{
	uint64_t s = id;
	uint32_t i;

	if (!id) {
		memset(page, 0, 4096);
		return;
	}
	for (i = 0; i < 4096; i += 8) {
		s = mix64(s);
		memcpy(page + i, &s, 8);
	}
	memset(page, 0, zero_prefix);
	/* The last word names the content, so no two ids collide. */
	memcpy(page + 4096 - 8, &id, 8);
}

uint64_t image_group_size(const struct image_layout *l, uint64_t g)
{
	uint64_t span = l->group_size_max > l->group_size ?
			l->group_size_max - l->group_size + 1 : 1;

	return l->group_size + g % span;
}

uint64_t image_grouped(const struct image_layout *l)
{
	uint64_t g, n = 0;

	for (g = 0; g < l->groups; g++)
		n += image_group_size(l, g);
	return n;
}

int image_build(struct image *img, const struct image_layout *l)
{
	uint64_t n = l->zero + image_grouped(l) + l->unique, i, j, k = 0;
	uint64_t rng = l->seed | 1;

	memset(img, 0, sizeof(*img));
	img->pages = n;
	img->zero_prefix = l->zero_prefix;
	img->mem = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	img->content = calloc(n, sizeof(*img->content));
	if (img->mem == MAP_FAILED || !img->content) {
		if (img->mem == MAP_FAILED)
			img->mem = NULL;
		image_free(img);
		return -ENOMEM;
	}
	/* Content ids: groups 1..G, unique pages after them. */
	for (i = 0; i < l->zero; i++)
		img->content[k++] = 0;
	for (i = 0; i < l->groups; i++)
		for (j = 0; j < image_group_size(l, i); j++)
			img->content[k++] = 1 + i;
	for (i = 0; i < l->unique; i++)
		img->content[k++] = 1 + l->groups + i;
	for (i = n; i > 1; i--) {
		uint64_t t;

		rng = mix64(rng);
		j = rng % i;
		t = img->content[i - 1];
		img->content[i - 1] = img->content[j];
		img->content[j] = t;
	}
	for (i = 0; i < n; i++)
		image_fill(image_page(img, i), img->content[i], l->zero_prefix);
	return 0;
}

void image_rewrite(struct image *img, uint64_t i, uint64_t stamp)
{
	img->content[i] = (1ull << 63) | stamp;
	image_fill(image_page(img, i), img->content[i], img->zero_prefix);
}

void image_free(struct image *img)
{
	if (img->mem)
		munmap(img->mem, img->pages * 4096);
	free(img->content);
	memset(img, 0, sizeof(*img));
}
