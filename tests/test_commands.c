// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control commands carried out on a daemon of the test's own (its
 * engine, guests and periods, no socket): each answers as commands.h
 * says, a refused one changes nothing, and attach and detach act on a
 * real process holding guest RAM as QEMU holds it.
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "statefile.h"

#define QEMU "qemu-system-x86_64"
#define READY_FD "PONE_TEST_READY_FD"
#define RAM_KIND "PONE_TEST_RAM"
#define RAM (16 << 20)

/* Anonymous RAM of the -m size, a mapping of its own between two guard
 * pages, which the kernel cannot merge with its neighbours (a sanitizer's,
 * say) as it would two of the same kind. */
static char *anon_ram(void)
{
	char *ram = mmap(NULL, RAM + 2 * 4096, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ram == MAP_FAILED ||
	    mprotect(ram += 4096, RAM, PROT_READ | PROT_WRITE))
		return NULL;
	return ram;
}

/* Shared RAM as QEMU's memory-backend-memfd names it, its fd closed. */
static char *memfd_ram(void)
{
	int fd = memfd_create("memory-backend-memfd", 0);
	char *ram;

	if (fd < 0 || ftruncate(fd, RAM))
		return NULL;
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return ram == MAP_FAILED ? NULL : ram;
}

/* The child, run as QEMU with 16 MiB of guest RAM of the kind asked:
 * anonymous, two anonymous mappings of that size, or a memfd. */
static int fake_qemu(void)
{
	const char *kind = getenv(RAM_KIND), *fd = getenv(READY_FD);
	char *ram = !strcmp(kind, "memfd") ? memfd_ram() : anon_ram();

	if (!ram || !fd || (!strcmp(kind, "two") && !anon_ram()))
		return 1;
	memset(ram, 0x5a, RAM);
	if (write(atoi(fd), "r", 1) != 1)
		return 1;
	pause();
	return 0;
}

static pid_t start_qemu(const char *kind)
{
	char *const argv[] = { QEMU, "-m", "16M", NULL };
	char num[16], c;
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		snprintf(num, sizeof(num), "%d", p[1]);
		setenv(READY_FD, num, 1);
		setenv(RAM_KIND, kind, 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

struct fixture {
	struct poned d;
	char state[64];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct pone_engine_config ec = { .threads = 1 };
	struct periods_settings ps;

	if (!fx)
		return -1;
	snprintf(fx->state, sizeof(fx->state), "/tmp/pone-commands-%d",
		 (int)getpid());
	config_defaults(&fx->d.cfg);
	snprintf(fx->d.cfg.state_dir, sizeof(fx->d.cfg.state_dir), "%s",
		 fx->state);
	fx->d.engine_threads_max = 1;
	fx->d.backend = "cpu";
	fx->d.write_tracking = "off";
	if (statefile_init(fx->state) || pone_engine_new(&ec, &fx->d.engine))
		return -1;
	guests_init(&fx->d.guests, &(struct guests_config){
		fx->d.engine, -1, fx->state, false, false, false, false, false });
	periods_settings_of(&fx->d.cfg, &ps);
	/* KSM not opened: not steered. */
	if (periods_start(&fx->d.periods, fx->d.engine, &fx->d.guests,
			  &fx->d.ksm, PRESSURE_PROC, &ps))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[96];

	periods_stop(&fx->d.periods);
	guests_fini(&fx->d.guests);
	pone_engine_free(fx->d.engine);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->state);
	free(fx);
	return system(cmd);
}

/* The reply to line, which must hold want. */
static void says(struct fixture *fx, const char *line, const char *want)
{
	char *reply = commands_run(&fx->d, line, -1);

	assert_non_null(reply);
	if (!strstr(reply, want))
		fail_msg("%s: reply '%s' lacks '%s'", line, reply, want);
	free(reply);
}

static void version_and_status(void **state)
{
	struct fixture *fx = *state;

	says(fx, "{\"cmd\":\"version\"}", "\"version\":\"" PONE_VERSION "\"");
	says(fx, "{\"cmd\":\"status\"}", "\"guests\":[]");
	says(fx, "{\"cmd\":\"status\"}", "\"merge_period\":600");
	says(fx, "{\"cmd\":\"guests\"}", "\"guests\":[]");
	says(fx, "{\"cmd\":\"nope\"}", "unknown command nope");
}

/* A set is taken whole or not at all, and applies at once. */
static void set_whole_or_nothing(void **state)
{
	struct fixture *fx = *state;

	says(fx, "{\"cmd\":\"set\",\"values\":{\"merge_period\":5,"
		 "\"reclaim_period\":2}}", "\"ok\":true");
	assert_int_equal(fx->d.cfg.merge_period, 5);
	assert_int_equal(fx->d.periods.set.reclaim_period, 2);
	says(fx, "{\"cmd\":\"set\",\"values\":{\"merge_period\":1,"
		 "\"cpu_limit\":0.5}}", "shorter than reclaim_period");
	assert_int_equal(fx->d.cfg.merge_period, 5);
	assert_true(fx->d.cfg.cpu_limit == 1.0);
	says(fx, "{\"cmd\":\"set\",\"values\":{\"threads\":2}}",
	     "at most 1");
	says(fx, "{\"cmd\":\"set\",\"values\":{\"socket\":\"/x\"}}",
	     "can only be set in the config file");
	says(fx, "{\"cmd\":\"set\",\"values\":{\"merge_period\":600,"
		 "\"reclaim_period\":10}}", "\"ok\":true");
}

/* mode = pressure and its thresholds reach the scan thread, and status
 * says what it judged; back to always, the full budget. */
static void pressure_set(void **state)
{
	struct fixture *fx = *state;

	says(fx, "{\"cmd\":\"status\"}", "\"pressure\":{\"mode\":\"always\","
		 "\"short\":null");
	says(fx, "{\"cmd\":\"set\",\"values\":{\"mode\":\"pressure\","
		 "\"pressure_available\":\"10%\",\"idle_cpu_limit\":2}}",
	     "idle_cpu_limit (2 cores) is above cpu_limit (1 cores)");
	assert_int_equal(fx->d.periods.set.mode, PRESSURE_ALWAYS);
	says(fx, "{\"cmd\":\"set\",\"values\":{\"mode\":\"pressure\","
		 "\"pressure_available\":\"10%\",\"idle_cpu_limit\":0.25}}",
	     "\"ok\":true");
	assert_int_equal(fx->d.periods.set.mode, PRESSURE_ON_SHORT);
	assert_true(fx->d.periods.set.pressure.available_pct == 10);
	assert_true(fx->d.periods.set.idle_cpu_limit == 0.25);
	says(fx, "{\"cmd\":\"set\",\"values\":{\"mode\":\"always\"}}",
	     "\"ok\":true");
	says(fx, "{\"cmd\":\"status\"}", "\"budget_cpu\":1.0");
}

static bool listed(const struct fixture *fx, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/guests/%s", fx->state, name);
	return !access(path, F_OK);
}

static void attach_and_detach(void **state)
{
	struct fixture *fx = *state;
	pid_t pid = start_qemu("anon");
	char line[128];

	snprintf(line, sizeof(line), "{\"cmd\":\"attach\",\"pid\":%d,"
		 "\"name\":\"g0\"}", (int)pid);
	says(fx, line, "\"ram_bytes\":16777216");
	assert_true(listed(fx, "g0"));
	says(fx, line, "already attached");
	says(fx, "{\"cmd\":\"guests\"}", "\"name\":\"g0\"");
	says(fx, "{\"cmd\":\"detach\",\"name\":\"g0\"}", "\"ok\":true");
	assert_false(listed(fx, "g0"));
	says(fx, "{\"cmd\":\"detach\",\"name\":\"g0\"}",
	     "no guest named 'g0' is attached");
	snprintf(line, sizeof(line), "{\"cmd\":\"attach\",\"pid\":%d}",
		 (int)getpid());
	says(fx, line, "has no guest RAM");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(line, sizeof(line), "{\"cmd\":\"attach\",\"pid\":%d}",
		 (int)pid);
	says(fx, line, "is not running");
	says(fx, "{\"cmd\":\"guests\"}", "\"guests\":[]");
}

static void attach_says(struct fixture *fx, const char *kind,
			const char *want)
{
	pid_t pid = start_qemu(kind);
	char line[128];

	snprintf(line, sizeof(line), "{\"cmd\":\"attach\",\"pid\":%d}",
		 (int)pid);
	says(fx, line, want);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Guest RAM that cannot be told or taken: why, and nothing attached. */
static void ram_not_found(void **state)
{
	struct fixture *fx = *state;

	attach_says(fx, "two", "more than one private anonymous mapping");
	attach_says(fx, "memfd", "holds no fd of it to take");
	says(fx, "{\"cmd\":\"guests\"}", "\"guests\":[]");
}

/* A passed fd is the handler's to close, whatever the request. */
static void passed_fd_closed(void **state)
{
	struct fixture *fx = *state;
	int p[2];
	char *reply;

	assert_int_equal(pipe(p), 0);
	reply = commands_run(&fx->d, "{\"cmd\":\"version\"}", p[0]);
	free(reply);
	assert_int_equal(close(p[0]), -1);
	close(p[1]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_and_status),
		cmocka_unit_test(set_whole_or_nothing),
		cmocka_unit_test(pressure_set),
		cmocka_unit_test(attach_and_detach),
		cmocka_unit_test(ram_not_found),
		cmocka_unit_test(passed_fd_closed),
	};

	(void)argc;
	if (!strcmp(argv[0], QEMU))
		return fake_qemu();
	return cmocka_run_group_tests(tests, setup, teardown);
}
