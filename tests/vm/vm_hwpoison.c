// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory errors in pone.ko's frames, injected with MADV_HWPOISON (root):
 * memory_failure() flags the frame but cannot unmap a page off the LRU,
 * so the module must meet the flag on every path. A fault on the offset
 * gets SIGBUS (BUS_MCEERR_AR), read(2) -EIO, MERGE and DISCARD
 * PONE_POISONED, a copy on write SIGBUS; RESIDENT does not hash it; the
 * other pages keep their data, and the module counts the frame once.
 * Without those checks, the first fault on the offset after the error
 * oopses the kernel in the core's own hwpoison handling.
 */
#include "vmtest.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kernel-page-flags.h>

#define PAGES 8

static sigjmp_buf bus_jmp;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	bus_code = si->si_code;
	siglongjmp(bus_jmp, 1);
}

/* Reads or writes a byte of the page: 0, or the si_code of a SIGBUS. */
static int touch(volatile uint8_t *p, bool write)
{
	if (sigsetjmp(bus_jmp, 1))
		return bus_code;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

static long poisoned_frames(void)
{
	FILE *f = fopen("/sys/class/misc/pone/poisoned", "r");
	long n = -1;

	CHECK(f);
	CHECK(fscanf(f, "%ld", &n) == 1);
	fclose(f);
	return n;
}

static uint64_t read_u64(const char *path, uint64_t at)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t v = 0;

	CHECK(fd >= 0);
	CHECK(pread(fd, &v, sizeof(v), (off_t)(at * sizeof(v))) ==
	      sizeof(v));
	close(fd);
	return v;
}

/*
 * A memory error in the frame mapped at @p, as the hardware would report
 * one: memory_failure() flags the page, and answers EBUSY for a page it
 * cannot isolate. The flag is checked in /proc/kpageflags.
 */
static void poison(volatile uint8_t *p)
{
	uint64_t pte;

	CHECK(madvise((void *)p, PAGE, MADV_HWPOISON) == 0 || errno == EBUSY);
	pte = read_u64("/proc/self/pagemap", (uintptr_t)p / PAGE);
	CHECK(pte >> 63);
	CHECK(read_u64("/proc/kpageflags", pte & ((1ULL << 55) - 1)) &
	      (1ULL << KPF_HWPOISON));
}

static uint8_t *map(int fd)
{
	return vm_map(fd, PAGES);
}

static void unmap(uint8_t *p)
{
	CHECK(munmap(p, PAGES * PAGE) == 0);
}

/* Every page but @bad of both mappings holds its stamp, base + index. */
static void check_intact(uint8_t *a, uint8_t *b, size_t bad, uint64_t base)
{
	size_t i;

	for (i = 0; i < PAGES; i++)
		CHECK(i == bad || (vm_page_is(a + i * PAGE, base + i) &&
				   vm_page_is(b + i * PAGE, base + i)));
}

/*
 * The case: a region mapped twice, the error injected through one
 * mapping, the page read through the other: SIGBUS on both, and on a
 * write; read(2) stops before the page and fails on it.
 */
static void test_fault_and_read(void)
{
	static uint8_t buf[PAGES * PAGE];
	long before = poisoned_frames();
	int fd = vm_open();
	uint8_t *a = map(fd), *b = map(fd);
	size_t i;

	for (i = 0; i < PAGES; i++)
		vm_fill(a + i * PAGE, 100 + i);
	poison(a + 3 * PAGE);
	CHECK(touch(b + 3 * PAGE, false) == BUS_MCEERR_AR);
	CHECK(poisoned_frames() == before + 1);
	CHECK(touch(a + 3 * PAGE, false) == BUS_MCEERR_AR);
	CHECK(touch(a + 3 * PAGE, true) == BUS_MCEERR_AR);
	CHECK(touch(b + 3 * PAGE, true) == BUS_MCEERR_AR);
	CHECK_ERRNO(pread(fd, buf, PAGE, 3 * PAGE), EIO);
	CHECK(pread(fd, buf, sizeof(buf), 0) == 3 * PAGE);
	for (i = 0; i < 3; i++)
		CHECK(vm_page_is(buf + i * PAGE, 100 + i));
	CHECK(pread(fd, buf, 4 * PAGE, 4 * PAGE) == 4 * PAGE);
	for (i = 0; i < 4; i++)
		CHECK(vm_page_is(buf + i * PAGE, 104 + i));
	check_intact(a, b, 3, 100);
	CHECK(poisoned_frames() == before + 1);
	unmap(a);
	unmap(b);
	CHECK(close(fd) == 0);
}

/* read(2) meets the error first: -EIO, counted; a fault then SIGBUS. */
static void test_read_first(void)
{
	uint8_t buf[PAGE];
	long before = poisoned_frames();
	int fd = vm_open();
	uint8_t *a = map(fd);

	vm_fill(a, 7);
	poison(a);
	CHECK_ERRNO(pread(fd, buf, PAGE, 0), EIO);
	CHECK(poisoned_frames() == before + 1);
	CHECK(touch(a, false) == BUS_MCEERR_AR);
	unmap(a);
	CHECK(close(fd) == 0);
}

/*
 * MERGE into and from a frame with an error, within a region and across
 * two, and DISCARD of one (zeros before the error): PONE_POISONED, nothing
 * changed; the equal pages keep their data.
 */
static void test_merge_discard(void)
{
	struct pone_discard_entry d[2] = { { .offset = 0 },
					   { .offset = 3 * PAGE } };
	int fd = vm_open(), other = vm_open();
	uint8_t *a = map(fd), *o = map(other);
	struct pone_info info;
	size_t i;

	for (i = 0; i < 3; i++)
		vm_fill(a + i * PAGE, 5);
	vm_fill(a + 3 * PAGE, 0);
	vm_fill(o, 5);
	poison(a);
	poison(a + 3 * PAGE);
	CHECK(vm_merge1(fd, 1, fd, 0) == PONE_POISONED);
	CHECK(vm_merge1(fd, 0, fd, 2) == PONE_POISONED);
	CHECK(vm_merge1(other, 0, fd, 0) == PONE_POISONED);
	CHECK(vm_merge1(fd, 0, other, 0) == PONE_POISONED);
	CHECK(vm_discard(fd, d, 2) == 0);
	CHECK(d[0].result == PONE_POISONED && d[1].result == PONE_POISONED);
	info = vm_info(fd);
	CHECK(info.region.merges == 0 && info.region.discards == 0);
	CHECK(info.region.frames == 4);
	CHECK(vm_page_is(a + PAGE, 5) && vm_page_is(a + 2 * PAGE, 5));
	CHECK(vm_page_is(o, 5));
	CHECK(touch(a, false) == BUS_MCEERR_AR);
	CHECK(touch(a + 3 * PAGE, false) == BUS_MCEERR_AR);
	unmap(a);
	unmap(o);
	CHECK(close(fd) == 0);
	CHECK(close(other) == 0);
}

/*
 * A write to a shared frame with an error copies nothing: SIGBUS, on a
 * read-only pte (page_mkwrite) and on an unmapped offset (fault) alike.
 */
static void test_cow(void)
{
	long before = poisoned_frames();
	int fd = vm_open();
	uint8_t *a = map(fd), *b = map(fd);
	struct pone_info info;

	vm_fill(a, 9);
	vm_fill(a + PAGE, 9);
	vm_fill(a + 2 * PAGE, 10);
	CHECK(vm_merge1(fd, 1, fd, 0) == PONE_DONE);
	CHECK(vm_page_is(a + PAGE, 9));
	poison(a);
	CHECK(touch(a + PAGE, true) == BUS_MCEERR_AR);
	CHECK(touch(b + PAGE, true) == BUS_MCEERR_AR);
	CHECK(touch(b, false) == BUS_MCEERR_AR);
	info = vm_info(fd);
	CHECK(info.region.cow_breaks == 0);
	CHECK(info.region.frames == 3);
	CHECK(vm_page_is(a + 2 * PAGE, 10) && vm_page_is(b + 2 * PAGE, 10));
	CHECK(poisoned_frames() == before + 1);
	unmap(a);
	unmap(b);
	CHECK(close(fd) == 0);
}

/* A write to a read-only pte of an unshared frame with an error. */
static void test_mkwrite(void)
{
	int fd = vm_open();
	uint8_t *a = map(fd), *b = map(fd);

	vm_fill(a, 11);
	CHECK(vm_page_is(b, 11));
	poison(a);
	CHECK(touch(b, true) == BUS_MCEERR_AR);
	CHECK(touch(a, false) == BUS_MCEERR_AR);
	unmap(a);
	unmap(b);
	CHECK(close(fd) == 0);
}

/* RESIDENT does not read a frame with an error: written, hash 0. */
static void test_resident(void)
{
	uint64_t bits = 0, written = 0, hashes[2] = { 0 };
	int fd = vm_open();
	uint8_t *a = map(fd);
	struct pone_resident q = {
		.bitmap = (uintptr_t)&bits, .written = (uintptr_t)&written,
		.hashes = (uintptr_t)hashes, .pages = 2,
	};

	vm_fill(a, 12);
	vm_fill(a + PAGE, 12);
	poison(a);
	CHECK(ioctl(fd, PONE_IOC_RESIDENT, &q) == 0);
	CHECK(bits == 3 && written == 3);
	CHECK(hashes[0] == 0 && hashes[1] != 0);
	CHECK(touch(a, false) == BUS_MCEERR_AR);
	CHECK(vm_page_is(a + PAGE, 12));
	unmap(a);
	CHECK(close(fd) == 0);
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_bus,
				.sa_flags = SA_SIGINFO };

	CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
	RUN(test_fault_and_read);
	RUN(test_read_first);
	RUN(test_merge_discard);
	RUN(test_cow);
	RUN(test_mkwrite);
	RUN(test_resident);
	return 0;
}
