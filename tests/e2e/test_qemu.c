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
#include "qemu_guest.h"
#include "swapfile.h"

#define RAM_MIB 512
#define RAM_BYTES ((uint64_t)RAM_MIB << 20)

/*
 * thp_split = always: QEMU backs guest RAM with huge pages, and the pages
 * the guest freed share most of them with pages it keeps or its kernel
 * touches now and then; 'idle' would recycle those only once the guest
 * left them alone for a merge period, which under TCG is a matter of luck.
 */
#define SETTINGS "threads = 2\nreclaim_period = 1\nmerge_period = 2\n" \
		 "thp_split = always\n"

static struct qemu_image image;

static void boots_and_recycles(bool memfd, const char *name)
{
	const char *status[] = { "status", "--json", NULL };
	uint64_t addr, full, after, swap, freed_mib, recycled, sum, again, bad;
	struct daemon_run d;
	char line[256];
	double t0 = now_s();
	struct vm vm;

	assert_int_equal(daemon_prepare(&d, name, SETTINGS), 0);
	assert_int_equal(daemon_start(&d), 0);
	assert_int_equal(vm_start(&vm, &image, RAM_MIB, memfd, NULL), 0);
	assert_int_equal(vm_wait(&vm, "guestload: filled", line,
				      sizeof(line), 150), 0);
	assert_int_equal(sscanf(line, "guestload: filled %*u MiB, keeps %*u "
				"MiB: sum %" SCNx64, &sum), 1);
	assert_int_equal(vm_wait(&vm, "guestload: freed", line,
				      sizeof(line), 60), 0);
	assert_int_equal(sscanf(line, "guestload: freed %" SCNu64, &freed_mib),
			 1);
	printf("%s: guest ready after %.0f s\n", name, now_s() - t0);

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
	       swap >> 20, freed_mib, now_s() - t0);

	assert_int_equal(vm_say(&vm, "verify", "guestload: verify", line,
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
	printf("%s: %.0f s\n", name, now_s() - t0);
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

static int setup(void **state)
{
	char why[256];

	(void)state;
	if (geteuid())
		skip_all("not root: poned acts on another process's memory");
	if (qemu_image_prepare(&image, why, sizeof(why)))
		skip_all(why);
	/* Swap of our own, even where there is some: on a machine shared by
	 * several test runs, theirs can go away in the middle of ours. */
	if (swap_add("/var/tmp/pone-e2e-qemu.swap", 1024, why, sizeof(why)))
		skip_all(why);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	swap_release();
	qemu_image_release(&image);
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
