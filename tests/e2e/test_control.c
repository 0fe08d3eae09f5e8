// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket under bad input: malformed JSON, unknown commands,
 * huge lines, clients that hang up mid-request, bad pids and processes
 * that are no guests. Each gets an error (or is dropped), nothing
 * changes, and the daemon keeps serving. Settings it takes apply at once.
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
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct daemon_run d;

static int connect_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.socket);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The first bytes of a request, with an fd riding along. */
static ssize_t send_fd(int sock, const char *req, size_t len, int fd)
{
	char cmsg[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)req, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cmsg,
			     .msg_controllen = sizeof(cmsg) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Sends len bytes (with fd, if >= 0), returns the reply line ("" if the
 * daemon hung up). */
static char *exchange_fd(const char *req, size_t len, int with, char *reply,
			 size_t cap)
{
	int fd = connect_daemon();
	size_t got = 0, off;
	ssize_t k;

	for (off = 0; off < len; off += (size_t)k) {
		k = with >= 0 && !off ? send_fd(fd, req, len, with) :
			send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (k <= 0)
			break;
	}
	while (got + 1 < cap && (k = read(fd, reply + got, cap - 1 - got)) > 0) {
		got += (size_t)k;
		if (memchr(reply, '\n', got))
			break;
	}
	reply[got] = 0;
	close(fd);
	return reply;
}

static char *exchange(const char *req, size_t len, char *reply, size_t cap)
{
	return exchange_fd(req, len, -1, reply, cap);
}

static void expect_error_fd(const char *req, int fd, const char *message)
{
	char reply[4096];

	exchange_fd(req, strlen(req), fd, reply, sizeof(reply));
	if (!strstr(reply, "\"ok\":false") || !strstr(reply, message))
		fail_msg("request %s: reply '%s' lacks '%s'", req, reply,
			 message);
}

static void expect_error(const char *req, const char *message)
{
	expect_error_fd(req, -1, message);
}

static void still_serving(void)
{
	char reply[65536];

	exchange("{\"cmd\":\"status\"}\n", 17, reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":true"));
	assert_non_null(strstr(reply, "\"guests\":[]"));
}

static void malformed_requests(void **state)
{
	(void)state;
	expect_error("{\"cmd\": \"status\"\n", "malformed request");
	expect_error("[1, 2]\n", "not a JSON object");
	expect_error("\n", "malformed request");
	expect_error("{\"cmd\": \"reboot\"}\n", "unknown command reboot");
	expect_error("{\"command\": \"status\"}\n", "no \\\"cmd\\\"");
	expect_error("{\"cmd\": \"set\", \"values\": {\"threads\": \"x\"}}\n",
		     "threads: 'x' is not valid");
	expect_error("{\"cmd\": \"set\", \"values\": {\"socket\": \"/x\"}}\n",
		     "only be set in the config file");
	expect_error("{\"cmd\": \"set\", \"values\": {\"stable_periods\": 0}}\n",
		     "stable_periods: '0' is not valid: expected 1 or 2");
	expect_error("{\"cmd\": \"set\", \"values\": {\"reclaim_period\": 5, "
		     "\"merge_period\": 1}}\n", "shorter than reclaim_period");
	expect_error("{\"cmd\": \"attach\", \"pid\": \"12\"}\n",
		     "positive integer");
	expect_error("{\"cmd\": \"detach\"}\n", "\\\"pid\\\" or \\\"name\\\"");
	still_serving();
}

/* A line over the limit gets an error and the connection is closed. */
static void huge_line(void **state)
{
	size_t len = 200000;
	char *req = malloc(len), reply[4096];

	(void)state;
	memset(req, ' ', len);
	memcpy(req, "{\"cmd\":\"status\",\"pad\":\"", 24);
	exchange(req, len, reply, sizeof(reply));
	assert_non_null(strstr(reply, "too long"));
	free(req);
	still_serving();
}

/* Clients that go away halfway, or at once, or never finish a line. */
static void hang_ups(void **state)
{
	int i, fds[8];

	(void)state;
	for (i = 0; i < 8; i++) {
		fds[i] = connect_daemon();
		if (i % 2)
			assert_int_equal(send(fds[i], "{\"cmd\":\"sta", 11, 0), 11);
	}
	still_serving();	/* while they hang */
	for (i = 0; i < 8; i++)
		close(fds[i]);
	still_serving();
}

static void bad_attach(void **state)
{
	char req[128];

	(void)state;
	expect_error("{\"cmd\":\"attach\",\"pid\":2147483000}\n",
		     "is not running");
	/* This test runs, but it has no guest RAM. */
	snprintf(req, sizeof(req), "{\"cmd\":\"attach\",\"pid\":%d}\n",
		 (int)getpid());
	expect_error(req, "has no guest RAM");
	expect_error("{\"cmd\":\"attach\",\"pid\":1,\"name\":\"../x\"}\n",
		     "bad guest name");
	expect_error("{\"cmd\":\"detach\",\"name\":\"nobody\"}\n",
		     "no guest named 'nobody'");
	still_serving();
}

static void attach_request(char *req, size_t len, pid_t pid, const char *name)
{
	snprintf(req, len, "{\"cmd\":\"attach\",\"pid\":%d,\"name\":\"%s\"}"
		 "\n", (int)pid, name);
}

/* A process whose command line has "-m 64M", as QEMU's, but no memory of
 * that size. */
static pid_t start_no_ram(void)
{
	pid_t pid = fork();

	if (!pid) {
		/* A group of its own, which the test kills whole: its sleep
		 * must not outlive it holding the test's output open. */
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", "sleep 60; :", "sh", "-m", "64M",
		      (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	wait_s(0.2);	/* exec'd */
	return pid;
}

/* Each way an attach of a real process fails says why, and attaches
 * nothing. */
static void attach_failures_say_why(void **state)
{
	const char *const args[] = { "-m", "16M", NULL };
	const char *detach[] = { "detach", "--name", "first", NULL };
	char req[160], fifo[128], guests[128], moved[140];
	struct testguest g;
	pid_t sh = start_no_ram();
	int fd;

	(void)state;
	attach_request(req, sizeof(req), sh, "no-ram");
	expect_error(req, "has no private anonymous mapping of its -m size");
	kill(-sh, SIGKILL);
	waitpid(sh, NULL, 0);

	assert_int_equal(guest_start(&g, args), 0);
	attach_request(req, sizeof(req), g.c.pid, "first");
	snprintf(fifo, sizeof(fifo), "%s/fifo", d.dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fd = open(fifo, O_RDWR | O_CLOEXEC);
	expect_error_fd(req, fd, "is not a memfd or /dev/pone");
	close(fd);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	expect_error_fd(req, fd, "does not map the fd passed");
	close(fd);

	/* The state directory cannot list it: a file where its folder is. */
	snprintf(guests, sizeof(guests), "%s/state/guests", d.dir);
	snprintf(moved, sizeof(moved), "%s.moved", guests);
	assert_int_equal(rename(guests, moved), 0);
	fd = open(guests, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	expect_error(req, "cannot list the guest in the state directory");
	assert_int_equal(unlink(guests), 0);
	assert_int_equal(rename(moved, guests), 0);

	assert_int_equal(ctl_attach(&d, g.c.pid, "first"), 0);
	expect_error(req, "already attached");
	attach_request(req, sizeof(req), g.c.pid, "second");
	expect_error(req, "already attached: process");
	attach_request(req, sizeof(req), 1, "first");
	expect_error(req, "or a guest named 'first'");
	assert_int_equal(ctl(&d, NULL, 0, detach), 0);
	guest_quit(&g);
	still_serving();
}

/* pone-ctl says what went wrong, and exits 1 when poned refused, 3 when
 * poned is not there, 2 for bad usage. */
static void pone_ctl_errors(void **state)
{
	const char *nopid[] = { "attach", "--pid", "2147483000", NULL };
	const char *usage[] = { "attach", "--name", "x", NULL };
	struct daemon_run gone = d;

	(void)state;
	assert_int_equal(ctl(&d, NULL, 0, nopid), 1);
	assert_int_equal(ctl(&d, NULL, 0, usage), 2);
	strcpy(gone.socket, "/nonexistent/poned.sock");
	assert_int_equal(ctl(&gone, NULL, 0, nopid), 3);
}

/* A shorter merge period set at run time brings the next merge pass
 * closer: it does not wait out the period it replaced (600 s). A set is
 * judged by what it makes: merge_period=2 comes before the reclaim period
 * (10 s) it would be shorter than alone. */
static void periods_apply_at_once(void **state)
{
	const char *status[] = { "status", "--json", NULL };
	const char *shorter[] = { "set", "merge_period=2", "reclaim_period=1",
				  NULL };
	const char *back[] = { "set", "merge_period=600", "reclaim_period=10",
			       NULL };
	uint64_t before, after = 0;
	int i;

	(void)state;
	assert_int_equal(ctl_number(&d, status, "merge_passes", &before), 0);
	assert_int_equal(ctl(&d, NULL, 0, shorter), 0);
	for (i = 0; i < 50 && after <= before; i++) {
		wait_s(0.1);
		assert_int_equal(ctl_number(&d, status, "merge_passes", &after),
				 0);
	}
	assert_true(after > before);
	assert_int_equal(ctl(&d, NULL, 0, back), 0);
}

/* stable_periods changes at run time, and status says what is in force. */
static void stable_periods_set(void **state)
{
	const char *status[] = { "status", "--json", NULL };
	const char *one[] = { "set", "stable_periods=1", NULL };
	const char *two[] = { "set", "stable_periods=2", NULL };
	uint64_t n;

	(void)state;
	assert_int_equal(ctl_number(&d, status, "stable_periods", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ctl(&d, NULL, 0, one), 0);
	assert_int_equal(ctl_number(&d, status, "stable_periods", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ctl(&d, NULL, 0, two), 0);
}

/* Lines poned writes to fd until one holds want; false after 10 s. */
static bool says(int fd, const char *want, char *log, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t k;

	log[0] = '\0';
	while (!strstr(log, want) && got + 1 < cap &&
	       poll(&p, 1, 10000) == 1 &&
	       (k = read(fd, log + got, cap - 1 - got)) > 0) {
		got += (size_t)k;
		log[got] = '\0';
	}
	return strstr(log, want);
}

/* Without --config poned reads the config it installs; where there is
 * none, it runs on its built-in settings and says so. */
static void built_in_settings(void **state)
{
	const char *conf = getenv("PONED_INSTALLED_CONFIG");
	char log[8192];
	int out[2], status;
	pid_t pid;

	(void)state;
	if (!conf || !access(conf, F_OK))
		skip();	/* this host has one: it would be read */
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	if (!pid) {
		dup2(out[1], 2);
		execl(getenv("PONED"), "poned", "--foreground", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	assert_true(says(out[0], "running on the built-in settings", log,
			 sizeof(log)));
	if (strstr(log, "another poned serves it"))
		skip();	/* a poned of the host's own */
	assert_true(says(out[0], "ready", log, sizeof(log)));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(out[0]);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int setup(void **state)
{
	(void)state;
	if (daemon_prepare(&d, "control", "threads = 1\n") ||
	    daemon_start(&d))
		return -1;
	return 0;
}

/* After all that, it still stops cleanly. */
static int teardown(void **state)
{
	int status = daemon_stop(&d);

	(void)state;
	harness_cleanup();
	return status;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(malformed_requests),
		cmocka_unit_test(huge_line),
		cmocka_unit_test(hang_ups),
		cmocka_unit_test(bad_attach),
		cmocka_unit_test(attach_failures_say_why),
		cmocka_unit_test(pone_ctl_errors),
		cmocka_unit_test(periods_apply_at_once),
		cmocka_unit_test(stable_periods_set),
		cmocka_unit_test(built_in_settings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
