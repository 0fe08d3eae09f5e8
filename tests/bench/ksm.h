/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel KSM as the bench's reference: let ksmd merge an image of
 * this process at its fastest settings and measure what it took. Every KSM
 * setting touched is saved first and restored afterwards, also when the
 * run fails or the process gets SIGINT, SIGTERM or SIGHUP.
 */
#ifndef PONE_BENCH_KSM_H
#define PONE_BENCH_KSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

struct ksm_result {
	double wall_s;		/* from run=1 to the expected sharing */
	double cpu_s;		/* ksmd's utime + stime meanwhile */
	uint64_t visits;	/* pages ksmd scanned meanwhile */
	bool visits_estimated;	/* no pages_scanned: full scans x pages */
	uint64_t full_scans;
	uint64_t sharing;	/* pages_sharing gained */
	char settings[256];	/* as read back after the restore */
};

/*
 * 0 when KSM can be driven here; else -errno and a reason in why. KSM that
 * is already in use (run=1, or merged pages left) counts as unusable: the
 * bench neither scans others' memory nor unmerges it.
 */
int ksm_usable(char *why, size_t len);

/*
 * Let ksmd merge img until pages_sharing has grown by expect, or timeout_s
 * passed (-ETIMEDOUT, r filled with what was seen). Frees img, before the
 * settings are restored: unmapping merged memory costs far less than
 * having run=2 unmerge it. -EIO when a setting could not be restored.
 */
int ksm_measure(struct image *img, uint64_t expect, double timeout_s,
		struct ksm_result *r, char *why, size_t len);

#endif
