// SPDX-License-Identifier: GPL-2.0-only
/*
 * Output of pone-bench. JSON mode prints only figure lines on stdout, so a
 * script can read it line by line; what a person needs to read the figures
 * (group headers, notes, progress) goes to the human table only, and
 * progress to stderr so it never mixes with the table when piped.
 *
 * A skipped figure is printed in JSON with "value": null rather than
 * omitted, so a consumer sees it was expected and not measured; the reason
 * goes to stderr.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static bool json;
static unsigned int met, missed, skipped, failed;

void out_init(bool as_json)
{
	json = as_json;
	/* Progress and table must interleave in order when both are a tty. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void out_group(const char *title, const char *explain)
{
	if (json)
		return;
	printf("\n== %s ==\n", title);
	if (explain)
		printf("   %s\n", explain);
}

void out_note(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	printf("   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void out_progress(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	fprintf(stderr, "   ... ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* Big counts read best whole; ratios and seconds need decimals. */
static void human_value(char *buf, size_t len, double v)
{
	if (fabs(v) >= 1000.0)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 10.0)
		snprintf(buf, len, "%.1f", v);
	else	/* four places: a ratio just below its target shows it */
		snprintf(buf, len, "%.4f", v);
}

static void json_line(const char *name, const double *value, const char *unit)
{
	if (value && isfinite(*value))
		printf("{\"name\": \"%s\", \"value\": %.10g, \"unit\": \"%s\"}\n",
		       name, *value, unit);
	else
		printf("{\"name\": \"%s\", \"value\": null, \"unit\": \"%s\"}\n",
		       name, unit);
}

static void row(const char *name, double value, const char *unit,
		const char *tail)
{
	char v[32];

	human_value(v, sizeof(v), value);
	printf("   %-30s %14s  %-9s %s\n", name, v, unit, tail);
}

void out_figure(const char *name, double value, const char *unit)
{
	if (json)
		json_line(name, &value, unit);
	else
		row(name, value, unit, "");
}

void out_goal(const char *name, double value, const char *unit,
	      enum goal goal, double target)
{
	bool ok = goal == GOAL_MIN ? value >= target : value <= target;
	char tail[64], t[32];

	if (goal == GOAL_NONE) {
		out_figure(name, value, unit);
		return;
	}
	if (ok)
		met++;
	else
		missed++;
	if (json) {
		json_line(name, &value, unit);
		return;
	}
	human_value(t, sizeof(t), target);
	snprintf(tail, sizeof(tail), "target %s %-9s %s",
		 goal == GOAL_MIN ? ">=" : "<=", t, ok ? "ok" : "MISSED");
	row(name, value, unit, tail);
}

void out_skip(const char *name, const char *unit, const char *why)
{
	skipped++;
	if (json) {
		json_line(name, NULL, unit);
		fprintf(stderr, "pone-bench: %s skipped: %s\n", name, why);
		return;
	}
	printf("   %-30s %14s  %-9s skipped: %s\n", name, "-", unit, why);
}

void out_check(bool ok, const char *fmt, ...)
{
	va_list ap;
	FILE *f = json ? stderr : stdout;

	if (!ok)
		failed++;
	/* In JSON mode only failures are worth a line, and not on stdout. */
	if (json && ok)
		return;
	fprintf(f, json ? "pone-bench: check " : "   check: ");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, ": %s\n", ok ? "ok" : "FAILED");
}

int out_finish(void)
{
	if (!json) {
		printf("\nTargets: %u met, %u missed", met, missed);
		if (skipped)
			printf(", %u figures skipped", skipped);
		if (failed)
			printf("; %u correctness checks FAILED", failed);
		printf(".\n");
	} else if (failed) {
		fprintf(stderr, "pone-bench: %u correctness checks failed\n",
			failed);
	}
	return failed ? 2 : 0;
}

static uint64_t busy_ticks(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n = 0;

	if (f) {
		n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]);
		fclose(f);
	}
	if (n < 8)
		return 0;
	/* user nice system [idle iowait] irq softirq steal */
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

static uint64_t self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void load_mark(struct load_mark *m)
{
	m->busy_ticks = busy_ticks();
	m->self_ns = self_cpu_ns();
	m->wall_ns = bench_now_ns();
}

/* Below this many CPUs' worth of others the figures are not disturbed. */
#define LOAD_WARN 0.15

void out_load(const struct load_mark *m, double exclude_s, const char *what)
{
	double wall = (double)(bench_now_ns() - m->wall_ns) / 1e9;
	double busy = (double)(busy_ticks() - m->busy_ticks) /
		      (double)sysconf(_SC_CLK_TCK);
	double self = (double)(self_cpu_ns() - m->self_ns) / 1e9;
	double others = wall > 0 ? (busy - self - exclude_s) / wall : 0;

	/* Shorter than a few dozen clock ticks, the estimate is noise. */
	if (!m->busy_ticks || wall < 0.25 || others < LOAD_WARN)
		return;
	if (json)
		fprintf(stderr, "pone-bench: warning: other processes kept %.2f CPUs busy during %s\n",
			others, what);
	else
		printf("   warning: other processes kept %.2f CPUs busy during %s: figures may be low\n",
		       others, what);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v: callers keep no order they need. */
double bench_median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* splitmix64: the bench's own seeded streams, independent of image.c. */

