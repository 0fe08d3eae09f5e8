// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned steering KSM against KSM alone, on real QEMU guests with QEMU's
 * default anonymous RAM (marked mergeable by its mem-merge). Each run boots
 * GUESTS fresh guests of 512 MiB holding 128 MiB that every guest has
 * alike, 64 MiB of zero pages and 64 MiB of their own, and once they have
 * written it starts one contender and watches a window of WINDOW_S:
 *
 *   default   KSM at the kernel's defaults (100 pages every 20 ms)
 *   fastest   KSM at its fastest (10000 pages a wake, no sleep)
 *   steer     poned steering KSM: running as a service before, it is
 *             given the guests at the start, as the libvirt hook would
 *
 * Saved memory is the kernel's own figure, sampled four times a second:
 * KSM's pages_sharing and ksm_zero_pages (the host has no swap, so poned
 * recycles zero pages through KSM too). CPU is ksmd's over the window, and
 * poned's. Time to 95 % is the first sample at 95 % of the run's final
 * saving (a run that saved nothing counts the window, which makes a ratio
 * to it a bound from below). The kinds take turns, RUNS runs each; the
 * figures are medians.
 *
 * JSON lines go to PONE_STEER_JSON (meson: steer.json in the build
 * directory): one a run, with its saving every second, then the ratios
 * and their targets. PONE_STEER_WINDOW and PONE_STEER_RUNS shorten a
 * trial; PONE_STEER_SETTINGS replaces poned's settings (one per line).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ksm_sysfs.h"
#include "qemu_guest.h"

#define GUESTS 3
#define RAM_MIB 512
#define LOAD "dedup,128,64,64,"
#define SAMPLE_S 0.25
#define MAX_SAMPLES 4096
#define MAX_RUNS 9

/* poned as an operator runs it, but for steering, which is its default:
 * the settings the bench states, nothing tuned away from the defaults. */
#define PONED_SETTINGS "ksm = steer\n"

enum kind { DEFAULT, FASTEST, STEER, KINDS };
static const char *const kind_names[KINDS] = { "default", "fastest",
					       "steer" };

struct run {
	double saved_mib[MAX_SAMPLES];	/* every SAMPLE_S */
	unsigned int n;
	double final_mib, t95_s, cpu_s, ksmd_cpu_s, poned_cpu_s;
};

static struct qemu_image image;
static struct ksm_settings found;
static double window_s = 300;
static FILE *out;

static double ticks_s(uint64_t t)
{
	return (double)t / (double)sysconf(_SC_CLK_TCK);
}

/* The pages KSM saves: sharing pages, and zero pages mapped to the kernel's
 * zero page (named so since 6.10; zero_pages_sharing before). */
static double saved_mib(void)
{
	long sharing = ksm_get("pages_sharing");
	long zero = ksm_get("ksm_zero_pages");

	if (zero < 0)
		zero = ksm_get("zero_pages_sharing");
	return (double)((sharing > 0 ? sharing : 0) + (zero > 0 ? zero : 0)) /
	       256.0;
}

/* What an earlier run left in KSM's figures undone: with run = 0, ksmd
 * would count the pages of guests gone until it next runs. */
static int forget_earlier_runs(void)
{
	int i;

	if (ksm_set("run", 2))
		return -1;
	for (i = 0; i < 600; i++) {
		if (ksm_get("pages_shared") == 0 &&
		    ksm_get("pages_sharing") == 0 && saved_mib() == 0)
			break;
		wait_s(0.1);
	}
	ksm_settings_write(&found);
	return i < 600 ? 0 : -1;
}

static int boot(struct vm vm[GUESTS])
{
	char load[64], line[128];
	int i;

	for (i = 0; i < GUESTS; i++) {
		snprintf(load, sizeof(load), LOAD "%d", i + 1);
		if (vm_start(&vm[i], &image, RAM_MIB, false, load))
			return -1;
	}
	for (i = 0; i < GUESTS; i++)
		if (vm_wait(&vm[i], "guestload: filled", line, sizeof(line),
			    300))
			return -1;
	return 0;
}

static void shut_down(struct vm vm[GUESTS])
{
	int i;

	for (i = 0; i < GUESTS; i++)
		if (vm[i].c.in)
			vm_stop(&vm[i]);
}

/* poned, as a service runs before guests start. */
static int start_poned(struct daemon_run *d)
{
	const char *settings = getenv("PONE_STEER_SETTINGS");

	return daemon_prepare(d, "steer", settings ? settings :
			      PONED_SETTINGS) || daemon_start(d) ? -1 : 0;
}

/* The contender starts: KSM at some pace, or poned given the guests. */
static int start(enum kind k, struct daemon_run *d, struct vm vm[GUESTS])
{
	char name[16];
	int i;

	switch (k) {
	case DEFAULT:
		ksm_set("smart_scan", 1);
		ksm_set("use_zero_pages", 0);
		ksm_set("sleep_millisecs", 20);
		ksm_set("pages_to_scan", 100);
		return ksm_set("run", 1);
	case FASTEST:
		ksm_set("smart_scan", 1);
		ksm_set("use_zero_pages", 0);
		ksm_set("sleep_millisecs", 0);
		ksm_set("pages_to_scan", 10000);
		return ksm_set("run", 1);
	default:
		break;
	}
	for (i = 0; i < GUESTS; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		if (ctl_attach(d, vm[i].c.pid, name))
			return -1;
	}
	return 0;
}

/* NAN when the run saved nothing: it reached no 95 % of anything. */
static double t95(const struct run *r)
{
	unsigned int i;

	for (i = 0; r->final_mib > 0 && i < r->n; i++)
		if (r->saved_mib[i] >= 0.95 * r->final_mib)
			return i * SAMPLE_S;
	return NAN;
}

static void write_run(enum kind k, unsigned int i, const struct run *r)
{
	unsigned int s, step = (unsigned int)(1 / SAMPLE_S);
	char t[16] = "null";

	if (!isnan(r->t95_s))
		snprintf(t, sizeof(t), "%.2f", r->t95_s);
	fprintf(out, "{\"run\": \"%s\", \"i\": %u, \"guests\": %d, "
		"\"window_s\": %.0f, \"final_saved_mib\": %.1f, "
		"\"t95_s\": %s, \"cpu_s\": %.2f, \"ksmd_cpu_s\": %.2f, "
		"\"poned_cpu_s\": %.2f, \"saved_mib_each_s\": [", kind_names[k],
		i, GUESTS, window_s, r->final_mib, t, r->cpu_s,
		r->ksmd_cpu_s, r->poned_cpu_s);
	for (s = 0; s < r->n; s += step)
		fprintf(out, "%s%.1f", s ? ", " : "", r->saved_mib[s]);
	fprintf(out, "]}\n");
	fflush(out);
	printf("%-8s run %u: saved %.1f MiB, 95 %% of it at %s s, CPU %.2f s "
	       "(ksmd %.2f, poned %.2f)\n", kind_names[k], i, r->final_mib,
	       t, r->cpu_s, r->ksmd_cpu_s, r->poned_cpu_s);
}

static int one_run(enum kind k, unsigned int i, struct run *r)
{
	struct daemon_run d = { .pid = 0 };
	struct vm vm[GUESTS];
	uint64_t ksmd0, poned0 = 0;
	double t0, base;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	memset(vm, 0, sizeof(vm));
	if (forget_earlier_runs() || boot(vm) ||
	    (k == STEER && start_poned(&d)))
		goto out;
	wait_s(2);	/* the guests' kernels settle */
	base = saved_mib();
	ksmd0 = ksmd_ticks();
	if (d.pid > 0)
		poned0 = process_ticks(d.pid);
	t0 = now_s();
	if (start(k, &d, vm))
		goto out;
	while (r->n < MAX_SAMPLES && now_s() - t0 < window_s) {
		r->saved_mib[r->n++] = saved_mib() - base;
		wait_s(t0 + r->n * SAMPLE_S - now_s());
	}
	r->final_mib = r->saved_mib[r->n - 1];
	r->ksmd_cpu_s = ticks_s(ksmd_ticks() - ksmd0);
	if (d.pid > 0)
		r->poned_cpu_s = ticks_s(process_ticks(d.pid) - poned0);
	r->cpu_s = r->ksmd_cpu_s + r->poned_cpu_s;
	r->t95_s = t95(r);
	write_run(k, i, r);
	ret = 0;
out:
	if (d.pid > 0 && daemon_stop(&d))
		ret = -1;
	ksm_set("run", 0);
	shut_down(vm);
	harness_cleanup();
	forget_earlier_runs();
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct medians {
	double final_mib, t95_s, cpu_s;
};

static void medians_of(struct run *runs, unsigned int n, struct medians *m)
{
	double f[MAX_RUNS], t[MAX_RUNS], c[MAX_RUNS];
	unsigned int i;

	for (i = 0; i < n; i++) {
		f[i] = runs[i].final_mib;
		/* Not within the window: the window, a bound from below. */
		t[i] = isnan(runs[i].t95_s) ? window_s : runs[i].t95_s;
		c[i] = runs[i].cpu_s;
	}
	*m = (struct medians){ median(f, n), median(t, n), median(c, n) };
}

static bool goal(const char *name, double value, bool at_least,
		 double target)
{
	bool ok = at_least ? value >= target : value <= target;

	fprintf(out, "{\"name\": \"%s\", \"value\": %.4f, \"target\": "
		"\"%s %.2f\", \"met\": %s}\n", name, value,
		at_least ? ">=" : "<=", target, ok ? "true" : "false");
	printf("%-22s %8.3f  target %s %.2f  %s\n", name, value,
	       at_least ? ">=" : "<=", target, ok ? "met" : "MISSED");
	return ok;
}

static void summary(struct run runs[KINDS][MAX_RUNS], unsigned int n)
{
	struct medians m[KINDS];
	int k;

	for (k = 0; k < KINDS; k++) {
		medians_of(runs[k], n, &m[k]);
		printf("%-8s median: saved %.1f MiB, 95 %% at %.2f s, "
		       "CPU %.2f s\n", kind_names[k], m[k].final_mib,
		       m[k].t95_s, m[k].cpu_s);
	}
	goal("steer_saved_ratio", m[STEER].final_mib / m[FASTEST].final_mib,
	     true, 0.98);
	goal("steer_cpu_ratio", m[STEER].cpu_s / m[FASTEST].cpu_s, false,
	     0.2);
	goal("steer_time_ratio", m[STEER].t95_s / m[FASTEST].t95_s, false,
	     1.5);
	goal("steer_vs_default_time", m[DEFAULT].t95_s / m[STEER].t95_s,
	     true, 5);
}

int main(void)
{
	static struct run runs[KINDS][MAX_RUNS];
	const char *path = getenv("PONE_STEER_JSON");
	unsigned int n = 3, i;
	char why[256];
	int k;

	if (getenv("PONE_STEER_WINDOW"))
		window_s = atof(getenv("PONE_STEER_WINDOW"));
	if (getenv("PONE_STEER_RUNS"))
		n = (unsigned int)atoi(getenv("PONE_STEER_RUNS"));
	if (n < 1 || n > MAX_RUNS || !(window_s >= 10) ||
	    window_s * 4 > MAX_SAMPLES) {
		fprintf(stderr, "bench_steer: 1 to %d runs, a window of 10 to "
			"%d s\n", MAX_RUNS, MAX_SAMPLES / 4);
		return 2;
	}
	if (geteuid())
		skip_all("not root: KSM's settings and other processes' "
			 "memory");
	if (ksm_get("run") < 0)
		skip_all("this kernel has no KSM");
	if (ksm_get("run") != 0 || !system("pgrep -x ksmtuned >/dev/null"))
		skip_all("KSM runs here under another governor");
	if (qemu_image_prepare(&image, why, sizeof(why)))
		skip_all(why);
	out = fopen(path ? path : "steer.json", "w");
	if (!out) {
		fprintf(stderr, "bench_steer: %s: %s\n",
			path ? path : "steer.json", strerror(errno));
		return 1;
	}
	ksm_settings_read(&found);
	for (i = 0; i < n; i++)
		for (k = 0; k < KINDS; k++)
			if (one_run((enum kind)k, i, &runs[k][i])) {
				fprintf(stderr, "bench_steer: %s run %u "
					"failed\n", kind_names[k], i);
				qemu_image_release(&image);
				return 1;
			}
	summary(runs, n);
	fclose(out);
	qemu_image_release(&image);
	return 0;
}
