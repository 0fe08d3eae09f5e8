// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned steering the host's KSM for guests with anonymous RAM marked
 * mergeable (as QEMU's mem-merge marks it): KSM merges what poned found,
 * ksmd stops once it has, starts again when a guest writes new duplicates,
 * and every KSM setting is as it was after poned stops, cleanly or killed
 * and started again. Skipped where the kernel has no KSM or someone else
 * runs it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define KSM "/sys/kernel/mm/ksm/"

static const char *const settings[] = {
	"run", "pages_to_scan", "sleep_millisecs", "use_zero_pages",
	"smart_scan",
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static long ksm_get(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), KSM "%s", name);
	f = fopen(path, "r");
	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void ksm_all(long v[NSETTINGS])
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		v[i] = ksm_get(settings[i]);
}

static void same_settings(const long before[NSETTINGS])
{
	long now[NSETTINGS];
	size_t i;

	ksm_all(now);
	for (i = 0; i < NSETTINGS; i++)
		if (now[i] != before[i])
			fail_msg("KSM %s is %ld, was %ld before poned",
				 settings[i], now[i], before[i]);
}

/* ksmd's CPU ticks. */
static uint64_t ksmd_ticks(void)
{
	char cmd[] = "cat /proc/$(pgrep -x ksmd)/stat";
	char line[512], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f = popen(cmd, "r");

	p = f && fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	if (f)
		pclose(f);
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		       "%llu %llu", &ut, &st);
	return ut + st;
}

struct figures {
	uint64_t dups, merged, starts, running;
	unsigned int zero_to_ksm, zero_to_swap;	/* guests */
};

/* poned's duplicates of the guests and KSM's merged pages of them. */
static int figures(const struct daemon_run *d, struct figures *f)
{
	const char *status[] = { "status", "--json", NULL };
	static char out[1 << 16];
	json_t *st, *g, *ksm;
	const char *to;
	size_t i;

	*f = (struct figures){ 0 };
	if (ctl(d, out, sizeof(out), status))
		return -1;
	st = json_loads(out, 0, NULL);
	json_array_foreach(json_object_get(st, "guests"), i, g) {
		f->dups += json_integer_value(json_object_get(g,
							"duplicate_pages"));
		f->merged += json_integer_value(json_object_get(
			json_object_get(g, "ksm"), "merged_pages"));
		to = json_string_value(json_object_get(g, "zero_pages_to"));
		f->zero_to_ksm += to && !strcmp(to, "ksm");
		f->zero_to_swap += to && !strcmp(to, "swap");
	}
	ksm = json_object_get(st, "ksm");
	f->starts = json_integer_value(json_object_get(ksm, "starts"));
	f->running = json_is_true(json_object_get(ksm, "ksmd_running"));
	json_decref(st);
	return st ? 0 : -1;
}

static bool merged_enough(const struct daemon_run *d, double timeout,
			  struct figures *f)
{
	int i;

	for (i = 0; i < timeout * 2; i++) {
		assert_int_equal(figures(d, f), 0);
		/* poned's duplicates are those KSM has not merged. */
		if (f->merged > 1000 &&
		    f->merged >= (f->merged + f->dups) * 98 / 100)
			return true;
		wait_s(0.5);
	}
	print_message("KSM merged %llu of %llu duplicates\n",
		      (unsigned long long)f->merged,
		      (unsigned long long)f->dups);
	return false;
}

/* A number of /proc/PID/ksm_stat, 0 where there is none. */
static uint64_t ksm_stat(pid_t pid, const char *key)
{
	char path[64], k[64];
	long long v, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	f = fopen(path, "r");
	while (f && fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			found = v;
	if (f)
		fclose(f);
	return (uint64_t)found;
}

static bool host_has_swap(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long kib = 0;

	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "SwapTotal: %lld", &kib);
	if (f)
		fclose(f);
	return kib > 0;
}

/* Zero pages go to swap where there is some; to KSM's zero page, which
 * needs no swap slot, where there is none. */
static void zero_pages_went(const struct figures *f, struct testguest g[2])
{
	if (host_has_swap()) {
		assert_int_equal(f->zero_to_swap, 2);
		return;
	}
	assert_int_equal(f->zero_to_ksm, 2);
	assert_true(ksm_stat(g[0].c.pid, "ksm_zero_pages") > 0);
	assert_true(ksm_stat(g[1].c.pid, "ksm_zero_pages") > 0);
}

static bool stops(const struct daemon_run *d, double timeout)
{
	struct figures f;
	int i;

	for (i = 0; i < timeout * 2; i++) {
		assert_int_equal(figures(d, &f), 0);
		if (!f.running && ksm_get("run") == 0)
			return true;
		wait_s(0.5);
	}
	return false;
}

static void start_guests(struct testguest g[2])
{
	const char *a0[] = { "-m", "64M", "--ksm", "--dup", "50", "--seed",
			     "1", NULL };
	const char *a1[] = { "-m", "64M", "--ksm", "--dup", "50", "--seed",
			     "2", NULL };

	assert_int_equal(guest_start(&g[0], a0), 0);
	assert_int_equal(guest_start(&g[1], a1), 0);
}

/* Two guests attached to a poned that steers KSM, with short periods. */
static void start_steering(struct daemon_run *d, const char *name,
			   struct testguest g[2])
{
	start_guests(g);
	assert_int_equal(daemon_prepare(d, name, "ksm = steer\n"
					"reclaim_period = 1\n"
					"merge_period = 3\n"), 0);
	assert_int_equal(daemon_start(d), 0);
	assert_int_equal(ctl_attach(d, g[0].c.pid, "k0"), 0);
	assert_int_equal(ctl_attach(d, g[1].c.pid, "k1"), 0);
}

/* What the host's KSM was before the test, and the poned it runs. */
static long before[NSETTINGS];
static struct daemon_run d;

static void steers_ksm(void **state)
{
	struct testguest g[2];
	struct figures f;
	uint64_t t0;
	char reply[64];

	(void)state;
	start_steering(&d, "ksm", g);
	assert_true(merged_enough(&d, 120, &f));
	assert_true(stops(&d, 60));
	/* Stopped: what poned counted, zero pages too, is KSM's now. */
	assert_int_equal(figures(&d, &f), 0);
	zero_pages_went(&f, g);
	t0 = ksmd_ticks();
	wait_s(3);
	assert_true(ksmd_ticks() <= t0 + 1);	/* ksmd idle */

	/* The guests write duplicates anew: ksmd runs again. */
	assert_int_equal(guest_say(&g[0], "churn 20", reply, sizeof(reply)),
			 0);
	assert_int_equal(guest_say(&g[1], "churn 20", reply, sizeof(reply)),
			 0);
	for (t0 = 0; t0 < 60 && f.starts < 2; t0++) {
		wait_s(0.5);
		assert_int_equal(figures(&d, &f), 0);
	}
	assert_true(f.starts >= 2);
	guest_say(&g[0], "stop", reply, sizeof(reply));
	guest_say(&g[1], "stop", reply, sizeof(reply));

	assert_int_equal(daemon_stop(&d), 0);
	same_settings(before);
	assert_int_equal(guest_say(&g[0], "verify", reply, sizeof(reply)), 0);
	assert_non_null(strstr(reply, "ok"));
	guest_quit(&g[0]);
	guest_quit(&g[1]);
}

/* Killed while ksmd ran at its asking, poned puts KSM back at its next
 * start, and again when that one stops. */
static void killed_and_restarted(void **state)
{
	struct testguest g[2];
	struct figures f;
	int i;

	(void)state;
	start_steering(&d, "ksm-kill", g);
	for (i = 0; i < 60 && ksm_get("run") != 1; i++)
		wait_s(0.5);
	assert_int_equal(ksm_get("run"), 1);
	daemon_kill(&d, SIGKILL);
	assert_int_equal(ksm_get("run"), 1);	/* left as it was */

	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(figures(&d, &f), 0);
	assert_int_equal(daemon_stop(&d), 0);
	same_settings(before);
	guest_quit(&g[0]);
	guest_quit(&g[1]);
}

static int setup(void **state)
{
	(void)state;
	if (ksm_get("run") < 0)
		skip_all("this kernel has no KSM");
	if (ksm_get("run") != 0 || !system("pgrep -x ksmtuned >/dev/null"))
		skip_all("KSM runs here under another governor");
	ksm_all(before);
	return 0;
}

/* A test that failed with poned running: stopped cleanly, it puts KSM
 * back itself; the host's KSM is left as found whatever happened. */
static int teardown(void **state)
{
	size_t i;
	char path[128];
	FILE *f;

	if (d.pid > 0)
		daemon_stop(&d);
	harness_teardown(state);
	for (i = NSETTINGS; i-- > 0;) {
		snprintf(path, sizeof(path), KSM "%s", settings[i]);
		f = before[i] >= 0 ? fopen(path, "w") : NULL;
		if (f) {
			fprintf(f, "%ld\n", before[i]);
			fclose(f);
		}
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(steers_ksm, teardown),
		cmocka_unit_test_teardown(killed_and_restarted, teardown),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
