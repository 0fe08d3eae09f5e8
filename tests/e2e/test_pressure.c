// SPDX-License-Identifier: GPL-2.0-only
/*
 * mode = pressure on the host's own memory: a poned whose MemAvailable
 * threshold lies a little below what the host has now runs at the idle
 * budget; a process that fills memory past the threshold makes the host
 * short, and poned switches to the full budget; once the process is gone
 * and the host counts its memory as available again, poned switches back.
 * The threshold sits below MemAvailable by the margin poned needs to leave
 * "short" (PRESSURE_MARGIN_PCT of MemTotal) and 512 MiB more: memory freed
 * may come back to MemAvailable slowly (in a VM that reports free pages to
 * its host, 300 MiB of 1.5 GiB took seconds, and 1.1 GiB was still out
 * after 10 s once). The filler takes 512 MiB more than that gap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pressure.h"

#define MIB (1ull << 20)

static struct daemon_run d;
static uint64_t fill_bytes;
static uint64_t not_short;	/* MemAvailable poned leaves "short" at */
static pid_t filler;

static uint64_t meminfo(const char *key)
{
	char line[128], name[64];
	uint64_t kib = 0, v;
	FILE *f = fopen("/proc/meminfo", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %" SCNu64, name, &v) == 2 &&
		    !strcmp(name, key))
			kib = v;
	fclose(f);
	assert_true(kib > 0);
	return kib << 10;
}

struct verdict {
	int shortage;		/* -1: null */
	double budget;
	uint64_t switches;
	char why[256];
};

static void verdict(struct verdict *v)
{
	const char *args[] = { "status", "--json", NULL };
	static char out[1 << 16];
	json_t *st, *p, *s;

	assert_int_equal(ctl(&d, out, sizeof(out), args), 0);
	st = json_loads(out, 0, NULL);
	assert_non_null(st);
	p = json_object_get(st, "pressure");
	assert_string_equal(json_string_value(json_object_get(p, "mode")),
			    "pressure");
	s = json_object_get(p, "short");
	v->shortage = json_is_null(s) ? -1 : json_is_true(s);
	v->budget = json_real_value(json_object_get(p, "budget_cpu"));
	v->switches = (uint64_t)json_integer_value(json_object_get(p,
								   "switches"));
	snprintf(v->why, sizeof(v->why), "%s",
		 json_string_value(json_object_get(p, "why")));
	json_decref(st);
}

/* Waits up to timeout seconds for the verdict; says the last one if it
 * does not come. */
static bool comes_to(bool shortage, struct verdict *v, double timeout)
{
	double t;

	for (t = 0; t < timeout; t += 0.25) {
		verdict(v);
		if (v->shortage == (int)shortage)
			return true;
		wait_s(0.25);
	}
	printf("still %s short after %.0f s: %s\n", shortage ? "not" : "",
	       timeout, v->why);
	return false;
}

/* A child holding bytes of anonymous memory, every page written, once it
 * says so; it dies with the test. */
static pid_t fill(uint64_t bytes)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (m == MAP_FAILED)
			_exit(1);
		for (i = 0; i < bytes; i += 4096)
			m[i] = 1;
		if (write(p[1], "f", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void stop_filler(void)
{
	if (filler <= 0)
		return;
	kill(filler, SIGKILL);
	waitpid(filler, NULL, 0);
	filler = 0;
}

/* Memory a process freed can take the host seconds to count as available
 * again (a VM reporting free pages to its host, say); poned can only
 * leave "short" once it has. */
static bool memory_back(double timeout)
{
	double t;

	for (t = 0; t < timeout; t += 0.25) {
		if (meminfo("MemAvailable") >= not_short) {
			printf("MemAvailable back after %.2f s\n", t);
			return true;
		}
		wait_s(0.25);
	}
	printf("MemAvailable %" PRIu64 " MiB still below %" PRIu64
	       " MiB %.0f s after the filler died: the host kept it\n",
	       (uint64_t)(meminfo("MemAvailable") / MIB),
	       (uint64_t)(not_short / MIB), timeout);
	return false;
}

static bool logged(const char *text)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(d.log, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

static void switches_and_back(void **state)
{
	const char *text[] = { "status", NULL };
	struct verdict v;
	char out[8192];

	(void)state;
	assert_true(comes_to(false, &v, 5));
	assert_true(v.budget == 0.05);
	assert_int_equal(v.switches, 0);

	filler = fill(fill_bytes);
	assert_true(comes_to(true, &v, 5));
	assert_true(v.budget == 0.5);
	assert_int_equal(v.switches, 1);
	if (!strstr(v.why, "memory short: MemAvailable"))
		fail_msg("why: %s", v.why);
	assert_int_equal(ctl(&d, out, sizeof(out), text), 0);
	if (!strstr(out, "memory pressure: mode pressure, budget 0.50 cores, "
			 "1 switches; memory short: MemAvailable"))
		fail_msg("status lacks the verdict:\n%s", out);

	stop_filler();
	assert_true(memory_back(60));
	assert_true(comes_to(false, &v, 10));
	assert_true(v.budget == 0.05);
	assert_int_equal(v.switches, 2);
	assert_true(logged("below"));
	assert_true(logged(": full budget, 0.50 cores"));
	assert_true(logged("memory not short: MemAvailable"));
	assert_true(logged(": idle budget, 0.05 cores"));
}

static int setup(void **state)
{
	uint64_t total = meminfo("MemTotal");
	uint64_t available = meminfo("MemAvailable");
	uint64_t gap = total / 100 * PRESSURE_MARGIN_PCT + 512 * MIB;
	char settings[256];

	(void)state;
	fill_bytes = gap + 512 * MIB;
	not_short = available - gap + total / 100 * PRESSURE_MARGIN_PCT;
	if (available < 2 * fill_bytes)
		skip_all("too little memory available for the filler");
	/* The host's stall belongs to other work: only MemAvailable is
	 * judged here (test_pressure checks the stall). */
	snprintf(settings, sizeof(settings), "threads = 1\nreclaim_period = "
		 "1\ncpu_limit = 0.5\nidle_cpu_limit = 0.05\nmode = pressure\n"
		 "pressure_stall = 100\npressure_available = %" PRIu64 "K\n",
		 (available - gap) >> 10);
	if (daemon_prepare(&d, "pressure", settings) || daemon_start(&d))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stop_filler();
	harness_cleanup();
	return daemon_stop(&d);
}

static int kill_filler(void **state)
{
	(void)state;
	stop_filler();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(switches_and_back, kill_filler),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
