/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scan thread: a reclaim pass every reclaim period, a merge pass every
 * merge period (it also does the reclaim pass's work), and the actuator
 * that acts on what a pass finds.
 *
 * The daemon's CPU use is held to a budget of cores on average: within a
 * pass by the engine (its workers sleep as they go), and a pass that used
 * C CPU-seconds is followed by a pause of at least C / budget seconds from
 * its start. The budget is cpu_limit, or under mode = pressure
 * idle_cpu_limit while the host is not short of memory (pressure.h),
 * judged before each pass and every reclaim period of a longer pause; it
 * also caps ksmd, steered again at each switch. Settings and figures are read and changed under the
 * lock, from any thread; the engine's CPU limit is set by the scan thread
 * alone.
 *
 * Zero pages go to recycle.h, which pages them out; duplicates are counted
 * per guest, within it and across guests, merged where the guest's kind
 * merges, and after every pass KSM is steered for the guests it merges
 * (while ksmd runs, the thread also wakes every half second for it).
 */
#ifndef PONED_PERIODS_H
#define PONED_PERIODS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <pone/engine.h>

#include "config.h"
#include "guests.h"
#include "ksm.h"
#include "pressure.h"
#include "recycle.h"

struct periods_settings {
	unsigned int reclaim_period, merge_period;	/* seconds */
	double cpu_limit;				/* cores */
	enum thp_split thp_split;
	enum pressure_mode mode;
	struct pressure_limits pressure;
	double idle_cpu_limit;				/* cores */
};

struct periods_figures {
	uint64_t passes, merge_passes;
	uint64_t cpu_ns;		/* all passes */
	uint64_t started;		/* CLOCK_MONOTONIC ns, at start */
	uint64_t last_end;		/* CLOCK_REALTIME s of the last pass */
	bool last_merge;
	struct pone_pass_stats last;
	uint64_t dups_within, dups_across;	/* found by the last merge pass */
	struct pressure pressure;	/* the last verdict on memory */
	double budget;			/* cores, as of it */
};

struct periods {
	struct pone_engine *engine;
	struct guests *guests;
	struct ksm *ksm;			/* steered after merge passes */
	const char *proc;			/* PRESSURE_PROC */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct periods_settings set;
	struct periods_figures fig;
	struct recycle_pass recycle;		/* of the pass running */
	uint64_t pass_within, pass_across;	/* this merge pass, atomic */
	uint64_t pass_merged;
	bool stop;
	bool pass_asked;			/* a pass, now */
	uint64_t busy_since;	/* CLOCK_MONOTONIC ns; 0: resting. Atomic */
	pthread_t thread;
};

/* The settings as the config has them. */
void periods_settings_of(const struct config *c, struct periods_settings *s);

/* Judges memory once before it starts the thread, so that status has a
 * verdict from the start. */
int periods_start(struct periods *p, struct pone_engine *e, struct guests *gs,
		  struct ksm *ksm, const char *proc,
		  const struct periods_settings *set);
void periods_stop(struct periods *p);

void periods_configure(struct periods *p, const struct periods_settings *set);
/* A pass as soon as the one running ends (a guest came). */
void periods_pass_soon(struct periods *p);

/*
 * Whether the scan thread makes progress: it rests between passes, or its
 * pass finished stripes since the last call (*seen, the caller's: the
 * engine's progress then), or it has been busy for less than within_ns.
 * Any thread.
 */
bool periods_progressing(struct periods *p, uint64_t *seen,
			 uint64_t within_ns);
void periods_figures(struct periods *p, struct periods_figures *f);

#endif
