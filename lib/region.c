// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <xxhash.h>

#include "region.h"

static int check_desc(const struct pone_region_desc *d)
{
	if (!d->pages || d->pages > (uint64_t)REGION_SLOTS * REGION_SLOT_PAGES ||
	    d->domain >= PONE_DOMAINS)
		return -EINVAL;
	if (d->resident_hashes &&
	    !(d->resident && d->unwritten_exact && d->merges_verified))
		return -EINVAL;
	if (d->nodes_apart && !d->nodes)
		return -EINVAL;
	switch (d->mode) {
	case PONE_READ_MAP:
		return d->map ? 0 : -EINVAL;
	case PONE_READ_PREAD:
		return d->fd >= 0 && d->offset >= 0 &&
		       d->offset % PONE_PAGE_SIZE == 0 ? 0 : -EINVAL;
	case PONE_READ_VM:
		return d->pid > 0 && d->addr % PONE_PAGE_SIZE == 0 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

void region_hash(const struct region *r, const struct pone_backend *be,
		 const void *const *pages, size_t n, uint64_t *out)
{
	size_t i;

	if (r->ps.checksum == be->checksum) {
		be->hash(be, pages, n, out);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = XXH64(pages[i], PONE_PAGE_SIZE, 0);
}

/* The hash of a page of zeros, and how the trees know the pages: by their
 * hash where the kernel verifies merges, unless it is CRC-32C, 32 bits
 * strong: at 2^28 pages (1 TiB) millions of pairs would collide, each a
 * page never merged. */
static int choose_keys(struct region *r, const struct pone_backend *be)
{
	static const unsigned char zero_page[PONE_PAGE_SIZE];
	const void *zp = zero_page;

	region_hash(r, be, &zp, 1, &r->zero_hash);
	if (!r->desc.merges_verified || r->ps.checksum == PONE_CHECKSUM_CRC32C)
		return 0;
	r->keying = SDTREE_BY_HASH;
	r->hash = calloc(r->desc.pages, sizeof(*r->hash));
	return r->hash ? 0 : -ENOMEM;
}

int region_new(const struct pone_region_desc *desc,
	       const struct pone_backend *be, struct region **out)
{
	struct region *r;
	int ret = check_desc(desc);

	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->desc = *desc;
	r->name = strdup(desc->name ? desc->name : "");
	r->desc.name = r->name;
	r->nslots = (uint32_t)((desc->pages + REGION_SLOT_PAGES - 1) >>
			       REGION_SLOT_SHIFT);
	r->domain_key = (uint64_t)desc->domain << (64 - SDTREE_HASH_BITS);
	_Static_assert(PONE_DOMAINS <= 1ull << (REGION_NODE_SHIFT -
						64 + SDTREE_HASH_BITS) &&
		       PONE_NODES < 1 << (64 - REGION_NODE_SHIFT),
		       "domain and node fit the key's top bits apart");
	ret = r->name ? pagestate_init(&r->ps, desc->pages,
				       desc->resident_hashes ?
				       PONE_CHECKSUM_XXH64 : be->checksum) :
			-ENOMEM;
	if (!ret)
		ret = choose_keys(r, be);
	if (!ret && desc->nodes_apart && !(r->node = calloc(desc->pages, 1)))
		ret = -ENOMEM;
	if (!ret && desc->nodes &&
	    !(r->stripe_node = calloc(region_stripes(r), 1)))
		ret = -ENOMEM;
	if (ret) {
		region_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void region_free(struct region *r)
{
	if (!r)
		return;
	pagestate_fini(&r->ps);
	free(r->hash);
	free(r->node);
	free(r->stripe_node);
	free(r->name);
	free(r);
}

bool region_get(struct region *r)
{
	__atomic_fetch_add(&r->readers, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&r->dead, __ATOMIC_SEQ_CST))
		return true;
	region_put(r);
	return false;
}

void region_put(struct region *r)
{
	__atomic_fetch_sub(&r->readers, 1, __ATOMIC_RELEASE);
}

void region_kill(struct region *r)
{
	__atomic_store_n(&r->dead, true, __ATOMIC_SEQ_CST);
	/* Reads in flight are a batch long: microseconds. */
	while (__atomic_load_n(&r->readers, __ATOMIC_ACQUIRE))
		sched_yield();
}

static long read_pread(const struct region *r, uint64_t first, unsigned int n,
		       void *buf)
{
	size_t want = (size_t)n * PONE_PAGE_SIZE, got = 0;
	off_t at = r->desc.offset + (off_t)(first * PONE_PAGE_SIZE);

	while (got < want) {
		ssize_t k = pread(r->desc.fd, (char *)buf + got, want - got,
				  at + (off_t)got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return got >= PONE_PAGE_SIZE ? (long)(got / PONE_PAGE_SIZE) : -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (long)(got / PONE_PAGE_SIZE);
}

static long read_vm(const struct region *r, uint64_t first, unsigned int n,
		    void *buf)
{
	struct iovec local = { buf, (size_t)n * PONE_PAGE_SIZE };
	struct iovec remote = {
		(void *)(uintptr_t)(r->desc.addr + first * PONE_PAGE_SIZE),
		(size_t)n * PONE_PAGE_SIZE
	};
	ssize_t k = process_vm_readv(r->desc.pid, &local, 1, &remote, 1, 0);

	if (k < 0)
		return -errno;
	return (long)((size_t)k / PONE_PAGE_SIZE);
}

long region_read(const struct region *r, uint64_t first, unsigned int n,
		 void *buf, const void **pages)
{
	long got;
	unsigned int i;

	if (first >= r->desc.pages)
		return 0;
	if (n > r->desc.pages - first)
		n = (unsigned int)(r->desc.pages - first);
	switch (r->desc.mode) {
	case PONE_READ_MAP:
		for (i = 0; i < n; i++)
			pages[i] = (const char *)r->desc.map +
				   (first + i) * PONE_PAGE_SIZE;
		return n;
	case PONE_READ_PREAD:
		got = read_pread(r, first, n, buf);
		break;
	default:
		got = read_vm(r, first, n, buf);
		break;
	}
	for (i = 0; got > 0 && i < (unsigned int)got; i++)
		pages[i] = (const char *)buf + (size_t)i * PONE_PAGE_SIZE;
	return got;
}
