// SPDX-License-Identifier: GPL-2.0-only
/*
 * Frames live exactly as long as the last mapping or fd of the last region
 * that points to them: a process that exits without cleaning up gives all
 * its memory back, and the memory cgroup of the faulting task pays for it
 * while it lives.
 */
#include "vmtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGES 16384		/* 64 MiB */
#define TOTALS "/sys/class/misc/pone/"
#define DISTINCT 1024
#define MIB_KIB 1024L

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f);
	CHECK(fputs(text, f) >= 0);
	CHECK(fclose(f) == 0);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	CHECK(f);
	CHECK(fscanf(f, "%ld", &v) == 1);
	fclose(f);
	return v;
}

/* The child joins its own memory cgroup, so its charge can be read. */
static void join_cgroup(void)
{
	mkdir("/sys/fs/cgroup", 0755);
	if (mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL) != 0)
		CHECK(access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0);
	write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir("/sys/fs/cgroup/pone", 0755);
	write_file("/sys/fs/cgroup/pone/cgroup.procs", "0");
}

static double now(void)
{
	struct timespec t;

	CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Says how fast it went: under TCG, only as a ratio to other figures. */
static void merge_duplicates(int fd)
{
	struct pone_merge_entry e[PONE_BATCH_MAX];
	double start = now();
	size_t i, j;

	for (i = DISTINCT; i < PAGES; i += PONE_BATCH_MAX) {
		for (j = 0; j < PONE_BATCH_MAX; j++)
			e[j] = (struct pone_merge_entry){
				.dst_offset = (i + j) * PAGE,
				.src_offset = ((i + j) % DISTINCT) * PAGE,
				.src_fd = fd };
		CHECK(vm_merge(fd, e, PONE_BATCH_MAX) == PONE_BATCH_MAX);
	}
	printf("lifecycle: %d merges in %.3f s, one thread\n",
	       PAGES - DISTINCT, now() - start);
	fflush(stdout);
}

/*
 * Asks which pages were written, as poned does: frames that writes made
 * writable are write-protected again, and so offered to compaction.
 */
static void take_written(int fd)
{
	uint64_t bits[PONE_RESIDENT_MAX / 64], written[PONE_RESIDENT_MAX / 64];
	size_t i;

	for (i = 0; i < PAGES; i += PONE_RESIDENT_MAX) {
		struct pone_resident q = {
			.offset = i * PAGE, .pages = PONE_RESIDENT_MAX,
			.bitmap = (uintptr_t)bits,
			.written = (uintptr_t)written,
		};

		CHECK(ioctl(fd, PONE_IOC_RESIDENT, &q) == 0);
	}
}

/*
 * Anonymous pages, one to be taken between each two frames: freed, they
 * leave free pages among the frames, where compaction moves frames to
 * (it moves pages up, into the free pages it finds from the top down).
 */
static uint8_t *ballast(void)
{
	void *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	CHECK(madvise(p, PAGES * PAGE, MADV_NOHUGEPAGE) == 0);
	return p;
}

/*
 * Compaction moves frames to other pages: their charge goes with them,
 * and their content.
 */
static void compact(int fd, const uint8_t *mem, uint8_t *gaps)
{
	const char *charge = "/sys/fs/cgroup/pone/memory.current";
	long before, moved = read_long(TOTALS "migrated");
	int pass;
	size_t i;

	CHECK(munmap(gaps, PAGES * PAGE) == 0);
	take_written(fd);
	before = read_long(charge);
	for (pass = 0; pass < 20; pass++)
		write_file("/proc/sys/vm/compact_memory", "1");
	moved = read_long(TOTALS "migrated") - moved;
	printf("lifecycle: compaction moved %ld of %d frames; the cgroup's charge went from %ld to %ld KiB\n",
	       moved, PAGES, before >> 10, read_long(charge) >> 10);
	fflush(stdout);
	/*
	 * How many move depends on where the frames were placed (from none
	 * to most of them, here); the stress test is the one that needs
	 * some. Each frame moved without its charge would take a page off.
	 */
	CHECK(before - read_long(charge) < moved * (long)PAGE / 2 + (256 << 10));
	for (i = 0; i < PAGES; i++)
		CHECK(vm_page_is(mem + i * PAGE, i % DISTINCT + 1));
}

/*
 * Fills 64 MiB of 1024 distinct pages, has them compacted, merges them,
 * exits untidily.
 */
static void child(void)
{
	const char *charge = "/sys/fs/cgroup/pone/memory.current";
	long free0, charged0, free1;
	int fd;
	uint8_t *mem, *gaps;
	size_t i;

	join_cgroup();
	free0 = vm_free_kib();
	charged0 = read_long(charge);
	fd = vm_open();
	mem = vm_map(fd, PAGES);
	gaps = ballast();
	for (i = 0; i < PAGES; i++) {
		vm_fill(mem + i * PAGE, i % DISTINCT + 1);
		gaps[i * PAGE] = 1;
	}
	free1 = vm_free_kib();
	CHECK(free0 - free1 > 62 * MIB_KIB);
	CHECK(read_long(charge) - charged0 > 62L << 20);
	CHECK(vm_info(fd).region.frames == PAGES);
	compact(fd, mem, gaps);
	free1 = vm_free_kib();

	merge_duplicates(fd);
	CHECK(vm_info(fd).region.merges == PAGES - DISTINCT);
	CHECK(vm_info(fd).region.shared == PAGES);
	CHECK(vm_free_kib() - free1 > 58 * MIB_KIB);
	CHECK(read_long(charge) - charged0 < 8L << 20);
	for (i = 0; i < PAGES; i++)
		CHECK(vm_page_is(mem + i * PAGE, i % DISTINCT + 1));
	_exit(0);
}

static void test_exit_frees_everything(void)
{
	int probe = vm_open(), status;
	struct pone_info base = vm_info(probe), after;
	long free0 = vm_free_kib();
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		child();
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	after = vm_info(probe);
	CHECK(after.total.frames == base.total.frames);
	CHECK(after.total.shared == base.total.shared);
	CHECK(after.total.zero == base.total.zero);
	CHECK(after.regions == base.regions);
	CHECK(after.total.merges == base.total.merges + PAGES - DISTINCT);
	/* The 64 MiB is back, give or take the system's own noise. */
	CHECK(free0 - vm_free_kib() < 4 * MIB_KIB);
	CHECK(close(probe) == 0);
}

/* A mapping outlives its fd; its frames go with the mapping. */
static void test_mapping_outlives_fd(void)
{
	int probe = vm_open(), fd = vm_open();
	struct pone_info base = vm_info(probe);
	uint8_t *mem = vm_map(fd, 256);
	size_t i;

	for (i = 0; i < 256; i++)
		vm_fill(mem + i * PAGE, i);
	CHECK(close(fd) == 0);
	CHECK(vm_info(probe).total.frames == base.total.frames + 256);
	/* The region lives on in its mapping. */
	CHECK(vm_info(probe).regions == base.regions);
	for (i = 0; i < 256; i++)
		CHECK(vm_page_is(mem + i * PAGE, i));
	CHECK(munmap(mem, 256 * PAGE) == 0);
	CHECK(vm_info(probe).total.frames == base.total.frames);
	CHECK(vm_info(probe).regions == base.regions - 1);
	CHECK(close(probe) == 0);
}

/* Frames shared across regions go when the last region does. */
static void test_shared_frame_outlives_source(void)
{
	int probe = vm_open(), a = vm_open(), b = vm_open();
	struct pone_info base = vm_info(probe);
	uint8_t *ma = vm_map(a, 4), *mb = vm_map(b, 4);

	vm_fill(ma, 9);
	vm_fill(mb, 9);
	CHECK(vm_merge1(b, 0, a, 0) == PONE_DONE);
	CHECK(munmap(ma, 4 * PAGE) == 0 && close(a) == 0);
	CHECK(vm_info(probe).total.frames == base.total.frames + 1);
	CHECK(vm_page_is(mb, 9));
	CHECK(munmap(mb, 4 * PAGE) == 0 && close(b) == 0);
	CHECK(vm_info(probe).total.frames == base.total.frames);
	CHECK(vm_info(probe).total.shared == base.total.shared);
	CHECK(close(probe) == 0);
}

/* PONE_IOC_INFO's totals, in sysfs too: the same, and read-only; and
 * what merging saves (sharing), which INFO leaves to the caller. */
static void test_sysfs_totals(void)
{
	int probe = vm_open(), fd = vm_open();
	uint8_t *mem = vm_map(fd, 8);
	static const uint64_t stamp[8] = { 1, 2, 1, 2, 1, 0, 3, 4 };
	long sharing = read_long(TOTALS "sharing");
	struct pone_info info;
	size_t i;

	for (i = 0; i < 8; i++)
		vm_fill(mem + i * PAGE, stamp[i]);
	CHECK(vm_merge1(fd, 2, fd, 0) == PONE_DONE);
	CHECK(vm_merge1(fd, 4, fd, 0) == PONE_DONE);
	CHECK(vm_merge1(fd, 3, fd, 1) == PONE_DONE);
	/* Three offsets point at a frame another holds too. */
	CHECK(read_long(TOTALS "sharing") == sharing + 3);
	CHECK(vm_discard1(fd, 5) == PONE_DONE);
	vm_fill(mem + 4 * PAGE, 5);
	CHECK(read_long(TOTALS "sharing") == sharing + 2);
	info = vm_info(probe);
	CHECK(info.total.shared > 0 && info.total.zero > 0);
	CHECK(info.total.merges > 0 && info.total.cow_breaks > 0);
	CHECK(info.total.discards > 0);
	CHECK(read_long(TOTALS "regions") == (long)info.regions);
	CHECK(read_long(TOTALS "frames") == (long)info.total.frames);
	CHECK(read_long(TOTALS "shared") == (long)info.total.shared);
	CHECK(read_long(TOTALS "zero") == (long)info.total.zero);
	CHECK(read_long(TOTALS "merges") == (long)info.total.merges);
	CHECK(read_long(TOTALS "cow_breaks") == (long)info.total.cow_breaks);
	CHECK(read_long(TOTALS "discards") == (long)info.total.discards);
	CHECK_ERRNO(open(TOTALS "merges", O_WRONLY), EACCES);
	CHECK(munmap(mem, 8 * PAGE) == 0);
	CHECK(close(fd) == 0 && close(probe) == 0);
}

int main(void)
{
	RUN(test_exit_frees_everything);
	RUN(test_mapping_outlives_fd);
	RUN(test_shared_frame_outlives_source);
	RUN(test_sysfs_totals);
	return 0;
}
