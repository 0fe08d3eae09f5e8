// SPDX-License-Identifier: GPL-2.0-only
/*
 * pone.ko: guest RAM whose page frames the module owns, so that equal pages
 * can share one frame copy-on-write and zero pages can be dropped, each
 * verified in the kernel at the point of no return.
 *
 * Every open of /dev/pone is one region. Its first shared mapping sets its
 * size; private mappings are refused. The region keeps its frames in an
 * xarray indexed by page offset. A slot is empty (a hole: it reads as the
 * region's zero frame, mapped read-only, and has no frame of its own) or
 * points to a pone_frame, which owns one page reference and counts the
 * slots that point to it (shares). One frame may back offsets of several
 * regions.
 *
 * Frames are ordinary order-0 pages, not in the page cache and not on the
 * LRU, mapped through vmf->page: every pte holds a page reference and a
 * mapcount (page_add_file_rmap), and GUP and KVM see normal pages. The
 * module finds the mappings of a frame by offset, in the region's own
 * address_space (its i_mmap tree, walked by unmap_mapping_pages, which
 * also runs the MMU notifiers that drop KVM's EPT entries); nothing else
 * walks these pages' rmap, as they are not on the LRU and page->mapping
 * holds no address_space. Frames are allocated movable
 * (GFP_HIGHUSER_MOVABLE) and offered to compaction through the non-LRU
 * movable page interface (movable_operations in page->mapping, as for
 * zsmalloc's and the balloon's pages): a frame knows its one slot until it
 * is first shared, and compaction can then have its content moved to
 * another page (pone_migrate), the slot keeping the frame. A frame that
 * has been shared knows none of its slots, and stays where it is until it
 * is freed. Frames are charged to the faulting task's memory cgroup
 * (__GFP_ACCOUNT; a migrated frame keeps its charge) and placed by its NUMA
 * policy. Holes map one zeroed page of the region's, its zero frame, with
 * vm_insert_page, which needs VM_MIXEDMAP set at mmap: the kernel's shared
 * zero page cannot serve, as since 6.11 it refuses it (vmf_insert_mixed)
 * in writable shared mappings. Each pte of a hole holds a reference and a
 * mapcount of the zero frame and counts in its process's RSS (file pages),
 * as the special pte of the kernel's zero page did not; one zero frame a
 * region keeps the references of many guests off one page. VM_MIXEDMAP
 * also makes fork copy the ptes rather than leave them to refault (QEMU
 * keeps guest RAM out of its children with MADV_DONTFORK).
 *
 * Copy-on-write: the mapping has page_mkwrite, so the core maps every page
 * read-only until it allows the write. A shared frame or the zero frame is
 * never mapped writable: a write to it gives the offset a frame of its
 * own, zaps the offset's mappings and retries the fault; a write to a frame
 * that no other slot shares maps it writable. VM_DONTEXPAND keeps mremap
 * from growing a mapping past the region, and, being VM_SPECIAL, keeps
 * mlock from putting the frames on LRU lists.
 *
 * Locking rules:
 *
 * - Offset locks: each region hashes offsets onto PONE_LOCKS mutexes. The
 *   lock of an offset is held to change its slot, to take a reference to
 *   the frame in its slot, and across the zap that follows a change, so a
 *   fault never maps a frame that has left the slot. MERGE holds the locks
 *   of both offsets, taken in address order, the same lock once. read(2)
 *   copies a frame out under its offset lock with page faults disabled
 *   (the user's buffer may map the region), so it never holds a frame
 *   reference that MERGE or DISCARD would see. There is no other lock on
 *   the fault, read, MERGE or DISCARD paths.
 * - Page locks of frames nest inside offset locks, two in address order.
 *   .fault returns its page locked and page_mkwrite locks it, so the core
 *   installs the writable or read-only pte under the page lock; MERGE,
 *   DISCARD and a copy-on-write that replaces a frame zap under the old
 *   frame's page lock, so no pte they did not see appears after their
 *   zap. MERGE and DISCARD first zap their batch's runs of offsets with no
 *   lock held (a TLB flush a run), and under the page lock zap again only
 *   a frame that is mapped (page_mapped): a fault since mapped it. Nothing
 *   takes an offset lock with a page lock held.
 * - Written marks (PONE_WRITTEN on a slot) are set under the offset lock
 *   before a pte of the offset becomes writable: by page_mkwrite, and by a
 *   write that gives the offset a frame, together with the slot's entry
 *   under the xarray's lock, so RESIDENT's snapshot never sees the one
 *   without the other. RESIDENT zaps the marked offsets of its snapshot,
 *   a run at a time, then under the offset and page locks zaps each again
 *   if a fault mapped it since and clears its mark unless the frame is
 *   still held where it could be written without a fault (a pin, or a
 *   reference for I/O), so the next write faults and marks again; the hash
 *   it gives is taken under both locks after that zap. A mark set with no
 *   write (a RESIDENT that could not report the marks it took sets them
 *   again) costs a read, never a write. A discard drops the mark with the
 *   frame.
 * - The present bitmap (a bit an offset, set while its slot holds a frame)
 *   changes with the slot under the xarray's lock, so RESIDENT copies its
 *   snapshot of which offsets have a frame rather than walking every slot.
 *   It is allocated when the first mapping sets the region's size, under
 *   size_lock, and published by the release of the size: every path that
 *   touches it checks its offset against the size read with acquire, or
 *   runs on a mapping, which only the first mmap's return made.
 * - Order: mmap_lock -> offset lock -> page lock -> i_mmap_rwsem -> pte
 *   lock; the xarray's lock is taken alone. MERGE and DISCARD copy their
 *   batch in and out with no lock held. Compaction holds page locks when
 *   it calls pone_migrate, which only tries an offset lock.
 * - Movable frames: a frame is offered to compaction (f->movable,
 *   __SetPageMovable) and the offer taken back (__ClearPageMovable) under
 *   its page lock, and offered only while f->region names its one slot:
 *   when it is allocated, by a fault that maps it, and by RESIDENT. The
 *   core takes page->mapping of the page page_mkwrite returns locked for
 *   an address_space (fault_dirty_shared_page, to throttle dirtying)
 *   before it unlocks it, so page_mkwrite takes the offer back: a frame is
 *   never offered while a fault makes it writable, though it may be once
 *   mapped writable (migration zaps it first). The MERGE that first shares
 *   a frame takes the offer back and forgets its slot (f->region = NULL)
 *   under both offset locks and both page locks, for good; the put that
 *   frees a frame takes it back under the page lock. Compaction calls
 *   back under the page lock and only for an offered page, so its
 *   callbacks never see a freed frame, nor a released region (a region
 *   puts its frames before it is freed), and none runs once the last
 *   region is gone: the module can unload.
 * - Migration (pone_migrate) runs with the frame's page and the new page
 *   locked by compaction. It tries the slot's offset lock (-EAGAIN if
 *   taken: compaction retries later), checks that the slot still holds
 *   the frame, zaps the offset, and moves the content only if its page
 *   count is the frame's reference and compaction's: no pte, pin, I/O or
 *   fault holds it. f->page changes only under the slot's offset lock and
 *   both page locks, so whoever reads f->page holds the offset lock of a
 *   slot that holds the frame, or knows that no slot holds it (the put
 *   after a slot changed) or that it has been shared (never migrated);
 *   the region's release takes each offset lock around its put for that.
 *   A fault, read(2), MERGE, DISCARD, COW break or RESIDENT of the offset
 *   waits for the offset lock while a migration holds it, and then finds
 *   the new page; one that holds it makes the migration fail, as does a
 *   fault between .fault and page_mkwrite, whose page reference the count
 *   shows; a pte of the old page is gone, so a write through it refaults,
 *   and page_mkwrite, finding f->page changed, has it refault (COW into
 *   the same frame).
 * - frame->shares is a refcount_t: slots of different offsets share a
 *   frame under different offset locks. It only rises under the lock of
 *   an offset that holds the frame, so a frame seen with one share under
 *   its slot's lock stays unshared until that lock is dropped; and it
 *   rises by a compare-and-exchange below max_page_sharing, so merges into
 *   a frame under the locks of different offsets that hold it never take
 *   it past the bound.
 * - A frame's content is stable while its slot's lock is held and, if it
 *   is not shared, its mappings are zapped and its page count shows that
 *   no one else holds it; a shared frame is mapped read-only everywhere and
 *   only a DMA pin could still write it.
 * - The region lives as long as its file, which every mapping holds; its
 *   size is written once under size_lock (smp_store_release), and read
 *   with smp_load_acquire where the present bitmap may follow, with
 *   READ_ONCE elsewhere.
 * - A frame is freed when its last share is put, and a share is put only
 *   once no slot points to the frame for it (but on the region's release,
 *   when no one can walk the region), so a frame seen in a slot under the
 *   xarray's lock outlives that hold of the lock: PONE_IOC_INFO walks a
 *   region's frames so. Not under RCU: frame structs are plain slab
 *   objects, not SLAB_TYPESAFE_BY_RCU, which would keep slub_debug from
 *   poisoning them. A frame used after its free is then caught as any slab
 *   object is: with slub_debug=FP (the VM tests boot with FZPU), a read
 *   finds poison in place of its page pointer and faults on it, a write is
 *   reported when the object is next allocated, and a second free fails
 *   the free checks; with KASAN, any of them at once.
 * - PONE_IOC_INFO counts a region's shared offsets by that walk, under the
 *   region's count_lock, and keeps the count while share_gen stays the
 *   same: every change of a frame's sharers bumps it, after the change
 *   (fully ordered atomics), wherever the region of the other sharers is.
 */
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/uio.h>
#include <linux/migrate.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/sysfs.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <linux/xxhash.h>

#include <pone/uapi.h>

/* On a slot whose offset was written since RESIDENT last asked. */
#define PONE_WRITTEN XA_MARK_1

#define PONE_LOCK_BITS 8
#define PONE_LOCKS BIT(PONE_LOCK_BITS)
/* Regions up to 1 TiB: far beyond a guest, far from index overflow. */
#define PONE_MAX_PAGES (1UL << (40 - PAGE_SHIFT))
/* Slots pone_walk_shared() looks at in one hold of the xarray's lock */
#define PONE_WALK_SLOTS 512

struct pone_frame {
	struct page *page;
	refcount_t shares;
	bool poisoned;		/* counted in pone_total.poisoned; page lock */
	bool movable;		/* offered to compaction: see the rules */
	/* Its one slot, until it is first shared; then NULL. */
	struct pone_region *region;
	pgoff_t index;
};

struct pone_region {
	struct address_space mapping;
	struct xarray frames;
	struct page *zero;	/* what holes map */
	unsigned long pages;
	unsigned long *present;	/* offsets with a frame: see the rules */
	struct mutex size_lock;
	atomic_long_t nframes;
	atomic_long_t merges;
	atomic_long_t cow_breaks;
	atomic_long_t discards;
	/* shared offsets as counted at share_gen counted_gen */
	struct mutex count_lock;
	long counted_gen;
	u64 counted_shared;
	/* offset locks, hashed by page index: see the locking rules */
	struct mutex locks[PONE_LOCKS];
};

static struct {
	atomic_long_t frames;
	atomic_long_t shared;
	atomic_long_t slots;
	atomic_long_t pages;
	atomic_long_t regions;
	atomic_long_t merges;
	atomic_long_t cow_breaks;
	atomic_long_t discards;
	atomic_long_t poisoned;
	atomic_long_t share_gen;
	atomic_long_t migrated;
	atomic_long_t unmovable;
} pone_total;

static struct kmem_cache *pone_frame_cache;

/*
 * Most slots one frame backs, as KSM's max_page_sharing: a frame's sharers
 * are what one bad page of memory takes down, and what a write to each of
 * them copies. A MERGE into a frame that has them answers PONE_FULL.
 */
static unsigned int max_page_sharing = 256;

static int pone_set_sharing(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 2, INT_MAX);
}

static const struct kernel_param_ops pone_sharing_ops = {
	.set = pone_set_sharing,
	.get = param_get_uint,
};

module_param_cb(max_page_sharing, &pone_sharing_ops, &max_page_sharing, 0644);
MODULE_PARM_DESC(max_page_sharing,
		 "Most offsets that share one frame (at least 2; 256)");
static const struct file_operations pone_fops;
/* xxh64 of a page of zeros, what RESIDENT gives an offset without a frame */
static u64 pone_zero_hash __ro_after_init;
/* None: frames are not page cache; generic code finds no NULL a_ops. */
static const struct address_space_operations pone_aops;
static const struct movable_operations pone_mops;

static struct mutex *pone_lock(struct pone_region *r, pgoff_t index)
{
	return &r->locks[hash_long(index, PONE_LOCK_BITS)];
}

static void pone_lock_two(struct mutex *a, struct mutex *b)
{
	if (a > b)
		swap(a, b);
	mutex_lock(a);
	if (b != a)
		mutex_lock_nested(b, SINGLE_DEPTH_NESTING);
}

static void pone_unlock_two(struct mutex *a, struct mutex *b)
{
	if (b != a)
		mutex_unlock(b);
	mutex_unlock(a);
}

static void pone_lock_pages(struct page *a, struct page *b)
{
	if (a > b)
		swap(a, b);
	lock_page(a);
	lock_page(b);
}

static void pone_zap(struct pone_region *r, pgoff_t index)
{
	unmap_mapping_pages(&r->mapping, index, 1, false);
}

/*
 * Offers a frame whose one slot is known to compaction, or takes the offer
 * back, under its page lock: see the locking rules.
 */
static void pone_movable_set(struct pone_frame *f)
{
	if (f->region && !f->movable) {
		__SetPageMovable(f->page, &pone_mops);
		f->movable = true;
	}
}

static void pone_movable_clear(struct pone_frame *f)
{
	if (f->movable) {
		__ClearPageMovable(f->page);
		f->movable = false;
	}
}

/*
 * A frame first shared, under its page lock: which slots hold it is not
 * kept, so it stays where it is until it is freed.
 */
static void pone_frame_unmovable(struct pone_frame *f)
{
	pone_movable_clear(f);
	if (f->region) {
		f->region = NULL;
		atomic_long_inc(&pone_total.unmovable);
	}
}

/*
 * Whether the frame in the slot of @index has a memory error. Frames are
 * off the LRU and page->mapping is NULL, so memory_failure() can only flag
 * them (PG_hwpoison) and leaves them mapped and in their slots: each path
 * checks the flag before it maps, reads or copies a frame. The frame then
 * stays in its slots, as the record that their data is lost (see "Memory
 * errors" in kernel/README.md), and the ptes of @index go, so that every
 * later access faults and gets SIGBUS. Under the offset and page locks.
 */
static bool pone_frame_poisoned(struct pone_region *r, pgoff_t index,
				struct pone_frame *f)
{
	if (!PageHWPoison(f->page))
		return false;
	if (page_mapped(f->page))
		pone_zap(r, index);
	if (!f->poisoned) {
		f->poisoned = true;
		atomic_long_inc(&pone_total.poisoned);
	}
	return true;
}

/*
 * One more slot shares @f, unless max_page_sharing already do: false. An
 * increment below a bound, which refcount_t has not, on its counter: the
 * frame is held by the caller's slot, so the count is never 0 here.
 */
static bool pone_frame_share(struct pone_frame *f)
{
	int old = refcount_read(&f->shares);

	do {
		if (old >= READ_ONCE(max_page_sharing))
			return false;
	} while (!atomic_try_cmpxchg(&f->shares.refs, &old, old + 1));
	if (old == 1)
		atomic_long_inc(&pone_total.shared);
	atomic_long_inc(&pone_total.share_gen);
	return true;
}

static void pone_frame_put(struct pone_frame *f)
{
	int old;

	if (!__refcount_dec_and_test(&f->shares, &old)) {
		if (old == 2)
			atomic_long_dec(&pone_total.shared);
		atomic_long_inc(&pone_total.share_gen);
		return;
	}
	lock_page(f->page);
	pone_movable_clear(f);
	set_page_private(f->page, 0);
	unlock_page(f->page);
	if (!f->region)
		atomic_long_dec(&pone_total.unmovable);
	put_page(f->page);
	kmem_cache_free(pone_frame_cache, f);
	atomic_long_dec(&pone_total.frames);
}

/*
 * A new frame for a write fault: a copy of @src, or zeros. The copy
 * survives a memory error in @src (copy_mc): that write gets SIGBUS. Its
 * one slot is known until it is shared, so it can be migrated: it is
 * movable.
 */
static vm_fault_t pone_frame_alloc(struct vm_fault *vmf, struct page *src,
				   struct pone_frame **fp)
{
	gfp_t gfp = GFP_HIGHUSER_MOVABLE | __GFP_ACCOUNT |
		    (src ? 0 : __GFP_ZERO);
	struct pone_frame *f;

	f = kmem_cache_alloc(pone_frame_cache, GFP_KERNEL);
	if (!f)
		return VM_FAULT_OOM;
	f->page = alloc_page_vma(gfp, vmf->vma, vmf->address);
	if (!f->page) {
		kmem_cache_free(pone_frame_cache, f);
		return VM_FAULT_OOM;
	}
	refcount_set(&f->shares, 1);
	f->poisoned = false;
	f->movable = false;
	f->region = vmf->vma->vm_file->private_data;
	f->index = vmf->pgoff;
	set_page_private(f->page, (unsigned long)f);
	atomic_long_inc(&pone_total.frames);
	*fp = f;
	if (src && copy_mc_user_highpage(f->page, src, vmf->address, vmf->vma)) {
		pone_frame_put(f);
		return VM_FAULT_HWPOISON;
	}
	lock_page(f->page);
	pone_movable_set(f);
	unlock_page(f->page);
	return 0;
}

/* Points the slot at @f (NULL: a hole); the caller holds its lock. */
static int pone_slot_set(struct pone_region *r, pgoff_t index,
			 struct pone_frame *old, struct pone_frame *f,
			 bool written)
{
	long delta = !!f - !!old;
	void *ret;

	/* Entry and mark at once: RESIDENT never sees one without the other. */
	xa_lock(&r->frames);
	ret = __xa_store(&r->frames, index, f, GFP_KERNEL_ACCOUNT);
	if (!xa_is_err(ret)) {
		if (written)
			__xa_set_mark(&r->frames, index, PONE_WRITTEN);
		if (f)
			__set_bit(index, r->present);
		else
			__clear_bit(index, r->present);
	}
	xa_unlock(&r->frames);
	if (xa_is_err(ret))
		return xa_err(ret);
	atomic_long_add(delta, &r->nframes);
	atomic_long_add(delta, &pone_total.slots);
	return 0;
}

/*
 * Gives the offset of a write fault a frame no other slot shares: a copy
 * of a shared frame, or zeros for a hole. Mappings of the old frame or of
 * the zero frame are zapped. The caller holds the offset lock.
 */
static vm_fault_t pone_make_private(struct pone_region *r,
				    struct vm_fault *vmf,
				    struct pone_frame **fp)
{
	struct pone_frame *old = xa_load(&r->frames, vmf->pgoff);
	struct pone_frame *f;
	vm_fault_t ret;

	if (old && refcount_read(&old->shares) == 1) {
		xa_set_mark(&r->frames, vmf->pgoff, PONE_WRITTEN);
		*fp = old;
		return 0;
	}
	ret = pone_frame_alloc(vmf, old ? old->page : NULL, &f);
	if (ret)
		return ret;
	/*
	 * A fault that found the old frame before we took the offset lock
	 * maps it under its page lock: with that held, the zap sees its pte.
	 * An old frame flagged with a memory error, before the copy or
	 * during it, fails the write.
	 */
	if (old) {
		lock_page(old->page);
		if (pone_frame_poisoned(r, vmf->pgoff, old))
			ret = VM_FAULT_HWPOISON;
	}
	if (!ret && pone_slot_set(r, vmf->pgoff, old, f, true))
		ret = VM_FAULT_OOM;
	if (ret) {
		if (old)
			unlock_page(old->page);
		pone_frame_put(f);
		return ret;
	}
	pone_zap(r, vmf->pgoff);
	if (old) {
		unlock_page(old->page);
		pone_frame_put(old);
		atomic_long_inc(&r->cow_breaks);
		atomic_long_inc(&pone_total.cow_breaks);
	}
	*fp = f;
	return 0;
}

static vm_fault_t pone_fault(struct vm_fault *vmf)
{
	struct pone_region *r = vmf->vma->vm_file->private_data;
	struct mutex *lock = pone_lock(r, vmf->pgoff);
	struct pone_frame *f;
	vm_fault_t ret = 0;

	/* Pairs with pone_size(): a size seen, its present bitmap is too. */
	if (vmf->pgoff >= smp_load_acquire(&r->pages))
		return VM_FAULT_SIGBUS;
	mutex_lock(lock);
	if (vmf->flags & FAULT_FLAG_WRITE)
		ret = pone_make_private(r, vmf, &f);
	else
		f = xa_load(&r->frames, vmf->pgoff);
	if (ret)
		goto out;
	if (!f) {
		/*
		 * Under the offset lock, so a write's zap cannot miss it. A
		 * racing fault may have mapped it already (-EBUSY).
		 */
		int err = vm_insert_page(vmf->vma, vmf->address, r->zero);

		ret = err && err != -EBUSY ? vmf_error(err) : VM_FAULT_NOPAGE;
		goto out;
	}
	lock_page(f->page);
	if (pone_frame_poisoned(r, vmf->pgoff, f)) {
		unlock_page(f->page);
		ret = VM_FAULT_HWPOISON;
		goto out;
	}
	get_page(f->page);
	pone_movable_set(f);
	vmf->page = f->page;
	ret = VM_FAULT_LOCKED;
out:
	mutex_unlock(lock);
	return ret;
}

/* A write to the zero frame or to a shared frame: copy, then refault. */
static vm_fault_t pone_break_cow(struct vm_fault *vmf)
{
	struct pone_region *r = vmf->vma->vm_file->private_data;
	struct mutex *lock = pone_lock(r, vmf->pgoff);
	struct pone_frame *f;
	vm_fault_t ret;

	mutex_lock(lock);
	ret = pone_make_private(r, vmf, &f);
	mutex_unlock(lock);
	return ret ? ret : VM_FAULT_NOPAGE;
}

static vm_fault_t pone_page_mkwrite(struct vm_fault *vmf)
{
	struct pone_region *r = vmf->vma->vm_file->private_data;
	struct mutex *lock = pone_lock(r, vmf->pgoff);
	struct pone_frame *f;
	bool own;

	mutex_lock(lock);
	f = xa_load(&r->frames, vmf->pgoff);
	own = f && f->page == vmf->page && refcount_read(&f->shares) == 1;
	if (own) {
		lock_page(vmf->page);
		if (pone_frame_poisoned(r, vmf->pgoff, f)) {
			unlock_page(vmf->page);
			mutex_unlock(lock);
			return VM_FAULT_HWPOISON;
		}
		xa_set_mark(&r->frames, vmf->pgoff, PONE_WRITTEN);
		/*
		 * The core takes page->mapping of the page we return locked
		 * for an address_space (fault_dirty_shared_page): it must not
		 * hold the movable_operations then.
		 */
		pone_movable_clear(f);
	}
	mutex_unlock(lock);
	return own ? VM_FAULT_LOCKED : pone_break_cow(vmf);
}

static const struct vm_operations_struct pone_vm_ops = {
	.fault = pone_fault,
	.page_mkwrite = pone_page_mkwrite,
};

/* The first mapping sets the size: the present bitmap first, then it. */
static int pone_size(struct pone_region *r, unsigned long end)
{
	int err = 0;

	mutex_lock(&r->size_lock);
	if (!r->pages) {
		r->present = kvcalloc(BITS_TO_LONGS(end), sizeof(long),
				      GFP_KERNEL_ACCOUNT);
		if (r->present) {
			/* The bitmap before the size: see the locking rules. */
			smp_store_release(&r->pages, end);
			atomic_long_add(end, &pone_total.pages);
		} else {
			err = -ENOMEM;
		}
	} else if (end > r->pages) {
		err = -EINVAL;
	}
	mutex_unlock(&r->size_lock);
	return err;
}

static int pone_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pone_region *r = file->private_data;
	unsigned long end = vma->vm_pgoff + vma_pages(vma);
	int err;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (end < vma->vm_pgoff || end > PONE_MAX_PAGES)
		return -EINVAL;
	err = pone_size(r, end);
	if (err)
		return err;
#ifdef PONE_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, VM_DONTEXPAND | VM_MIXEDMAP);
#else
	vma->vm_flags |= VM_DONTEXPAND | VM_MIXEDMAP;
#endif
	vma->vm_ops = &pone_vm_ops;
	return 0;
}

static int pone_open(struct inode *inode, struct file *file)
{
	struct pone_region *r = kvzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	int i;

	if (!r)
		return -ENOMEM;
	r->zero = alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT);
	if (!r->zero) {
		kvfree(r);
		return -ENOMEM;
	}
	address_space_init_once(&r->mapping);
	r->mapping.host = inode;
	r->mapping.a_ops = &pone_aops;
	xa_init(&r->frames);
	mutex_init(&r->size_lock);
	mutex_init(&r->count_lock);
	r->counted_gen = -1;
	for (i = 0; i < PONE_LOCKS; i++)
		mutex_init(&r->locks[i]);
	file->private_data = r;
	/* Each region zaps only its own mappings. */
	file->f_mapping = &r->mapping;
	/*
	 * A device gets no f_pos lock unless it asks: threads sharing the fd
	 * would race read(2) and lseek(2).
	 */
	file->f_mode |= FMODE_ATOMIC_POS;
	atomic_long_inc(&pone_total.regions);
	return 0;
}

/* The last fd and the last mapping are gone: nothing can fault any more. */
static int pone_release(struct inode *inode, struct file *file)
{
	struct pone_region *r = file->private_data;
	struct pone_frame *f;
	unsigned long index;

	xa_for_each(&r->frames, index, f) {
		/* Migration changes f->page under the offset lock. */
		mutex_lock(pone_lock(r, index));
		pone_frame_put(f);
		mutex_unlock(pone_lock(r, index));
		cond_resched();
	}
	xa_destroy(&r->frames);
	put_page(r->zero);
	kvfree(r->present);
	atomic_long_sub(atomic_long_read(&r->nframes), &pone_total.slots);
	atomic_long_sub(r->pages, &pone_total.pages);
	atomic_long_dec(&pone_total.regions);
	kvfree(r);
	return 0;
}

/* Up to @len bytes of @page from @off, surviving a memory error in it. */
static size_t pone_copy_mc(struct page *page, size_t off, size_t len,
			   struct iov_iter *to)
{
	void *addr = kmap_local_page(page);
	size_t n = _copy_mc_to_iter(addr + off, len, to);

	kunmap_local(addr);
	return n;
}

/*
 * Whether @len bytes of @page from @off read without a memory error: what
 * tells a short copy to the user caused by one from one caused by the
 * user's buffer (not faulted in, or unmapped since: NUMA balancing, say).
 * Only on that path, so a stack buffer a piece.
 */
static bool pone_page_readable(struct page *page, size_t off, size_t len)
{
	void *addr = kmap_local_page(page);
	bool ok = true;
	char buf[256];
	size_t n;

	for (; ok && len; off += n, len -= n) {
		n = min(len, sizeof(buf));
		ok = !copy_mc_to_kernel(buf, addr + off, n);
	}
	kunmap_local(addr);
	return ok;
}

/*
 * Copies up to @len bytes of the page at @index, from @off, under its
 * offset lock: a read never holds a frame where MERGE or DISCARD would find
 * it busy. Page faults are off meanwhile (the user's buffer could be a
 * mapping of this region, whose fault takes an offset lock): a short copy
 * means the buffer must be faulted in first. A frame with a memory error,
 * flagged or met by the copy, is not read: -EIO.
 */
static ssize_t pone_copy_page(struct pone_region *r, pgoff_t index,
			      size_t off, size_t len, struct iov_iter *to)
{
	struct mutex *lock = pone_lock(r, index);
	bool poisoned = false;
	struct pone_frame *f;
	ssize_t n = -EIO;

	mutex_lock(lock);
	f = xa_load(&r->frames, index);
	if (f && PageHWPoison(f->page)) {
		lock_page(f->page);
		poisoned = pone_frame_poisoned(r, index, f);
		unlock_page(f->page);
	}
	if (!poisoned) {
		pagefault_disable();
		n = f ? pone_copy_mc(f->page, off, len, to) :
			iov_iter_zero(len, to);
		pagefault_enable();
		if (f && n < len && !pone_page_readable(f->page, off + n,
							len - n))
			n = -EIO;
	}
	mutex_unlock(lock);
	return n;
}

/*
 * read(2) of the region: what its pages hold, a hole as zeros, nothing
 * allocated. poned reads guest RAM this way rather than through a mapping
 * of its own, so a merge or discard has only the guest's ptes to zap.
 */
static ssize_t pone_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct pone_region *r = iocb->ki_filp->private_data;
	loff_t size = (loff_t)READ_ONCE(r->pages) << PAGE_SHIFT;
	ssize_t done = 0;

	while (iov_iter_count(to) && iocb->ki_pos < size) {
		size_t off = offset_in_page(iocb->ki_pos);
		size_t len = min_t(size_t, PAGE_SIZE - off, iov_iter_count(to));
		ssize_t n = pone_copy_page(r, iocb->ki_pos >> PAGE_SHIFT, off,
					   len, to);

		if (n < 0)
			return done ? done : n;
		iocb->ki_pos += n;
		done += n;
		if (n < len &&
		    fault_in_iov_iter_writeable(to, len - n) == len - n)
			return done ? done : -EFAULT;
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	return done;
}

/*
 * As in a file of the region's size: SEEK_END is from its end, and no
 * offset lies past it (none but 0 before the first mapping sets the
 * size), so that read(2) from where lseek(2) put it reads that page.
 * SEEK_DATA and SEEK_HOLE see every page as data: RESIDENT says which
 * have a frame.
 */
static loff_t pone_llseek(struct file *file, loff_t offset, int whence)
{
	struct pone_region *r = file->private_data;
	loff_t size = (loff_t)READ_ONCE(r->pages) << PAGE_SHIFT;

	return generic_file_llseek_size(file, offset, whence, size, size);
}

static int pone_index(struct pone_region *r, u64 offset, pgoff_t *index)
{
	if (offset & ~PAGE_MASK)
		return -EINVAL;
	/* Pairs with pone_size(): a size seen, its present bitmap is too. */
	if (offset >> PAGE_SHIFT >= smp_load_acquire(&r->pages))
		return -ERANGE;
	*index = offset >> PAGE_SHIFT;
	return 0;
}

/*
 * Whether a DMA pin may hold the frame: a pin adds GUP_PIN_COUNTING_BIAS
 * references and every pte one, so past some 1023 ptes
 * folio_maybe_dma_pinned() would take the ptes for a pin; the references
 * beyond the frame's own and its mappings' are what count.
 */
static bool pone_frame_pinned(struct pone_frame *f)
{
	/*
	 * Its ptes, as page_mapcount() (6.1) and folio_mapcount() (6.10 on,
	 * out of line before) count them for an order-0 page: one is
	 * exported on each kernel, the field is the same on both.
	 */
	int mapcount = atomic_read(&f->page->_mapcount) + 1;

	return page_count(f->page) - mapcount - 1 >= GUP_PIN_COUNTING_BIAS;
}

/*
 * No frame is pinned, in flight, or mapped where it could be written: a
 * shared frame is mapped read-only, and only a pin could write it.
 */
static bool pone_frame_quiet(struct pone_frame *f)
{
	if (refcount_read(&f->shares) > 1)
		return !pone_frame_pinned(f);
	return page_count(f->page) == 1;
}

/*
 * Quiet but for compaction's reference, which a frame offered to it holds
 * while isolated: under the page lock, as here, the core sets the flag
 * after taking the reference and clears it before dropping it, so the flag
 * never stands for another's. Enough to clear a written mark, not to free
 * the frame (MERGE and DISCARD wait until compaction is done with it).
 */
static bool pone_frame_quiet_but_isolated(struct pone_frame *f)
{
	return refcount_read(&f->shares) == 1 && PageIsolated(f->page) &&
	       page_count(f->page) == 2;
}

static bool pone_pages_equal(struct page *a, struct page *b)
{
	void *pa = kmap_local_page(a);
	void *pb = kmap_local_page(b);
	bool equal = !memcmp(pa, pb, PAGE_SIZE);

	kunmap_local(pb);
	kunmap_local(pa);
	return equal;
}

static bool pone_page_zero(struct page *page)
{
	void *p = kmap_local_page(page);
	bool zero = !memchr_inv(p, 0, PAGE_SIZE);

	kunmap_local(p);
	return zero;
}

/* dst's slot to @fs, which one more slot then shares, if it may. */
static u32 pone_repoint(struct pone_region *d, pgoff_t di,
			struct pone_frame *fd, struct pone_frame *fs)
{
	if (!pone_frame_share(fs))
		return PONE_FULL;
	if (!pone_slot_set(d, di, fd, fs, false))
		return PONE_DONE;
	pone_frame_put(fs);	/* not its last: the src slot holds it */
	return PONE_BUSY;
}

/* Both offset locks held, frames distinct: compare and repoint dst. */
static u32 pone_merge_frames(struct pone_region *d, pgoff_t di,
			     struct pone_frame *fd, struct pone_region *s,
			     pgoff_t si, struct pone_frame *fs)
{
	u32 res;

	pone_lock_pages(fd->page, fs->page);
	if (page_mapped(fd->page))
		pone_zap(d, di);
	if (refcount_read(&fs->shares) == 1 && page_mapped(fs->page))
		pone_zap(s, si);
	/* Both asked: each zaps its offset's ptes if it has a memory error. */
	if (pone_frame_poisoned(d, di, fd) | pone_frame_poisoned(s, si, fs))
		res = PONE_POISONED;
	else if (!pone_frame_quiet(fd) || !pone_frame_quiet(fs))
		res = PONE_BUSY;
	else if (!pone_pages_equal(fd->page, fs->page))
		res = PONE_CHANGED;
	else
		res = pone_repoint(d, di, fd, fs);
	if (res == PONE_DONE)
		pone_frame_unmovable(fs);
	unlock_page(fs->page);
	unlock_page(fd->page);
	return res;
}

static u32 pone_merge_one(struct pone_region *d, pgoff_t di,
			  struct pone_region *s, pgoff_t si)
{
	struct mutex *ld = pone_lock(d, di), *ls = pone_lock(s, si);
	struct pone_frame *fd, *fs;
	u32 res;

	pone_lock_two(ld, ls);
	fd = xa_load(&d->frames, di);
	fs = xa_load(&s->frames, si);
	if (!fd || !fs)
		res = PONE_HOLE;
	else if (fd == fs)
		res = PONE_SAME;
	else
		res = pone_merge_frames(d, di, fd, s, si, fs);
	pone_unlock_two(ld, ls);
	if (res != PONE_DONE)
		return res;
	pone_frame_put(fd);
	atomic_long_inc(&d->merges);
	atomic_long_inc(&pone_total.merges);
	return res;
}

static u32 pone_discard_one(struct pone_region *r, pgoff_t index)
{
	struct mutex *lock = pone_lock(r, index);
	struct pone_frame *f;
	u32 res = PONE_HOLE;

	mutex_lock(lock);
	f = xa_load(&r->frames, index);
	if (f) {
		lock_page(f->page);
		if (page_mapped(f->page))
			pone_zap(r, index);
		if (pone_frame_poisoned(r, index, f))
			res = PONE_POISONED;
		else if (!pone_frame_quiet(f))
			res = PONE_BUSY;
		else if (!pone_page_zero(f->page))
			res = PONE_CHANGED;
		else if (pone_slot_set(r, index, f, NULL, false))
			res = PONE_BUSY;
		else
			res = PONE_DONE;
		unlock_page(f->page);
	}
	mutex_unlock(lock);
	if (res != PONE_DONE)
		return res;
	pone_frame_put(f);
	atomic_long_inc(&r->discards);
	atomic_long_inc(&pone_total.discards);
	return res;
}

static int pone_cmp_index(const void *a, const void *b)
{
	pgoff_t x = *(const pgoff_t *)a, y = *(const pgoff_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A batch as the kernel works on it: a copy of the user's entries, scratch
 * room to sort their offsets, and for MERGE the source regions' files, held
 * until the batch is done.
 */
struct pone_job {
	void __user *uentries;
	void *entries;
	size_t entry_size;
	u32 count;
	pgoff_t *sorted;
	struct file **files;
};

static void pone_job_free(struct pone_job *job)
{
	u32 i;

	for (i = 0; job->files && i < job->count; i++)
		if (job->files[i])
			fput(job->files[i]);
	kvfree(job->files);
	kvfree(job->sorted);
	kvfree(job->entries);
}

/* The flags and count of a request that takes up to @max items. */
static int pone_check_count(u32 flags, u32 count, u32 max)
{
	if (flags || !count)
		return -EINVAL;
	return count > max ? -E2BIG : 0;
}

static int pone_job_copy_in(struct pone_job *job, void __user *arg,
			    size_t entry_size, bool merge)
{
	struct pone_batch b;
	void *entries;
	int err;

	if (copy_from_user(&b, arg, sizeof(b)))
		return -EFAULT;
	err = pone_check_count(b.flags, b.count, PONE_BATCH_MAX);
	if (err)
		return err;
	job->uentries = u64_to_user_ptr(b.entries);
	entries = vmemdup_user(job->uentries, (size_t)b.count * entry_size);
	if (IS_ERR(entries))
		return PTR_ERR(entries);
	job->entries = entries;
	job->count = b.count;
	job->entry_size = entry_size;
	job->sorted = kvmalloc_array(b.count, sizeof(pgoff_t), GFP_KERNEL);
	if (merge)
		job->files = kvcalloc(b.count, sizeof(*job->files), GFP_KERNEL);
	if (!job->sorted || (merge && !job->files))
		return -ENOMEM;
	return 0;
}

/* The entries back to the user, with what results they have. */
static int pone_job_copy_out(struct pone_job *job)
{
	if (copy_to_user(job->uentries, job->entries,
			 (size_t)job->count * job->entry_size))
		return -EFAULT;
	return 0;
}

/* Sorts the batch's offsets; -EINVAL if one appears twice. */
static int pone_job_unique(struct pone_job *job)
{
	pgoff_t *idx = job->sorted;
	u32 i;

	sort(idx, job->count, sizeof(*idx), pone_cmp_index, NULL);
	for (i = 1; i < job->count; i++)
		if (idx[i] == idx[i - 1])
			return -EINVAL;
	return 0;
}

/* The region of a /dev/pone fd opened for writing. */
static int pone_src_file(int fd, struct file **filep)
{
	struct file *file = fget(fd);

	if (!file)
		return -EBADF;
	*filep = file;
	if (file->f_op != &pone_fops)
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	return 0;
}

/* Checks every entry before any is acted on: bad input changes nothing. */
static int pone_merge_check(struct pone_region *d, struct pone_job *job)
{
	struct pone_merge_entry *e = job->entries;
	struct pone_region *s;
	pgoff_t si;
	u32 i;
	int err;

	for (i = 0; i < job->count; i++) {
		err = pone_src_file(e[i].src_fd, &job->files[i]);
		if (err)
			return err;
		s = job->files[i]->private_data;
		err = pone_index(d, e[i].dst_offset, &job->sorted[i]);
		if (!err)
			err = pone_index(s, e[i].src_offset, &si);
		if (err)
			return err;
		if (s == d && job->sorted[i] == si)
			return -EINVAL;
	}
	return pone_job_unique(job);
}

static int pone_discard_check(struct pone_region *r, struct pone_job *job)
{
	struct pone_discard_entry *e = job->entries;
	u32 i;
	int err;

	for (i = 0; i < job->count; i++) {
		if (e[i].pad)
			return -EINVAL;
		err = pone_index(r, e[i].offset, &job->sorted[i]);
		if (err)
			return err;
	}
	return pone_job_unique(job);
}

/* Acts on entry i of a checked batch; stores its result and returns it. */
static u32 pone_merge_act(struct pone_region *d, struct pone_job *job, u32 i)
{
	struct pone_merge_entry *e = (struct pone_merge_entry *)job->entries + i;

	e->result = pone_merge_one(d, e->dst_offset >> PAGE_SHIFT,
				   job->files[i]->private_data,
				   e->src_offset >> PAGE_SHIFT);
	return e->result;
}

static u32 pone_discard_act(struct pone_region *r, struct pone_job *job, u32 i)
{
	struct pone_discard_entry *e =
		(struct pone_discard_entry *)job->entries + i;

	e->result = pone_discard_one(r, e->offset >> PAGE_SHIFT);
	return e->result;
}

struct pone_batch_ops {
	size_t entry_size;
	bool merge;
	int (*check)(struct pone_region *r, struct pone_job *job);
	u32 (*act)(struct pone_region *r, struct pone_job *job, u32 i);
};

static const struct pone_batch_ops pone_merge_ops = {
	.entry_size = sizeof(struct pone_merge_entry),
	.merge = true,
	.check = pone_merge_check,
	.act = pone_merge_act,
};

static const struct pone_batch_ops pone_discard_ops = {
	.entry_size = sizeof(struct pone_discard_entry),
	.check = pone_discard_check,
	.act = pone_discard_act,
};

/*
 * One zap a run of consecutive offsets of a checked batch, before its
 * entries are acted on: a TLB flush a run rather than a page. An entry
 * zaps its page again if a fault mapped it since, which it sees under the
 * page lock (page_mapped), as faults map frames under it.
 */
static void pone_zap_runs(struct pone_region *r, const pgoff_t *sorted,
			  u32 n)
{
	u32 i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && sorted[j] == sorted[j - 1] + 1; j++)
			;
		unmap_mapping_pages(&r->mapping, sorted[i], j - i, false);
	}
}

/*
 * MERGE or DISCARD: every entry checked, and written back as it came, so
 * that the results will go where the entries are; then each acted on in
 * turn. Results that cannot be written back then (the entries were
 * unmapped or write-protected since) do not undo what was done, so the
 * call does not fail: it says what was done, and that they are missing.
 */
static long pone_batch(struct pone_region *r, struct file *file,
		       void __user *arg, const struct pone_batch_ops *ops)
{
	struct pone_job job = {};
	long done = 0;
	u32 i;
	int err;

	BUILD_BUG_ON(PONE_BATCH_MAX >= PONE_BATCH_UNREPORTED);
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	err = pone_job_copy_in(&job, arg, ops->entry_size, ops->merge);
	if (!err)
		err = ops->check(r, &job);
	if (!err)
		err = pone_job_copy_out(&job);
	if (err)
		goto out;
	pone_zap_runs(r, job.sorted, job.count);
	for (i = 0; i < job.count; i++) {
		done += ops->act(r, &job, i) == PONE_DONE;
		cond_resched();
	}
	if (pone_job_copy_out(&job))
		done |= PONE_BATCH_UNREPORTED;
out:
	pone_job_free(&job);
	return err ? err : done;
}

/*
 * Offsets whose frame is shared: an O(region) walk, for statistics only,
 * under the xarray's lock (see the locking rules), dropped every
 * PONE_WALK_SLOTS slots so that the region's faults wait for no more.
 */
static u64 pone_walk_shared(struct pone_region *r)
{
	XA_STATE(xas, &r->frames, 0);
	struct pone_frame *f;
	unsigned int seen = 0;
	u64 n = 0;

	xas_lock(&xas);
	xas_for_each(&xas, f, ULONG_MAX) {
		n += refcount_read(&f->shares) > 1;
		if (++seen % PONE_WALK_SLOTS)
			continue;
		xas_pause(&xas);
		xas_unlock(&xas);
		cond_resched();
		xas_lock(&xas);
	}
	xas_unlock(&xas);
	return n;
}

/* The walk's count, again only if some frame's sharers changed since. */
static u64 pone_count_shared(struct pone_region *r)
{
	long gen;
	u64 n;

	mutex_lock(&r->count_lock);
	gen = atomic_long_read_acquire(&pone_total.share_gen);
	if (gen != r->counted_gen) {
		r->counted_shared = pone_walk_shared(r);
		r->counted_gen = gen;
	}
	n = r->counted_shared;
	mutex_unlock(&r->count_lock);
	return n;
}

/* Offsets of all regions that read as zeros, without a frame. */
static u64 pone_total_zero(void)
{
	u64 pages = atomic_long_read(&pone_total.pages);
	u64 slots = atomic_long_read(&pone_total.slots);

	return pages > slots ? pages - slots : 0;
}

static long pone_info(struct pone_region *r, void __user *arg)
{
	u64 pages = READ_ONCE(r->pages);
	u64 frames = atomic_long_read(&r->nframes);
	struct pone_info info = {
		.abi_version = PONE_ABI_VERSION,
		.page_size = PAGE_SIZE,
		.size = pages << PAGE_SHIFT,
		.regions = atomic_long_read(&pone_total.regions),
		.region = {
			.frames = frames,
			.shared = pone_count_shared(r),
			.zero = pages > frames ? pages - frames : 0,
			.merges = atomic_long_read(&r->merges),
			.cow_breaks = atomic_long_read(&r->cow_breaks),
			.discards = atomic_long_read(&r->discards),
		},
		.total = {
			.frames = atomic_long_read(&pone_total.frames),
			.shared = atomic_long_read(&pone_total.shared),
			.zero = pone_total_zero(),
			.merges = atomic_long_read(&pone_total.merges),
			.cow_breaks = atomic_long_read(&pone_total.cow_breaks),
			.discards = atomic_long_read(&pone_total.discards),
		},
	};

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* Room for PONE_RESIDENT_MAX bits of the present bitmap, and its shift. */
#define PONE_FRAME_BITS (PONE_RESIDENT_MAX + BITS_PER_LONG)

/*
 * Bit i of @frames (PONE_FRAME_BITS) says whether page @first + i has a
 * frame; bit i of @marked is set when it is also marked written: one
 * snapshot of both, under the xarray's lock, which the present bitmap
 * changes under with the slots. Only the marked slots are walked: in a
 * steady state, a few of each range.
 */
static void pone_slot_bits(struct pone_region *r, pgoff_t first, u32 pages,
			   unsigned long *frames, unsigned long *marked)
{
	unsigned int shift = first % BITS_PER_LONG;
	XA_STATE(xas, &r->frames, first);
	struct pone_frame *f;

	xas_lock(&xas);
	/* From the word of @first on, down by its bit's place in that word. */
	bitmap_shift_right(frames, r->present + BIT_WORD(first), shift,
			   pages + shift);
	xas_for_each_marked(&xas, f, first + pages - 1, PONE_WRITTEN)
		__set_bit(xas.xa_index - first, marked);
	xas_unlock(&xas);
}

static u64 pone_page_hash(struct page *page)
{
	void *addr = kmap_local_page(page);
	u64 hash = xxh64(addr, PAGE_SIZE, 0);

	kunmap_local(addr);
	return hash;
}

/*
 * Clears the written mark of @index and zaps it, so that the next write
 * faults and marks it again. Under the offset lock, which writes mark
 * under, and the page lock, which they map the frame under: no write goes
 * unseen. The caller zapped the offset before, with its neighbours: it is
 * zapped again only if a fault mapped it since (page_mapped). Zapped, the
 * frame can be written without a fault only through a reference taken
 * from a pte before: a DMA pin (maybe taken by GUP-fast while a fault had
 * the pte writable), or a FOLL_GET reference for writing, which O_DIRECT
 * I/O takes on 6.1 and kvm_vcpu_map() everywhere, and which only the page
 * count shows. A frame held so stays marked: an unshared one held beyond
 * its slot's reference, a shared one (mapped read-only) pinned. A frame
 * gone since it was seen marked has nothing to zap, and reads as zeros.
 * If @hash, sets it to the hash of the offset's content, taken after the
 * zap under both locks: what the next write, which faults, starts from.
 */
static void pone_take_written(struct pone_region *r, pgoff_t index, u64 *hash)
{
	struct mutex *lock = pone_lock(r, index);
	struct pone_frame *f;

	if (hash)
		*hash = pone_zero_hash;
	mutex_lock(lock);
	f = xa_load(&r->frames, index);
	if (f) {
		lock_page(f->page);
		if (xa_get_mark(&r->frames, index, PONE_WRITTEN)) {
			if (page_mapped(f->page))
				pone_zap(r, index);
			if (pone_frame_quiet(f) ||
			    pone_frame_quiet_but_isolated(f))
				xa_clear_mark(&r->frames, index, PONE_WRITTEN);
		}
		/* A frame with a memory error is not read: hash 0. */
		if (hash)
			*hash = pone_frame_poisoned(r, index, f) ? 0 :
				pone_page_hash(f->page);
		/* Offered again once written: see pone_page_mkwrite(). */
		pone_movable_set(f);
		unlock_page(f->page);
	}
	mutex_unlock(lock);
}

/* One zap a run of consecutive pages set in @bits: a TLB flush a run. */
static void pone_zap_marked(struct pone_region *r, pgoff_t first,
			    const unsigned long *bits, u32 pages)
{
	unsigned long start, end;

	for_each_set_bitrange(start, end, bits, pages)
		unmap_mapping_pages(&r->mapping, first + start, end - start,
				    false);
}

/* @pages bits of @bits to @user, as the __u64 words of the ABI. */
static int pone_bits_out(u64 user, const unsigned long *bits, u32 pages)
{
	u64 words[PONE_RESIDENT_MAX / 64];

	bitmap_to_arr64(words, bits, pages);
	if (copy_to_user(u64_to_user_ptr(user), words,
			 DIV_ROUND_UP(pages, 64) * sizeof(words[0])))
		return -EFAULT;
	return 0;
}

/*
 * The node of each frame of [@first, @first + @pages) to @user, as the
 * ABI's __s16s, NUMA_NO_NODE for a hole: a chunk at a time under the
 * xarray's lock, which keeps a frame seen in its slot.
 */
static int pone_nodes_out(struct pone_region *r, pgoff_t first, u32 pages,
			  u64 user)
{
	s16 __user *out = u64_to_user_ptr(user);
	s16 nodes[64];
	u32 done, i, n;

	for (done = 0; done < pages; done += n) {
		XA_STATE(xas, &r->frames, first + done);
		struct pone_frame *f;

		n = min_t(u32, pages - done, ARRAY_SIZE(nodes));
		for (i = 0; i < n; i++)
			nodes[i] = NUMA_NO_NODE;
		xas_lock(&xas);
		xas_for_each(&xas, f, first + done + n - 1)
			nodes[xas.xa_index - first - done] = page_to_nid(f->page);
		xas_unlock(&xas);
		if (copy_to_user(out + done, nodes, n * sizeof(nodes[0])))
			return -EFAULT;
	}
	return 0;
}

/*
 * The marks a call took but cannot report, its output made unwritable
 * since it checked it: set again, so that the next call reports them. A
 * mark too many costs poned a read; xa_set_mark() sets none on a slot
 * that lost its frame meanwhile.
 */
static void pone_mark_again(struct pone_region *r, pgoff_t first,
			    const unsigned long *written, u32 pages)
{
	unsigned long i;

	for_each_set_bit(i, written, pages)
		xa_set_mark(&r->frames, first + i, PONE_WRITTEN);
}

static long pone_resident(struct pone_region *r, void __user *arg)
{
	DECLARE_BITMAP(bits, PONE_FRAME_BITS) = {};
	DECLARE_BITMAP(written, PONE_RESIDENT_MAX) = {};
	struct pone_resident q;
	unsigned long i;
	pgoff_t first;
	int err;

	if (copy_from_user(&q, arg, sizeof(q)))
		return -EFAULT;
	err = pone_check_count(q.flags, q.pages, PONE_RESIDENT_MAX) ?:
	      pone_index(r, q.offset, &first);
	if (err)
		return err;
	if (q.pages > READ_ONCE(r->pages) - first)
		return -ERANGE;
	if (q.hashes && !q.written)
		return -EINVAL;
	/* Before any mark is taken, which a fault here would lose. */
	if (q.nodes) {
		err = pone_nodes_out(r, first, q.pages, q.nodes);
		if (err)
			return err;
	}
	/* What will be written out is writable, before any mark is taken. */
	if (q.written) {
		err = pone_bits_out(q.bitmap, bits, q.pages) ?:
		      pone_bits_out(q.written, written, q.pages);
		if (!err && q.hashes &&
		    clear_user(u64_to_user_ptr(q.hashes),
			       q.pages * sizeof(u64)))
			err = -EFAULT;
		if (err)
			return err;
	}
	pone_slot_bits(r, first, q.pages, bits, written);
	if (q.written) {
		u64 __user *hashes = u64_to_user_ptr(q.hashes);

		pone_zap_marked(r, first, written, q.pages);
		for_each_set_bit(i, written, q.pages) {
			u64 hash;

			pone_take_written(r, first + i, hashes ? &hash : NULL);
			/*
			 * Cleared before any mark was taken: only an
			 * munmap or mprotect since makes it fail.
			 */
			if (hashes && put_user(hash, hashes + i))
				err = -EFAULT;
		}
	}
	if (!err)
		err = pone_bits_out(q.bitmap, bits, q.pages);
	if (!err && q.written)
		err = pone_bits_out(q.written, written, q.pages);
	if (err && q.written)
		pone_mark_again(r, first, written, q.pages);
	return err;
}

static long pone_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pone_region *r = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case PONE_IOC_INFO:
		return pone_info(r, uarg);
	case PONE_IOC_MERGE:
		return pone_batch(r, file, uarg, &pone_merge_ops);
	case PONE_IOC_DISCARD:
		return pone_batch(r, file, uarg, &pone_discard_ops);
	case PONE_IOC_RESIDENT:
		return pone_resident(r, uarg);
	default:
		return -ENOTTY;
	}
}

/* Compaction isolates only frames offered to it: see the locking rules. */
static bool pone_isolate(struct page *page, isolate_mode_t mode)
{
	return true;
}

static void pone_putback(struct page *page)
{
}

/*
 * The frame's memory cgroup charge goes with its content: the kernel
 * exports no call that charges @dst, and both pages are locked, off every
 * page table and ours alone, so no statistic counts either meanwhile.
 */
static void pone_move_charge(struct page *dst, struct page *src)
{
#ifdef CONFIG_MEMCG
	dst->memcg_data = src->memcg_data;
	src->memcg_data = 0;
#endif
}

/*
 * Moves an unshared frame's content to @dst, both pages locked by the
 * caller: under its slot's offset lock, which can only be tried (offset
 * locks come first), with its mappings zapped and no reference on it but
 * its own and the caller's. Slots point to the frame, not to its page:
 * only f->page changes.
 */
static int pone_migrate(struct page *dst, struct page *src,
			enum migrate_mode mode)
{
	struct pone_frame *f = (struct pone_frame *)page_private(src);
	struct pone_region *r = f->region;
	struct mutex *lock = pone_lock(r, f->index);
	int err = -EAGAIN;

	/* Reading a page with a memory error would be a machine check */
	if (PageHWPoison(src))
		return -EBUSY;
	if (!mutex_trylock(lock))
		return -EAGAIN;
	/* It left its slot: the put that frees it takes the offer back. */
	if (xa_load(&r->frames, f->index) != f)
		goto out;
	if (page_mapped(src))
		pone_zap(r, f->index);
	if (page_mapped(src) || page_count(src) != 2)
		goto out;
	copy_highpage(dst, src);
	pone_move_charge(dst, src);
	get_page(dst);
	set_page_private(dst, (unsigned long)f);
	__SetPageMovable(dst, &pone_mops);
	f->page = dst;
	__ClearPageMovable(src);
	set_page_private(src, 0);
	put_page(src);
	atomic_long_inc(&pone_total.migrated);
	err = MIGRATEPAGE_SUCCESS;
out:
	mutex_unlock(lock);
	return err;
}

static const struct movable_operations pone_mops = {
	.isolate_page = pone_isolate,
	.migrate_page = pone_migrate,
	.putback_page = pone_putback,
};

static const struct file_operations pone_fops = {
	.owner = THIS_MODULE,
	.open = pone_open,
	.release = pone_release,
	.mmap = pone_mmap,
	.read_iter = pone_read_iter,
	.unlocked_ioctl = pone_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = pone_llseek,
};

/*
 * The totals, one file each in /sys/class/misc/pone/: PONE_IOC_INFO's, and
 * the frames compaction moved and those it cannot.
 */
#define PONE_TOTAL_ATTR(name)						\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n",					\
			  atomic_long_read(&pone_total.name));		\
}									\
static DEVICE_ATTR_RO(name)

PONE_TOTAL_ATTR(regions);
PONE_TOTAL_ATTR(frames);
PONE_TOTAL_ATTR(shared);
PONE_TOTAL_ATTR(merges);
PONE_TOTAL_ATTR(cow_breaks);
PONE_TOTAL_ATTR(discards);
PONE_TOTAL_ATTR(migrated);
PONE_TOTAL_ATTR(unmovable);
PONE_TOTAL_ATTR(poisoned);

static ssize_t zero_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n", pone_total_zero());
}
static DEVICE_ATTR_RO(zero);

/*
 * Offsets whose frame another offset holds too, beyond the first of each
 * frame: the frames merging saves, as KSM's pages_sharing.
 */
static ssize_t sharing_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	long slots = atomic_long_read(&pone_total.slots);
	long frames = atomic_long_read(&pone_total.frames);

	return sysfs_emit(buf, "%ld\n", slots > frames ? slots - frames : 0);
}
static DEVICE_ATTR_RO(sharing);

static struct attribute *pone_attrs[] = {
	&dev_attr_regions.attr,
	&dev_attr_frames.attr,
	&dev_attr_shared.attr,
	&dev_attr_zero.attr,
	&dev_attr_sharing.attr,
	&dev_attr_merges.attr,
	&dev_attr_cow_breaks.attr,
	&dev_attr_discards.attr,
	&dev_attr_migrated.attr,
	&dev_attr_unmovable.attr,
	&dev_attr_poisoned.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pone);

static struct miscdevice pone_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pone",
	.fops = &pone_fops,
	.groups = pone_groups,
	.mode = 0600,
};

static int __init pone_init(void)
{
	int err;

	pone_frame_cache = KMEM_CACHE(pone_frame, SLAB_ACCOUNT);
	if (!pone_frame_cache)
		return -ENOMEM;
	pone_zero_hash = pone_page_hash(ZERO_PAGE(0));
	err = misc_register(&pone_dev);
	if (err)
		kmem_cache_destroy(pone_frame_cache);
	return err;
}

static void __exit pone_exit(void)
{
	misc_deregister(&pone_dev);
	kmem_cache_destroy(pone_frame_cache);
}

module_init(pone_init);
module_exit(pone_exit);
MODULE_DESCRIPTION("PageONE: guest RAM with verified copy-on-write merging");
MODULE_LICENSE("GPL");
