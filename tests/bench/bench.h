/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pone-bench: what the parts share. Figures go through out_*(): one JSON
 * line each with --json, else rows of an aligned table under a group
 * header that says what the group compares.
 */
#ifndef PONE_BENCH_H
#define PONE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pone/engine.h>

struct bench_opts {
	uint64_t pages;		/* pages of each image */
	unsigned int threads;	/* most worker threads tried */
	const char *only;	/* one section, or NULL: all */
	bool skip_ksm;
	bool no_tracking;	/* recycle: read every page, soft-dirty or not */
	bool json;
};

enum goal {
	GOAL_NONE,
	GOAL_MIN,		/* value >= target */
	GOAL_MAX,		/* value <= target */
};

void out_init(bool json);
void out_group(const char *title, const char *explain);
void out_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_figure(const char *name, double value, const char *unit);
void out_goal(const char *name, double value, const char *unit,
	      enum goal goal, double target);
void out_skip(const char *name, const char *unit, const char *why);
/* A correctness check, not a target: a failure makes the exit code 2. */
void out_check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Closing tally; returns the exit code. */
int out_finish(void);

/*
 * The machine is shared: a mark before a measurement, and a warning after
 * it when other processes (or the hypervisor, as steal time) kept CPUs
 * busy meanwhile. exclude_s: CPU seconds of a helper that is part of the
 * measurement (ksmd).
 */
struct load_mark {
	uint64_t busy_ticks;	/* all CPUs, from /proc/stat */
	uint64_t self_ns;	/* this process, every thread */
	uint64_t wall_ns;
};

void load_mark(struct load_mark *m);
void out_load(const struct load_mark *m, double exclude_s, const char *what);

uint64_t bench_now_ns(void);
double bench_median(double *v, size_t n);

/* observe, observe, report: a fresh engine's first report */
#define WARM_PASSES 3
#define TIMED_PASSES 5

struct image;
struct pone_engine;

/* An engine of threads workers (0: default) reading img in place. */
int bench_engine(unsigned int threads, const struct image *img,
		 struct pone_engine **out);

int bench_trees(const struct bench_opts *o);
int bench_scan(const struct bench_opts *o, struct pone_engine_memory *mix);
/* Skipped, saying why, without a DSA work queue. */
int bench_dsa(void);
int bench_recycle(const struct bench_opts *o);

#endif
