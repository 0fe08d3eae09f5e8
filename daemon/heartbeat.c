// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "heartbeat.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "poned.h"
#include "replace.h"
#include "status.h"


/* The next beat: every reclaim period, or half the watchdog's if less. */
static void arm(struct heartbeat *h)
{
	uint64_t ns = h->d->cfg.reclaim_period * NS_PER_S;
	struct itimerspec t = { 0 };

	if (h->watchdog_ns && h->watchdog_ns / 2 < ns)
		ns = h->watchdog_ns / 2;
	t.it_value.tv_sec = (time_t)(ns / NS_PER_S);
	t.it_value.tv_nsec = (long)(ns % NS_PER_S);
	timerfd_settime(h->fd, 0, &t, NULL);
}

static void status_line(json_t *st)
{
	json_t *totals = json_object_get(st, "totals");
	json_t *last = json_object_get(st, "last_pass");
	json_int_t guests = json_integer_value(json_object_get(totals,
								"guests"));

	sd_notifyf(0, "STATUS=%lld guest%s, %.1f MiB saved; last pass: %s, "
		   "%lld pages in %.2f s", (long long)guests,
		   guests == 1 ? "" : "s",
		   json_integer_value(json_object_get(totals, "saved_bytes")) /
		   1048576.0,
		   json_is_object(last) ? json_string_value(
			   json_object_get(last, "kind")) : "none yet",
		   (long long)json_integer_value(json_object_get(last,
								 "scanned")),
		   json_real_value(json_object_get(last, "wall_s")));
}

static int write_metrics(FILE *f, void *status)
{
	return metrics_write(status, f);
}

/* Whole, so node_exporter never reads a part; mode 0644, as it reads as
 * another user; aside under a name that is not *.prom, which it skips. */
static void metrics_file(struct heartbeat *h, json_t *st)
{
	const char *path = h->d->cfg.metrics_file;
	char tmp[sizeof(h->d->cfg.metrics_file) + 8];
	int ret;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ret = file_replace(path, tmp, 0644, write_metrics, st);
	if (ret && ret != h->metrics_err)
		log_warn("metrics_file %s: cannot write it: %s (is its "
			 "directory there, and poned's to write?)", path,
			 strerror(-ret));
	else if (!ret && h->metrics_err)
		log_info("metrics_file %s: written again", path);
	h->metrics_err = ret;
}

static void watchdog(struct heartbeat *h)
{
	bool alive = periods_progressing(&h->d->periods, &h->progress,
					 h->watchdog_ns);

	if (alive)
		sd_notify(0, "WATCHDOG=1");
	else if (!h->stuck)
		log_err("a pass has made no progress for %.0f s: systemd's "
			"watchdog is no longer told poned is well, and "
			"restarts it", h->watchdog_ns / 1e9);
	h->stuck = !alive;
}

static void beat(struct source *s, uint32_t events)
{
	struct heartbeat *h = (struct heartbeat *)s;
	uint64_t n, t = now_ns();
	json_t *st;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (h->watchdog_ns)
		watchdog(h);
	/* Status reads every guest's /proc: only for someone to tell. */
	if (!h->notify && !h->d->cfg.metrics_file[0]) {
		arm(h);
		return;
	}
	st = status_json(h->d);
	if (st) {
		status_line(st);
		if (h->d->cfg.metrics_file[0] &&
		    t - h->metrics_at >= h->d->cfg.reclaim_period * NS_PER_S) {
			metrics_file(h, st);
			h->metrics_at = t;
		}
	}
	json_decref(st);
	arm(h);
}

int heartbeat_open(struct heartbeat *h, struct poned *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &h->src };
	uint64_t usec = 0;

	*h = (struct heartbeat){ .src.ready = beat, .d = d };
	if (sd_watchdog_enabled(0, &usec) > 0)
		h->watchdog_ns = usec * 1000;
	h->notify = getenv("NOTIFY_SOCKET") != NULL;
	h->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (h->fd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, h->fd, &ev))
		return -errno;
	if (h->watchdog_ns)
		log_info("systemd's watchdog: told every %.1f s while passes "
			 "make progress", h->watchdog_ns / 2e9);
	/* The first at once: the metrics file is there from the start. */
	timerfd_settime(h->fd, 0, &(struct itimerspec){ .it_value.tv_nsec = 1 },
			NULL);
	return 0;
}

void heartbeat_close(struct heartbeat *h)
{
	if (h->fd >= 0)
		close(h->fd);
}
