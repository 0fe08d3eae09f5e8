// SPDX-License-Identifier: GPL-2.0-only
/*
 * The libvirt hook as libvirt runs it: a started domain is attached under
 * its name, a stopped one detached, and with no poned the hook still lets
 * the domain be (exit 0).
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
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

static int hook(const struct daemon_run *d, const char *domain,
		const char *operation)
{
	char cmd[1024];
	int status;

	snprintf(cmd, sizeof(cmd), "PONE_CTL=%s PONE_SOCKET=%s "
		 "LIBVIRT_QEMU_RUN=%s %s %s %s begin -", getenv("PONE_CTL"),
		 d->socket, d->dir, getenv("PONE_HOOK"), domain, operation);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void started_and_stopped(void **state)
{
	const char *args[] = { "-m", "16M", NULL };
	const char *guests[] = { "guests", NULL };
	struct daemon_run d;
	struct testguest g;
	char path[256], out[4096];
	FILE *f;

	(void)state;
	if (!getenv("PONE_HOOK"))
		skip_all("run by meson: the hook's path comes from it");
	assert_int_equal(daemon_prepare(&d, "hook", "threads = 1\n"), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(guest_start(&g, args), 0);
	/* libvirt's pid file of the domain. */
	snprintf(path, sizeof(path), "%s/web-01.pid", d.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%d", (int)g.c.pid);
	fclose(f);

	assert_int_equal(hook(&d, "web-01", "prepare"), 0);
	assert_int_equal(hook(&d, "web-01", "started"), 0);
	assert_int_equal(ctl(&d, out, sizeof(out), guests), 0);
	assert_non_null(strstr(out, "web-01"));
	/* Started again (libvirtd restart): refused by poned, fine for it. */
	assert_int_equal(hook(&d, "web-01", "started"), 0);
	assert_int_equal(hook(&d, "web-01", "stopped"), 0);
	assert_int_equal(ctl(&d, out, sizeof(out), guests), 0);
	assert_null(strstr(out, "web-01"));
	/* No pid file, no poned: the domain goes on all the same. */
	assert_int_equal(hook(&d, "other", "started"), 0);
	assert_int_equal(daemon_stop(&d), 0);
	assert_int_equal(hook(&d, "web-01", "started"), 0);
	guest_quit(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(started_and_stopped, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
