/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A real QEMU guest for the host tests and benches: Debian's kernel (the
 * one the vm suite boots) under TCG, with pone-guestload as its init's
 * workload, driven over its serial console. Every console line is echoed
 * to stdout (the test log) and checked for a kernel report.
 *
 * Environment (meson): QEMU (empty when not installed), PONE_GUESTLOAD,
 * PONE_GUEST_INIT, PONE_VM_SCRIPTS (tests/vm), PONE_KERNEL_CACHE (unless
 * PONE_VM_CACHE is set, as for the vm suite).
 */
#ifndef PONE_TEST_QEMU_GUEST_H
#define PONE_TEST_QEMU_GUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/* The kernel and the initramfs every guest of a test boots. */
struct qemu_image {
	char kernel[512], initrd[128];
};

/* Fetches the kernel and packs the initramfs; or says in why what is
 * missing (a reason to skip) and returns -1. */
int qemu_image_prepare(struct qemu_image *img, char *why, size_t len);
void qemu_image_release(struct qemu_image *img);

struct vm {
	struct child c;
	char buf[4096];
	size_t len;
	bool kernel_report;	/* a WARNING, BUG, Oops... on its console */
};

/* Boots a guest of ram_mib MiB, on a shared memfd or QEMU's default
 * anonymous RAM, whose workload gets load ("ARG,ARG,...", or NULL: the
 * default workload). */
int vm_start(struct vm *vm, const struct qemu_image *img,
	     unsigned int ram_mib, bool memfd, const char *load);

/* The next console line starting with prefix, into line; -1 on end of
 * output or after timeout seconds. prefix NULL reads to the end. */
int vm_wait(struct vm *vm, const char *prefix, char *line, size_t len,
	    double timeout);

/* A command to the workload, and the reply line starting with prefix. */
int vm_say(struct vm *vm, const char *cmd, const char *prefix, char *line,
	   size_t len, double timeout);

/* Asks the workload to quit, reads the console to the end and reaps QEMU. */
void vm_stop(struct vm *vm);

#endif
