// SPDX-License-Identifier: GPL-2.0-only
/*
 * What poned tells systemd, read where systemd would: on a NOTIFY_SOCKET of
 * the test's own, with WATCHDOG_USEC set as a unit's WatchdogSec= sets it.
 * poned says READY=1, a STATUS= line, and WATCHDOG=1 every half of the
 * watchdog's time; once its one scan worker is stopped (ptrace, that
 * thread alone) a pass stalls, and the pings stop while the status lines
 * go on; the worker let go, they come again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define WATCHDOG_S 2

static struct daemon_run d;
static struct testguest g;
static char sock_path[108];
static int sock = -1;
static pid_t stopped;
static unsigned int ready;	/* READY=1 as poned started */

struct heard {
	unsigned int pings, statuses, ready;
	char status[256];
};

/* What poned said over seconds. */
static void listen_for(double seconds, struct heard *h)
{
	double end = now_s() + seconds;
	char msg[1024];

	*h = (struct heard){ 0 };
	while (now_s() < end) {
		struct timeval tv = { 0, 100000 };
		ssize_t n;
		char *line;

		setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(sock, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		for (line = strtok(msg, "\n"); line; line = strtok(NULL, "\n")) {
			h->pings += !strcmp(line, "WATCHDOG=1");
			h->ready += !strcmp(line, "READY=1");
			if (!strncmp(line, "STATUS=", 7)) {
				h->statuses++;
				snprintf(h->status, sizeof(h->status), "%s",
					 line + 7);
			}
		}
	}
}

/* The tid of poned's thread named comm. */
static pid_t thread_named(const char *comm)
{
	char path[300], name[32];
	struct dirent *de;
	pid_t found = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)d.pid);
	dir = opendir(path);
	assert_non_null(dir);
	while (!found && (de = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm",
			 (int)d.pid, de->d_name);
		f = fopen(path, "r");
		if (f && fgets(name, sizeof(name), f) &&
		    !strncmp(name, comm, strlen(comm)))
			found = atoi(de->d_name);
		if (f)
			fclose(f);
	}
	closedir(dir);
	return found;
}

static void pings_stop_while_stuck(void **state)
{
	struct heard h;
	int status;

	(void)state;
	assert_int_equal(ready, 1);
	listen_for(3, &h);
	assert_true(h.pings >= 2);
	assert_true(h.statuses >= 1);
	assert_non_null(strstr(h.status, "1 guest, "));

	/* Its one worker stopped: the next pass waits on it forever. */
	stopped = thread_named("pone-worker");
	assert_true(stopped > 0);
	assert_int_equal(ptrace(PTRACE_SEIZE, stopped, 0, 0), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, stopped, 0, 0), 0);
	assert_int_equal(waitpid(stopped, &status, __WALL), stopped);
	/* A pass may be busy for the watchdog's time before it counts as
	 * stuck, and pings already sent may still arrive. */
	listen_for(WATCHDOG_S + 2, &h);
	listen_for(3, &h);
	assert_int_equal(h.pings, 0);
	assert_true(h.statuses >= 1);	/* the main thread is fine */

	assert_int_equal(ptrace(PTRACE_DETACH, stopped, 0, 0), 0);
	stopped = 0;
	listen_for(3, &h);
	assert_true(h.pings >= 2);
}

static int setup(void **state)
{
	const char *args[] = { "-m", "64M", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char usec[32];
	struct heard h;

	(void)state;
	if (geteuid())
		skip_all("not root: ptrace of poned's thread");
	snprintf(sock_path, sizeof(sock_path), "/tmp/pone-e2e-notify-%d",
		 (int)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	snprintf(usec, sizeof(usec), "%d", WATCHDOG_S * 1000000);
	setenv("NOTIFY_SOCKET", sock_path, 1);
	setenv("WATCHDOG_USEC", usec, 1);
	if (daemon_prepare(&d, "watchdog", "threads = 1\nreclaim_period = 1\n"
			   "merge_period = 1\n") || daemon_start(&d))
		return -1;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	if (guest_start(&g, args) || ctl_attach(&d, g.c.pid, "w0"))
		return -1;
	listen_for(0.5, &h);
	ready = h.ready;
	return 0;
}

static int teardown(void **state)
{
	int status;

	(void)state;
	if (stopped > 0)
		ptrace(PTRACE_DETACH, stopped, 0, 0);
	status = daemon_stop(&d);
	guest_quit(&g);
	harness_cleanup();
	close(sock);
	unlink(sock_path);
	return status;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pings_stop_while_stuck),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
