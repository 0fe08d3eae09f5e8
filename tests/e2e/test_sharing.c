// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sharing domains with a real poned: three guests of the same content,
 * two named into one domain and one into another. The two find each
 * other's pages (duplicates across guests), the third finds none across
 * though it holds the same pages, only its own within; status names each
 * guest's domain, a bad domain name is refused with why and attaches
 * nothing, and a poned killed and started again keeps each guest in its
 * domain.
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

static struct daemon_run d;
static struct testguest g[3];

static int attach_in(pid_t pid, const char *name, const char *sharing,
		     char *out, size_t len)
{
	char p[16];
	const char *args[] = { "attach", "--pid", p, "--name", name,
			       "--sharing", sharing, NULL };

	snprintf(p, sizeof(p), "%d", (int)pid);
	return ctl(&d, out, len, args);
}

/* The guest's field, after three merge passes made its pages stable. */
static json_t *guest_status(json_t *st, const char *name)
{
	json_t *o = status_guest(st, name);

	if (!o)
		fail_msg("no guest %s in status", name);
	return o;
}

static json_t *status(void)
{
	json_t *st = daemon_status(&d);

	assert_non_null(st);
	return st;
}

static uint64_t num(json_t *o, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(o, key));
}

static void domains_kept_apart(json_t *st)
{
	json_t *a = guest_status(st, "a"), *b = guest_status(st, "b");
	json_t *c = guest_status(st, "c");

	assert_string_equal(json_string_value(json_object_get(a, "sharing")),
			    "tenant-1");
	assert_string_equal(json_string_value(json_object_get(c, "sharing")),
			    "tenant-2");
	assert_true(num(a, "duplicates_across") + num(b, "duplicates_across") >
		    0);
	assert_true(num(c, "duplicates_within") > 0);
	assert_int_equal(num(c, "duplicates_across"), 0);
}

static void apart_and_kept(void **state)
{
	json_t *st;

	(void)state;
	wait_s(4);	/* three merge passes */
	st = status();
	domains_kept_apart(st);
	json_decref(st);

	/* Killed and started again: the domains come back with the guests. */
	daemon_kill(&d, SIGKILL);
	assert_int_equal(daemon_start(&d), 0);
	wait_s(4);
	st = status();
	domains_kept_apart(st);
	json_decref(st);
}

static void bad_domain(void **state)
{
	struct testguest t;
	const char *args[] = { "-m", "8M", NULL };
	char out[512];

	(void)state;
	assert_int_equal(guest_start(&t, args), 0);
	assert_int_equal(attach_in(t.c.pid, "t", "a/b", out, sizeof(out)), 1);
	assert_int_equal(attach_in(t.c.pid, "t", "guest", out, sizeof(out)),
			 1);
	guest_quit(&t);
}

static int setup(void **state)
{
	const char *args[] = { "-m", "32M", "--dup", "50", "--seed", "3",
			       NULL };
	const char *names[] = { "a", "b", "c" };
	const char *domains[] = { "tenant-1", "tenant-1", "tenant-2" };
	char out[512];
	int i;

	(void)state;
	if (daemon_prepare(&d, "sharing", "reclaim_period = 1\n"
			   "merge_period = 1\n") || daemon_start(&d))
		return -1;
	for (i = 0; i < 3; i++)
		if (guest_start(&g[i], args) ||
		    attach_in(g[i].c.pid, names[i], domains[i], out,
			      sizeof(out)))
			return -1;
	return 0;
}

static int teardown(void **state)
{
	int status = daemon_stop(&d), i;

	(void)state;
	for (i = 0; i < 3; i++)
		guest_quit(&g[i]);
	harness_cleanup();
	return status;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(apart_and_kept),
		cmocka_unit_test(bad_domain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
