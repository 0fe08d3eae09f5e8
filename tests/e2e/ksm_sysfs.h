/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host's KSM as the tests and benches see it: its sysfs settings and
 * figures, ksmd's CPU time, and every setting poned may change kept and
 * put back, so that a test that failed leaves KSM as it found it.
 */
#ifndef PONE_TEST_KSM_SYSFS_H
#define PONE_TEST_KSM_SYSFS_H

#include <stdint.h>

/* A number of /sys/kernel/mm/ksm; -1 where there is none. */
long ksm_get(const char *name);
int ksm_set(const char *name, long value);

/* ksmd's CPU time, in clock ticks. */
uint64_t ksmd_ticks(void);

/* The settings poned may change, in the order they are put back last
 * to first: run first, so ksmd starts or stops once its pace is set. */
#define KSM_SETTINGS_KEPT 5
struct ksm_settings {
	long v[KSM_SETTINGS_KEPT];	/* -1: not on this kernel */
};

void ksm_settings_read(struct ksm_settings *s);
void ksm_settings_write(const struct ksm_settings *s);
/* The first setting that differs between a and b, or -1; its name. */
int ksm_settings_differ(const struct ksm_settings *a,
			const struct ksm_settings *b);
const char *ksm_setting_name(int i);

#endif
