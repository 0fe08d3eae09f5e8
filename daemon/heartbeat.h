/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What poned tells the world every reclaim period, from the main thread:
 * systemd's one-line STATUS= (guests, saved, the last pass), the metrics
 * file (metrics.h) where metrics_file is set, and, where the unit sets
 * WatchdogSec=, WATCHDOG=1 every half of it while the scan thread makes
 * progress (periods_progressing): a pass that is stuck stops the pings,
 * and systemd restarts poned.
 */
#ifndef PONED_HEARTBEAT_H
#define PONED_HEARTBEAT_H

#include <stdint.h>

#include "source.h"

struct poned;

struct heartbeat {
	struct source src;
	int fd;				/* a timerfd */
	struct poned *d;
	uint64_t watchdog_ns;		/* 0: no watchdog */
	uint64_t progress;		/* the engine's, at the last beat */
	uint64_t metrics_at;		/* CLOCK_MONOTONIC ns of the last */
	int metrics_err;		/* of the last write: said once */
	bool stuck;			/* said once */
	bool notify;			/* systemd listens (NOTIFY_SOCKET) */
};

/* Starts it in poned's loop; 0 or negative errno. */
int heartbeat_open(struct heartbeat *h, struct poned *d);
void heartbeat_close(struct heartbeat *h);

#endif
