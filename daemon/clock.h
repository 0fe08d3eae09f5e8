/* SPDX-License-Identifier: GPL-2.0-only */
/* Time in nanoseconds, as poned's periods, beats and ksmd's pace count it. */
#ifndef PONED_CLOCK_H
#define PONED_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_S 1000000000ull

static inline uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC's. */
static inline uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

#endif
