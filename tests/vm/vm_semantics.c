// SPDX-License-Identifier: GPL-2.0-only
/*
 * pone.ko's contract, one behaviour at a time, each checked against the
 * pages' contents and the module's counters: zero reads, read(2) and
 * lseek(2), RESIDENT and the pages written (by O_DIRECT reads too),
 * merge, copy on write from either side, discard, refusal of changed
 * pages, merges across regions, every kind of bad input leaving everything
 * as it was, and batches whose entries cannot be written back.
 */
#include "vmtest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/loop.h>
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
/* Header only: the VM's test programs link statically. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#define PAGES 64

struct region {
	int fd;
	uint8_t *mem;
};

static struct region region_new(size_t pages)
{
	struct region r = { .fd = vm_open() };

	r.mem = vm_map(r.fd, pages);
	return r;
}

static void region_free(struct region r, size_t pages)
{
	CHECK(munmap(r.mem, pages * PAGE) == 0);
	CHECK(close(r.fd) == 0);
}

static uint8_t *pg(struct region r, size_t page)
{
	return r.mem + page * PAGE;
}

static void test_abi_and_size(void)
{
	int fd = vm_open();
	struct pone_info info = vm_info(fd);
	void *p;

	CHECK(info.size == 0);
	CHECK(info.region.frames == 0);
	/* Private mappings would copy behind the module's back. */
	CHECK(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED);
	p = vm_map(fd, 8);
	CHECK(vm_info(fd).size == 8 * PAGE);
	CHECK(vm_info(fd).region.zero == 8);
	/* The first mapping set the size: smaller fits, larger does not. */
	CHECK(mmap(NULL, 9 * PAGE, PROT_READ, MAP_SHARED, fd, 0) ==
	      MAP_FAILED);
	CHECK(munmap(p, 8 * PAGE) == 0);
	p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 6 * PAGE);
	CHECK(p != MAP_FAILED);
	CHECK(munmap(p, 2 * PAGE) == 0);
	CHECK(close(fd) == 0);
}

/* Reading a hole maps the zero page: no frame, no memory. */
static void test_zero_reads(void)
{
	const size_t pages = 8192;
	long before = vm_free_kib();
	struct region r = region_new(pages);
	size_t i;
	struct pone_info info;

	for (i = 0; i < pages; i++)
		CHECK(vm_page_is(pg(r, i), 0));
	info = vm_info(r.fd);
	CHECK(info.region.frames == 0);
	CHECK(info.region.zero == pages);
	/* 32 MiB read; allow 4 MiB of unrelated noise. */
	CHECK(before - vm_free_kib() < 4096);
	region_free(r, pages);
}

/*
 * read(2), the way poned reads guest RAM: what the pages hold, holes as
 * zeros without a frame, the shared content after a merge, zeros after a
 * discard, nothing past the region's end; unaligned reads too.
 */
static void test_read(void)
{
	static uint8_t buf[4 * PAGE];
	struct region r = region_new(PAGES);
	struct pone_info info;
	void *bad;

	memset(buf, 0xaa, sizeof(buf));
	CHECK(pread(r.fd, buf, 2 * PAGE, 0) == 2 * PAGE);
	CHECK(vm_page_is(buf, 0) && vm_page_is(buf + PAGE, 0));
	info = vm_info(r.fd);
	CHECK(info.region.frames == 0);

	vm_fill(pg(r, 1), 11);
	vm_fill(pg(r, 2), 12);
	vm_fill(pg(r, 3), 11);
	CHECK(pread(r.fd, buf, 4 * PAGE, 0) == 4 * PAGE);
	CHECK(vm_page_is(buf, 0) && vm_page_is(buf + PAGE, 11) &&
	      vm_page_is(buf + 2 * PAGE, 12) && vm_page_is(buf + 3 * PAGE, 11));
	/* Across a page boundary, from the middle of a page. */
	CHECK(pread(r.fd, buf, PAGE, PAGE + PAGE / 2) == PAGE);
	CHECK(buf[0] == 11 && buf[PAGE / 2 - 1] == 0 && buf[PAGE / 2] == 12);

	CHECK(vm_merge1(r.fd, 3, r.fd, 1) == PONE_DONE);
	CHECK(vm_discard1(r.fd, 2) == PONE_CHANGED);
	memset(pg(r, 2), 0, PAGE);
	CHECK(vm_discard1(r.fd, 2) == PONE_DONE);
	CHECK(pread(r.fd, buf, 3 * PAGE, PAGE) == 3 * PAGE);
	CHECK(vm_page_is(buf, 11) && vm_page_is(buf + PAGE, 0) &&
	      vm_page_is(buf + 2 * PAGE, 11));
	info = vm_info(r.fd);
	CHECK(info.region.frames == 2 && info.region.shared == 2);

	/* Into a mapping of the region itself, even of the page read: its
	 * write fault takes the offset lock the read takes. */
	CHECK(pread(r.fd, pg(r, 1), PAGE, PAGE) == PAGE);
	CHECK(pread(r.fd, pg(r, 9), PAGE, 3 * PAGE) == PAGE);
	CHECK(vm_page_is(pg(r, 1), 11) && vm_page_is(pg(r, 9), 11));

	/* The end: a short read, then none. */
	CHECK(pread(r.fd, buf, 4 * PAGE, (PAGES - 1) * PAGE) == PAGE);
	CHECK(pread(r.fd, buf, PAGE, PAGES * PAGE) == 0);
	CHECK(read(r.fd, buf, 2 * PAGE) == 2 * PAGE);
	CHECK(vm_page_is(buf, 0) && vm_page_is(buf + PAGE, 11));
	bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(bad != MAP_FAILED);
	CHECK_ERRNO(pread(r.fd, bad, PAGE, PAGE), EFAULT);
	CHECK(munmap(bad, PAGE) == 0);
	region_free(r, PAGES);
}

/*
 * lseek(2) as in a file of the region's size: read(2) then reads the page
 * it points to; SEEK_END counts from the region's end, and nothing lies
 * past it.
 */
static void test_lseek(void)
{
	static uint8_t buf[2 * PAGE];
	const off_t end = PAGES * PAGE;
	struct region r = { .fd = vm_open() };

	/* No size before the first mapping: only 0. */
	CHECK(lseek(r.fd, 0, SEEK_END) == 0);
	CHECK_ERRNO(lseek(r.fd, PAGE, SEEK_SET), EINVAL);
	r.mem = vm_map(r.fd, PAGES);
	vm_fill(pg(r, 5), 51);
	vm_fill(pg(r, 6), 52);
	vm_fill(pg(r, PAGES - 1), 53);

	CHECK(lseek(r.fd, 5 * PAGE, SEEK_SET) == 5 * PAGE);
	CHECK(read(r.fd, buf, PAGE) == PAGE && vm_page_is(buf, 51));
	CHECK(lseek(r.fd, 0, SEEK_CUR) == 6 * PAGE);
	CHECK(read(r.fd, buf, PAGE) == PAGE && vm_page_is(buf, 52));
	CHECK(lseek(r.fd, -2 * (off_t)PAGE, SEEK_CUR) == 5 * PAGE);
	CHECK(read(r.fd, buf, 2 * PAGE) == 2 * PAGE);
	CHECK(vm_page_is(buf, 51) && vm_page_is(buf + PAGE, 52));
	/* A hole reads as zeros from where the seek put it, too. */
	CHECK(lseek(r.fd, 7 * PAGE, SEEK_SET) == 7 * PAGE);
	CHECK(read(r.fd, buf, PAGE) == PAGE && vm_page_is(buf, 0));
	/* pread(2) neither uses nor moves the position. */
	CHECK(pread(r.fd, buf, PAGE, 5 * PAGE) == PAGE && vm_page_is(buf, 51));
	CHECK(lseek(r.fd, 0, SEEK_CUR) == 8 * PAGE);

	CHECK(lseek(r.fd, -(off_t)PAGE, SEEK_END) == end - (off_t)PAGE);
	CHECK(read(r.fd, buf, 2 * PAGE) == PAGE && vm_page_is(buf, 53));
	CHECK(read(r.fd, buf, PAGE) == 0);
	/* Every page is data, a hole or not: the only hole is the end. */
	CHECK(lseek(r.fd, 7 * PAGE, SEEK_DATA) == 7 * PAGE);
	CHECK(lseek(r.fd, 0, SEEK_HOLE) == end);
	CHECK_ERRNO(lseek(r.fd, end, SEEK_DATA), ENXIO);
	CHECK(lseek(r.fd, 0, SEEK_END) == end);
	/* Past either end: refused, and the position stays. */
	CHECK_ERRNO(lseek(r.fd, 1, SEEK_END), EINVAL);
	CHECK_ERRNO(lseek(r.fd, end + 1, SEEK_SET), EINVAL);
	CHECK_ERRNO(lseek(r.fd, -1, SEEK_SET), EINVAL);
	CHECK_ERRNO(lseek(r.fd, -end - 1, SEEK_CUR), EINVAL);
	CHECK(lseek(r.fd, 0, SEEK_CUR) == end);
	region_free(r, PAGES);
}

static int resident(int fd, uint64_t first, uint32_t pages, uint64_t *bits,
		    uint32_t flags)
{
	struct pone_resident q = { .offset = first * PAGE,
				   .bitmap = (uintptr_t)bits, .pages = pages,
				   .flags = flags };

	return ioctl(fd, PONE_IOC_RESIDENT, &q);
}

/*
 * RESIDENT of ranges that start anywhere in a word of the module's bitmap
 * and end anywhere in one of the user's: each bit as the page, and none
 * past the range in its last word.
 */
static void test_resident_ranges(void)
{
	const size_t pages = PONE_RESIDENT_MAX + 128;
	const size_t firsts[] = { 0, 1, 63, 64, 65, 100, 127 };
	const uint32_t counts[] = { 1, 63, 64, 65, 200, PONE_RESIDENT_MAX - 1,
				    PONE_RESIDENT_MAX };
	struct region r = region_new(pages);
	uint64_t bits[PONE_RESIDENT_MAX / 64];
	size_t f, c, i;

	for (i = 0; i < pages; i++)
		if (i % 3 == 0 || i % 64 == 63)
			vm_fill(pg(r, i), i + 1);
	for (f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++) {
		for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			size_t first = firsts[f];
			uint32_t n = counts[c];

			memset(bits, 0xa5, sizeof(bits));
			CHECK(resident(r.fd, first, n, bits, 0) == 0);
			for (i = 0; i < (n + 63) / 64 * 64; i++) {
				size_t p = first + i;
				bool set = bits[i / 64] >> (i % 64) & 1;

				CHECK(set == (i < n && (p % 3 == 0 ||
							p % 64 == 63)));
			}
		}
	}
	region_free(r, pages);
}

/* The pages of the region written since last asked, each given with the
 * xxh64 of what it holds now, and no other. */
static uint64_t written(struct region r)
{
	uint64_t bits, w = ~0ull, hashes[PAGES];
	struct pone_resident q = { .bitmap = (uintptr_t)&bits,
				   .written = (uintptr_t)&w,
				   .hashes = (uintptr_t)hashes,
				   .pages = PAGES };
	unsigned int i;

	memset(hashes, 0xff, sizeof(hashes));
	CHECK(ioctl(r.fd, PONE_IOC_RESIDENT, &q) == 0);
	CHECK((w & ~bits) == 0);
	for (i = 0; i < PAGES; i++)
		CHECK(hashes[i] == (w >> i & 1 ? XXH64(pg(r, i), PAGE, 0) : 0));
	return w;
}

/*
 * RESIDENT's written pages: every way a page gets written is seen once, a
 * write through a mapping that was writable when last asked too, and
 * reads, merges and discards are no writes.
 */
static void test_written(void)
{
	struct region r = region_new(PAGES);
	uint64_t bits, w;
	struct pone_resident q = { .bitmap = (uintptr_t)&bits,
				   .hashes = (uintptr_t)&w, .pages = 1 };

	CHECK(written(r) == 0);
	vm_fill(pg(r, 1), 1);				/* a hole */
	vm_fill(pg(r, 2), 1);
	/* Hashes without the written bitmap, or where they cannot be put:
	 * refused, and no mark taken. */
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_RESIDENT, &q), EINVAL);
	q.written = (uintptr_t)&w;
	q.hashes = 8;
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_RESIDENT, &q), EFAULT);
	CHECK(written(r) == (1ull << 1 | 1ull << 2));
	CHECK(written(r) == 0);
	vm_fill(pg(r, 2), 2);		/* its pte was writable when asked */
	CHECK(vm_page_is(pg(r, 1), 1) && vm_page_is(pg(r, 3), 0));
	CHECK(written(r) == 1ull << 2);
	vm_fill(pg(r, 2), 1);
	CHECK(written(r) == 1ull << 2);
	CHECK(vm_merge1(r.fd, 2, r.fd, 1) == PONE_DONE);
	CHECK(written(r) == 0);
	vm_fill(pg(r, 1), 3);				/* a COW break */
	CHECK(written(r) == 1ull << 1);
	memset(pg(r, 2), 0, PAGE);
	CHECK(written(r) == 1ull << 2);
	CHECK(vm_discard1(r.fd, 2) == PONE_DONE);
	CHECK(written(r) == 0);
	CHECK(vm_page_is(pg(r, 1), 3) && vm_page_is(pg(r, 2), 0));
	region_free(r, PAGES);
}

/* Whether the page at @p is mapped (its pte present), by pagemap. */
static bool pte_present(int pagemap, const void *p)
{
	uint64_t e;

	CHECK(pread(pagemap, &e, sizeof(e), (uintptr_t)p / PAGE * sizeof(e)) ==
	      sizeof(e));
	return e >> 63;
}

struct unmapper {
	const uint8_t *watched;
	void *out;
	size_t len;
	atomic_bool returned, protected;
};

/* Write-protects RESIDENT's output once the call has zapped the region. */
static void *protect_when_zapped(void *arg)
{
	struct unmapper *u = arg;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	CHECK(pagemap >= 0);
	while (!atomic_load(&u->returned)) {
		if (!pte_present(pagemap, u->watched)) {
			CHECK(mprotect(u->out, u->len, PROT_READ) == 0);
			atomic_store(&u->protected, true);
			break;
		}
	}
	CHECK(close(pagemap) == 0);
	return NULL;
}

/*
 * A RESIDENT call whose output another thread write-protects while it
 * takes the marks (once it sees the region's first page unmapped) fails
 * with EFAULT, and leaves every page marked: the next call reports them
 * all. The thread is often too late (the call takes a few milliseconds):
 * it is tried again, up to 200 times.
 */
static void test_written_unreported(void)
{
	const uint32_t n = PONE_RESIDENT_MAX;
	const size_t len = 2 * PAGE;	/* the two bitmaps, then n hashes */
	struct region r = region_new(n);
	uint64_t *out = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct unmapper u = { .watched = pg(r, 0), .out = out, .len = len };
	struct pone_resident q = { .bitmap = (uintptr_t)out,
				   .written = (uintptr_t)(out + n / 64),
				   .hashes = (uintptr_t)(out + PAGE / 8),
				   .pages = n };
	bool failed = false;
	int tries;
	size_t i;

	CHECK(out != MAP_FAILED);
	for (tries = 0; tries < 200 && !failed; tries++) {
		pthread_t thread;
		int ret;

		CHECK(mprotect(out, len, PROT_READ | PROT_WRITE) == 0);
		for (i = 0; i < n; i++)
			vm_fill(pg(r, i), tries + 1);
		atomic_store(&u.returned, false);
		atomic_store(&u.protected, false);
		CHECK(pthread_create(&thread, NULL, protect_when_zapped, &u) ==
		      0);
		ret = ioctl(r.fd, PONE_IOC_RESIDENT, &q);
		atomic_store(&u.returned, true);
		CHECK(pthread_join(thread, NULL) == 0);
		if (ret == 0)
			continue;
		CHECK(errno == EFAULT && atomic_load(&u.protected));
		failed = true;
	}
	CHECK(failed);
	printf("semantics: RESIDENT's output gone on try %d of 200\n", tries);
	CHECK(mprotect(out, len, PROT_READ | PROT_WRITE) == 0);
	CHECK(ioctl(r.fd, PONE_IOC_RESIDENT, &q) == 0);
	for (i = 0; i < n; i++)
		CHECK((out[n / 64 + i / 64] >> i % 64 & 1) &&
		      out[PAGE / 8 + i] == XXH64(pg(r, i), PAGE, 0));
	CHECK(munmap(out, len) == 0);
	region_free(r, n);
}

#define DIO_PAGES 64	/* a read, and the bits of a word */
#define DIO_BLOCKS 64	/* reads of distinct content on the device */
#define DIO_ROUNDS 1000

static uint64_t dio_stamp(size_t block, size_t page)
{
	return 1 + block * DIO_PAGES + page;
}

/*
 * A loop device on a file of DIO_BLOCKS reads, page p of read b filled
 * with dio_stamp(b, p), opened for O_DIRECT reads. The loop driver reads
 * the file into the request's pages from a worker: the I/O is in flight,
 * the pages held, a while after the reader's GUP took them.
 */
static int dio_device(int *dev)
{
	static uint8_t page[PAGE];
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int file = open("/tmp/pone-dio", O_RDWR | O_CREAT | O_TRUNC |
			O_CLOEXEC, 0600);
	char path[32];
	size_t b, p;
	int n, fd;

	CHECK(ctl >= 0 && file >= 0);
	for (b = 0; b < DIO_BLOCKS; b++)
		for (p = 0; p < DIO_PAGES; p++) {
			vm_fill(page, dio_stamp(b, p));
			CHECK(write(file, page, PAGE) == PAGE);
		}
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	CHECK(n >= 0);
	snprintf(path, sizeof(path), "/dev/loop%d", n);
	*dev = open(path, O_RDWR | O_CLOEXEC);
	CHECK(*dev >= 0 && ioctl(*dev, LOOP_SET_FD, file) == 0);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(close(file) == 0 && close(ctl) == 0);
	return fd;
}

struct dio_tracker {
	int fd;
	atomic_bool stop, started;
	uint64_t hash[DIO_PAGES];	/* of each page's last report */
	bool reported[DIO_PAGES];
};

/* RESIDENT of the region's first DIO_PAGES: each written page's hash. */
static void dio_report(struct dio_tracker *t)
{
	uint64_t bits, w, hashes[DIO_PAGES];
	struct pone_resident q = { .bitmap = (uintptr_t)&bits,
				   .written = (uintptr_t)&w,
				   .hashes = (uintptr_t)hashes,
				   .pages = DIO_PAGES };
	size_t i;

	CHECK(ioctl(t->fd, PONE_IOC_RESIDENT, &q) == 0);
	for (i = 0; i < DIO_PAGES; i++)
		if (w >> i & 1) {
			t->hash[i] = hashes[i];
			t->reported[i] = true;
		}
}

static void *dio_race(void *arg)
{
	struct dio_tracker *t = arg;

	do {
		dio_report(t);
		atomic_store(&t->started, true);
	} while (!atomic_load(&t->stop));
	return NULL;
}

/*
 * Writes that arrive without a fault: O_DIRECT reads from a loop device
 * into the region, while another thread asks RESIDENT for the written
 * pages over and over. After each read, the last report of each page
 * (the racing thread's, or one more call's) gives the hash of what the
 * read put there: a mark taken while the I/O held the page, the data
 * landing after, would leave the page reported with its old content and
 * never again. DIO_ROUNDS reads, each of content other than the last.
 */
static void test_written_by_dio(void)
{
	struct region r = region_new(DIO_PAGES);
	struct dio_tracker t = { .fd = r.fd };
	static uint8_t page[PAGE];
	int dev, dio = dio_device(&dev);
	unsigned int round, seen_in_flight = 0, lost = 0;
	size_t i;

	for (round = 0; round < DIO_ROUNDS; round++) {
		size_t block = round % DIO_BLOCKS;
		bool in_flight = false;
		pthread_t thread;

		memset(t.reported, 0, sizeof(t.reported));
		atomic_store(&t.stop, false);
		atomic_store(&t.started, false);
		CHECK(pthread_create(&thread, NULL, dio_race, &t) == 0);
		while (!atomic_load(&t.started))
			;
		CHECK(pread(dio, r.mem, DIO_PAGES * PAGE,
			    (off_t)(block * DIO_PAGES * PAGE)) ==
		      DIO_PAGES * PAGE);
		atomic_store(&t.stop, true);
		CHECK(pthread_join(thread, NULL) == 0);
		for (i = 0; i < DIO_PAGES; i++) {
			vm_fill(page, dio_stamp(block, i));
			in_flight |= t.reported[i] &&
				     t.hash[i] != XXH64(page, PAGE, 0);
		}
		seen_in_flight += in_flight;
		dio_report(&t);
		for (i = 0; i < DIO_PAGES; i++) {
			vm_fill(page, dio_stamp(block, i));
			CHECK(vm_page_is(pg(r, i), dio_stamp(block, i)));
			lost += !t.reported[i] ||
				t.hash[i] != XXH64(page, PAGE, 0);
		}
	}
	printf("semantics: O_DIRECT: %u reads, reported mid-read in %u, %u pages written unseen\n",
	       DIO_ROUNDS, seen_in_flight, lost);
	CHECK(lost == 0);
	CHECK(close(dio) == 0);
	CHECK(ioctl(dev, LOOP_CLR_FD) == 0 && close(dev) == 0);
	CHECK(unlink("/tmp/pone-dio") == 0);
	region_free(r, DIO_PAGES);
}

/* RESIDENT: the pages with a frame, not those that read as zeros; every
 * bad query refused. */
static void test_resident(void)
{
	struct pone_resident unaligned = { .offset = 1, .pages = 1 };
	struct region r = region_new(PAGES);
	uint64_t bits[2];

	memset(bits, 0xff, sizeof(bits));
	CHECK(resident(r.fd, 0, PAGES, bits, 0) == 0);
	CHECK(bits[0] == 0 && bits[1] == ~0ull);	/* one word written */
	vm_fill(pg(r, 0), 1);
	vm_fill(pg(r, 5), 2);
	vm_fill(pg(r, PAGES - 1), 2);
	CHECK(vm_page_is(pg(r, 7), 0));			/* the zero page */
	CHECK(resident(r.fd, 0, PAGES, bits, 0) == 0);
	CHECK(bits[0] == (1ull | 1ull << 5 | 1ull << (PAGES - 1)));
	/* A merge keeps both offsets' frame, a discard drops one. */
	CHECK(vm_merge1(r.fd, PAGES - 1, r.fd, 5) == PONE_DONE);
	memset(pg(r, 0), 0, PAGE);
	CHECK(vm_discard1(r.fd, 0) == PONE_DONE);
	CHECK(resident(r.fd, 5, PAGES - 5, bits, 0) == 0);
	CHECK(bits[0] == (1ull | 1ull << (PAGES - 6)));

	CHECK_ERRNO(resident(r.fd, 0, 0, bits, 0), EINVAL);
	CHECK_ERRNO(resident(r.fd, 0, 1, bits, 1), EINVAL);
	CHECK_ERRNO(resident(r.fd, 0, PONE_RESIDENT_MAX + 1, bits, 0), E2BIG);
	CHECK_ERRNO(resident(r.fd, PAGES, 1, bits, 0), ERANGE);
	CHECK_ERRNO(resident(r.fd, PAGES - 1, 2, bits, 0), ERANGE);
	CHECK_ERRNO(resident(r.fd, 0, 1, NULL, 0), EFAULT);
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_RESIDENT, (void *)8), EFAULT);
	unaligned.bitmap = (uintptr_t)bits;
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_RESIDENT, &unaligned), EINVAL);
	region_free(r, PAGES);
}

static void test_write_allocates(void)
{
	struct region r = region_new(PAGES);
	struct pone_info before = vm_info(r.fd), after;

	CHECK(vm_page_is(pg(r, 3), 0));
	vm_fill(pg(r, 3), 7);
	vm_fill(pg(r, 4), 8);
	after = vm_info(r.fd);
	CHECK(after.region.frames == 2);
	CHECK(after.region.zero == PAGES - 2);
	CHECK(after.total.frames == before.total.frames + 2);
	CHECK(vm_page_is(pg(r, 3), 7) && vm_page_is(pg(r, 4), 8));
	region_free(r, PAGES);
}

static void test_merge_and_cow(void)
{
	struct region r = region_new(PAGES);
	struct pone_info base, info;

	vm_fill(pg(r, 0), 42);
	vm_fill(pg(r, 1), 42);
	base = vm_info(r.fd);
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_DONE);
	info = vm_info(r.fd);
	CHECK(info.total.frames == base.total.frames - 1);
	CHECK(info.total.shared == base.total.shared + 1);
	CHECK(info.region.frames == 2 && info.region.shared == 2);
	CHECK(info.region.merges == 1);
	CHECK(vm_page_is(pg(r, 0), 42) && vm_page_is(pg(r, 1), 42));
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_SAME);

	/* A write to the merged page copies it; its twin is untouched. */
	vm_fill(pg(r, 1), 43);
	info = vm_info(r.fd);
	CHECK(info.region.cow_breaks == 1);
	CHECK(info.total.frames == base.total.frames);
	CHECK(info.region.shared == 0);
	CHECK(vm_page_is(pg(r, 0), 42) && vm_page_is(pg(r, 1), 43));

	/* Now unshared, the other page is written in place. */
	vm_fill(pg(r, 0), 44);
	info = vm_info(r.fd);
	CHECK(info.region.cow_breaks == 1);
	CHECK(info.total.frames == base.total.frames);
	CHECK(vm_page_is(pg(r, 0), 44) && vm_page_is(pg(r, 1), 43));

	/* The source side of a merge copies on write just the same. */
	vm_fill(pg(r, 1), 44);
	CHECK(vm_merge1(r.fd, 0, r.fd, 1) == PONE_DONE);
	vm_fill(pg(r, 1), 45);
	info = vm_info(r.fd);
	CHECK(info.region.cow_breaks == 2);
	CHECK(vm_page_is(pg(r, 0), 44) && vm_page_is(pg(r, 1), 45));
	region_free(r, PAGES);
}

/* Three offsets on one frame; a partial write sees the old bytes. */
static void test_merge_many(void)
{
	struct region r = region_new(PAGES);
	struct pone_merge_entry e[3];
	struct pone_info base, info;
	size_t i;

	for (i = 0; i < 4; i++)
		vm_fill(pg(r, i), 5);
	base = vm_info(r.fd);
	for (i = 0; i < 3; i++)
		e[i] = (struct pone_merge_entry){ .dst_offset = (i + 1) * PAGE,
						  .src_offset = 0,
						  .src_fd = r.fd };
	CHECK(vm_merge(r.fd, e, 3) == 3);
	for (i = 0; i < 3; i++)
		CHECK(e[i].result == PONE_DONE);
	info = vm_info(r.fd);
	CHECK(info.total.frames == base.total.frames - 3);
	CHECK(info.region.shared == 4);
	pg(r, 2)[100] = 1;
	CHECK(pg(r, 2)[96] == 5 && pg(r, 2)[100] == 1 && pg(r, 2)[104] == 5);
	for (i = 0; i < 4; i++)
		CHECK(i == 2 || vm_page_is(pg(r, i), 5));
	CHECK(vm_info(r.fd).region.shared == 3);
	region_free(r, PAGES);
}

/* Every page of r but skip into page 0 of src, in batches. */
static void merge_all_into(struct region r, size_t pages, size_t skip,
			   struct region src)
{
	struct pone_merge_entry e[PONE_BATCH_MAX];
	size_t i = 0, k;

	while (i < pages) {
		for (k = 0; k < PONE_BATCH_MAX && i < pages; i++)
			if (i != skip)
				e[k++] = (struct pone_merge_entry){
					.dst_offset = i * PAGE,
					.src_offset = 0, .src_fd = src.fd };
		CHECK(vm_merge(r.fd, e, (uint32_t)k) == (long)k);
		while (k--)
			CHECK(e[k].result == PONE_DONE);
	}
}

#define MAX_SHARING "/sys/module/pone/parameters/max_page_sharing"

static unsigned int max_sharing(void)
{
	FILE *f = fopen(MAX_SHARING, "r");
	unsigned int n = 0;

	CHECK(f && fscanf(f, "%u", &n) == 1 && fclose(f) == 0);
	return n;
}

/* The module parameter set to n: 0, or -errno. */
static int set_max_sharing(unsigned int n)
{
	int fd = open(MAX_SHARING, O_WRONLY | O_CLOEXEC);
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n), ret = 0;

	CHECK(fd >= 0);
	if (write(fd, buf, (size_t)len) != len)
		ret = -errno;
	CHECK(close(fd) == 0);
	return ret;
}

/*
 * A frame mapped at more offsets than a DMA pin counts references (1024)
 * is still told from a pinned one: merges into it go on, RESIDENT takes
 * the written mark of its offsets, and writes to them copy as before.
 * 1200 offsets of one content in two regions, max_page_sharing raised.
 */
static void test_merge_past_pin_bias(void)
{
	const size_t n = 600;
	struct region a = region_new(n), b = region_new(n);
	unsigned int max = max_sharing();
	volatile uint8_t sum = 0;
	size_t i;

	CHECK(set_max_sharing(2 * n + 1) == 0);

	for (i = 0; i < n; i++) {
		vm_fill(pg(a, i), 91);
		vm_fill(pg(b, i), 91);
	}
	/* The fills' marks taken; a's first page written again. */
	written(a);
	vm_fill(pg(a, 0), 91);
	merge_all_into(a, n, 0, a);
	merge_all_into(b, n, n, a);
	/* Each offset read: a pte, and a page reference, each. */
	for (i = 0; i < n; i++)
		sum += pg(a, i)[0] + pg(b, i)[0];
	CHECK(vm_info(a.fd).region.shared == n);
	/* a's first page, now shared, was written before the merges and
	 * not since: its mark goes at the first RESIDENT. */
	CHECK(written(a) == 1);
	CHECK(written(a) == 0);
	vm_fill(pg(b, 7), 91);		/* a frame of its own again */
	CHECK(vm_merge1(b.fd, 7, a.fd, 0) == PONE_DONE);
	vm_fill(pg(a, 3), 92);
	for (i = 0; i < n; i++)
		CHECK(vm_page_is(pg(a, i), i == 3 ? 92 : 91) &&
		      vm_page_is(pg(b, i), 91));
	CHECK(vm_info(b.fd).region.shared == n);
	(void)sum;
	region_free(a, n);
	region_free(b, n);
	CHECK(set_max_sharing(max) == 0);
}

/*
 * max_page_sharing, at its default (256): 1200 offsets of one content in
 * three regions, each merged into a canonical offset as poned does, the
 * offset whose merge finds the frame full (PONE_FULL) becoming the
 * canonical one, end up in ceil(1200 / 256) = 5 frames, 4 merges FULL;
 * every page keeps its content, and a write still copies. Lowered at run
 * time, it holds for the next merge; below 2, it is refused.
 */
static void test_sharing_cap(void)
{
	const size_t n = 400, all = 3 * n;
	struct region r[3] = { region_new(n), region_new(n), region_new(n) };
	size_t c = 0, i, full = 0;
	struct pone_info before, after;

	CHECK(max_sharing() == 256);
	before = vm_info(r[0].fd);
	for (i = 0; i < all; i++)
		vm_fill(pg(r[i / n], i % n), 93);
	for (i = 1; i < all; i++) {
		int res = vm_merge1(r[i / n].fd, i % n, r[c / n].fd, c % n);

		CHECK(res == PONE_DONE || res == PONE_FULL);
		if (res == PONE_FULL) {
			CHECK(i - c == 256);
			c = i;
			full++;
		}
	}
	after = vm_info(r[0].fd);
	CHECK(full == 4);
	CHECK(after.total.frames - before.total.frames == (all + 255) / 256);
	CHECK(after.total.shared - before.total.shared == (all + 255) / 256);
	CHECK(after.total.merges - before.total.merges == all - 5);
	for (i = 0; i < all; i++)
		CHECK(vm_page_is(pg(r[i / n], i % n), 93));
	/* A frame of 256 sharers less one: full once the bound is lower. */
	vm_fill(pg(r[0], 1), 94);
	vm_fill(pg(r[0], 1), 93);
	CHECK(set_max_sharing(255) == 0);
	CHECK(vm_merge1(r[0].fd, 1, r[0].fd, 0) == PONE_FULL);
	CHECK(set_max_sharing(256) == 0);
	CHECK(vm_merge1(r[0].fd, 1, r[0].fd, 0) == PONE_DONE);
	CHECK(set_max_sharing(1) == -EINVAL && set_max_sharing(0) == -EINVAL);
	CHECK(max_sharing() == 256);
	vm_fill(pg(r[2], 5), 95);
	for (i = 0; i < all; i++)
		CHECK(vm_page_is(pg(r[i / n], i % n),
				 i == 2 * n + 5 ? 95 : 93));
	CHECK(vm_info(r[0].fd).total.frames - before.total.frames ==
	      (all + 255) / 256 + 1);
	for (i = 0; i < 3; i++)
		region_free(r[i], n);
}

static void test_refuses_changed(void)
{
	struct region r = region_new(PAGES);
	struct pone_info base, info;

	vm_fill(pg(r, 0), 1);
	vm_fill(pg(r, 1), 1);
	pg(r, 1)[PAGE - 1] = 9;
	base = vm_info(r.fd);
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_CHANGED);
	CHECK(vm_merge1(r.fd, 2, r.fd, 0) == PONE_HOLE);
	CHECK(vm_merge1(r.fd, 0, r.fd, 2) == PONE_HOLE);
	info = vm_info(r.fd);
	CHECK(info.total.frames == base.total.frames);
	CHECK(info.region.merges == 0 && info.region.shared == 0);
	CHECK(vm_page_is(pg(r, 0), 1));
	CHECK(pg(r, 1)[PAGE - 1] == 9 && pg(r, 1)[0] == 1);
	region_free(r, PAGES);
}

static void test_discard(void)
{
	const size_t pages = 4096;
	struct region r = region_new(pages);
	long free0, free1;
	size_t i;
	struct pone_info info;
	struct pone_discard_entry e[PONE_BATCH_MAX];

	for (i = 0; i < pages; i++)
		vm_fill(pg(r, i), i & 1);
	free0 = vm_free_kib();
	CHECK(vm_info(r.fd).region.frames == pages);
	for (i = 0; i < pages; i += PONE_BATCH_MAX) {
		size_t j;

		for (j = 0; j < PONE_BATCH_MAX; j++)
			e[j] = (struct pone_discard_entry){
				.offset = (i + j) * PAGE };
		CHECK(vm_discard(r.fd, e, PONE_BATCH_MAX) ==
		      PONE_BATCH_MAX / 2);
		for (j = 0; j < PONE_BATCH_MAX; j++)
			CHECK(e[j].result ==
			      ((i + j) & 1 ? PONE_CHANGED : PONE_DONE));
	}
	info = vm_info(r.fd);
	CHECK(info.region.frames == pages / 2);
	CHECK(info.region.zero == pages / 2);
	CHECK(info.region.discards == pages / 2);
	/* 8 MiB of frames went back to the system. */
	free1 = vm_free_kib();
	CHECK(free1 - free0 > 6 * 1024);
	for (i = 0; i < pages; i++)
		CHECK(vm_page_is(pg(r, i), i & 1));
	/* Reading them back allocated nothing. */
	CHECK(vm_info(r.fd).region.frames == pages / 2);
	CHECK(vm_discard1(r.fd, 0) == PONE_HOLE);
	/* A discarded page can be written again. */
	vm_fill(pg(r, 0), 3);
	CHECK(vm_page_is(pg(r, 0), 3));
	CHECK(vm_info(r.fd).region.frames == pages / 2 + 1);
	region_free(r, pages);
}

/* A shared zero frame is discarded for one offset only. */
static void test_discard_shared(void)
{
	struct region r = region_new(PAGES);

	vm_fill(pg(r, 0), 0);
	vm_fill(pg(r, 1), 0);
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_DONE);
	CHECK(vm_discard1(r.fd, 1) == PONE_DONE);
	CHECK(vm_info(r.fd).region.frames == 1);
	CHECK(vm_info(r.fd).region.shared == 0);
	CHECK(vm_page_is(pg(r, 0), 0) && vm_page_is(pg(r, 1), 0));
	region_free(r, PAGES);
}

/* Two mappings of one region see each other's writes and every remap. */
static void test_two_mappings(void)
{
	struct region r = region_new(PAGES);
	uint8_t *m2 = vm_map(r.fd, PAGES);

	vm_fill(pg(r, 0), 11);
	CHECK(vm_page_is(m2, 11));
	vm_fill(m2 + PAGE, 11);
	CHECK(vm_page_is(pg(r, 1), 11));
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_DONE);
	vm_fill(m2 + PAGE, 12);
	CHECK(vm_page_is(pg(r, 1), 12) && vm_page_is(pg(r, 0), 11));
	CHECK(vm_page_is(m2, 11));
	vm_fill(pg(r, 1), 0);
	CHECK(vm_discard1(r.fd, 1) == PONE_DONE);
	CHECK(vm_page_is(m2 + PAGE, 0));
	vm_fill(pg(r, 1), 13);
	CHECK(vm_page_is(m2 + PAGE, 13));
	CHECK(munmap(m2, PAGES * PAGE) == 0);
	region_free(r, PAGES);
}

/* A forked child shares the mapping, as a shared mapping must. */
static void test_fork(void)
{
	struct region r = region_new(PAGES);
	int status;
	pid_t pid;

	vm_fill(pg(r, 0), 21);
	vm_fill(pg(r, 1), 21);
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_DONE);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		vm_fill(pg(r, 1), 22);
		_exit(!vm_page_is(pg(r, 0), 21));
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(vm_page_is(pg(r, 1), 22) && vm_page_is(pg(r, 0), 21));
	region_free(r, PAGES);
}

static void test_cross_region(void)
{
	struct region a = region_new(PAGES), b = region_new(PAGES);
	struct pone_info base, info;

	vm_fill(pg(a, 5), 77);
	vm_fill(pg(b, 9), 77);
	vm_fill(pg(b, 10), 77);
	base = vm_info(b.fd);
	CHECK(vm_merge1(b.fd, 9, a.fd, 5) == PONE_DONE);
	CHECK(vm_merge1(b.fd, 10, a.fd, 5) == PONE_DONE);
	info = vm_info(b.fd);
	CHECK(info.total.frames == base.total.frames - 2);
	CHECK(info.region.shared == 2);
	CHECK(vm_info(a.fd).region.shared == 1);
	CHECK(info.region.merges == 2 && vm_info(a.fd).region.merges == 0);

	/* Writes on either side copy; the others keep the old content. The
	 * counts of shared offsets, which INFO keeps while no frame changes
	 * sharers, follow changes made through either region. */
	vm_fill(pg(a, 5), 78);
	CHECK(vm_page_is(pg(b, 9), 77) && vm_page_is(pg(b, 10), 77));
	CHECK(vm_info(a.fd).region.shared == 0);
	CHECK(vm_info(b.fd).region.shared == 2);
	vm_fill(pg(b, 9), 79);
	CHECK(vm_page_is(pg(a, 5), 78) && vm_page_is(pg(b, 10), 77));
	CHECK(vm_info(a.fd).total.frames == base.total.frames);
	CHECK(vm_info(b.fd).region.shared == 0);

	/* The source region goes; what b shares with it stays. */
	CHECK(vm_merge1(b.fd, 9, a.fd, 5) == PONE_CHANGED);
	vm_fill(pg(b, 9), 78);
	CHECK(vm_merge1(b.fd, 9, a.fd, 5) == PONE_DONE);
	region_free(a, PAGES);
	CHECK(vm_page_is(pg(b, 9), 78) && vm_page_is(pg(b, 10), 77));
	info = vm_info(b.fd);
	CHECK(info.region.frames == 2 && info.region.shared == 0);
	region_free(b, PAGES);
}

/* Every bad batch fails whole: its valid first entry is not merged. */
static void check_bad_merge(int fd, struct pone_merge_entry bad, int err)
{
	struct pone_merge_entry e[2] = {
		{ .dst_offset = PAGE, .src_offset = 0, .src_fd = fd },
		bad,
	};
	struct pone_info before = vm_info(fd);

	CHECK_ERRNO(vm_merge(fd, e, 2), err);
	CHECK(vm_info(fd).region.merges == before.region.merges);
	CHECK(vm_info(fd).total.frames == before.total.frames);
}

static void check_bad_discard(int fd, struct pone_discard_entry bad, int err)
{
	struct pone_discard_entry e[2] = { { .offset = 2 * PAGE }, bad };
	struct pone_info before = vm_info(fd);

	CHECK_ERRNO(vm_discard(fd, e, 2), err);
	CHECK(vm_info(fd).region.discards == before.region.discards);
	CHECK(vm_info(fd).region.frames == before.region.frames);
}

static void test_bad_input(void)
{
	struct region r = region_new(PAGES), other = region_new(PAGES);
	int unmapped = vm_open(), ro = open("/dev/pone", O_RDONLY);
	int null = open("/dev/null", O_RDWR), closed = vm_open();
	struct pone_merge_entry big[PONE_BATCH_MAX + 1] = { 0 };
	struct pone_batch b = { .entries = (uintptr_t)big, .count = 1 };
	int pipefd[2];
	size_t i;

	CHECK(ro >= 0 && null >= 0 && pipe(pipefd) == 0);
	CHECK(close(closed) == 0);
	for (i = 0; i < 3; i++)
		vm_fill(pg(r, i), i ? 0 : 1);
	vm_fill(pg(r, 1), 1);

	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE + 8, .src_fd = r.fd }, EINVAL);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_offset = 1, .src_fd = r.fd },
		EINVAL);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = PAGES * PAGE, .src_fd = r.fd }, ERANGE);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_offset = ~0ull & ~(PAGE - 1),
		.src_fd = r.fd }, ERANGE);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_fd = unmapped }, ERANGE);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_fd = null }, EINVAL);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_fd = pipefd[0] }, EINVAL);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_fd = closed }, EBADF);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_fd = -1 }, EBADF);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_fd = ro }, EBADF);
	/* Overlapping entries: the same dst twice, or dst == src. */
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = PAGE, .src_offset = 2 * PAGE, .src_fd = r.fd },
		EINVAL);
	check_bad_merge(r.fd, (struct pone_merge_entry){
		.dst_offset = 3 * PAGE, .src_offset = 3 * PAGE,
		.src_fd = r.fd }, EINVAL);
	/* The same offset of another region is no overlap. */
	vm_fill(pg(other, 3), 0);
	CHECK(vm_merge1(r.fd, 2, other.fd, 3) == PONE_DONE);

	check_bad_discard(r.fd, (struct pone_discard_entry){
		.offset = 3 * PAGE + 1 }, EINVAL);
	check_bad_discard(r.fd, (struct pone_discard_entry){
		.offset = PAGES * PAGE }, ERANGE);
	check_bad_discard(r.fd, (struct pone_discard_entry){
		.offset = 2 * PAGE }, EINVAL);
	check_bad_discard(r.fd, (struct pone_discard_entry){
		.offset = 3 * PAGE, .pad = 1 }, EINVAL);

	/* Batches: empty, oversized, flags, bad pointers, wrong fds. */
	b.count = 0;
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_MERGE, &b), EINVAL);
	b.count = PONE_BATCH_MAX + 1;
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_MERGE, &b), E2BIG);
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_DISCARD, &b), E2BIG);
	b.count = 1;
	b.flags = 1;
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_DISCARD, &b), EINVAL);
	b.flags = 0;
	b.entries = 16;
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_MERGE, &b), EFAULT);
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_MERGE, (void *)16), EFAULT);
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_INFO, (void *)16), EFAULT);
	CHECK_ERRNO(ioctl(r.fd, _IO(PONE_IOC_MAGIC, 99)), ENOTTY);
	CHECK_ERRNO(ioctl(r.fd, _IOR(PONE_IOC_MAGIC, 0, uint64_t), &b),
		    ENOTTY);
	CHECK_ERRNO(ioctl(r.fd, TCGETS, &b), ENOTTY);
	CHECK(vm_merge1(unmapped, 0, r.fd, 0) == -ERANGE);
	CHECK(vm_merge1(ro, 0, r.fd, 0) == -EBADF);
	CHECK(vm_discard1(ro, 0) == -EBADF);
	CHECK_ERRNO(ioctl(null, PONE_IOC_INFO, &b), ENOTTY);

	/* Nothing above changed a page. */
	CHECK(vm_page_is(pg(r, 0), 1) && vm_page_is(pg(r, 1), 1));
	CHECK(vm_info(r.fd).region.merges == 1);
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_DONE);
	close(pipefd[0]);
	close(pipefd[1]);
	close(null);
	close(ro);
	close(unmapped);
	region_free(other, PAGES);
	region_free(r, PAGES);
}

/*
 * Entries the kernel can read but not write back: the batch is refused
 * whole, before any entry is acted on.
 */
static void test_batch_unwritable(void)
{
	struct region r = region_new(PAGES);
	uint8_t *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pone_merge_entry *m;
	struct pone_discard_entry *d;
	struct pone_info before;

	CHECK(two != MAP_FAILED);
	vm_fill(pg(r, 0), 7);
	vm_fill(pg(r, 1), 7);
	vm_fill(pg(r, 2), 0);
	/* The first entry in a writable page, the second in a read-only one */
	m = (struct pone_merge_entry *)(two + PAGE) - 1;
	m[0] = (struct pone_merge_entry){ .dst_offset = PAGE, .src_fd = r.fd };
	m[1] = (struct pone_merge_entry){ .dst_offset = 2 * PAGE,
					  .src_fd = r.fd };
	d = (struct pone_discard_entry *)(two + PAGE) - 1;
	CHECK(mprotect(two + PAGE, PAGE, PROT_READ) == 0);
	before = vm_info(r.fd);
	CHECK_ERRNO(vm_merge(r.fd, m, 2), EFAULT);
	CHECK(mprotect(two + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
	d[0] = (struct pone_discard_entry){ .offset = 2 * PAGE };
	d[1] = (struct pone_discard_entry){ .offset = 3 * PAGE };
	CHECK(mprotect(two + PAGE, PAGE, PROT_READ) == 0);
	CHECK_ERRNO(vm_discard(r.fd, d, 2), EFAULT);
	/* Read-only throughout. */
	CHECK(mprotect(two, 2 * PAGE, PROT_READ) == 0);
	CHECK_ERRNO(vm_discard(r.fd, d, 2), EFAULT);
	CHECK(vm_info(r.fd).region.merges == before.region.merges);
	CHECK(vm_info(r.fd).region.discards == before.region.discards);
	CHECK(vm_info(r.fd).region.frames == 3);
	CHECK(vm_page_is(pg(r, 1), 7) && vm_page_is(pg(r, 2), 0));
	CHECK(munmap(two, 2 * PAGE) == 0);
	region_free(r, PAGES);
}

struct protector {
	int fd;
	void *entries;
	size_t len;
	uint64_t discards;	/* the region's before the batch */
	atomic_bool returned, protected;
};

/* Write-protects the entries once the batch is acting on them. */
static void *protect_when_acting(void *arg)
{
	struct protector *p = arg;

	while (!atomic_load(&p->returned)) {
		if (vm_info(p->fd).region.discards > p->discards) {
			CHECK(mprotect(p->entries, p->len, PROT_READ) == 0);
			atomic_store(&p->protected, true);
			break;
		}
	}
	return NULL;
}

/*
 * Entries that stop being writable while the batch is acted on (another
 * thread write-protects them once it sees the first discard counted): the
 * discards stay done, and the call says so, and that results are missing.
 * The thread may be too late, when the batch is done first: it is tried
 * again, up to 20 times.
 */
static void test_batch_unreported(void)
{
	const size_t len = PONE_BATCH_MAX * sizeof(struct pone_discard_entry);
	struct region r = region_new(PONE_BATCH_MAX);
	struct pone_discard_entry *e = mmap(NULL, len, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct protector p = { .fd = r.fd, .entries = e, .len = len };
	bool unreported = false;
	int tries;
	size_t i;

	CHECK(e != MAP_FAILED);
	for (tries = 0; tries < 20 && !unreported; tries++) {
		struct pone_info after;
		pthread_t thread;
		long ret, done;

		CHECK(mprotect(e, len, PROT_READ | PROT_WRITE) == 0);
		for (i = 0; i < PONE_BATCH_MAX; i++) {
			vm_fill(pg(r, i), 0);
			e[i] = (struct pone_discard_entry){ .offset = i * PAGE,
							    .result = ~0u };
		}
		p.discards = vm_info(r.fd).region.discards;
		atomic_store(&p.returned, false);
		atomic_store(&p.protected, false);
		CHECK(pthread_create(&thread, NULL, protect_when_acting, &p) ==
		      0);
		ret = vm_discard(r.fd, e, PONE_BATCH_MAX);
		atomic_store(&p.returned, true);
		CHECK(pthread_join(thread, NULL) == 0);

		/* Writable when it began: no error, and every page went. */
		CHECK(ret >= 0);
		done = ret & ~PONE_BATCH_UNREPORTED;
		CHECK(done == PONE_BATCH_MAX);
		after = vm_info(r.fd);
		CHECK(after.region.discards - p.discards == (uint64_t)done);
		CHECK(after.region.frames == 0);
		unreported = ret & PONE_BATCH_UNREPORTED;
		CHECK(!unreported || atomic_load(&p.protected));
		for (i = 0; !unreported && i < PONE_BATCH_MAX; i++)
			CHECK(e[i].result == PONE_DONE);
	}
	CHECK(unreported);
	printf("semantics: results missing on try %d of 20\n", tries);
	for (i = 0; i < PONE_BATCH_MAX; i++)
		CHECK(vm_page_is(pg(r, i), 0));
	CHECK(munmap(e, len) == 0);
	region_free(r, PONE_BATCH_MAX);
}

static void bind_to_node(int node)
{
	unsigned long mask = 1UL << node;

	CHECK(syscall(SYS_set_mempolicy, MPOL_BIND, &mask,
		      8 * sizeof(mask)) == 0);
}

static int node_of(void *page)
{
	void *pages[1] = { page };
	int status = -1;

	CHECK(syscall(SYS_move_pages, 0, 1, pages, NULL, &status, 0) == 0);
	return status;
}

/* New frames, and COW copies, go where the faulting task's policy says. */
static void test_numa_policy(void)
{
	struct region r = region_new(PAGES);

	CHECK(access("/sys/devices/system/node/node1", F_OK) == 0);
	bind_to_node(1);
	vm_fill(pg(r, 0), 31);
	vm_fill(pg(r, 1), 31);
	CHECK(node_of(pg(r, 0)) == 1 && node_of(pg(r, 1)) == 1);
	CHECK(vm_merge1(r.fd, 1, r.fd, 0) == PONE_DONE);
	bind_to_node(0);
	vm_fill(pg(r, 1), 32);
	/* move_pages only sees mapped pages; the merge unmapped page 0. */
	CHECK(vm_page_is(pg(r, 0), 31));
	CHECK(node_of(pg(r, 1)) == 0 && node_of(pg(r, 0)) == 1);
	vm_fill(pg(r, 2), 33);
	CHECK(node_of(pg(r, 2)) == 0);
	CHECK(syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0) == 0);
	region_free(r, PAGES);
}

/* RESIDENT's nodes: each frame's node, mapped or not (move_pages sees
 * only mapped ones), -1 for a hole; a bad pointer fails before any
 * written mark is taken. */
static void test_resident_nodes(void)
{
	struct region r = region_new(PAGES);
	uint64_t bits, w;
	int16_t nodes[PAGES];
	struct pone_resident q = { .bitmap = (uintptr_t)&bits,
				   .nodes = (uintptr_t)nodes, .pages = PAGES };
	unsigned int i;

	bind_to_node(1);
	vm_fill(pg(r, 0), 41);
	vm_fill(pg(r, 1), 42);
	bind_to_node(0);
	vm_fill(pg(r, 2), 43);
	CHECK(syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0) == 0);
	/* Unmapped: its frame stays, on node 1. */
	CHECK(madvise(pg(r, 1), PAGE, MADV_DONTNEED) == 0);
	memset(nodes, 0x55, sizeof(nodes));
	CHECK(ioctl(r.fd, PONE_IOC_RESIDENT, &q) == 0);
	CHECK(nodes[0] == 1 && nodes[1] == 1 && nodes[2] == 0);
	for (i = 3; i < PAGES; i++)
		CHECK(nodes[i] == -1);
	/* The marks of pages 0 to 2 survive a query that failed. */
	q.written = (uintptr_t)&w;
	q.nodes = 1;
	CHECK_ERRNO(ioctl(r.fd, PONE_IOC_RESIDENT, &q), EFAULT);
	q.nodes = 0;
	w = 0;
	CHECK(ioctl(r.fd, PONE_IOC_RESIDENT, &q) == 0);
	CHECK((w & 7) == 7);
	region_free(r, PAGES);
}

int main(void)
{
	RUN(test_abi_and_size);
	RUN(test_zero_reads);
	RUN(test_read);
	RUN(test_lseek);
	RUN(test_resident);
	RUN(test_resident_ranges);
	RUN(test_resident_nodes);
	RUN(test_written);
	RUN(test_written_unreported);
	RUN(test_written_by_dio);
	RUN(test_write_allocates);
	RUN(test_merge_and_cow);
	RUN(test_merge_many);
	RUN(test_merge_past_pin_bias);
	RUN(test_sharing_cap);
	RUN(test_refuses_changed);
	RUN(test_discard);
	RUN(test_discard_shared);
	RUN(test_two_mappings);
	RUN(test_fork);
	RUN(test_cross_region);
	RUN(test_bad_input);
	RUN(test_batch_unwritable);
	RUN(test_batch_unreported);
	RUN(test_numa_policy);
	return 0;
}
