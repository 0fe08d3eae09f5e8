// SPDX-License-Identifier: GPL-2.0-only
/*
 * Steering KSM (ksm.h) on a directory of files laid out as KSM's sysfs:
 * poned starts ksmd for duplicates it found and KSM has not merged, stops
 * it once they are or once ksmd made the full scans that merge them, holds
 * its pace to the CPU budget (measured on a process that stands in for
 * ksmd), puts back every setting it changed when it stops and, after a
 * kill, when it starts again; KSM another governor runs is left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ksm.h"

struct fake {
	char sysfs[64], state[80];
	pid_t stand_in;		/* of ksmd, while a test has one */
};

static void put(const struct fake *f, const char *name, long v)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->sysfs, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%ld\n", v);
	fclose(fp);
}

static long get(const struct fake *f, const char *name)
{
	char path[128];
	long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->sysfs, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%ld", &v), 1);
	fclose(fp);
	return v;
}

static bool saved(const struct fake *f)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/ksm", f->state);
	return !access(path, F_OK);
}

/* KSM as a host has it before poned: stopped, at its defaults. */
static void host_defaults(const struct fake *f)
{
	put(f, "run", 0);
	put(f, "pages_to_scan", 100);
	put(f, "sleep_millisecs", 20);
	put(f, "use_zero_pages", 0);
	put(f, "smart_scan", 0);
	put(f, "full_scans", 7);
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	/* poned leaves KSM to a ksmtuned it finds running, fake or not. */
	if (!system("pgrep -x ksmtuned > /dev/null")) {
		print_message("ksmtuned runs here: these tests cannot\n");
		exit(77);
	}
	snprintf(f->sysfs, sizeof(f->sysfs), "/tmp/pone-ksm-%d", (int)getpid());
	snprintf(f->state, sizeof(f->state), "%s/state", f->sysfs);
	if (mkdir(f->sysfs, 0700) || mkdir(f->state, 0700))
		return -1;
	host_defaults(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->sysfs);
	free(f);
	return system(cmd);
}

static const struct ksm_need found = {
	.unmerged = 10000, .merged = 0, .mergeable = 131072,
	.merge_period = 10, .cpu_limit = 0,
};

static void steers_and_puts_back(void **state)
{
	struct fake *f = *state;
	struct ksm_need n = found;
	struct ksm k;

	assert_int_equal(ksm_open(&k, f->sysfs, f->state, true), 0);
	assert_true(k.steering);
	assert_true(saved(f));
	assert_int_equal(get(f, "use_zero_pages"), 1);
	assert_int_equal(get(f, "smart_scan"), 1);
	assert_int_equal(get(f, "run"), 0);	/* nothing found yet */

	assert_true(ksm_steer(&k, &n, false));
	assert_int_equal(get(f, "run"), 1);
	/* At 2 us a page, what keeps ksmd busy 95 % of the time: pages
	 * for 19 times its 20 ms sleep. */
	assert_int_equal(get(f, "pages_to_scan"), 19 * 20000 / 2);
	assert_int_equal(get(f, "sleep_millisecs"), 20);

	n.unmerged = n.merged = 5000;
	ksm_steer(&k, &n, false);
	assert_int_equal(get(f, "run"), 1);	/* half of it merged */
	n.unmerged = 210;			/* 97.9 % */
	n.merged = 9790;
	ksm_steer(&k, &n, false);
	assert_int_equal(get(f, "run"), 1);
	n.unmerged = 200;
	n.merged = 9800;
	ksm_steer(&k, &n, false);
	assert_int_equal(get(f, "run"), 0);
	n.unmerged = 1000;			/* written since: again */
	n.merged = 9000;
	ksm_steer(&k, &n, false);
	assert_int_equal(get(f, "run"), 1);
	assert_int_equal(k.starts, 2);

	ksm_close(&k);
	assert_int_equal(get(f, "run"), 0);
	assert_int_equal(get(f, "pages_to_scan"), 100);
	assert_int_equal(get(f, "use_zero_pages"), 0);
	assert_int_equal(get(f, "smart_scan"), 0);
	assert_false(saved(f));
}

/* ksmd's pace follows the budget: cut to the share it may take, and back
 * up once the budget is raised (the host short of memory), by 4 at most
 * at a look. */
static void pace_follows_the_budget(void **state)
{
	struct fake *f = *state;
	struct ksm_need n = found;
	struct ksm k;

	assert_int_equal(ksm_open(&k, f->sysfs, f->state, true), 0);
	k.ksmd = 0;		/* its share is the test's to say */
	n.cpu_limit = 0.05;
	ksm_steer(&k, &n, false);
	/* Busy 5 % of the time: 1/19 of 20 ms, 526 pages at 2 us. */
	assert_int_equal(get(f, "pages_to_scan"), 526);
	k.ksmd_share = 0.5;
	ksm_tick(&k);
	assert_int_equal(get(f, "pages_to_scan"), 526 / 4);
	k.ksmd_share = 0.05;
	ksm_tick(&k);		/* at its budget: as it is */
	assert_int_equal(get(f, "pages_to_scan"), 526 / 4);
	n.cpu_limit = 0.25;
	ksm_steer(&k, &n, false);
	ksm_tick(&k);
	assert_int_equal(get(f, "pages_to_scan"), 526 / 4 * 4);
	ksm_close(&k);
}

/* A poned killed while ksmd ran: the next one puts it all back first. */
static void killed_then_started(void **state)
{
	struct fake *f = *state;
	struct ksm k, again;

	assert_int_equal(ksm_open(&k, f->sysfs, f->state, true), 0);
	ksm_steer(&k, &found, false);
	assert_int_equal(get(f, "run"), 1);
	/* kill -9: no ksm_close(). A poned with ksm = off still restores. */
	assert_int_equal(ksm_open(&again, f->sysfs, f->state, false), 0);
	assert_false(again.steering);
	assert_int_equal(get(f, "run"), 0);
	assert_int_equal(get(f, "pages_to_scan"), 100);
	assert_int_equal(get(f, "use_zero_pages"), 0);
	assert_false(saved(f));
	ksm_close(&again);
	assert_int_equal(get(f, "run"), 0);
}

/* KSM already running: someone else's; nothing is written. */
static void another_governor(void **state)
{
	struct fake *f = *state;
	struct ksm k;

	put(f, "run", 1);
	assert_int_equal(ksm_open(&k, f->sysfs, f->state, true), 0);
	assert_false(k.steering);
	assert_non_null(strstr(k.why_not, "was running"));
	ksm_steer(&k, &found, false);
	ksm_close(&k);
	assert_int_equal(get(f, "run"), 1);
	assert_int_equal(get(f, "use_zero_pages"), 0);
	assert_false(saved(f));
	put(f, "run", 0);
}

static void no_ksm(void **state)
{
	struct fake *f = *state;
	char dir[96];
	struct ksm k;

	(void)f;
	snprintf(dir, sizeof(dir), "%s/none", f->sysfs);
	assert_int_equal(ksm_open(&k, dir, f->state, true), 0);
	assert_false(k.steering);
	assert_non_null(strstr(k.why_not, "CONFIG_KSM"));
	ksm_close(&k);
}

/* A state directory that cannot keep the settings: KSM is not touched. */
static void state_dir_unwritable(void **state)
{
	struct fake *f = *state;
	char dir[96];
	struct ksm k;

	snprintf(dir, sizeof(dir), "%s/missing", f->state);
	assert_int_not_equal(ksm_open(&k, f->sysfs, dir, true), 0);
	assert_false(k.steering);
	assert_int_equal(get(f, "use_zero_pages"), 0);
	ksm_close(&k);
}

/* ksmd stops after the full scans that merge all it can; what it left
 * starts it again only when a merge pass finds duplicates. */
static void stops_after_full_scans(void **state)
{
	struct fake *f = *state;
	struct ksm k;

	assert_int_equal(ksm_open(&k, f->sysfs, f->state, true), 0);
	assert_true(ksm_steer(&k, &found, false));
	put(f, "full_scans", 9);
	assert_true(ksm_tick(&k));
	put(f, "full_scans", 10);
	assert_false(ksm_tick(&k));
	assert_int_equal(get(f, "run"), 0);
	assert_false(ksm_steer(&k, &found, false));	/* a reclaim pass */
	assert_int_equal(get(f, "run"), 0);
	assert_true(ksm_steer(&k, &found, true));	/* a merge pass */
	assert_int_equal(get(f, "run"), 1);
	assert_int_equal(k.starts, 2);
	ksm_close(&k);
	put(f, "full_scans", 7);
}

/* A process that stands in for ksmd: busy or asleep. Busy, at the
 * highest priority, so that it takes most of a CPU however loaded the
 * machine is (tests run as root). */
static pid_t stand_in(bool busy)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (busy && setpriority(PRIO_PROCESS, 0, -20))
			perror("stand-in for ksmd: setpriority");
		for (;;)
			if (!busy)
				pause();
	}
	return pid;
}

static void end(struct fake *f)
{
	kill(f->stand_in, SIGKILL);
	waitpid(f->stand_in, NULL, 0);
	f->stand_in = 0;
}

/*
 * Busy beyond the budget, ksmd's pace falls by budget / share, by 4 at
 * most a look; idle, it rises, up to a scan of the guests' RAM a wake.
 * The budget is low enough that the busy stand-in exceeds it whatever else
 * this machine runs meanwhile.
 */
static void held_to_budget(void **state)
{
	struct fake *f = *state;
	struct ksm_need n = found;
	unsigned long first, low;
	struct ksm k;

	n.cpu_limit = 0.05;
	assert_int_equal(ksm_open(&k, f->sysfs, f->state, true), 0);
	k.ksmd = f->stand_in = stand_in(true);
	ksm_steer(&k, &n, false);
	first = k.pages_to_scan;
	usleep(300000);
	ksm_tick(&k);
	/* Scaled by budget / share, below a quarter: by a quarter, the most
	 * a look does. */
	assert_true(k.ksmd_share > 0.2);
	assert_true(k.pages_to_scan <= first / 4 + 1);
	assert_int_equal(get(f, "pages_to_scan"), (long)k.pages_to_scan);
	end(f);

	/* Its first look at an idle one knows no share yet: 4 times too. */
	low = k.pages_to_scan;
	k.ksmd = f->stand_in = stand_in(false);
	k.look_ns = 0;
	k.ksmd_share = 0;
	ksm_tick(&k);
	usleep(300000);
	ksm_tick(&k);
	assert_true(k.ksmd_share < 0.1);
	assert_int_equal(k.pages_to_scan, low * 16);
	end(f);
	ksm_close(&k);
}

/* A failed test leaves neither a stand-in spinning nor KSM's settings
 * poned kept, which the next test would find. */
static int after_stand_in(void **state)
{
	struct fake *f = *state;
	char cmd[128];

	if (f->stand_in > 0)
		end(f);
	host_defaults(f);
	snprintf(cmd, sizeof(cmd), "rm -f %s/*", f->state);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(steers_and_puts_back),
		cmocka_unit_test(pace_follows_the_budget),
		cmocka_unit_test(killed_then_started),
		cmocka_unit_test(stops_after_full_scans),
		cmocka_unit_test_teardown(held_to_budget, after_stand_in),
		cmocka_unit_test(another_governor),
		cmocka_unit_test(no_ksm),
		cmocka_unit_test(state_dir_unwritable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
