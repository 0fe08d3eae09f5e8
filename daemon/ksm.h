/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Steering the kernel's KSM for anonymous guests. QEMU marks their RAM
 * mergeable; what KSM lacks is knowing when a scan is worth it, and poned's
 * passes know: they see every zero page, and merge passes every stable
 * duplicate. So poned runs ksmd only while pages it found are not merged
 * yet, and stops it (run = 0 keeps what was merged) once they are, or once
 * ksmd made the few full scans that merge all it can.
 *
 * While it runs, ksmd takes up to poned's budget of a CPU (periods.h; at
 * most 0.95), its pace following the budget as it changes: a
 * page costs ksmd the same CPU whatever the pace, so the fastest pace the
 * budget allows merges soonest for no more CPU, and the scans that stop it
 * bound what it spends.
 *
 * Every KSM setting poned changes is written first, with its value as
 * poned found it, to the state directory (the file "ksm"), and put back
 * when poned stops, or at its next start after it was killed. KSM that
 * another governor runs (ksmtuned, or KSM running when poned starts) is
 * left alone, and status says so.
 *
 * Main thread and scan thread: ksm_steer() runs on the scan thread after a
 * merge pass; the rest at start and stop, and status reads the figures
 * under the lock.
 */
#ifndef PONED_KSM_H
#define PONED_KSM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define KSM_SYSFS "/sys/kernel/mm/ksm"

enum ksm_setting {
	KSM_RUN,
	KSM_PAGES_TO_SCAN,
	KSM_SLEEP_MILLISECS,
	KSM_USE_ZERO_PAGES,
	KSM_SMART_SCAN,		/* Linux 6.7 */
	KSM_SETTINGS,
	/* A figure poned reads, not a setting it changes. */
	KSM_FULL_SCANS = KSM_SETTINGS,
};

struct ksm {
	pthread_mutex_t lock;
	char dir[128];		/* KSM's sysfs directory */
	char saved[300];	/* what poned changed, as it found it */
	bool steering;		/* false: KSM is left alone, why_not says why */
	const char *why_not;
	bool running;		/* ksmd runs at poned's asking */
	long found[KSM_SETTINGS];	/* -1: not there */
	pid_t ksmd;		/* 0: not found */
	uint64_t ksmd_ticks;	/* its CPU at the last look */
	uint64_t look_ns;	/* CLOCK_MONOTONIC of that look */
	double ksmd_share;	/* of a CPU, since the look before */
	unsigned long pages_to_scan;	/* as set */
	uint64_t starts;	/* times poned started ksmd */
	long scans_at_start;	/* KSM's full_scans when it started */
	bool after_scans;	/* it stopped with duplicates left */
	uint64_t mergeable;	/* of the last pass */
	double cpu_limit;	/* of the last pass */
};

/* What a merge pass found of the anonymous guests. */
struct ksm_need {
	/* Pages poned found equal to another and KSM has not merged: poned
	 * leaves KSM's merged pages alone (pagemap.h). */
	uint64_t unmerged;
	uint64_t merged;	/* of the guests' pages, KSM's merged ones */
	uint64_t mergeable;	/* pages of the guests' RAM */
	unsigned int merge_period;	/* seconds */
	double cpu_limit;	/* cores ksmd may use */
};

/*
 * Takes KSM over in dir (KSM_SYSFS), or leaves it alone: no KSM, another
 * governor, or steer false (the config's ksm = off). Settings a killed
 * poned left in state_dir are put back first. Returns 0 or negative errno
 * (the state directory cannot keep what poned would change).
 */
int ksm_open(struct ksm *k, const char *dir, const char *state_dir,
	     bool steer);

/* Puts back every setting poned changed, and forgets them. */
void ksm_close(struct ksm *k);

/* After a pass: start ksmd for duplicates poned found that KSM has not
 * merged, or stop it once they are. Returns whether ksmd runs. */
bool ksm_steer(struct ksm *k, const struct ksm_need *need, bool merge_pass);

/*
 * Between passes, while ksmd runs: its pace held to cpu_limit by the CPU
 * it takes, and ksmd stopped once it made the full scans that merge all it
 * can. poned's next passes judge again. Returns whether ksmd still runs.
 */
bool ksm_tick(struct ksm *k);

struct ksm_figures {
	bool steering, running;
	const char *why_not;	/* when not steering */
	uint64_t starts;
	unsigned long pages_to_scan;
	double ksmd_share;	/* of a CPU, over the last merge period */
	double ksmd_cpu_s;	/* ksmd's CPU time since boot */
};

void ksm_figures(struct ksm *k, struct ksm_figures *f);

/* Whether the mapping of process pid that starts at addr is marked for KSM
 * (MADV_MERGEABLE, as QEMU's mem-merge does). */
bool ksm_mapping_mergeable(pid_t pid, uint64_t addr);

/* Pages of process pid that KSM merged, 0 where the kernel does not say. */
uint64_t ksm_process_merged(pid_t pid);
/* ... and KSM's profit in it (bytes, may be negative). */
int64_t ksm_process_profit(pid_t pid);

#endif
