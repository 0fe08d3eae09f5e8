// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "guests.h"
#include "log.h"
#include "ponedev.h"
#include "procfs.h"

void guests_init(struct guests *gs, struct pone_engine *e, bool track_writes,
		 bool track_pone)
{
	*gs = (struct guests){ .engine = e, .track_writes = track_writes,
			       .track_pone = track_pone };
	pthread_mutex_init(&gs->lock, NULL);
}

static void guest_free(struct guest *g)
{
	pagemap_close(&g->pagemap);
	free(g->huge_zero);
	if (g->ram.fd >= 0)
		close(g->ram.fd);
	if (g->pidfd >= 0)
		close(g->pidfd);
	free(g);
}

void guest_put(struct guest *g)
{
	if (g && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0)
		guest_free(g);
}

void guests_fini(struct guests *gs)
{
	pthread_mutex_destroy(&gs->lock);
}

struct guest *guests_find(struct guests *gs, pid_t pid, const char *name)
{
	struct guest *g;

	for (g = gs->list; g; g = g->next)
		if (name ? !strcmp(g->name, name) : g->pid == pid)
			return g;
	return NULL;
}

static int check_name(const char *name, char *why, size_t len)
{
	size_t i, n = strlen(name);

	for (i = 0; i < n; i++)
		if (!(strchr("-_.+:@", name[i]) ||
		      (name[i] >= '0' && name[i] <= '9') ||
		      ((name[i] | 0x20) >= 'a' && (name[i] | 0x20) <= 'z')))
			break;
	if (!n || i < n || n >= GUEST_NAME_MAX || name[0] == '.') {
		snprintf(why, len, "bad guest name '%s': use 1 to %d letters, "
			 "digits and -_.+:@, not starting with '.'", name,
			 GUEST_NAME_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

/* The process, pinned by a pidfd, and not a zombie. */
static int open_process(struct guest *g, char *why, size_t len)
{
	int ret;

	g->pidfd = pidfd_open(g->pid, 0);
	if (g->pidfd < 0) {
		ret = -errno;
		snprintf(why, len, "process %d: %s", (int)g->pid,
			 errno == ESRCH ? "no such process" : strerror(errno));
		return ret;
	}
	ret = proc_start_time(g->pid, &g->start_time);
	if (ret)
		snprintf(why, len, "process %d: cannot read /proc/%d/stat: %s",
			 (int)g->pid, (int)g->pid, strerror(-ret));
	return ret;
}

static int add_region(struct guests *gs, struct guest *g, char *why,
		      size_t len)
{
	struct pone_region_desc d = {
		.name = g->name,
		.pages = g->ram.size / PONE_PAGE_SIZE,
		.fd = g->ram.fd,
		.offset = g->ram.offset,
		.pid = g->pid,
		.addr = g->ram.addr,
		.resident = pagemap_resident,
		.resident_ctx = &g->pagemap,
	};
	int ret = pagemap_open(&g->pagemap, g->pid, g->ram.addr, d.pages);
	/* One count a 2 MiB page, the partial ones at both ends too. */
	size_t blocks = (g->ram.size >> 21) + 2;

	/*
	 * Never through a mapping of ours: MADV_PAGEOUT skips pages that
	 * more than one process maps, and pone.ko would have to zap ours
	 * with the guest's at every merge and discard (a TLB shootdown each
	 * while our workers run). Of /dev/pone RAM pone.ko says which pages
	 * have a frame: a hole reads as zeros, and is not read.
	 */
	d.mode = g->ram.kind == GUEST_ANON ? PONE_READ_VM : PONE_READ_PREAD;
	if (ret) {
		snprintf(why, len, "cannot open /proc/%d/pagemap: %s",
			 (int)g->pid, strerror(-ret));
		return ret;
	}
	if (g->ram.kind != GUEST_PONE && !pagemap_knows_huge(&g->pagemap))
		log_warn("guest %s: this kernel has no PAGEMAP_SCAN, and poned "
			 "may not read frame numbers and /proc/kpageflags (it "
			 "needs CAP_SYS_ADMIN): huge pages cannot be told apart, "
			 "and paging out a zero page splits its huge page "
			 "whatever thp_split says", g->name);
	if (g->ram.kind == GUEST_PONE) {
		d.resident = ponedev_resident;
		d.resident_ctx = g;
		d.unwritten_exact = gs->track_pone;
		/* pone.ko compares every pair it merges, and hashes the
		 * pages it finds written. */
		d.merges_verified = true;
		d.resident_hashes = gs->track_pone;
		g->pone_track_writes = gs->track_pone;
	} else if (gs->track_writes) {
		ret = pagemap_track_open(&g->pagemap, g->pid);
		if (ret)
			log_warn("guest %s: cannot track its writes: "
				 "/proc/%d/clear_refs: %s%s; every pass reads "
				 "all of its pages", g->name, (int)g->pid,
				 strerror(-ret), ret == -EACCES ?
				 " (poned needs CAP_DAC_OVERRIDE)" : "");
	}
	g->huge_zero = calloc(blocks, sizeof(*g->huge_zero));
	if (!g->huge_zero) {
		snprintf(why, len, "out of memory for the state of %llu pages",
			 (unsigned long long)d.pages);
		return -ENOMEM;
	}
	ret = pone_engine_add_region(gs->engine, &d, &g->region);
	if (ret)
		snprintf(why, len, "the engine cannot take %llu more pages: %s",
			 (unsigned long long)d.pages, strerror(-ret));
	return ret;
}

static int check_new(struct guests *gs, pid_t pid, const char *name,
		     char *why, size_t len)
{
	struct guest *g;

	if (pid <= 0) {
		snprintf(why, len, "bad pid %d", (int)pid);
		return -EINVAL;
	}
	if (name && check_name(name, why, len))
		return -EINVAL;
	g = guests_find(gs, pid, NULL);
	if (!g && name)
		g = guests_find(gs, 0, name);
	if (g) {
		snprintf(why, len, "already attached: guest '%s', pid %d",
			 g->name, (int)g->pid);
		return -EEXIST;
	}
	return 0;
}

/* ram NULL: look for it, or take given_fd. */
static int attach(struct guests *gs, pid_t pid, const char *name,
		  int given_fd, const struct guestram *ram, struct guest **out,
		  char *why, size_t len)
{
	struct guest *g = NULL;
	int ret;

	/* Every failure below says why; should one not, the errno does. */
	why[0] = '\0';
	ret = check_new(gs, pid, name, why, len);
	if (!ret && !(g = calloc(1, sizeof(*g)))) {
		snprintf(why, len, "out of memory");
		ret = -ENOMEM;
	}
	if (ret) {
		if (ram && ram->fd >= 0)
			close(ram->fd);
		return ret;
	}
	*g = (struct guest){ .pid = pid, .pidfd = -1, .refs = 1,
			     .ram.fd = -1, .pagemap.fd = -1,
			     .pagemap.clear_refs = -1,
			     .pagemap.kpageflags = -1,
			     .attached_at = (uint64_t)time(NULL) };
	if (ram)
		g->ram = *ram;
	if (name)
		snprintf(g->name, sizeof(g->name), "%s", name);
	else
		snprintf(g->name, sizeof(g->name), "pid-%d", (int)pid);
	ret = open_process(g, why, len);
	if (!ret && !ram)
		ret = guestram_find(pid, g->pidfd, given_fd, &g->ram, why, len);
	if (ret == -ESRCH)
		snprintf(why, len, "process %d is not running", (int)pid);
	if (!ret && g->ram.kind == GUEST_PONE)
		ret = ponedev_check(g->ram.fd, why, len);
	if (!ret)
		ret = add_region(gs, g, why, len);
	if (ret) {
		if (!why[0])
			snprintf(why, len, "%s", strerror(-ret));
		guest_free(g);
		return ret;
	}
	pthread_mutex_lock(&gs->lock);
	g->next = gs->list;
	gs->list = g;
	gs->count++;
	pthread_mutex_unlock(&gs->lock);
	*out = g;
	return 0;
}

int guests_attach(struct guests *gs, pid_t pid, const char *name,
		  int given_fd, struct guest **out, char *why, size_t len)
{
	return attach(gs, pid, name, given_fd, NULL, out, why, len);
}

int guests_attach_ram(struct guests *gs, pid_t pid, const char *name,
		      const struct guestram *ram, struct guest **out,
		      char *why, size_t len)
{
	return attach(gs, pid, name, -1, ram, out, why, len);
}

void guests_detach_guest(struct guests *gs, struct guest *g)
{
	struct guest **pp;

	pthread_mutex_lock(&gs->lock);
	for (pp = &gs->list; *pp && *pp != g; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = g->next;
		gs->count--;
	}
	pthread_mutex_unlock(&gs->lock);
	/* Returns once no worker reads the region: then no new reference. */
	pone_engine_remove_region(gs->engine, g->region);
	guest_put(g);
}

int guests_detach(struct guests *gs, pid_t pid, const char *name, char *why,
		  size_t len)
{
	struct guest *g = guests_find(gs, pid, name);

	if (!g) {
		if (name)
			snprintf(why, len, "no guest named '%s' is attached",
				 name);
		else
			snprintf(why, len, "no guest with pid %d is attached",
				 (int)pid);
		return -ENOENT;
	}
	guests_detach_guest(gs, g);
	return 0;
}

struct guest *guests_get(struct guests *gs, uint32_t region)
{
	struct guest *g;

	pthread_mutex_lock(&gs->lock);
	for (g = gs->list; g && g->region != region; g = g->next)
		;
	if (g)
		guest_hold(g);
	pthread_mutex_unlock(&gs->lock);
	return g;
}

static void track_writes(void *ctx, struct guest *g)
{
	int ret;

	(void)ctx;
	if (g->pagemap.clear_refs < 0)
		return;
	ret = pagemap_track_writes(&g->pagemap);
	if (ret)
		log_debug("guest %s: soft-dirty bits not taken (%s): this pass "
			  "reads all of its pages", g->name, strerror(-ret));
}

void guests_track_writes(struct guests *gs)
{
	guests_each(gs, track_writes, NULL);
}

/* The guests attached, each held, into a new array of *n. */
static struct guest **hold_all(struct guests *gs, size_t *n)
{
	struct guest **all, *g;

	pthread_mutex_lock(&gs->lock);
	all = calloc(gs->count ? gs->count : 1, sizeof(*all));
	*n = 0;
	for (g = gs->list; all && g; g = g->next)
		all[(*n)++] = guest_hold(g);
	pthread_mutex_unlock(&gs->lock);
	return all;
}

void guests_each(struct guests *gs, void (*fn)(void *ctx, struct guest *g),
		 void *ctx)
{
	size_t n, i;
	struct guest **all = hold_all(gs, &n);

	if (!all) {
		log_warn("out of memory: guests skipped in this walk");
		return;
	}
	for (i = 0; i < n; i++) {
		fn(ctx, all[i]);
		guest_put(all[i]);
	}
	free(all);
}
