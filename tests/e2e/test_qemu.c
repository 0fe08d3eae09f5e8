// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned end to end with a real QEMU: Debian's kernel booted under TCG with
 * init_on_free=1 and pone-guestload as its workload, which fills most of
 * the guest's memory with seeded data and frees three quarters of it. With
 * poned attached, the QEMU process's guest RAM (its smaps, as the kernel
 * reports it) must fall by most of what the guest freed, the guest's own
 * checksum of the data it kept must still match, and the guest kernel must
 * report no WARNING, BUG or Oops. Once with QEMU's default anonymous RAM,
 * once with a shared memfd.
 *
 * Environment (meson): QEMU (empty when not installed), PONE_GUESTLOAD,
 * PONE_GUEST_INIT, PONE_VM_SCRIPTS (tests/vm), PONE_KERNEL_CACHE (unless
 * PONE_VM_CACHE is set, as for the vm suite).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "swapfile.h"

#define RAM "512M"
#define RAM_BYTES (512ull << 20)

/*
 * thp_split = always: QEMU backs guest RAM with huge pages, and the pages
 * the guest freed share most of them with pages it keeps or its kernel
 * touches now and then; 'idle' would recycle those only once the guest
 * left them alone for a merge period, which under TCG is a matter of luck.
 */
#define SETTINGS "threads = 2\nreclaim_period = 1\nmerge_period = 2\n" \
		 "thp_split = always\n"

static char kernel[512], initrd[128];

/* The guest's serial console, read line by line without stdio buffering,
 * so waiting on it can time out. */
struct vm {
	struct child c;
	char buf[4096];
	size_t len;
	bool kernel_report;
};

static bool is_kernel_report(const char *line)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "BUG ", "Oops", "Kernel panic",
		"Call Trace:", "Bad page", "general protection",
		"soft lockup", "hard LOCKUP", "blocked for more than",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(line, bad[i]))
			return true;
	return false;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The next console line starting with prefix, into line; every line is
 * echoed to our output (the test log) and checked for a kernel report.
 * -1 on end of output or after timeout seconds.
 */
static int console_wait(struct vm *vm, const char *prefix, char *line,
			size_t len, double timeout)
{
	double end = now() + timeout;
	int fd = fileno(vm->c.out);

	for (;;) {
		char *nl = memchr(vm->buf, '\n', vm->len);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (nl) {
			size_t n = (size_t)(nl - vm->buf);
			bool match;

			*nl = 0;
			vm->buf[strcspn(vm->buf, "\r")] = 0;
			printf("console: %s\n", vm->buf);
			vm->kernel_report |= is_kernel_report(vm->buf);
			match = prefix && !strncmp(vm->buf, prefix,
						  strlen(prefix));
			if (match) {
				size_t m = strlen(vm->buf);

				m = m < len ? m : len - 1;
				memcpy(line, vm->buf, m);
				line[m] = 0;
			}
			memmove(vm->buf, nl + 1, vm->len - n - 1);
			vm->len -= n + 1;
			if (match)
				return 0;
			continue;
		}
		if (vm->len == sizeof(vm->buf) - 1)
			vm->len = 0;	/* no line is that long: noise */
		if (poll(&p, 1, (int)((end - now()) * 1000)) <= 0)
			return -1;
		k = read(fd, vm->buf + vm->len, sizeof(vm->buf) - 1 - vm->len);
		if (k <= 0)
			return -1;
		vm->len += (size_t)k;
	}
}

static void vm_start(struct vm *vm, bool memfd)
{
	const char *base[] = {
		"-accel", "tcg", "-smp", "2", "-m", RAM,
		"-display", "none", "-serial", "stdio", "-monitor", "none",
		"-no-reboot", "-nic", "none", "-kernel", kernel,
		"-initrd", initrd, "-append",
		"console=ttyS0 panic=-1 oops=panic quiet loglevel=5 "
		"init_on_free=1",
		/* Without memfd, the list ends here. */
		memfd ? "-object" : NULL,
		"memory-backend-memfd,id=m0,size=" RAM ",share=on",
		"-machine", "memory-backend=m0", NULL
	};

	memset(vm, 0, sizeof(*vm));
	assert_int_equal(child_start(&vm->c, getenv("QEMU"), base), 0);
}

/* Asks the guest to power off and reads its console to the end. */
static void vm_stop(struct vm *vm)
{
	int i;

	fprintf(vm->c.in, "quit\n");
	fflush(vm->c.in);
	console_wait(vm, NULL, NULL, 0, 30);
	for (i = 0; i < 100 && waitpid(vm->c.pid, NULL, WNOHANG) == 0; i++)
		wait_s(0.1);
	fclose(vm->c.in);
	fclose(vm->c.out);
}

static void boots_and_recycles(bool memfd, const char *name)
{
	const char *status[] = { "status", "--json", NULL };
	uint64_t addr, full, after, swap, freed_mib, recycled, sum, again, bad;
	struct daemon_run d;
	char line[256];
	double t0 = now();
	struct vm vm;

	assert_int_equal(daemon_prepare(&d, name, SETTINGS), 0);
	assert_int_equal(daemon_start(&d), 0);
	vm_start(&vm, memfd);
	assert_int_equal(console_wait(&vm, "guestload: filled", line,
				      sizeof(line), 150), 0);
	assert_int_equal(sscanf(line, "guestload: filled %*u MiB, keeps %*u "
				"MiB: sum %" SCNx64, &sum), 1);
	assert_int_equal(console_wait(&vm, "guestload: freed", line,
				      sizeof(line), 60), 0);
	assert_int_equal(sscanf(line, "guestload: freed %" SCNu64, &freed_mib),
			 1);
	printf("%s: guest ready after %.0f s\n", name, now() - t0);

	assert_int_equal(mapping_find(vm.c.pid, memfd ?
				      "/memfd:memory-backend-memfd" : NULL,
				      RAM_BYTES, &addr), 0);
	assert_int_equal(mapping_usage(vm.c.pid, addr, &full, &swap), 0);
	assert_int_equal(ctl_attach(&d, vm.c.pid, name), 0);
	/* Most of it: the guest's kernel may take some pages back. */
	after = full - (freed_mib << 20) * 8 / 10;
	assert_true(rss_falls_to(vm.c.pid, addr, after, 60));
	assert_int_equal(mapping_usage(vm.c.pid, addr, &after, &swap), 0);
	printf("%s: guest RAM resident %" PRIu64 " MiB -> %" PRIu64
	       " MiB, %" PRIu64 " MiB on swap (the guest freed %" PRIu64
	       " MiB) after %.0f s\n", name, full >> 20, after >> 20,
	       swap >> 20, freed_mib, now() - t0);

	fprintf(vm.c.in, "verify\n");
	fflush(vm.c.in);
	assert_int_equal(console_wait(&vm, "guestload: verify", line,
				      sizeof(line), 60), 0);
	assert_int_equal(sscanf(line, "guestload: verify %" SCNx64 " %" SCNu64,
				&again, &bad), 2);
	assert_int_equal(again, sum);
	assert_int_equal(bad, 0);

	assert_int_equal(ctl_number(&d, status, "recycled_pages", &recycled),
			 0);
	printf("%s: %" PRIu64 " pages recycled\n", name, recycled);
	assert_true(recycled > 0);
	vm_stop(&vm);
	assert_false(vm.kernel_report);
	assert_int_equal(daemon_stop(&d), 0);
	printf("%s: %.0f s\n", name, now() - t0);
}

static void anonymous_ram(void **state)
{
	(void)state;
	boots_and_recycles(false, "qemu-anon");
}

static void memfd_ram(void **state)
{
	(void)state;
	boots_and_recycles(true, "qemu-memfd");
}

static int cleanup(void **state)
{
	(void)state;
	harness_cleanup();
	return 0;
}

/* Runs a command and keeps the first line of its output. */
static int first_line(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	bool got;

	if (!p)
		return -errno;
	got = fgets(out, (int)len, p) != NULL;
	if (pclose(p) || !got)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int setup(void **state)
{
	const char *qemu = getenv("QEMU"), *scripts = getenv("PONE_VM_SCRIPTS");
	const char *cache = getenv("PONE_VM_CACHE");
	char cmd[1024];

	(void)state;
	if (!scripts)
		skip_all("run by meson: the paths come from it");
	if (geteuid())
		skip_all("not root: poned acts on another process's memory");
	if (!qemu || !qemu[0])
		skip_all("no qemu-system-x86_64 (Debian: qemu-system-x86)");
	if (!cache)
		cache = getenv("PONE_KERNEL_CACHE");
	snprintf(cmd, sizeof(cmd), "bash %s/kernel.sh %s", scripts, cache);
	if (first_line(cmd, kernel, sizeof(kernel)))
		skip_all("cannot fetch Debian's kernel (linux-image-amd64)");
	snprintf(initrd, sizeof(initrd), "/tmp/pone-e2e-qemu-%d.cpio.gz",
		 (int)getpid());
	snprintf(cmd, sizeof(cmd), "bash %s/initramfs.sh %s %s %s", scripts,
		 initrd, getenv("PONE_GUEST_INIT"), getenv("PONE_GUESTLOAD"));
	if (system(cmd))
		skip_all("cannot pack the initramfs (busybox-static, cpio)");
	/* Swap of our own, even where there is some: on a machine shared by
	 * several test runs, theirs can go away in the middle of ours. */
	if (swap_add("/var/tmp/pone-e2e-qemu.swap", 1024, cmd, sizeof(cmd)))
		skip_all(cmd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	swap_release();
	unlink(initrd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(anonymous_ram, cleanup),
		cmocka_unit_test_teardown(memfd_ram, cleanup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
