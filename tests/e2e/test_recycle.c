// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned end to end with test guests: the kernel frees their zero pages
 * (their resident memory falls by them), and every page still holds what
 * the guest last wrote, also with a writer racing the recycling and across
 * a kill -9 and restart of the daemon.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "swapfile.h"

#define RAM "128M"
#define PAGES (128u << 8)
#define ZERO_PERCENT 25

/* Fast periods; merge periods short so huge pages are idle soon. */
#define SETTINGS "threads = 2\nreclaim_period = 1\nmerge_period = 2\n"
#define SWAP_FILE "/var/tmp/pone-e2e.swap"
#define SWAP_MIB 512

static uint64_t rss_of(const struct testguest *g)
{
	uint64_t rss, swap;

	assert_int_equal(mapping_usage(g->c.pid, g->addr, &rss, &swap), 0);
	return rss;
}

/* Waits until the guest's RAM holds at most limit bytes; false on timeout. */
static bool falls_to(const struct testguest *g, uint64_t limit, double timeout)
{
	return rss_falls_to(g->c.pid, g->addr, limit, timeout);
}

static void verify(struct testguest *g)
{
	char reply[64], expect[64];

	snprintf(expect, sizeof(expect), "ok %u", PAGES);
	assert_int_equal(guest_say(g, "verify", reply, sizeof(reply)), 0);
	assert_string_equal(reply, expect);
}

static void attach(struct daemon_run *d, struct testguest *g, const char *name)
{
	assert_int_equal(ctl_attach(d, g->c.pid, name), 0);
}

static uint64_t status_field(const struct daemon_run *d, const char *key)
{
	const char *guests[] = { "guests", "--json", NULL };
	uint64_t v;

	assert_int_equal(ctl_number(d, guests, key, &v), 0);
	return v;
}

/* Zero pages go, data stays, for a guest whose RAM is of this kind. */
static void recycles(bool memfd, const char *name, const char *settings)
{
	const char *args[] = { "-m", RAM, memfd ? "--memfd" : NULL, NULL };
	const char *status[] = { "status", "--json", NULL };
	struct daemon_run d;
	struct testguest g;
	uint64_t full, after_zero, saved;
	char out[8192];

	assert_int_equal(daemon_prepare(&d, name, settings), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(guest_start(&g, args), 0);
	full = rss_of(&g);
	assert_true(full >= (uint64_t)PAGES * 4096 * 9 / 10);
	/* A writer rewrites 1 % of the pages (zero, data, zero, ...) all
	 * along, racing with the recycling. */
	assert_int_equal(guest_say(&g, "write 10", NULL, 0), 0);
	attach(&d, &g, name);

	/* The zero pages go: within a few periods the RAM falls by them
	 * (less the pages the writer keeps busy). */
	after_zero = full - (uint64_t)PAGES * 4096 * ZERO_PERCENT / 100 * 9 / 10;
	assert_true(falls_to(&g, after_zero, 30));
	/* The guest frees half of what is left: that goes too. */
	assert_int_equal(guest_say(&g, "free 50", NULL, 0), 0);
	assert_true(falls_to(&g, after_zero - (uint64_t)PAGES * 4096 *
			     (100 - ZERO_PERCENT) / 100 / 2 * 8 / 10, 30));
	assert_int_equal(guest_say(&g, "stop", NULL, 0), 0);
	verify(&g);

	assert_int_equal(ctl(&d, out, sizeof(out), status), 0);
	assert_non_null(strstr(out, name));
	assert_null(strstr(out, "\"recycled_pages\":0,"));
	/* What the kernel no longer holds in memory, it holds in swap or as
	 * the zero page: saved_bytes says so. */
	saved = status_field(&d, "saved_bytes");
	if (saved < (full - rss_of(&g)) * 3 / 4)
		fail_msg("saved %llu KiB, the guest's RAM fell by %llu KiB",
			 (unsigned long long)saved >> 10,
			 (unsigned long long)(full - rss_of(&g)) >> 10);
	guest_quit(&g);
	assert_int_equal(daemon_stop(&d), 0);
}

static void anonymous_guest(void **state)
{
	(void)state;
	/* The writer's pages are everywhere, so no huge page is ever idle:
	 * split them all, for the race. */
	recycles(false, "anon", SETTINGS "thp_split = always\n");
}

static void memfd_guest(void **state)
{
	(void)state;
	recycles(true, "memfd", SETTINGS);
}

/*
 * kill -9 while it recycles loses nothing: the guest's pages are intact,
 * and a new poned attaches the guest again from its state directory and
 * goes on recycling.
 */
static void killed_and_restarted(void **state)
{
	const char *args[] = { "-m", RAM, "--memfd", NULL };
	const char *guests[] = { "guests", NULL };
	struct daemon_run d;
	struct testguest g;
	uint64_t before;
	char out[4096];
	int round;

	(void)state;
	assert_int_equal(daemon_prepare(&d, "restart", SETTINGS), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(guest_start(&g, args), 0);
	assert_int_equal(guest_say(&g, "write 10", NULL, 0), 0);
	attach(&d, &g, "survivor");
	for (round = 0; round < 3; round++) {
		/* Somewhere in a pass, most likely. */
		wait_s(1.3 + round * 0.35);
		daemon_kill(&d, SIGKILL);
		assert_int_equal(guest_say(&g, "stop", NULL, 0), 0);
		verify(&g);
		assert_int_equal(guest_say(&g, "write 10", NULL, 0), 0);
		assert_int_equal(daemon_start(&d), 0);
		assert_int_equal(ctl(&d, out, sizeof(out), guests), 0);
		assert_non_null(strstr(out, "survivor"));
	}
	before = rss_of(&g);
	assert_int_equal(guest_say(&g, "free 50", NULL, 0), 0);
	assert_true(falls_to(&g, before - (uint64_t)PAGES * 4096 / 4, 30));
	assert_int_equal(guest_say(&g, "stop", NULL, 0), 0);
	verify(&g);
	guest_quit(&g);
	assert_int_equal(daemon_stop(&d), 0);
}

/*
 * Huge pages: with thp_split = never, zero pages scattered over huge pages
 * stay (no huge page is split), but huge pages that are zero as a whole go
 * whole. With idle, huge pages no write touched for a merge period are
 * split for their zero pages.
 */
static void huge_pages(void **state)
{
	const char *args[] = { "-m", RAM, NULL };
	const char *idle[] = { "set", "thp_split=idle", NULL };
	const char *status[] = { "status", "--json", NULL };
	struct daemon_run d;
	struct testguest g;
	uint64_t full, passes0, passes;

	(void)state;
	assert_int_equal(daemon_prepare(&d, "huge", SETTINGS
					 "thp_split = never\n"), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(guest_start(&g, args), 0);
	full = rss_of(&g);
	attach(&d, &g, "huge");
	assert_int_equal(ctl_number(&d, status, "passes", &passes0), 0);
	wait_s(5);
	/* Nothing went because passes ran and let it be, not for want of
	 * them (reclaim_period is 1 s). */
	assert_int_equal(ctl_number(&d, status, "passes", &passes), 0);
	assert_true(passes >= passes0 + 2);
	assert_true(rss_of(&g) >= full - (2u << 20));
	assert_int_equal(status_field(&d, "huge_pages_split"), 0);
	/* A quarter of the RAM freed in one piece: whole huge pages. */
	assert_int_equal(guest_say(&g, "free-range 0 25", NULL, 0), 0);
	assert_true(falls_to(&g, full - (uint64_t)PAGES * 4096 / 4 +
			     (4u << 20), 30));
	assert_true(status_field(&d, "huge_pages_whole") >= 14);
	assert_int_equal(status_field(&d, "huge_pages_split"), 0);
	/* Idle: nothing writes, so the scattered zero pages go too. */
	assert_int_equal(ctl(&d, NULL, 0, idle), 0);
	assert_true(falls_to(&g, full - (uint64_t)PAGES * 4096 *
			     (25 + ZERO_PERCENT * 3 / 4) / 100 * 9 / 10,
			     30));
	assert_true(status_field(&d, "huge_pages_split") > 0);
	verify(&g);
	guest_quit(&g);
	assert_int_equal(daemon_stop(&d), 0);
}

/* The fd of the guest's memfd, as /proc/PID/fd/N, for pone-ctl --fd. */
static void memfd_path(const struct testguest *g, char *path, size_t len)
{
	char link[256];
	int n;

	for (n = 3; n < 64; n++) {
		ssize_t k;

		snprintf(path, len, "/proc/%d/fd/%d", (int)g->c.pid, n);
		k = readlink(path, link, sizeof(link) - 1);
		if (k > 0 && (link[k] = 0, strstr(link, "memory-backend-memfd")))
			return;
	}
	fail_msg("the guest holds no memfd");
}

/* Guest RAM passed as an fd over the socket; a file that is no guest's
 * RAM is refused. */
static void fd_passed(void **state)
{
	const char *args[] = { "-m", "16M", "--memfd", NULL };
	struct daemon_run d;
	struct testguest g;
	char pid[16], fd[64];
	const char *with_fd[] = { "attach", "--pid", pid, "--fd", fd, NULL };
	const char *json[] = { "guests", "--json", NULL };
	char out[4096];

	(void)state;
	assert_int_equal(daemon_prepare(&d, "fd", SETTINGS), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(guest_start(&g, args), 0);
	snprintf(pid, sizeof(pid), "%d", (int)g.c.pid);
	strcpy(fd, "/etc/hostname");
	assert_int_equal(ctl(&d, NULL, 0, with_fd), 1);
	memfd_path(&g, fd, sizeof(fd));
	assert_int_equal(ctl(&d, NULL, 0, with_fd), 0);
	assert_int_equal(ctl(&d, out, sizeof(out), json), 0);
	assert_non_null(strstr(out, "\"ram\":\"memfd\""));
	guest_quit(&g);
	assert_int_equal(daemon_stop(&d), 0);
}

/* A guest whose process ends is detached by itself; detach by name too. */
static void detach(void **state)
{
	const char *args[] = { "-m", "16M", NULL };
	const char *guests[] = { "guests", NULL };
	const char *by_name[] = { "detach", "--name", "one", NULL };
	struct daemon_run d;
	struct testguest g;
	char out[4096];
	int i;

	(void)state;
	assert_int_equal(daemon_prepare(&d, "detach", SETTINGS), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(guest_start(&g, args), 0);
	attach(&d, &g, "one");
	assert_int_equal(ctl(&d, NULL, 0, by_name), 0);
	assert_int_equal(ctl(&d, out, sizeof(out), guests), 0);
	assert_null(strstr(out, "one"));
	attach(&d, &g, "one");
	guest_quit(&g);
	for (i = 0; i < 40; i++) {
		assert_int_equal(ctl(&d, out, sizeof(out), guests), 0);
		if (!strstr(out, "one"))
			break;
		wait_s(0.05);
	}
	assert_null(strstr(out, "one"));
	assert_int_equal(daemon_stop(&d), 0);
}

/*
 * How much of the swap is in files, where the kernel pages a huge page out
 * only split, as poned tells it: the test's own swap is a loop device over
 * its file or, on a machine without loop devices, the file itself.
 */
static void swap_in_files(void **state)
{
	const char *status[] = { "status", "--json", NULL };
	uint64_t total, in_files;
	struct daemon_run d;

	(void)state;
	if (!swap_device())
		skip();
	assert_int_equal(daemon_prepare(&d, "swap", SETTINGS), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(ctl_number(&d, status, "file_bytes", &in_files), 0);
	assert_int_equal(ctl_number(&d, status, "total_bytes", &total), 0);
	if (!swap_on_loop())
		assert_true(in_files >= (uint64_t)SWAP_MIB << 20);
	else
		assert_true(in_files + ((uint64_t)SWAP_MIB << 20) <= total);
	assert_int_equal(daemon_stop(&d), 0);
}

static int setup(void **state)
{
	char why[300];

	(void)state;
	if (swap_ensure(SWAP_FILE, SWAP_MIB, why, sizeof(why)))
		skip_all(why);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	swap_release();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(anonymous_guest, harness_teardown),
		cmocka_unit_test_teardown(memfd_guest, harness_teardown),
		cmocka_unit_test_teardown(killed_and_restarted, harness_teardown),
		cmocka_unit_test_teardown(huge_pages, harness_teardown),
		cmocka_unit_test_teardown(fd_passed, harness_teardown),
		cmocka_unit_test_teardown(detach, harness_teardown),
		cmocka_unit_test_teardown(swap_in_files, harness_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
