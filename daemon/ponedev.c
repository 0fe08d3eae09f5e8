// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guests whose RAM is a /dev/pone region (pone.ko): the module frees zero
 * pages (DISCARD) and makes equal pages share one frame (MERGE), checking
 * each page itself at the point of no return; poned only proposes. Batches
 * go from the worker that found them, one ioctl for up to PONE_BATCH_MAX
 * pages. The module says which pages have a frame (a hole reads as zeros
 * and is not read) and, when writes are tracked, which were written since
 * it was last asked, with their hashes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <pone/uapi.h>

#include "guests.h"
#include "log.h"

static int info_of(int fd, struct pone_info *info)
{
	return ioctl(fd, PONE_IOC_INFO, info) ? -errno : 0;
}

/* The module's ABI must be ours. */
static int check_abi(int fd, struct failure *f)
{
	struct pone_info info;
	int ret = info_of(fd, &info);

	if (ret)
		return failure(f, GUESTS_PONE_MODULE, ret);
	if (info.abi_version != PONE_ABI_VERSION)
		return failure(f, GUESTS_PONE_ABI, -EPROTO);
	return 0;
}

static uint64_t offset_of(const struct guest *g, uint64_t index)
{
	return (uint64_t)g->ram.offset + index * PONE_PAGE_SIZE;
}

/* pone_region_desc.resident; ctx is the guest. */
static int resident(void *ctx, uint64_t first, unsigned int n,
		     uint64_t *mask, uint64_t *unwritten, uint64_t *hash)
{
	const struct guest *g = ctx;
	uint64_t written[PONE_RESIDENT_MAX / 64] = { 0 };
	struct pone_resident q = {
		.offset = offset_of(g, first), .bitmap = (uintptr_t)mask,
		.written = g->pone_track_writes ? (uintptr_t)written : 0,
		.hashes = g->pone_track_writes ? (uintptr_t)hash : 0,
		.pages = n,
	};
	unsigned int i;

	if (n > PONE_RESIDENT_MAX)
		return -EINVAL;
	if (ioctl(g->ram.fd, PONE_IOC_RESIDENT, &q))
		return -errno;
	for (i = 0; q.written && i < (n + 63) / 64; i++)
		unwritten[i] |= mask[i] & ~written[i];
	return 0;
}

/* pone_region_desc.nodes: where pone.ko put the frames. */
static int nodes(void *ctx, uint64_t first, unsigned int n, int16_t *node)
{
	const struct guest *g = ctx;
	uint64_t bits[PONE_RESIDENT_MAX / 64];
	struct pone_resident q = {
		.offset = offset_of(g, first), .bitmap = (uintptr_t)bits,
		.nodes = (uintptr_t)node, .pages = n,
	};

	if (n > PONE_RESIDENT_MAX)
		return -EINVAL;
	return ioctl(g->ram.fd, PONE_IOC_RESIDENT, &q) ? -errno : 0;
}

/* Errors of the whole call; per-entry results say the rest. */
static void batch_error(struct guest *g, const char *what, int err)
{
	if (__atomic_fetch_add(&g->recycle_errors, 1, __ATOMIC_RELAXED) == 0)
		log_warn("guest %s: /dev/pone %s failed: %s", g->name, what,
			 strerror(err));
}

/*
 * A MERGE or DISCARD entry refused because a frame has a memory error:
 * its data is lost and the guest gets SIGBUS there. Nothing to retry;
 * logged once a guest, counted always.
 */
static void poisoned(struct guest *g, const char *what)
{
	if (__atomic_fetch_add(&g->poisoned, 1, __ATOMIC_RELAXED) == 0)
		log_warn("guest %s: /dev/pone %s met a page with a memory "
			 "error", g->name, what);
}

/* No huge pages here: every zero page goes. */
static void discard(const struct recycle_pass *rp, struct guest *g,
		    const struct pone_page_ref *pages, size_t n)
{
	struct pone_discard_entry e[PONE_BATCH_MAX];
	struct pone_batch b = { .entries = (uintptr_t)e };
	size_t i;
	long done;

	(void)rp;
	while (n) {
		b.count = (uint32_t)(n < PONE_BATCH_MAX ? n : PONE_BATCH_MAX);
		for (i = 0; i < b.count; i++)
			e[i] = (struct pone_discard_entry){
				.offset = offset_of(g, pages[i].index) };
		done = ioctl(g->ram.fd, PONE_IOC_DISCARD, &b);
		if (done < 0) {
			batch_error(g, "DISCARD", errno);
			return;
		}
		for (i = 0; !(done & PONE_BATCH_UNREPORTED) &&
			    i < b.count; i++)
			if (e[i].result == PONE_POISONED)
				poisoned(g, "DISCARD");
		/* What was done, also when the results were lost. */
		done &= ~(long)PONE_BATCH_UNREPORTED;
		__atomic_add_fetch(&g->recycled_pages, (uint64_t)done,
				   __ATOMIC_RELAXED);
		pages += b.count;
		n -= b.count;
	}
}

/* The guest of a canonical page: the one of the entry before if it is the
 * same (a batch's canonical pages mostly lie in few guests), so the guest
 * list is locked once a run of them, not once a page. */
static struct guest *canonical_guest(struct guests *gs, uint32_t region,
				     struct guest *prev)
{
	if (prev && prev->region == region)
		return guest_hold(prev);
	return guests_get(gs, region);
}

/* Entries for the dups whose canonical is a /dev/pone guest; refs holds
 * the canonical guests, to be put by the caller. */
static size_t merge_entries(struct guests *gs, struct guest *g,
			    const struct pone_dup *dups, size_t n,
			    struct pone_merge_entry *e, size_t *which,
			    struct guest **refs)
{
	struct guest *prev = NULL;
	size_t i, k = 0;

	for (i = 0; i < n && k < PONE_BATCH_MAX; i++) {
		struct guest *c = canonical_guest(gs, dups[i].canonical.region,
						  prev);

		if (!c || c->ops != g->ops) {
			guest_put(c);
			continue;
		}
		refs[k] = prev = c;
		which[k] = i;
		e[k++] = (struct pone_merge_entry){
			.dst_offset = offset_of(g, dups[i].member.index),
			.src_offset = offset_of(c, dups[i].canonical.index),
			.src_fd = c->ram.fd,
		};
	}
	return k;
}

static size_t merge(struct guests *gs, struct guest *g,
		    const struct pone_dup *dups, size_t n)
{
	struct pone_engine *eng = gs->cfg.engine;
	struct pone_merge_entry e[PONE_BATCH_MAX];
	struct pone_dup done[PONE_BATCH_MAX];
	struct guest *refs[PONE_BATCH_MAX];
	size_t which[PONE_BATCH_MAX], i, k, ndone = 0, merged = 0;
	struct pone_batch b = { .entries = (uintptr_t)e };
	long ret = 0;
	bool lost;

	k = merge_entries(gs, g, dups, n, e, which, refs);
	b.count = (uint32_t)k;
	if (k)
		ret = ioctl(g->ram.fd, PONE_IOC_MERGE, &b);
	if (ret < 0) {
		batch_error(g, "MERGE", errno);
		k = 0;	/* nothing changed */
	}
	/* Results lost (the kernel could not write them back): each member
	 * is looked up again, and a merge already done answers SAME. */
	lost = ret > 0 && (ret & PONE_BATCH_UNREPORTED);
	for (i = 0; i < b.count; i++) {
		const struct pone_dup *d = &dups[which[i]];

		if (i < k && lost) {
			pone_engine_retry(eng, &d->member);
		} else if (i < k && (e[i].result == PONE_DONE ||
			      e[i].result == PONE_SAME)) {
			done[ndone++] = *d;
			merged += e[i].result == PONE_DONE;
		} else if (i < k && e[i].result == PONE_BUSY) {
			pone_engine_retry(eng, &d->member);
			__atomic_add_fetch(&g->merge_busy, 1, __ATOMIC_RELAXED);
		} else if (i < k && e[i].result == PONE_POISONED) {
			/* Not retried: the pages read as unreadable now. */
			poisoned(g, "MERGE");
		} else if (i < k && e[i].result == PONE_FULL) {
			/* The canonical page's frame has all the sharers
			 * the module allows: this page stands for the
			 * content from now on. */
			pone_engine_full(eng, d);
		} else if (i < k) {
			__atomic_add_fetch(&g->merge_changed, 1,
					   __ATOMIC_RELAXED);
		}
		/* CHANGED: the next pass sees the change itself. */
		guest_put(refs[i]);
	}
	if (ndone)
		pone_engine_merged(eng, done, ndone);
	if (lost)
		merged = (size_t)(ret & ~(long)PONE_BATCH_UNREPORTED);
	__atomic_add_fetch(&g->merged_pages, merged, __ATOMIC_RELAXED);
	return merged;
}

static int pone_open(struct guests *gs, struct guest *g,
		     struct pone_region_desc *d, struct failure *f)
{
	int ret = check_abi(g->ram.fd, f);

	if (ret)
		return ret;
	d->mode = PONE_READ_PREAD;
	d->resident = resident;
	d->resident_ctx = g;
	d->unwritten_exact = gs->cfg.track_pone;
	/* pone.ko compares every pair it merges, and hashes the pages it
	 * finds written. */
	d->merges_verified = true;
	d->resident_hashes = gs->cfg.track_pone;
	if (gs->cfg.numa) {
		d->nodes = nodes;
		d->nodes_ctx = g;
		d->nodes_apart = gs->cfg.nodes_apart;
	}
	g->pone_track_writes = gs->cfg.track_pone;
	return 0;
}

static void pone_close(struct guest *g)
{
	(void)g;
}

static json_t *counts_json(const struct guest *g, const struct pone_info *info)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "frames", (json_int_t)info->region.frames,
			 "shared", (json_int_t)info->region.shared,
			 "zero", (json_int_t)info->region.zero,
			 "merges", (json_int_t)info->region.merges,
			 "cow_breaks", (json_int_t)info->region.cow_breaks,
			 "discards", (json_int_t)info->region.discards,
			 "merge_changed", (json_int_t)__atomic_load_n(
				 &g->merge_changed, __ATOMIC_RELAXED),
			 "merge_busy", (json_int_t)__atomic_load_n(
				 &g->merge_busy, __ATOMIC_RELAXED),
			 "poisoned", (json_int_t)__atomic_load_n(
				 &g->poisoned, __ATOMIC_RELAXED));
}

/* The module's frames, not the process's page tables. */
static void usage(struct guest *g, struct guest_usage *u)
{
	struct pone_info info;

	*u = (struct guest_usage){ 0 };
	if (info_of(g->ram.fd, &info))
		return;
	u->resident = info.region.frames * PONE_PAGE_SIZE;
	u->saved = info.region.zero * PONE_PAGE_SIZE;
	u->frames_mapped = info.region.frames;
	u->frames_held = info.total.frames;
	u->detail = json_pack("{s:o, s:s}", "pone", counts_json(g, &info),
			      "zero_pages_to", "pone.ko");
}

const struct guest_ops guest_pone_ops = {
	.name = "pone",
	.open = pone_open,
	.close = pone_close,
	.recycle = discard,
	.merge = merge,
	.usage = usage,
};
