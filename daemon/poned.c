// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned: attaches QEMU guests, scans their RAM in periods with the engine,
 * recycles zero pages, and answers the control socket. The main thread runs
 * the event loop (control clients, guest process exits, signals); the scan
 * thread (periods.c) and the engine's workers do the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <pone/backend.h>
#include <pone/dsa.h>

#include "commands.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "pagemap.h"
#include "procfs.h"
#include "statefile.h"
#include "status.h"

/* A guest's process, watched through its pidfd. */
struct watch {
	struct source src;
	struct daemon *d;
	pid_t pid;
};

struct signals {
	struct source src;
	int fd;
	bool stop;
};

void daemon_periods_settings(const struct config *c,
			     struct periods_settings *s)
{
	*s = (struct periods_settings){ c->reclaim_period, c->merge_period,
					c->cpu_limit, c->thp_split };
}

static void guest_exited(struct source *s, uint32_t events)
{
	struct watch *w = (struct watch *)s;
	char why[256];

	(void)events;
	log_info("process %d exited: detaching its guest", (int)w->pid);
	daemon_detach(w->d, w->pid, NULL, why, sizeof(why));
}

static int watch_guest(struct daemon *d, struct guest *g)
{
	struct watch *w = malloc(sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!w)
		return -ENOMEM;
	*w = (struct watch){ { guest_exited }, d, g->pid };
	ev.data.ptr = &w->src;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, g->pidfd, &ev)) {
		free(w);
		return -errno;
	}
	g->watch = w;
	return 0;
}

int daemon_attach(struct daemon *d, pid_t pid, const char *name, int fd,
		  struct guest **out, char *why, size_t len)
{
	const char *swap = swap_problem();
	struct guest *g;
	int ret = guests_attach(&d->guests, pid, name, fd, &g, why, len);

	if (ret)
		return ret;
	ret = watch_guest(d, g);
	if (!ret)
		ret = statefile_save(d->cfg.state_dir, g->name, g->pid,
				     g->start_time);
	if (ret) {
		snprintf(why, len, "cannot keep guest '%s' in %s: %s", g->name,
			 d->cfg.state_dir, strerror(-ret));
		daemon_detach(d, g->pid, NULL, NULL, 0);
		return ret;
	}
	log_info("attached guest '%s': pid %d, %llu MiB of %s RAM", g->name,
		 (int)g->pid, (unsigned long long)(g->ram.size >> 20),
		 guest_kind_name(g->ram.kind));
	if (swap)
		log_warn("%s", swap);
	*out = g;
	return 0;
}

int daemon_detach(struct daemon *d, pid_t pid, const char *name, char *why,
		  size_t len)
{
	struct guest *g = guests_find(&d->guests, pid, name);

	if (!g)
		return guests_detach(&d->guests, pid, name, why, len);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, g->pidfd, NULL);
	free(g->watch);
	g->watch = NULL;
	statefile_remove(d->cfg.state_dir, g->name);
	log_info("detached guest '%s' (pid %d)", g->name, (int)g->pid);
	guests_detach_guest(&d->guests, g);
	return 0;
}

/* A saved guest is attached again if its process is still the same one. */
static int reattach(void *ctx, const char *name, pid_t pid, uint64_t start)
{
	struct daemon *d = ctx;
	struct guest *g;
	uint64_t now;
	char why[512];

	if (proc_start_time(pid, &now) || now != start) {
		log_info("guest '%s' (pid %d) is gone since poned last ran",
			 name, (int)pid);
		return 1;
	}
	if (daemon_attach(d, pid, name, -1, &g, why, sizeof(why))) {
		log_warn("cannot attach guest '%s' again: %s", name, why);
		return 1;
	}
	return 0;
}

static void signal_ready(struct source *s, uint32_t events)
{
	struct signals *sg = (struct signals *)s;
	struct signalfd_siginfo si;

	(void)events;
	while (read(sg->fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u: stopping", si.ssi_signo);
		sg->stop = true;
	}
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/* Before any thread starts, so that all of them inherit the mask and the
 * signals reach the signalfd alone. */
static void block_signals(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int open_signals(struct signals *sg, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sg->src };
	sigset_t set;

	stop_signals(&set);
	*sg = (struct signals){ .src.ready = signal_ready };
	sg->fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sg->fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sg->fd, &ev))
		return -errno;
	return 0;
}

/* DSA where the config asks for it and the machine has it; else the CPU,
 * and the log says why. */
static void pick_backend(struct daemon *d)
{
	char why[512];

	d->backend = "cpu";
	if (!strcmp(d->cfg.dsa, "off"))
		return;
	if (pone_backend_dsa_new(d->cfg.dsa, &d->dsa, why, sizeof(why))) {
		log_info("DSA offload (dsa = %s): %s; the CPU backend runs",
			 d->cfg.dsa, why);
		d->dsa = NULL;
		return;
	}
	d->backend = d->dsa->name;
	log_info("DSA offload: %s", d->backend);
}

static bool start_write_tracking(struct daemon *d)
{
	d->write_tracking = "off";
	if (!d->cfg.write_tracking)
		return false;
	if (!pagemap_soft_dirty()) {
		d->write_tracking = "unavailable";
		log_info("write tracking (write_tracking = auto): this kernel "
			 "keeps no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY); "
			 "every reclaim pass reads every resident page of "
			 "memfd and anonymous guests (pone.ko still tracks "
			 "/dev/pone guests)");
		return false;
	}
	d->write_tracking = "soft-dirty";
	log_info("write tracking: soft-dirty; reclaim passes read only the "
		 "pages written since the last pass");
	return true;
}

static int make_engine(struct daemon *d)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct pone_engine_config ec = { 0 };
	unsigned int active;
	int ret;

	d->engine_threads_max = ncpu > 0 ? (unsigned int)ncpu : 1;
	if (d->cfg.threads > d->engine_threads_max)
		d->engine_threads_max = d->cfg.threads;
	active = d->cfg.threads ? d->cfg.threads : d->engine_threads_max;
	ec.threads = d->engine_threads_max;
	pick_backend(d);
	ec.backend = d->dsa;
	/* Workers inherit the nice value of the thread that makes them. */
	if (setpriority(PRIO_PROCESS, 0, d->cfg.nice))
		log_warn("cannot set nice %d: %s", d->cfg.nice,
			 strerror(errno));
	ret = pone_engine_new(&ec, &d->engine);
	if (!ret)
		ret = pone_engine_set_threads(d->engine, active);
	if (!ret)
		ret = pone_engine_set_stable_periods(d->engine,
						     d->cfg.stable_periods);
	if (!ret)
		ret = pone_engine_set_cpu_limit(d->engine, d->cfg.cpu_limit);
	return ret;
}

/* On the way out: guests stay listed in the state directory, for the
 * next start to attach them again. */
static void drop_guests(struct daemon *d)
{
	struct guest *g;

	while ((g = d->guests.list)) {
		free(g->watch);
		guests_detach_guest(&d->guests, g);
	}
	guests_fini(&d->guests);
}

static void loop(struct daemon *d, struct signals *sg)
{
	struct epoll_event ev[16];

	while (!sg->stop) {
		int i, n = epoll_wait(d->epfd, ev, 16, -1);

		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			struct source *s = ev[i].data.ptr;

			s->ready(s, ev[i].events);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: poned --config PATH [--foreground]\n"
		   "  --config PATH   settings (INI, section [poned])\n"
		   "  --foreground    stay attached to the terminal\n"
		   "  --version       print the version\n");
}

struct args {
	const char *config;
	bool foreground;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "c:fhV", opts, NULL)) != -1) {
		switch (o) {
		case 'c': a->config = optarg; break;
		case 'f': a->foreground = true; break;
		case 'V': printf("poned %s\n", PONE_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc || !a->config) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int setup(struct daemon *d, const struct args *a)
{
	struct periods_settings ps;
	char err[1024];
	int ret;

	config_defaults(&d->cfg);
	if (config_load(a->config, &d->cfg, err, sizeof(err))) {
		fprintf(stderr, "poned: %s\n", err);
		return -EINVAL;
	}
	log_init(d->cfg.log_level);
	ret = statefile_init(d->cfg.state_dir);
	if (ret) {
		log_err("state directory %s: %s", d->cfg.state_dir,
			strerror(-ret));
		return ret;
	}
	if (!a->foreground && daemon(0, 1)) {
		log_err("cannot go to the background: %s", strerror(errno));
		return -errno;
	}
	d->started = (uint64_t)time(NULL);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	ret = d->epfd < 0 ? -errno : make_engine(d);
	if (ret) {
		log_err("cannot start the engine: %s", strerror(-ret));
		return ret;
	}
	guests_init(&d->guests, d->engine, start_write_tracking(d),
		    d->cfg.write_tracking);
	daemon_periods_settings(&d->cfg, &ps);
	return periods_start(&d->periods, d->engine, &d->guests, &ps);
}

int main(int argc, char **argv)
{
	struct daemon d = { .epfd = -1 };
	struct control *ctl = NULL;
	struct signals sg = { .fd = -1 };
	struct args a = { 0 };
	const char *swap;
	int ret;

	if (parse_args(argc, argv, &a))
		return 2;
	block_signals();
	ret = setup(&d, &a);
	if (ret)
		return 1;
	ret = open_signals(&sg, d.epfd);
	if (!ret)
		ret = control_open(d.cfg.socket, d.epfd, commands_run,
				   commands_error, &d, &ctl);
	if (ret) {
		log_err("control socket %s: %s%s", d.cfg.socket, strerror(-ret),
			ret == -EADDRINUSE ? " (another poned serves it)" : "");
	} else {
		statefile_each(d.cfg.state_dir, reattach, &d);
		swap = swap_problem();
		if (swap)
			log_warn("%s", swap);
		else if ((swap = swap_note()))
			log_info("%s", swap);
		log_info("guest RAM only read, never written: %s",
			 pagemap_read_maps_zero_page() ?
			 "the kernel maps it to the shared zero page (no "
			 "memory; poned skips it)" :
			 "the kernel gives each page a frame of its own; "
			 "poned recycles it as any zero page");
		log_info("poned %s ready: %u threads, backend %s, socket %s",
			 PONE_VERSION, pone_engine_threads(d.engine), d.backend,
			 d.cfg.socket);
		sd_notify(0, "READY=1");
		loop(&d, &sg);
		sd_notify(0, "STOPPING=1");
	}
	control_close(ctl);
	periods_stop(&d.periods);
	drop_guests(&d);
	pone_engine_free(d.engine);
	pone_backend_destroy(d.dsa);
	close(sg.fd);
	close(d.epfd);
	return ret ? 1 : 0;
}
