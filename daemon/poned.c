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
#include "heartbeat.h"
#include "log.h"
#include "notify.h"
#include "numa.h"
#include "pagemap.h"
#include "pageout.h"
#include "poned.h"
#include "statefile.h"

struct signals {
	struct source src;
	int fd;
	bool stop;
};

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
static void pick_backend(struct poned *d)
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

static bool start_write_tracking(struct poned *d)
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

static int make_engine(struct poned *d)
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
	ec.numa_workers = d->nodes > 1;
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
	return ret;
}

static void log_swap(void)
{
	struct swap_space s;
	int err = swap_space(&s);
	const char *problem = swap_problem(err, &s);

	if (problem)
		log_warn("%s", problem);
	else if (swap_note(&s))
		log_info("%s", swap_note(&s));
}

/*
 * One event a wait: a handler may free another source (a detach request
 * frees the watch of the guest's pidfd), whose event would otherwise
 * still wait in the same batch.
 */
static void loop(struct poned *d, struct signals *sg)
{
	struct epoll_event ev;

	while (!sg->stop) {
		int n = epoll_wait(d->epfd, &ev, 1, -1);

		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return;
		}
		if (n > 0)
			((struct source *)ev.data.ptr)->ready(ev.data.ptr,
							      ev.events);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: poned [--config PATH] [--foreground]\n"
		   "  --config PATH   settings (INI, section [poned]; default "
		   PONED_CONFIG ")\n"
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
	if (optind < argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Steered where this kernel has KSM and no one else runs it. */
static void start_ksm(struct poned *d)
{
	int ret = ksm_open(&d->ksm, KSM_SYSFS, d->cfg.state_dir,
			   d->cfg.ksm_steer);

	if (ret)
		log_warn("KSM: left alone: cannot keep its settings in %s: %s",
			 d->cfg.state_dir, strerror(-ret));
	else if (!d->ksm.steering)
		log_info("KSM: not steered: %s", d->ksm.why_not);
}

/* After the guests the state directory lists: a domain among them is
 * taken as it is. Without libvirt, the hook and pone-ctl still attach. */
static void follow_libvirt(struct poned *d)
{
	int ret = virt_start(d->cfg.libvirt, &d->guests, &d->periods, d->epfd,
			     &d->virt);

	if (ret)
		log_warn("libvirt = %s: domains not followed: %s",
			 d->cfg.libvirt, strerror(-ret));
}

/* On one node there is nothing to keep apart or place, and nothing to
 * ask. */
static bool nodes_apart(struct poned *d)
{
	if (d->nodes > 1)
		log_info("%u NUMA nodes: pages merge %s; workers read the "
			 "stripes of their node first", d->nodes,
			 d->cfg.merge_across_nodes ? "across nodes" :
			 "only on their node (merge_across_nodes = no)");
	return !d->cfg.merge_across_nodes && d->nodes > 1;
}

static int setup(struct poned *d, const struct args *a)
{
	const char *path = a->config ? a->config : PONED_CONFIG;
	bool absent = !a->config && access(path, F_OK) && errno == ENOENT;
	struct periods_settings ps;
	struct guests_config gc;
	char err[1024];
	int ret;

	config_defaults(&d->cfg);
	if (!absent && config_load(path, &d->cfg, err, sizeof(err))) {
		fprintf(stderr, "poned: %s\n", err);
		return -EINVAL;
	}
	log_init(d->cfg.log_level);
	if (absent)
		log_info("no %s: running on the built-in settings (see "
			 "poned.conf(5))", path);
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
	d->nodes = numa_nodes_online();
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	ret = d->epfd < 0 ? -errno : make_engine(d);
	if (ret) {
		log_err("cannot start the engine: %s", strerror(-ret));
		return ret;
	}
	gc = (struct guests_config){ d->engine, d->epfd, d->cfg.state_dir,
				     start_write_tracking(d),
				     d->cfg.write_tracking,
				     d->cfg.own_domains,
				     d->nodes > 1, nodes_apart(d) };
	guests_init(&d->guests, &gc);
	start_ksm(d);
	periods_settings_of(&d->cfg, &ps);
	return periods_start(&d->periods, d->engine, &d->guests, &d->ksm,
			     PRESSURE_PROC, &ps);
}

int main(int argc, char **argv)
{
	struct poned d = { .epfd = -1 };
	struct control *ctl = NULL;
	struct signals sg = { .fd = -1 };
	struct heartbeat hb = { .fd = -1 };
	struct args a = { 0 };
	int ret;

	if (parse_args(argc, argv, &a))
		return 2;
	block_signals();
	ret = setup(&d, &a);
	if (ret)
		return 1;
	ret = open_signals(&sg, d.epfd);
	if (!ret)
		ret = heartbeat_open(&hb, &d);
	if (ret) {
		log_err("cannot watch signals and timers: %s", strerror(-ret));
	} else {
		ret = control_open(d.cfg.socket, d.epfd, commands_run,
				   commands_error, &d, &ctl);
		if (ret)
			log_err("control socket %s: %s%s", d.cfg.socket,
				strerror(-ret), ret == -EADDRINUSE ?
				" (another poned serves it)" : "");
	}
	if (!ret) {
		guests_restore(&d.guests);
		follow_libvirt(&d);
		log_swap();
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
	virt_stop(d.virt);
	periods_stop(&d.periods);
	ksm_close(&d.ksm);
	guests_fini(&d.guests);
	pone_engine_free(d.engine);
	pone_backend_destroy(d.dsa);
	close(sg.fd);
	heartbeat_close(&hb);
	close(d.epfd);
	return ret ? 1 : 0;
}
