// SPDX-License-Identifier: GPL-2.0-only
#include "vmtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

void vm_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "FAIL %s:%d: %s (errno %d: %s)\n", file, line, what,
		errno, strerror(errno));
	exit(1);
}

void vm_check_errno(long ret, int err, const char *file, int line,
		    const char *what)
{
	if (ret == -1 && errno == err)
		return;
	fprintf(stderr, "FAIL %s:%d: %s returned %ld, errno %d; wanted errno %d\n",
		file, line, what, ret, ret == -1 ? errno : 0, err);
	exit(1);
}

void vm_run(const char *name, void (*test)(void))
{
	test();
	printf("ok %s\n", name);
	fflush(stdout);
}

int vm_open(void)
{
	int fd = open("/dev/pone", O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0);
	return fd;
}

uint8_t *vm_map(int fd, size_t pages)
{
	void *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

struct pone_info vm_info(int fd)
{
	struct pone_info info;

	CHECK(ioctl(fd, PONE_IOC_INFO, &info) == 0);
	CHECK(info.abi_version == PONE_ABI_VERSION);
	CHECK(info.page_size == PAGE);
	return info;
}

static long vm_batch(int fd, unsigned long cmd, void *e, uint32_t n)
{
	struct pone_batch b = {
		.entries = (uintptr_t)e,
		.count = n,
	};

	return ioctl(fd, cmd, &b);
}

long vm_merge(int fd, struct pone_merge_entry *e, uint32_t n)
{
	return vm_batch(fd, PONE_IOC_MERGE, e, n);
}

long vm_discard(int fd, struct pone_discard_entry *e, uint32_t n)
{
	return vm_batch(fd, PONE_IOC_DISCARD, e, n);
}

int vm_merge1(int dst_fd, size_t dst_page, int src_fd, size_t src_page)
{
	struct pone_merge_entry e = {
		.dst_offset = dst_page * PAGE,
		.src_offset = src_page * PAGE,
		.src_fd = src_fd,
		.result = ~0u,
	};
	long ret = vm_merge(dst_fd, &e, 1);

	if (ret < 0)
		return -errno;
	CHECK(ret == (e.result == PONE_DONE));
	return e.result;
}

int vm_discard1(int fd, size_t page)
{
	struct pone_discard_entry e = { .offset = page * PAGE, .result = ~0u };
	long ret = vm_discard(fd, &e, 1);

	if (ret < 0)
		return -errno;
	CHECK(ret == (e.result == PONE_DONE));
	return e.result;
}

/* Sums the first number after key on each line of path that has it. */
static long vm_sum_field(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[256];
	long sum = 0, v;
	char *at;

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		at = strstr(line, key);
		if (at && sscanf(at + strlen(key), " %ld", &v) == 1)
			sum += v;
	}
	fclose(f);
	return sum;
}

long vm_free_kib(void)
{
	/* Pages freed to the per-CPU lists are free, but not in MemFree. */
	long pcp = vm_sum_field("/proc/zoneinfo", "count:");

	return vm_sum_field("/proc/meminfo", "MemFree:") + pcp * (PAGE / 1024);
}

void vm_fill(volatile uint8_t *page, uint64_t stamp)
{
	volatile uint64_t *w = (volatile uint64_t *)page;
	size_t i;

	for (i = 0; i < PAGE / sizeof(*w); i++)
		w[i] = stamp;
}

bool vm_page_is(const volatile uint8_t *page, uint64_t stamp)
{
	const volatile uint64_t *w = (const volatile uint64_t *)page;
	size_t i;

	for (i = 0; i < PAGE / sizeof(*w); i++)
		if (w[i] != stamp)
			return false;
	return true;
}
