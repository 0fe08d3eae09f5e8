// SPDX-License-Identifier: GPL-2.0-only
/*
 * Does asking for status slow the passes? A poned with two test guests
 * (every pass reads every page: write tracking off) runs in windows of
 * WINDOW_S seconds, alternately quiet (status asked four times a second,
 * to see the passes) and loaded (a client asking status back to back, as
 * `pone-ctl watch` would at its worst). Prints each kind of window's
 * median pass wall and CPU time and the ratio loaded / quiet: status reads
 * /proc and asks the engine, but holds no lock a pass waits on. So that
 * the figure shows waits and not two threads sharing a core, poned's main
 * thread (which answers status) and this client share CPU 0, and its scan
 * thread and its one worker have CPU 1.
 */
#include <dirent.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define WINDOWS 6		/* quiet and loaded, alternately */
#define WINDOW_S 20.0
#define MAX_PASSES 256

struct window {
	double wall[MAX_PASSES], cpu[MAX_PASSES];
	unsigned int n;
	unsigned long requests;
};

struct sampler {
	int fd;
	uint64_t passes;	/* the last seen */
	char buf[1 << 20];
};

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One status request on the connection; its reply, parsed. */
static json_t *status(struct sampler *s)
{
	static const char req[] = "{\"cmd\":\"status\"}\n";
	size_t got = 0;
	ssize_t k;

	if (write(s->fd, req, sizeof(req) - 1) != sizeof(req) - 1)
		return NULL;
	while (got + 1 < sizeof(s->buf) &&
	       (k = read(s->fd, s->buf + got, sizeof(s->buf) - 1 - got)) > 0) {
		got += (size_t)k;
		if (s->buf[got - 1] == '\n')
			break;
	}
	s->buf[got] = '\0';
	return json_loads(s->buf, 0, NULL);
}

/* Records the last pass if it is a new one. */
static int record(struct sampler *s, struct window *w)
{
	json_t *reply = status(s), *st, *last;
	uint64_t passes;

	st = json_object_get(reply, "status");
	if (!st) {
		json_decref(reply);
		return -1;
	}
	w->requests++;
	passes = (uint64_t)json_integer_value(json_object_get(st, "passes"));
	last = json_object_get(st, "last_pass");
	if (passes != s->passes && json_is_object(last) && w->n < MAX_PASSES) {
		if (s->passes) {	/* passes of the window only */
			w->wall[w->n] = json_real_value(
				json_object_get(last, "wall_s"));
			w->cpu[w->n++] = json_real_value(
				json_object_get(last, "cpu_s"));
		}
		s->passes = passes;
	}
	json_decref(reply);
	return 0;
}

static int run_window(struct sampler *s, struct window *w, bool loaded)
{
	double end = now_s() + WINDOW_S;

	s->passes = 0;
	while (now_s() < end) {
		if (record(s, w))
			return -1;
		if (!loaded)
			usleep(250000);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* All windows of one kind as one. */
static void merge(struct window *all, const struct window *w)
{
	unsigned int i;

	for (i = 0; i < w->n && all->n < MAX_PASSES; i++) {
		all->wall[all->n] = w->wall[i];
		all->cpu[all->n++] = w->cpu[i];
	}
	all->requests += w->requests;
}

static int pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

/* poned's main thread and us on CPU 0, its other threads on CPU 1. */
static int pin_threads(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int ret = pin(0, 0) || pin(pid, 0);

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	while (!ret && dir && (de = readdir(dir))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid > 0 && tid != pid)
			ret = pin(tid, 1);
	}
	if (dir)
		closedir(dir);
	return dir ? ret : -1;
}

static int start(struct daemon_run *d, struct testguest g[2])
{
	const char *const args[] = { "-m", "256M", "--dup", "30", "--zero",
				     "20", NULL };
	char name[16];
	int i;

	if (daemon_prepare(d, "bench-status", "reclaim_period = 1\n"
			   "merge_period = 2\nwrite_tracking = off\n"
			   "threads = 1\n") ||
	    daemon_start(d))
		return -1;
	if (pin_threads(d->pid)) {
		fprintf(stderr, "bench_status: cannot pin poned's threads to "
			"CPUs 0 and 1 (this machine has %ld)\n",
			sysconf(_SC_NPROCESSORS_ONLN));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		if (guest_start(&g[i], args) || ctl_attach(d, g[i].c.pid, name))
			return -1;
	}
	wait_s(5);	/* the first passes find everything new */
	return 0;
}

int main(void)
{
	struct window quiet = { 0 }, loaded = { 0 }, w;
	struct testguest g[2] = { 0 };
	struct daemon_run d;
	struct sampler *s = calloc(1, sizeof(*s));
	double q_wall, l_wall, q_cpu, l_cpu;
	int i, ret = 1;

	if (!s || start(&d, g))
		goto out;
	s->fd = connect_to(d.socket);
	for (i = 0; s->fd >= 0 && i < WINDOWS; i++) {
		memset(&w, 0, sizeof(w));
		if (run_window(s, &w, i % 2))
			break;
		merge(i % 2 ? &loaded : &quiet, &w);
	}
	if (i == WINDOWS && quiet.n && loaded.n) {
		q_wall = median(quiet.wall, quiet.n);
		l_wall = median(loaded.wall, loaded.n);
		q_cpu = median(quiet.cpu, quiet.n);
		l_cpu = median(loaded.cpu, loaded.n);
		printf("status during passes (2 guests of 256 MiB, every page "
		       "read a pass by one worker on a CPU of its own; %d "
		       "windows of %.0f s)\n", WINDOWS, WINDOW_S);
		printf("  quiet:  %u passes, median %.3f s wall, %.3f CPU-s; "
		       "%.1f status/s\n", quiet.n, q_wall, q_cpu,
		       quiet.requests / (WINDOWS / 2 * WINDOW_S));
		printf("  loaded: %u passes, median %.3f s wall, %.3f CPU-s; "
		       "%.1f status/s\n", loaded.n, l_wall, l_cpu,
		       loaded.requests / (WINDOWS / 2 * WINDOW_S));
		printf("  pass_wall_loaded_over_quiet %.2f\n"
		       "  pass_cpu_loaded_over_quiet %.2f\n",
		       l_wall / q_wall, l_cpu / q_cpu);
		ret = 0;
	} else {
		fprintf(stderr, "bench_status: no figures (poned: %s)\n",
			d.log);
	}
	if (s->fd >= 0)
		close(s->fd);
	daemon_stop(&d);
out:
	free(s);
	harness_cleanup();
	return ret;
}
