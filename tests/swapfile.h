/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Swap for recycled pages, for the end-to-end tests and the bench: zero
 * pages paged out with MADV_PAGEOUT take a swap slot each (no I/O since
 * Linux 6.12: the swap zero map), so a machine without enough free swap
 * gets a swap file for the run, and loses it again afterwards. It swaps
 * through a loop device over the file where there is one, as a host swaps
 * on a partition: the kernel pages a huge page out whole only to a block
 * device, and splits it first for a swap file.
 */
#ifndef PONE_TEST_SWAPFILE_H
#define PONE_TEST_SWAPFILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * If less than mib MiB of swap is free, makes a swap file of that size at
 * path and enables it (root only), before any other swap, for
 * swap_release() to remove. Returns 0, or -1 with why it cannot in why.
 */
int swap_ensure(const char *path, unsigned int mib, char *why, size_t len);
/* The same, whatever swap there is already. */
int swap_add(const char *path, unsigned int mib, char *why, size_t len);
/* The loop device or file swap_add() swaps on, or NULL. */
const char *swap_device(void);
/* Whether that is a loop device: a block device, which takes huge pages
 * whole. */
bool swap_on_loop(void);
void swap_release(void);

#endif
