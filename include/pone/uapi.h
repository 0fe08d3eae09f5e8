/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * The ioctl ABI of /dev/pone, shared by pone.ko and userspace.
 *
 * Every open of /dev/pone is one region of guest RAM; it takes its size
 * from its first shared mapping. read(2) gives what its pages hold, a hole
 * (a page never written, or discarded) as zeros, without allocating.
 * Offsets are byte offsets into a region, page aligned. Batches carry one
 * result a entry; see struct pone_batch for what the ioctl returns.
 */
#ifndef PONE_UAPI_H
#define PONE_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Raised on any incompatible change; userspace refuses other versions. */
#define PONE_ABI_VERSION 5

/* Most entries one MERGE or DISCARD call accepts. */
#define PONE_BATCH_MAX 512

/* Per-entry outcome of MERGE and DISCARD. */
enum pone_result {
	PONE_DONE = 0,		/* merged, or discarded */
	PONE_CHANGED = 1,	/* pages differ (merge), not zero (discard) */
	PONE_BUSY = 2,		/* a frame pinned or being faulted in: retry */
	PONE_HOLE = 3,		/* an offset has no frame: it reads as zeros */
	PONE_SAME = 4,		/* both offsets already share one frame */
	PONE_POISONED = 5,	/* a frame has a memory error: its data is
				 * lost, and its offset gives SIGBUS
				 */
	PONE_FULL = 6,		/* equal, but src's frame has as many sharers
				 * as it may (max_page_sharing): dst keeps
				 * its own, to be merged into in its place
				 */
};

/* Make dst share src's frame if, checked in the kernel, they are equal. */
struct pone_merge_entry {
	__u64 dst_offset;	/* in the region the ioctl is issued on */
	__u64 src_offset;	/* in the region of src_fd */
	__s32 src_fd;		/* a /dev/pone fd, possibly the same region */
	__u32 result;		/* out: enum pone_result */
};

/* Free the frame at offset if, checked in the kernel, it is all zeros. */
struct pone_discard_entry {
	__u64 offset;
	__u32 result;		/* out: enum pone_result */
	__u32 pad;		/* must be 0 */
};

/*
 * A MERGE or DISCARD batch. The kernel checks all of it before it acts on
 * any entry, and fails with a negative errno, having changed nothing, if
 * any of it is bad, including entries it cannot read or write back
 * (EFAULT). It then acts on each entry, writes each result back, and
 * returns how many entries were done (PONE_DONE), 0 .. count. Should the
 * entries stop being writable meanwhile (another thread unmapped or
 * write-protected them), what was done stays done, and the call returns
 * PONE_BATCH_UNREPORTED | the number done: results are missing, and the
 * result of each entry is to be taken as unknown.
 */
struct pone_batch {
	__u64 entries;		/* user pointer to count entries */
	__u32 count;		/* 1 .. PONE_BATCH_MAX */
	__u32 flags;		/* must be 0 */
};

/* Set in what MERGE or DISCARD returns when results could not be given. */
#define PONE_BATCH_UNREPORTED 0x10000

struct pone_counters {
	/* region: offsets with a frame; total: frames */
	__u64 frames;
	/* region: offsets whose frame other offsets share; total: frames
	 * that 2 or more offsets share
	 */
	__u64 shared;
	__u64 zero;		/* offsets that read as zeros without a frame */
	__u64 merges;		/* MERGE entries done */
	__u64 cow_breaks;	/* writes that copied a shared frame */
	__u64 discards;		/* DISCARD entries done */
};

struct pone_info {
	__u32 abi_version;	/* PONE_ABI_VERSION of the module */
	__u32 page_size;
	__u64 size;		/* bytes of this region; 0 until first mmap */
	__u64 regions;		/* regions open in total */
	struct pone_counters region;
	struct pone_counters total;
};

/* Most pages one RESIDENT call answers for. */
#define PONE_RESIDENT_MAX 512

/*
 * Which pages of a range have a frame (the others read as zeros) and, if
 * asked, which were written since a RESIDENT call last asked about them:
 * asking write-protects them again, so that no later write goes unseen,
 * and can give each written page's hash as of then, so that it need not
 * be read to be known.
 */
struct pone_resident {
	__u64 offset;		/* of the first page, page aligned */
	__u64 bitmap;		/* user pointer: bit i of word i / 64 set
				 * when page i has a frame
				 */
	__u64 written;		/* 0, or a user pointer like bitmap: bit i
				 * set when page i was written
				 */
	__u64 hashes;		/* 0, or with written a user pointer to
				 * pages __u64s: for each page i written,
				 * hashes[i] = xxh64 (seed 0) of its
				 * page_size bytes once write-protected
				 * again (a page held for DMA or I/O in
				 * flight stays marked: its hash is of the
				 * moment); the entries of other pages are
				 * set to 0, which says nothing of them
				 */
	__u32 pages;		/* 1 .. PONE_RESIDENT_MAX */
	__u32 flags;		/* must be 0 */
	__u64 nodes;		/* 0, or a user pointer to pages __s16s:
				 * nodes[i] = the NUMA node of page i's
				 * frame, -1 for a hole (since ABI 5)
				 */
};

#define PONE_IOC_MAGIC 0xb7
#define PONE_IOC_INFO _IOR(PONE_IOC_MAGIC, 0, struct pone_info)
#define PONE_IOC_MERGE _IOW(PONE_IOC_MAGIC, 1, struct pone_batch)
#define PONE_IOC_DISCARD _IOW(PONE_IOC_MAGIC, 2, struct pone_batch)
#define PONE_IOC_RESIDENT _IOW(PONE_IOC_MAGIC, 3, struct pone_resident)

#endif /* PONE_UAPI_H */
