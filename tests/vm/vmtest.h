/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the static test programs that run inside the VM share: a failed
 * CHECK prints where and what, and exits 1; /dev/pone and /proc helpers.
 */
#ifndef PONE_VMTEST_H
#define PONE_VMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pone/uapi.h>

#define PAGE 4096UL

#define CHECK(cond) \
	((cond) ? (void)0 : vm_fail(__FILE__, __LINE__, #cond))
/* The call fails with errno err. */
#define CHECK_ERRNO(call, err) \
	vm_check_errno((call), (err), __FILE__, __LINE__, #call)
#define RUN(test) vm_run(#test, test)

_Noreturn void vm_fail(const char *file, int line, const char *what);
void vm_check_errno(long ret, int err, const char *file, int line,
		    const char *what);
void vm_run(const char *name, void (*test)(void));

int vm_open(void);
/* A shared mapping of pages pages of the region at fd. */
uint8_t *vm_map(int fd, size_t pages);
struct pone_info vm_info(int fd);
/* MERGE or DISCARD of a batch: the ioctl's return, -1 with errno set. */
long vm_merge(int fd, struct pone_merge_entry *e, uint32_t n);
long vm_discard(int fd, struct pone_discard_entry *e, uint32_t n);
/* One entry: its result, or -errno. */
int vm_merge1(int dst_fd, size_t dst_page, int src_fd, size_t src_page);
int vm_discard1(int fd, size_t page);
/* Free memory, counting the per-CPU free lists that MemFree leaves out. */
long vm_free_kib(void);

/* Every 64-bit word of the page holds the stamp. */
void vm_fill(volatile uint8_t *page, uint64_t stamp);
bool vm_page_is(const volatile uint8_t *page, uint64_t stamp);

#endif
