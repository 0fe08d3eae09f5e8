/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whether the host is short of memory, for mode = pressure: judged from
 * MemAvailable (ROOT/meminfo) and the share of time tasks stalled on
 * memory (PSI, ROOT/pressure/memory, "some avg10"); ROOT is /proc.
 *
 * Short once MemAvailable falls below the threshold (a percent of MemTotal
 * or bytes), or the stall reaches its threshold. Short it stays until
 * MemAvailable is above the threshold by PRESSURE_MARGIN_PCT of MemTotal
 * and the stall is below half its threshold, so that a host near the line
 * does not flap. Without PSI (no file, or a kernel booted psi=0) the
 * verdict rests on MemAvailable alone, and says so.
 *
 * pressure_read() does the I/O, pressure_judge() none: the scan thread
 * reads, then judges under its lock.
 */
#ifndef PONED_PRESSURE_H
#define PONED_PRESSURE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define PRESSURE_PROC "/proc"
#define PRESSURE_MARGIN_PCT 2

enum pressure_mode { PRESSURE_ALWAYS, PRESSURE_ON_SHORT };

/* The config's thresholds. A MemAvailable threshold of 0 (bytes and
 * percent) never makes the host short. */
struct pressure_limits {
	double available_pct;		/* of MemTotal, if not 0 */
	uint64_t available_bytes;	/* else this */
	double stall_pct;		/* some avg10, > 0 */
};

struct pressure_reading {
	uint64_t total, available;	/* bytes: MemTotal, MemAvailable */
	bool psi;			/* false: no stall figure */
	double stall;			/* some avg10, percent */
};

/* What pressure_read() could not read: its code in struct failure. */
enum pressure_failure {
	PRESSURE_MEMINFO = 1,		/* meminfo, or its two fields */
	PRESSURE_PSI,			/* pressure/memory's "some" line */
};

/* 0, or negative errno (-EIO: text not as the kernel writes it). */
int pressure_read(const char *root, struct pressure_reading *r,
		  struct failure *f);

struct pressure {
	bool judged;			/* false: no verdict (yet) */
	bool shortage;
	struct pressure_reading last;	/* that judged */
	uint64_t switches;		/* between short and not */
	char why[256];			/* the verdict, with its figures */
};

/* Judges r by l, given the verdict so far. Returns whether the verdict
 * changed (or is the first); why says it either way. */
bool pressure_judge(struct pressure *s, const struct pressure_limits *l,
		    const struct pressure_reading *r);

/* No verdict: what pressure_read() failed on (its code and error). */
void pressure_unjudged(struct pressure *s, const char *root, int code,
		       int err);

const char *pressure_mode_name(enum pressure_mode m);

#endif
