/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The attached guests. Each is a QEMU process (pid, pidfd, start time),
 * its guest RAM as one engine region, and counters of what was done to it.
 *
 * Threading: attach and detach come from the daemon's main thread only;
 * the engine's workers look guests up by region (guests_get()) and hold a
 * reference while they act on one, so a guest detached meanwhile stays
 * valid until they let go (guest_put()). Counters are atomic. The list's
 * lock is held only to walk the list, never across a system call: a
 * worker takes it for every batch it acts on.
 */
#ifndef PONED_GUESTS_H
#define PONED_GUESTS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <pone/engine.h>

#include "guestram.h"
#include "pagemap.h"

#define GUEST_NAME_MAX 64

struct guest {
	char name[GUEST_NAME_MAX];
	pid_t pid;
	uint64_t start_time;	/* of the process, to tell a reused pid */
	int pidfd;
	struct guestram ram;
	struct pagemap pagemap;
	bool pone_track_writes;	/* /dev/pone RAM: ask pone.ko what was written */
	uint32_t region;
	int refs;
	void *watch;		/* the daemon's watch of the pidfd */
	uint64_t attached_at;	/* CLOCK_REALTIME seconds */

	uint32_t *huge_zero;		/* per 2 MiB: pass << 10 | zero pages */
	uint64_t recycled_pages;	/* zero pages the kernel paged out */
	uint64_t huge_whole;		/* huge pages paged out whole */
	uint64_t huge_split;		/* huge pages split to page out some */
	uint64_t recycle_errors;
	uint64_t dups_within;		/* duplicates found in this guest */
	uint64_t dups_across;		/* ... equal to another guest's page */
	uint64_t merged_pages;		/* merged by pone.ko */
	uint64_t merge_changed;		/* ... refused: contents differed */
	uint64_t merge_busy;		/* ... put off: a frame was busy */
	struct guest *next;
};

struct guests {
	pthread_mutex_t lock;
	struct guest *list;
	struct pone_engine *engine;
	unsigned int count;
	bool track_writes;	/* of memfd and anonymous guests (pagemap.h) */
	bool track_pone;	/* of /dev/pone guests (pone.ko) */
};

void guests_init(struct guests *gs, struct pone_engine *e, bool track_writes,
		 bool track_pone);

/* Before a pass: take and clear the guests' soft-dirty bits. */
void guests_track_writes(struct guests *gs);
void guests_fini(struct guests *gs);	/* detached already */

/*
 * Attach the guest RAM of process pid under name (NULL: "pid-PID"); given_fd
 * is an fd of it a client passed, or -1. why says what went wrong.
 */
int guests_attach(struct guests *gs, pid_t pid, const char *name,
		  int given_fd, struct guest **out, char *why, size_t len);

/* The same, for guest RAM the caller located itself (its fd, if any, is
 * taken over, also on failure). */
int guests_attach_ram(struct guests *gs, pid_t pid, const char *name,
		      const struct guestram *ram, struct guest **out,
		      char *why, size_t len);

/* By pid (name NULL) or by name; main thread only, no reference. */
struct guest *guests_find(struct guests *gs, pid_t pid, const char *name);

/* Detach by pid (name NULL) or by name. */
int guests_detach(struct guests *gs, pid_t pid, const char *name, char *why,
		  size_t len);
void guests_detach_guest(struct guests *gs, struct guest *g);

/* The guest of an engine region, with a reference; NULL if detached. */
struct guest *guests_get(struct guests *gs, uint32_t region);
void guest_put(struct guest *g);

/* Another reference to a guest that cannot go meanwhile: the caller holds
 * one, or the list's lock. */
static inline struct guest *guest_hold(struct guest *g)
{
	__atomic_add_fetch(&g->refs, 1, __ATOMIC_RELAXED);
	return g;
}

/* Call fn on every guest attached when it starts, holding a reference to
 * each, the list not locked: fn may read /proc and ask pone.ko while the
 * passes go on. */
void guests_each(struct guests *gs, void (*fn)(void *ctx, struct guest *g),
		 void *ctx);

#endif
