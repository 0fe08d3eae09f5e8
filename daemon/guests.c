// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include <pone/uapi.h>

#include "guests.h"
#include "log.h"
#include "procfs.h"
#include "statefile.h"

void guests_init(struct guests *gs, const struct guests_config *cfg)
{
	*gs = (struct guests){ .cfg = *cfg };
	pthread_mutex_init(&gs->lock, NULL);
}

static void guest_free(struct guest *g)
{
	if (g->ops)
		g->ops->close(g);
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

struct guest *guests_find(struct guests *gs, pid_t pid, const char *name)
{
	struct guest *g;

	for (g = gs->list; g; g = g->next)
		if (name ? !strcmp(g->name, name) : g->pid == pid)
			return g;
	return NULL;
}

bool guests_good_name(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < n; i++)
		if (!(strchr("-_.+:@", name[i]) ||
		      (name[i] >= '0' && name[i] <= '9') ||
		      ((name[i] | 0x20) >= 'a' && (name[i] | 0x20) <= 'z')))
			return false;
	return n && n < GUEST_NAME_MAX && name[0] != '.';
}

/* The process, pinned by a pidfd, and not a zombie. */
static int open_process(struct guest *g, struct failure *f)
{
	int ret;

	g->pidfd = pidfd_open(g->pid, 0);
	if (g->pidfd < 0)
		return -errno;
	ret = proc_start_time(g->pid, &g->start_time);
	return ret && ret != -ESRCH ? failure(f, GUESTRAM_PROC, ret) : ret;
}

static const struct guest_ops *ops_of(enum guest_kind kind)
{
	static const struct guest_ops *const ops[] = {
		[GUEST_ANON] = &guest_anon_ops,
		[GUEST_MEMFD] = &guest_memfd_ops,
		[GUEST_PONE] = &guest_pone_ops,
	};

	return ops[kind];
}

static int add_region(struct guests *gs, struct guest *g, struct failure *f)
{
	struct pone_region_desc d = {
		.name = g->name,
		.domain = g->domain,
		.never_merge = !strcmp(g->sharing, GUESTS_SHARING_NONE),
		.pages = g->ram.size / PONE_PAGE_SIZE,
		.fd = g->ram.fd,
		.offset = g->ram.offset,
		.pid = g->pid,
		.addr = g->ram.addr,
	};
	int ret;

	g->ops = ops_of(g->ram.kind);
	ret = g->ops->open(gs, g, &d, f);
	if (ret)
		return ret;
	ret = pone_engine_add_region(gs->cfg.engine, &d, &g->region);
	return ret ? failure(f, GUESTS_ENGINE, ret) : 0;
}

static void guest_exited(struct source *s, uint32_t events)
{
	struct guest *g = (struct guest *)((char *)s -
					   offsetof(struct guest, exited));

	(void)events;
	log_info("process %d exited: detaching its guest", (int)g->pid);
	guests_detach_guest(g->guests, g);
}

/* Its exit detaches it; a restarted poned takes it back. */
static int keep(struct guests *gs, struct guest *g, struct failure *f)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &g->exited };
	int ret = 0;

	g->exited.ready = guest_exited;
	if (gs->cfg.epfd >= 0 &&
	    epoll_ctl(gs->cfg.epfd, EPOLL_CTL_ADD, g->pidfd, &ev))
		return failure(f, GUESTS_WATCH, -errno);
	if (gs->cfg.state_dir)
		ret = statefile_save(gs->cfg.state_dir, g->name, g->pid,
				     g->start_time,
				     g->sharing[0] ? g->sharing : NULL);
	if (ret && gs->cfg.epfd >= 0)
		epoll_ctl(gs->cfg.epfd, EPOLL_CTL_DEL, g->pidfd, NULL);
	return ret ? failure(f, GUESTS_STATE, ret) : 0;
}

/* "guest" is the config's word for a domain of a guest's own. */
static int check_new(struct guests *gs, pid_t pid, const char *name,
		     const char *sharing, struct failure *f)
{
	if (pid <= 0)
		return failure(f, GUESTS_BAD_PID, -EINVAL);
	if (name && !guests_good_name(name))
		return failure(f, GUESTS_BAD_NAME, -EINVAL);
	if (sharing && (!guests_good_name(sharing) || !strcmp(sharing, "guest")))
		return failure(f, GUESTS_BAD_SHARING, -EINVAL);
	if (guests_find(gs, pid, NULL) || (name && guests_find(gs, 0, name)))
		return failure(f, GUESTS_ATTACHED, -EEXIST);
	return 0;
}

static struct guest *guest_new(struct guests *gs, pid_t pid,
			       const char *name)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	*g = (struct guest){ .pid = pid, .pidfd = -1, .refs = 1, .guests = gs,
			     .ram.fd = -1, .pagemap.fd = -1,
			     .pagemap.clear_refs = -1,
			     .pagemap.kpageflags = -1,
			     .attached_at = (uint64_t)time(NULL) };
	if (name)
		snprintf(g->name, sizeof(g->name), "%s", name);
	else
		snprintf(g->name, sizeof(g->name), "pid-%d", (int)pid);
	return g;
}

/* Ids are never given twice: a guest gone may still be in a pass. */
static int new_domain(struct guests *gs, uint32_t *id, struct failure *f)
{
	if (gs->next_domain + 1 >= PONE_DOMAINS)
		return failure(f, GUESTS_NO_DOMAIN, -ENOSPC);
	*id = ++gs->next_domain;
	return 0;
}

static int domain_of(struct guests *gs, const char *sharing, uint32_t *id,
		     struct failure *f)
{
	struct named_domain *more;
	size_t i;
	int ret;

	*id = 0;
	if (!sharing)
		return gs->cfg.own_domains ? new_domain(gs, id, f) : 0;
	if (!strcmp(sharing, "host"))
		return 0;
	if (!strcmp(sharing, GUESTS_SHARING_NONE))
		return new_domain(gs, id, f);
	for (i = 0; i < gs->nnamed; i++)
		if (!strcmp(gs->named[i].name, sharing)) {
			*id = gs->named[i].id;
			return 0;
		}
	more = realloc(gs->named, (gs->nnamed + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	gs->named = more;
	ret = new_domain(gs, id, f);
	if (ret)
		return ret;
	snprintf(more[gs->nnamed].name, sizeof(more->name), "%s", sharing);
	more[gs->nnamed++].id = *id;
	return 0;
}

const char *guest_sharing(const struct guest *g)
{
	if (!g->domain)
		return "host";
	return g->sharing[0] ? g->sharing : "guest";
}

/* Its RAM found or given, the guest is made ready and kept. */
static int open_guest(struct guests *gs, struct guest *g, int given_fd,
		      bool found, struct failure *f)
{
	int ret = open_process(g, f);

	if (!ret && !found)
		ret = guestram_find(g->pid, g->pidfd, given_fd, &g->ram, f);
	if (!ret)
		ret = add_region(gs, g, f);
	if (!ret) {
		ret = keep(gs, g, f);
		if (ret)
			pone_engine_remove_region(gs->cfg.engine, g->region);
	}
	return ret;
}

static void list_add(struct guests *gs, struct guest *g)
{
	pthread_mutex_lock(&gs->lock);
	g->next = gs->list;
	gs->list = g;
	gs->count++;
	pthread_mutex_unlock(&gs->lock);
}

/* ram NULL: look for it, or take given_fd. */
static int attach(struct guests *gs, pid_t pid, const char *name,
		  const char *sharing, int given_fd,
		  const struct guestram *ram, struct guest **out,
		  struct failure *f)
{
	struct guest *g = NULL;
	struct failure ignored;
	uint32_t domain = 0;
	int ret;

	f = f ? f : &ignored;
	f->code = 0;
	ret = check_new(gs, pid, name, sharing, f);
	if (!ret)
		ret = domain_of(gs, sharing, &domain, f);
	if (!ret && !(g = guest_new(gs, pid, name)))
		ret = -ENOMEM;
	if (ret) {
		if (ram && ram->fd >= 0)
			close(ram->fd);
		return ret;
	}
	if (ram)
		g->ram = *ram;
	g->domain = domain;
	snprintf(g->sharing, sizeof(g->sharing), "%s", sharing ? sharing : "");
	ret = open_guest(gs, g, given_fd, ram, f);
	if (ret) {
		guest_free(g);
		return ret;
	}
	list_add(gs, g);
	log_info("attached guest '%s': pid %d, %llu MiB of %s RAM, sharing "
		 "domain %s", g->name, (int)g->pid,
		 (unsigned long long)(g->ram.size >> 20), g->ops->name,
		 guest_sharing(g));
	*out = g;
	return 0;
}

int guests_attach(struct guests *gs, pid_t pid, const char *name,
		  const char *sharing, int given_fd, struct guest **out,
		  struct failure *f)
{
	return attach(gs, pid, name, sharing, given_fd, NULL, out, f);
}

int guests_attach_ram(struct guests *gs, pid_t pid, const char *name,
		      const struct guestram *ram, struct guest **out,
		      struct failure *f)
{
	return attach(gs, pid, name, NULL, -1, ram, out, f);
}

/* Off the list and out of the engine; forgotten with its last reference. */
static void drop(struct guests *gs, struct guest *g)
{
	struct guest **pp;

	if (gs->cfg.epfd >= 0)
		epoll_ctl(gs->cfg.epfd, EPOLL_CTL_DEL, g->pidfd, NULL);
	pthread_mutex_lock(&gs->lock);
	for (pp = &gs->list; *pp && *pp != g; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = g->next;
		gs->count--;
	}
	pthread_mutex_unlock(&gs->lock);
	/* Returns once no worker reads the region: then no new reference. */
	pone_engine_remove_region(gs->cfg.engine, g->region);
	guest_put(g);
}

void guests_detach_guest(struct guests *gs, struct guest *g)
{
	if (gs->cfg.state_dir)
		statefile_remove(gs->cfg.state_dir, g->name);
	log_info("detached guest '%s' (pid %d)", g->name, (int)g->pid);
	drop(gs, g);
}

int guests_detach(struct guests *gs, pid_t pid, const char *name,
		  struct failure *f)
{
	struct guest *g = guests_find(gs, pid, name);

	if (!g)
		return failure(f, GUESTS_NOT_ATTACHED, -ENOENT);
	guests_detach_guest(gs, g);
	return 0;
}

void guests_fini(struct guests *gs)
{
	while (gs->list)
		drop(gs, gs->list);
	free(gs->named);
	pthread_mutex_destroy(&gs->lock);
}

/* A saved guest is attached again if its process is still the same one. */
static int reattach(void *ctx, const char *name, pid_t pid, uint64_t start,
		    const char *sharing)
{
	struct guests *gs = ctx;
	struct failure f;
	struct guest *g;
	uint64_t now;
	char why[512];
	int ret;

	if (proc_start_time(pid, &now) || now != start) {
		log_info("guest '%s' (pid %d) is gone since poned last ran",
			 name, (int)pid);
		return 1;
	}
	ret = guests_attach(gs, pid, name, sharing, -1, &g, &f);
	if (ret) {
		guests_failure_text(gs, ret, &f, pid, name, why, sizeof(why));
		log_warn("cannot attach guest '%s' again: %s", name, why);
		return 1;
	}
	return 0;
}

void guests_restore(struct guests *gs)
{
	if (gs->cfg.state_dir)
		statefile_each(gs->cfg.state_dir, reattach, gs);
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
	(void)ctx;
	if (g->ops->track_writes)
		g->ops->track_writes(g);
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

/* What the operator may do about a refusal of the kernel. */
static const char *needs(int err, const char *what)
{
	return err == -EACCES || err == -EPERM ? what : "";
}

/* The words of a failure with a code; most name the process. */
static int text_of(const struct guests *gs, int err, int code, pid_t pid,
		   const char *name, char *buf, size_t len)
{
	const char *e = strerror(-err);

	switch (code) {
	case GUESTRAM_PROC:
		return snprintf(buf, len, "process %d: cannot read its /proc "
				"files: %s%s", (int)pid, e, needs(err,
				" (poned needs CAP_DAC_READ_SEARCH and "
				"CAP_SYS_PTRACE)"));
	case GUESTRAM_NO_RAM:
		return snprintf(buf, len, "process %d has no guest RAM: no "
				"memfd:memory-backend-memfd or /dev/pone "
				"mapping, and no -m option to size anonymous "
				"RAM by", (int)pid);
	case GUESTRAM_NO_ANON:
	case GUESTRAM_MANY_ANON:
		return snprintf(buf, len, "process %d has %s private anonymous "
				"mapping of its -m size: cannot tell its guest "
				"RAM", (int)pid, code == GUESTRAM_NO_ANON ?
				"no" : "more than one");
	case GUESTRAM_NO_FD:
		return snprintf(buf, len, "process %d maps its guest RAM but "
				"holds no fd of it to take; pass the fd with "
				"the request", (int)pid);
	case GUESTRAM_TAKE_FD:
		return snprintf(buf, len, "cannot take process %d's fd of its "
				"guest RAM: %s%s", (int)pid, e, needs(err,
				" (poned needs CAP_SYS_PTRACE)"));
	case GUESTRAM_FD_NOT_RAM:
		return snprintf(buf, len, "the fd passed is not a memfd or "
				"/dev/pone");
	case GUESTRAM_FD_NOT_MAPPED:
		return snprintf(buf, len, "process %d does not map the fd "
				"passed", (int)pid);
	case GUESTRAM_KEEP_FD:
		return snprintf(buf, len, "cannot keep the fd passed: %s", e);
	case GUESTS_BAD_PID:
		return snprintf(buf, len, "bad pid %d", (int)pid);
	case GUESTS_BAD_NAME:
		return snprintf(buf, len, "bad guest name '%s': use 1 to %d "
				"letters, digits and -_.+:@, not starting with "
				"'.'", name, GUEST_NAME_MAX - 1);
	case GUESTS_ATTACHED:
		return snprintf(buf, len, "already attached: process %d%s%s%s",
				(int)pid, name ? " or a guest named '" : "",
				name ? name : "", name ? "'" : "");
	case GUESTS_NOT_ATTACHED:
		return name ? snprintf(buf, len, "no guest named '%s' is "
				       "attached", name) :
			      snprintf(buf, len, "no guest with pid %d is "
				       "attached", (int)pid);
	case GUESTS_ENGINE:
		return snprintf(buf, len, "the engine cannot take the guest "
				"RAM of process %d: %s", (int)pid, e);
	case GUESTS_WATCH:
		return snprintf(buf, len, "cannot watch process %d: %s",
				(int)pid, e);
	case GUESTS_STATE:
		return snprintf(buf, len, "cannot list the guest in the state "
				"directory %s: %s", gs->cfg.state_dir, e);
	case GUESTS_PONE_MODULE:
		return snprintf(buf, len, "/dev/pone does not answer "
				"PONE_IOC_INFO: %s (is pone.ko loaded?)", e);
	case GUESTS_BAD_SHARING:
		return snprintf(buf, len, "bad sharing domain name: use 1 to %d "
				"letters, digits and -_.+:@, not starting with "
				"'.' ('guest' means a domain of a guest's own: "
				"leave the name out)", GUEST_NAME_MAX - 1);
	case GUESTS_NO_DOMAIN:
		return snprintf(buf, len, "no sharing domain left: poned has "
				"made %u since it started; restart it",
				PONE_DOMAINS - 1);
	case GUESTS_PONE_ABI:
		return snprintf(buf, len, "pone.ko speaks another ABI version "
				"than poned's (%u): install the module and the "
				"daemon of one release", PONE_ABI_VERSION);
	}
	return -1;
}

void guests_failure_text(const struct guests *gs, int err,
			 const struct failure *f, pid_t pid, const char *name,
			 char *buf, size_t len)
{
	if (text_of(gs, err, f ? f->code : 0, pid, name, buf, len) >= 0)
		return;
	if (err == -ESRCH)
		snprintf(buf, len, "process %d is not running", (int)pid);
	else
		snprintf(buf, len, "process %d: %s", (int)pid, strerror(-err));
}
