/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The attached guests, and the one place a guest is attached or detached.
 * A guest is a QEMU process (pid, pidfd, start time), its guest RAM as one
 * engine region, and counters of what was done to it. Attaching one also
 * watches its pidfd in the daemon's epoll loop (its exit detaches it) and
 * lists it in the state directory (a restarted poned takes it back);
 * detaching undoes all three.
 *
 * What differs between kinds of guest RAM (anonymous, memfd, /dev/pone) is
 * in the guest's ops, chosen once at attach: one file a kind.
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

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <pone/engine.h>

#include "error.h"
#include "guestram.h"
#include "pagemap.h"
#include "source.h"

#define GUEST_NAME_MAX 64
#define GUEST_UUID_LEN 37	/* a libvirt domain's, with its NUL */
/* The sharing domain of guests none of whose pages is ever merged (their
 * zero pages are still recycled): libvirt's <nosharepages/>. */
#define GUESTS_SHARING_NONE "none"

struct guest;
struct guests;
struct recycle_pass;

/* Failures of attach and detach (error.h), beside guestram_find()'s. */
enum {
	GUESTS_BAD_PID = GUESTRAM_FAILURES,
	GUESTS_BAD_NAME,
	GUESTS_ATTACHED,	/* the pid or the name is taken */
	GUESTS_NOT_ATTACHED,
	GUESTS_ENGINE,		/* the engine cannot take the pages */
	GUESTS_WATCH,		/* the pidfd cannot be watched */
	GUESTS_STATE,		/* the state directory cannot list it */
	GUESTS_PONE_MODULE,	/* /dev/pone does not answer */
	GUESTS_PONE_ABI,	/* pone.ko of another release */
	GUESTS_BAD_SHARING,	/* a sharing domain's name */
	GUESTS_NO_DOMAIN,	/* all domain ids used */
	GUESTS_FAILURES
};

/* What the kernel counts of a guest's RAM, for status. */
struct guest_usage {
	uint64_t resident, swap;	/* bytes */
	uint64_t saved;			/* bytes recycled or merged away */
	/* Frames the RAM points at, counting shares, and the frames the
	 * kernel helper holds for every guest of its kind: 0 where none. */
	uint64_t frames_mapped, frames_held;
	json_t *detail;	/* the kind's own figures, keys of the guest's */
};

struct guest_ops {
	const char *name;	/* as status shows it */
	bool ksm;		/* the kernel's KSM can merge it */
	/* Ready the guest's RAM (g->ram) for the engine: check it, and fill
	 * in how d's pages are read and which are resident. */
	int (*open)(struct guests *gs, struct guest *g,
		    struct pone_region_desc *d, struct failure *f);
	void (*close)(struct guest *g);
	/* Before a pass, where writes are tracked apart from the engine. */
	void (*track_writes)(struct guest *g);
	/* Zero pages of g, ascending, found stable in a pass. */
	void (*recycle)(const struct recycle_pass *rp, struct guest *g,
			const struct pone_page_ref *pages, size_t n);
	/* Merge duplicates of g's pages into their canonical pages, and
	 * report the merged to the engine; NULL where the kind cannot.
	 * Returns how many it merged. */
	size_t (*merge)(struct guests *gs, struct guest *g,
			const struct pone_dup *dups, size_t n);
	void (*usage)(struct guest *g, struct guest_usage *u);
};

extern const struct guest_ops guest_anon_ops;	/* guest_process.c */
extern const struct guest_ops guest_memfd_ops;	/* guest_process.c */
extern const struct guest_ops guest_pone_ops;	/* ponedev.c */

struct guest {
	char name[GUEST_NAME_MAX];
	pid_t pid;
	uint64_t start_time;	/* of the process, to tell a reused pid */
	int pidfd;
	struct source exited;	/* the pidfd's, in the daemon's loop */
	struct guests *guests;
	const struct guest_ops *ops;
	struct guestram ram;
	struct pagemap pagemap;	/* of the process (anonymous, memfd) */
	bool pone_track_writes;	/* /dev/pone RAM: ask pone.ko what was written */
	bool ksm_mergeable;	/* the kernel's KSM may merge its RAM */
	/* Its sharing domain, as named at attach ("" if none), and its id in
	 * the engine: 0 the host's, shared by every guest not named into
	 * another (unless sharing = guest gives each its own). */
	char sharing[GUEST_NAME_MAX];
	uint32_t domain;
	char uuid[GUEST_UUID_LEN];	/* its libvirt domain's, or "" */
	bool zero_to_ksm;	/* its zero pages are KSM's (atomic) */
	uint32_t region;
	int refs;
	uint64_t attached_at;	/* CLOCK_REALTIME seconds */

	uint32_t *huge_zero;		/* per 2 MiB: recycle.c's counts */
	uint64_t recycled_pages;	/* zero pages paged out or discarded */
	uint64_t huge_whole;		/* huge pages paged out whole */
	uint64_t huge_split;		/* huge pages split to page out some */
	uint64_t recycle_errors;
	uint64_t dups_within;		/* duplicates found in this guest */
	uint64_t dups_across;		/* ... equal to another guest's page */
	uint64_t merged_pages;		/* merged by pone.ko */
	uint64_t merge_changed;		/* ... refused: contents differed */
	uint64_t merge_busy;		/* ... put off: a frame was busy */
	uint64_t poisoned;		/* pone.ko: entries refused, as a
					 * frame had a memory error */
	struct guest *next;
};

struct guests_config {
	struct pone_engine *engine;
	int epfd;		/* the daemon's loop, or -1: no watch */
	const char *state_dir;	/* or NULL: attached guests are not kept */
	bool track_writes;	/* of memfd and anonymous guests (pagemap.h) */
	bool track_pone;	/* of /dev/pone guests (pone.ko) */
	bool own_domains;	/* sharing = guest: a domain a guest */
	/* A host of more than one node: the engine is told each page's
	 * node (numa.h), and places its workers by it. */
	bool numa;
	/* ... and merge_across_nodes = no: it keeps them apart. */
	bool nodes_apart;
};

/* A named sharing domain and its engine id. */
struct named_domain {
	char name[GUEST_NAME_MAX];
	uint32_t id;
};

struct guests {
	pthread_mutex_t lock;
	struct guest *list;
	unsigned int count;
	struct guests_config cfg;
	/* Sharing domains: ids given out, never again; named ones kept
	 * (main thread). */
	uint32_t next_domain;
	struct named_domain *named;
	size_t nnamed;
};

void guests_init(struct guests *gs, const struct guests_config *cfg);

/* Attach the guests the state directory lists whose processes still run
 * (a pid reused by another process is not taken), and forget the rest. */
void guests_restore(struct guests *gs);

/* Detach every guest but keep them listed in the state directory, for the
 * next start to attach again; then release gs. */
void guests_fini(struct guests *gs);

/* Before a pass: take and clear the guests' soft-dirty bits. */
void guests_track_writes(struct guests *gs);

/*
 * Attach the guest RAM of process pid under name (NULL: "pid-PID"), in the
 * sharing domain named sharing (NULL: the config's; "host": every guest's
 * not named into another); given_fd is an fd of it a client passed, or -1
 * (the caller keeps it). -ESRCH: the process is not running. Main thread.
 */
int guests_attach(struct guests *gs, pid_t pid, const char *name,
		  const char *sharing, int given_fd, struct guest **out,
		  struct failure *f);

/* The guest of process pid (name NULL), or of that name; NULL if none. Main
 * thread. */
struct guest *guests_find(struct guests *gs, pid_t pid, const char *name);

/* Whether poned takes name as a guest's or a sharing domain's name. */
bool guests_good_name(const char *name);

/* What a guest's sharing domain is called in status: "host", "guest" (its
 * own) or its name. */
const char *guest_sharing(const struct guest *g);

/* The same, for guest RAM the caller located itself (its fd, if any, is
 * taken over, also on failure). */
int guests_attach_ram(struct guests *gs, pid_t pid, const char *name,
		      const struct guestram *ram, struct guest **out,
		      struct failure *f);

/* Detach by pid (name NULL) or by name. */
int guests_detach(struct guests *gs, pid_t pid, const char *name,
		  struct failure *f);
void guests_detach_guest(struct guests *gs, struct guest *g);

/* The words for the operator of a failed attach or detach of process pid
 * (0: by name) or guest name (NULL: by pid): err and f as it returned. */
void guests_failure_text(const struct guests *gs, int err,
			 const struct failure *f, pid_t pid, const char *name,
			 char *buf, size_t len);

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
