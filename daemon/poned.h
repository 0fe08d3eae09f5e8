/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon as the control commands see it. Everything here is owned by
 * poned's main(); commands run on its main thread, one at a time.
 *
 * Threads: the main thread (the epoll loop: control requests, guest exits,
 * signals), the scan thread (periods.c, one pass at a time) and the
 * engine's workers, which act on what a pass finds (recycle.c, the guests'
 * ops).
 *
 * Locking:
 *   guests.lock        the guest list: held only to walk it, take a
 *                      reference, or link and unlink a guest; never
 *                      across a system call or a call into the engine
 *   periods.lock       the periods' settings and figures, mode =
 *                      pressure's verdict among them; never held across
 *                      a pass, nor while the verdict's files are read
 *   the engine's       taken inside libpone: its pass lock by the scan
 *                      thread across a pass; its lock by workers that
 *                      report merges or ask whether a range is idle, and
 *                      by status for one walk of a guest's page states
 *                      (a word a page: about 0.2 ms a GiB)
 *
 * No two of guests.lock and periods.lock are ever held at once, and neither
 * is held when the engine is called, so there is no order to keep between
 * them: a worker in a pass takes guests.lock, lets go, then reports to the
 * engine. Status takes each briefly and does its I/O (smaps, pone.ko's
 * counters) holding a reference to the guest, not a lock, so asking for it
 * does not hold up a pass (tests/e2e/bench_status.c measures it).
 *
 * The engine's CPU limit is the scan thread's alone to set, to the budget
 * of the pass it starts: a control request changes the settings it is
 * made from.
 *
 * Guest lifetime: a reference (guest_hold/guests_get .. guest_put) keeps
 * a detached guest's memory and fds until the last user lets go;
 * pone_engine_remove_region() returns only once no worker reads its
 * region.
 */
#ifndef PONED_PONED_H
#define PONED_PONED_H

#include <stdint.h>

#include <pone/engine.h>

#include "config.h"
#include "guests.h"
#include "ksm.h"
#include "periods.h"
#include "virt.h"

struct poned {
	struct config cfg;
	struct pone_engine *engine;
	unsigned int engine_threads_max;	/* its pool */
	struct pone_backend *dsa;	/* the engine's, or NULL: the CPU's */
	const char *backend;		/* name of the engine's backend */
	const char *write_tracking;	/* soft-dirty, off, unavailable */
	struct guests guests;
	struct periods periods;
	struct ksm ksm;
	struct virt *virt;		/* libvirt's domains, or NULL */
	int epfd;
	uint64_t started;		/* CLOCK_REALTIME seconds */
	unsigned int nodes;		/* NUMA nodes online */
};

#endif
