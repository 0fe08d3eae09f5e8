// SPDX-License-Identifier: GPL-2.0-only
/*
 * What /proc says of a process, read of this test and of a child running
 * this binary as a QEMU would be run: its command line and the RAM size
 * its "-m" gives, its start time, its mappings, the memory counted in a
 * range of them; and that a process gone is told apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

#define QEMU "qemu-system-x86_64"
#define READY_FD "PONE_TEST_READY_FD"

static char *const qemu_argv[] = {
	QEMU, "-name", "guest0", "-machine", "q35", "-m", "512M", "-smp", "2",
	NULL
};

/*
 * The child, run as QEMU: named as awkwardly as a process can be (stat
 * puts the name in parentheses), it says it is ready and waits to be
 * killed.
 */
static int fake_qemu(void)
{
	const char *fd = getenv(READY_FD);

	prctl(PR_SET_NAME, "q) 1 2 (3");
	if (!fd || write(atoi(fd), "r", 1) != 1)
		return 1;
	pause();
	return 0;
}

/* A child running fake_qemu(), once it runs it. */
static pid_t start_qemu(void)
{
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
		execv("/proc/self/exe", qemu_argv);
		_exit(127);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void qemu_command_line(void **state)
{
	pid_t pid = start_qemu();
	char want[128], *w = want, *args;
	size_t len;
	uint64_t ram;

	(void)state;
	for (int i = 0; qemu_argv[i]; i++)
		w = stpcpy(w, qemu_argv[i]) + 1;
	assert_int_equal(proc_cmdline(pid, &args, &len), 0);
	assert_int_equal(len, w - want);
	assert_memory_equal(args, want, len);
	assert_int_equal(proc_qemu_ram_size(args, len, &ram), 0);
	assert_int_equal(ram, 512ull << 20);
	free(args);
	stop(pid);
	assert_int_equal(proc_cmdline(getpid(), &args, &len), 0);
	assert_string_equal(args, program_invocation_name);
	free(args);
}

/* "ARG|ARG|...": arguments as /proc/PID/cmdline has them. */
static int ram_size(const char *line, uint64_t *bytes)
{
	char args[64];
	size_t len = strlen(line) + 1;

	assert_true(len <= sizeof(args));
	memcpy(args, line, len);
	for (size_t i = 0; i < len; i++)
		if (args[i] == '|')
			args[i] = 0;
	return proc_qemu_ram_size(args, len, bytes);
}

static void qemu_ram_sizes(void **state)
{
	static const struct {
		const char *args;
		int ret;
		uint64_t bytes;
	} t[] = {
		{ "qemu|-m|512M", 0, 512ull << 20 },
		{ "qemu|-m|1024", 0, 1024ull << 20 },	/* MiB unless told */
		{ "qemu|-m|2G", 0, 2ull << 30 },
		{ "qemu|-m|4g", 0, 4ull << 30 },
		{ "qemu|-m|1T", 0, 1ull << 40 },
		{ "qemu|-m|65536k", 0, 64ull << 20 },
		{ "qemu|-m|4096B", 0, 4096 },
		{ "qemu|-m|size=3G,slots=4,maxmem=8G", 0, 3ull << 30 },
		{ "qemu|-m|size=1024", 0, 1024ull << 20 },
		{ "qemu|-m=768", 0, 768ull << 20 },
		{ "qemu|-machine|q35|-m|1G|-smp|2", 0, 1ull << 30 },
		{ "qemu|-machine|q35|-mem-prealloc", -ENOENT, 0 },
		{ "qemu|-m=", -EINVAL, 0 },
		{ "qemu|-smp|2|-m", -ENOENT, 0 },	/* no value */
		{ "qemu|-m|lots", -EINVAL, 0 },
		{ "qemu|-m|12X", -EINVAL, 0 },
		{ "qemu|-m|", -EINVAL, 0 },
		{ "qemu|-m|0x100", -EINVAL, 0 },
		{ "qemu|-m|17179869184G", -EINVAL, 0 },	/* 2^64 bytes */
		{ "qemu|-m|18446744073709551616", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t bytes = 0;
		int ret = ram_size(t[i].args, &bytes);

		if (ret != t[i].ret || (!ret && bytes != t[i].bytes))
			fail_msg("'%s': %d, %llu bytes; expected %d, %llu",
				 t[i].args, ret, (unsigned long long)bytes,
				 t[i].ret, (unsigned long long)t[i].bytes);
	}
}

/* Now, in the clock ticks since boot /proc/PID/stat counts in. */
static uint64_t boot_ticks(void)
{
	uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * hz +
	       (uint64_t)ts.tv_nsec / (1000000000 / hz);
}

/* The start time is when it forked: one later is another process. */
static void start_times(void **state)
{
	uint64_t self, before, first, second;
	pid_t pid;

	(void)state;
	assert_int_equal(proc_start_time(getpid(), &self), 0);
	before = boot_ticks();
	pid = start_qemu();
	assert_int_equal(proc_start_time(pid, &first), 0);
	assert_in_range(first, before, boot_ticks());
	assert_true(self <= first);
	stop(pid);
	usleep(2 * 1000000 / sysconf(_SC_CLK_TCK));
	pid = start_qemu();
	assert_int_equal(proc_start_time(pid, &second), 0);
	assert_true(second > first);
	stop(pid);
}

struct want {
	struct proc_map m;
	dev_t dev;
	int seen;
};

static int check_map(void *ctx, const struct proc_map *m)
{
	struct want *w = ctx;

	if (m->start != w->m.start)
		return 0;
	w->seen++;
	assert_int_equal(m->end, w->m.end);
	assert_string_equal(m->perms, w->m.perms);
	assert_int_equal(m->offset, w->m.offset);
	assert_int_equal(makedev(m->dev_major, m->dev_minor), w->dev);
	assert_int_equal(m->inode, w->m.inode);
	assert_string_equal(m->path, w->m.path);
	return 0;
}

static int stop_at_first(void *ctx, const struct proc_map *m)
{
	(void)m;
	++*(int *)ctx;
	return 5;
}

/* Mappings this test makes are found with what makes them what they are. */
static void maps(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("pone-test", MFD_CLOEXEC), calls = 0;
	char *anon = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *shared;
	struct want w = { .seen = 0 };
	struct stat st;

	(void)state;
	assert_true(fd >= 0 && anon != MAP_FAILED);
	assert_int_equal(mprotect(anon + ps, ps, PROT_READ), 0);
	w.m = (struct proc_map){ .start = (uintptr_t)anon + ps,
				 .end = (uintptr_t)anon + 2 * ps,
				 .perms = "r--p", .path = "" };
	assert_int_equal(proc_maps(getpid(), check_map, &w), 0);
	assert_int_equal(w.seen, 1);

	assert_int_equal(ftruncate(fd, 4 * ps), 0);
	shared = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, ps);
	assert_true(shared != MAP_FAILED);
	assert_int_equal(fstat(fd, &st), 0);
	w = (struct want){ .dev = st.st_dev };
	w.m = (struct proc_map){ .start = (uintptr_t)shared,
				 .end = (uintptr_t)shared + 2 * ps,
				 .perms = "rw-s", .offset = (uint64_t)ps,
				 .inode = st.st_ino,
				 .path = "/memfd:pone-test (deleted)" };
	assert_int_equal(proc_maps(getpid(), check_map, &w), 0);
	assert_int_equal(w.seen, 1);

	/* What fn returns ends the walk. */
	assert_int_equal(proc_maps(getpid(), stop_at_first, &calls), 5);
	assert_int_equal(calls, 1);
	munmap(shared, 2 * ps);
	munmap(anon, 3 * ps);
	close(fd);
}

/* Resident and swapped bytes are those of the pages written. */
static void usage(void **state)
{
	long ps = sysconf(_SC_PAGESIZE);
	size_t n = 64;
	/* Guards either side: the range is a mapping of its own. */
	char *guard = mmap(NULL, (n + 2) * ps, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem = guard + ps;
	uint64_t start = (uintptr_t)mem, end = start + n * ps;
	struct proc_usage u;

	(void)state;
	assert_true(guard != MAP_FAILED);
	assert_int_equal(mprotect(mem, n * ps, PROT_READ | PROT_WRITE), 0);
	/* Small pages only: a huge page would make all of them resident. */
	madvise(mem, n * ps, MADV_NOHUGEPAGE);
	assert_int_equal(proc_usage(getpid(), start, end, &u), 0);
	assert_int_equal(u.rss + u.swap, 0);
	for (size_t i = 0; i < 10; i++)
		mem[i * 5 * ps] = 1;
	assert_int_equal(proc_usage(getpid(), start, end, &u), 0);
	assert_int_equal(u.rss + u.swap, 10 * ps);
	assert_int_equal(proc_usage(getpid(), start - ps, end + ps, &u), 0);
	assert_int_equal(u.rss + u.swap, 10 * ps);
	/* Pages 0, 5 and 10 given back. */
	assert_int_equal(madvise(mem, 11 * ps, MADV_DONTNEED), 0);
	assert_int_equal(proc_usage(getpid(), start, end, &u), 0);
	assert_int_equal(u.rss + u.swap, 7 * ps);
	/* A mapping counts only if it is all inside the range. */
	assert_int_equal(proc_usage(getpid(), start, end - ps, &u), 0);
	assert_int_equal(u.rss + u.swap, 0);
	munmap(guard, (n + 2) * ps);
}

/* pids stay below pid_max: that one is never a process. */
static pid_t no_process(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	int max = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &max), 1);
	fclose(f);
	return max;
}

static int never(void *ctx, const struct proc_map *m)
{
	(void)ctx;
	(void)m;
	fail_msg("a mapping of no process");
	return 0;
}

/* No process, or one that exited and has no command line any more. */
static void gone(void **state)
{
	pid_t none = no_process(), zombie;
	struct proc_usage u = { 1, 1 };
	uint64_t ticks;
	siginfo_t si;
	size_t len;
	char *args;

	(void)state;
	assert_int_equal(proc_maps(none, never, NULL), -ESRCH);
	assert_int_equal(proc_cmdline(none, &args, &len), -ESRCH);
	assert_int_equal(proc_start_time(none, &ticks), -ESRCH);
	assert_int_equal(proc_usage(none, 0, UINT64_MAX, &u), -ESRCH);
	assert_int_equal(u.rss + u.swap, 0);

	zombie = fork();
	assert_true(zombie >= 0);
	if (!zombie)
		_exit(0);
	assert_int_equal(waitid(P_PID, zombie, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(proc_cmdline(zombie, &args, &len), -ESRCH);
	assert_int_equal(proc_start_time(zombie, &ticks), 0);
	waitpid(zombie, NULL, 0);
}

/* This process's CPU time, as the kernel counts it, after it spent some. */
static void cpu_ticks(void **state)
{
	struct timespec t0, t;
	uint64_t ticks = 0;

	(void)state;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	do
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000l + t.tv_nsec - t0.tv_nsec <
	       200000000l);
	assert_int_equal(proc_cpu_ticks(getpid(), &ticks), 0);
	assert_true(ticks >= 5);	/* of 0.2 s, at 100 ticks a second */
	assert_int_equal(proc_cpu_ticks(0x7ffffff0, &ticks), -ESRCH);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qemu_command_line),
		cmocka_unit_test(qemu_ram_sizes),
		cmocka_unit_test(start_times),
		cmocka_unit_test(cpu_ticks),
		cmocka_unit_test(maps),
		cmocka_unit_test(usage),
		cmocka_unit_test(gone),
	};

	(void)argc;
	if (!strcmp(argv[0], QEMU))
		return fake_qemu();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
