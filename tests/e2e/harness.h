/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * End-to-end test harness: a test guest process (pone-testguest) driven
 * over pipes, a poned started with a config of the test's own (its own
 * socket and state directory), pone-ctl run as a user would, and what the
 * kernel says of a process's memory. Paths of the programs come from the
 * environment meson sets: PONED, PONE_CTL, PONE_TESTGUEST.
 */
#ifndef PONE_TEST_HARNESS_H
#define PONE_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

struct child {
	pid_t pid;
	FILE *in, *out;
};

struct testguest {
	struct child c;
	uint64_t pages, addr;
};

/* Starts path with args, its stdin and stdout on pipes (c->in, c->out). */
int child_start(struct child *c, const char *path, const char *const *args);

/* Starts pone-testguest with these arguments and waits for "ready". */
int guest_start(struct testguest *g, const char *const *args);
/* One command; its reply line (no newline) in reply. */
int guest_say(struct testguest *g, const char *cmd, char *reply, size_t len);
void guest_quit(struct testguest *g);

struct daemon_run {
	char dir[64];		/* config, socket, state, log */
	char config[160], socket[100], log[160];
	pid_t pid;
};

/* A fresh directory with a config: "[poned]\n" + settings, with
 * "ksm = off" and "libvirt = off" unless settings say otherwise. */
int daemon_prepare(struct daemon_run *d, const char *name,
		   const char *settings);
/* Starts poned on it and waits until its socket answers. */
int daemon_start(struct daemon_run *d);
void daemon_kill(struct daemon_run *d, int sig);
/* SIGTERM, and its exit status: 0 when it stopped cleanly (under a
 * sanitizer, also with no leak or error found), and then its directory
 * is removed. */
int daemon_stop(struct daemon_run *d);

/* Runs pone-ctl --socket SOCKET args...; its stdout in out (may be NULL).
 * Returns its exit status. */
int ctl(const struct daemon_run *d, char *out, size_t len,
	const char *const *args);

/* `pone-ctl status --json`, parsed; NULL if poned did not answer. */
json_t *daemon_status(const struct daemon_run *d);
/* The guest named name in status st, or NULL. */
json_t *status_guest(json_t *st, const char *name);

/* pone-ctl attach --pid PID --name NAME; its exit status. */
int ctl_attach(const struct daemon_run *d, pid_t pid, const char *name);

/* The number after the first "key": in the output of pone-ctl args (a
 * --json command, so one guest's field when there is one guest). */
int ctl_number(const struct daemon_run *d, const char *const *args,
	       const char *key, uint64_t *value);

/* Resident and swapped bytes of the mapping at addr of process pid. */
int mapping_usage(pid_t pid, uint64_t addr, uint64_t *rss, uint64_t *swap);

/* The start of process pid's mapping of size bytes whose path begins with
 * path, or that is private anonymous memory if path is NULL. */
int mapping_find(pid_t pid, const char *path, uint64_t size, uint64_t *addr);

/* Waits until the mapping at addr holds at most limit resident bytes;
 * false, after saying what it holds, if it still does not after timeout
 * seconds. */
bool rss_falls_to(pid_t pid, uint64_t addr, uint64_t limit, double timeout);

void wait_s(double s);
/* Process pid's CPU time (user and system), in clock ticks; 0 if gone. */
uint64_t process_ticks(pid_t pid);
/* CLOCK_MONOTONIC, in seconds. */
double now_s(void);

/* Kills what a test started and did not stop. */
void harness_cleanup(void);
/* The same as a cmocka teardown. */
int harness_teardown(void **state);

/* Skips the whole test program (meson: exit status 77) with a reason. */
void skip_all(const char *why) __attribute__((noreturn));

#endif
