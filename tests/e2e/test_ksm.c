// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned steering the host's KSM for guests with anonymous RAM marked
 * mergeable (as QEMU's mem-merge marks it): KSM merges what poned found,
 * ksmd stops once it has, starts again when a guest writes new duplicates,
 * and every KSM setting is as it was after poned stops, cleanly or killed
 * and started again. With test guest processes, and with real QEMU guests
 * (QEMU's default anonymous RAM, which its mem-merge marks mergeable)
 * whose workload holds what a host of like guests does: the same data in
 * every guest, zero pages, and data of each guest's own. Skipped where the
 * kernel has no KSM or someone else runs it.
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
#include "ksm_sysfs.h"
#include "qemu_guest.h"

/* Every KSM setting is as before poned. */
static void same_settings(const struct ksm_settings *before)
{
	struct ksm_settings now;
	int i;

	ksm_settings_read(&now);
	i = ksm_settings_differ(&now, before);
	if (i >= 0)
		fail_msg("KSM %s is %ld, was %ld before poned",
			 ksm_setting_name(i), now.v[i], before->v[i]);
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

/*
 * ksmd uses no CPU over 3 s while poned keeps it stopped. A QEMU guest's
 * kernel writes now and then (init_on_free zeroes what it frees), and
 * duplicates it writes may have poned start ksmd again, rightly: then the
 * next 3 s are watched.
 */
static bool ksmd_stays_idle(const struct daemon_run *d)
{
	struct figures f;
	uint64_t starts, ticks;
	int i;

	for (i = 0; i < 10; i++) {
		assert_int_equal(figures(d, &f), 0);
		starts = f.starts;
		ticks = ksmd_ticks();
		wait_s(3);
		assert_int_equal(figures(d, &f), 0);
		if (f.starts == starts && !f.running && ksm_get("run") == 0)
			return ksmd_ticks() <= ticks + 1;
		if (!stops(d, 60))
			return false;
	}
	return false;
}

/* Two guests of one kind: test guest processes or QEMU guests. */
struct pair {
	bool qemu;
	struct testguest tg[2];
	struct vm vm[2];
};

static struct qemu_image image;
static bool have_image;
static char no_image[256];

/* 128 MiB alike, 64 MiB of zeroes, 64 MiB of each guest's own. */
#define QEMU_RAM_MIB 512
#define QEMU_LOAD "dedup,128,64,64,"

static void pair_start(struct pair *p, bool qemu)
{
	const char *a[] = { "-m", "64M", "--ksm", "--dup", "50", "--seed",
			    NULL, NULL };
	char load[64], line[128];
	int i;

	p->qemu = qemu;
	for (i = 0; i < 2; i++) {
		if (!qemu) {
			a[6] = i ? "2" : "1";
			assert_int_equal(guest_start(&p->tg[i], a), 0);
			continue;
		}
		snprintf(load, sizeof(load), QEMU_LOAD "%d", i + 1);
		assert_int_equal(vm_start(&p->vm[i], &image, QEMU_RAM_MIB,
					  false, load), 0);
	}
	for (i = 0; qemu && i < 2; i++)
		assert_int_equal(vm_wait(&p->vm[i], "guestload: filled", line,
					 sizeof(line), 180), 0);
}

static pid_t pair_pid(const struct pair *p, int i)
{
	return p->qemu ? p->vm[i].c.pid : p->tg[i].c.pid;
}

/* Each guest writes duplicates anew. */
static void pair_rewrite(struct pair *p)
{
	char reply[128];
	int i;

	for (i = 0; i < 2; i++)
		assert_int_equal(p->qemu ?
				 vm_say(&p->vm[i], "rewrite 32",
					"guestload: rewrote", reply,
					sizeof(reply), 60) :
				 guest_say(&p->tg[i], "churn 20", reply,
					   sizeof(reply)), 0);
}

/* Every page holds what its guest wrote last; the guests stop. */
static void pair_verify_and_quit(struct pair *p)
{
	char reply[128];
	unsigned long long bad = 1;
	int i;

	for (i = 0; i < 2; i++) {
		if (!p->qemu) {
			guest_say(&p->tg[i], "stop", reply, sizeof(reply));
			assert_int_equal(guest_say(&p->tg[i], "verify", reply,
						   sizeof(reply)), 0);
			assert_non_null(strstr(reply, "ok"));
			guest_quit(&p->tg[i]);
			continue;
		}
		assert_int_equal(vm_say(&p->vm[i], "verify",
					"guestload: verify", reply,
					sizeof(reply), 120), 0);
		assert_int_equal(sscanf(reply, "guestload: verify %*x %llu",
					&bad), 1);
		assert_int_equal(bad, 0);
		vm_stop(&p->vm[i]);
		assert_false(p->vm[i].kernel_report);
	}
}

/* Zero pages go to swap where there is some; to KSM's zero page, which
 * needs no swap slot, where there is none. */
static void zero_pages_went(const struct figures *f, const struct pair *p)
{
	if (host_has_swap()) {
		assert_int_equal(f->zero_to_swap, 2);
		return;
	}
	assert_int_equal(f->zero_to_ksm, 2);
	assert_true(ksm_stat(pair_pid(p, 0), "ksm_zero_pages") > 0);
	assert_true(ksm_stat(pair_pid(p, 1), "ksm_zero_pages") > 0);
}

/* What the host's KSM was before the test, and the poned it runs. */
static struct ksm_settings before;
static struct daemon_run d;

/* Two guests attached to a poned that steers KSM, with short periods. */
static void start_steering(const char *name, struct pair *p, bool qemu)
{
	if (qemu && !have_image)
		skip();
	pair_start(p, qemu);
	assert_int_equal(daemon_prepare(&d, name, "ksm = steer\n"
					"reclaim_period = 1\n"
					"merge_period = 3\n"), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(ctl_attach(&d, pair_pid(p, 0), "k0"), 0);
	assert_int_equal(ctl_attach(&d, pair_pid(p, 1), "k1"), 0);
}

static void steers(bool qemu)
{
	struct figures f;
	struct pair p;
	uint64_t starts;
	int i;

	start_steering(qemu ? "ksm-qemu" : "ksm", &p, qemu);
	assert_true(merged_enough(&d, 120, &f));
	assert_true(stops(&d, 60));
	/* Stopped: what poned counted, zero pages too, is KSM's now. */
	assert_int_equal(figures(&d, &f), 0);
	zero_pages_went(&f, &p);
	assert_true(ksmd_stays_idle(&d));

	/* The guests write duplicates anew: ksmd runs again. */
	assert_int_equal(figures(&d, &f), 0);
	starts = f.starts;
	pair_rewrite(&p);
	for (i = 0; i < 120 && f.starts == starts; i++) {
		wait_s(0.5);
		assert_int_equal(figures(&d, &f), 0);
	}
	assert_true(f.starts > starts);

	assert_int_equal(daemon_stop(&d), 0);
	same_settings(&before);
	pair_verify_and_quit(&p);
}

static void steers_ksm(void **state)
{
	(void)state;
	steers(false);
}

static void steers_ksm_for_qemu_guests(void **state)
{
	(void)state;
	if (!have_image)
		print_message("no QEMU guest: %s\n", no_image);
	steers(true);
}

/* Killed while ksmd ran at its asking, poned puts KSM back at its next
 * start, and again when that one stops. */
static void killed_and_restarted(void **state)
{
	struct figures f;
	struct pair p;
	int i;

	(void)state;
	start_steering("ksm-kill", &p, have_image);
	for (i = 0; i < 60 && ksm_get("run") != 1; i++)
		wait_s(0.5);
	assert_int_equal(ksm_get("run"), 1);
	daemon_kill(&d, SIGKILL);
	assert_int_equal(ksm_get("run"), 1);	/* left as it was */

	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(figures(&d, &f), 0);
	assert_int_equal(daemon_stop(&d), 0);
	same_settings(&before);
	pair_verify_and_quit(&p);
}

static int setup(void **state)
{
	(void)state;
	if (ksm_get("run") < 0)
		skip_all("this kernel has no KSM");
	if (ksm_get("run") != 0 || !system("pgrep -x ksmtuned >/dev/null"))
		skip_all("KSM runs here under another governor");
	ksm_settings_read(&before);
	have_image = !qemu_image_prepare(&image, no_image, sizeof(no_image));
	return 0;
}

/* A test that failed with poned running: stopped cleanly, it puts KSM
 * back itself; the host's KSM is left as found whatever happened. */
static int teardown(void **state)
{
	if (d.pid > 0)
		daemon_stop(&d);
	harness_teardown(state);
	ksm_settings_write(&before);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	qemu_image_release(&image);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(steers_ksm, teardown),
		cmocka_unit_test_teardown(steers_ksm_for_qemu_guests,
					  teardown),
		cmocka_unit_test_teardown(killed_and_restarted, teardown),
	};

	return cmocka_run_group_tests(tests, setup, group_teardown);
}
