// SPDX-License-Identifier: GPL-2.0-only
/*
 * What poned makes of a process's /proc files, from their text: a maps
 * line, the start time past a name with spaces and parentheses, the usage
 * of a range in smaps, and QEMU's -m in its forms, the last argument of a
 * command line with no NUL included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

static void maps_lines(void **state)
{
	char memfd[] = "7f0000000000-7f0100000000 rw-s 00001000 00:01 2051"
		       "       /memfd:memory-backend-memfd (deleted)\n";
	char anon[] = "7f2a40000000-7f2b40000000 rw-p 00000000 00:00 0 \n";
	char bad[] = "7f2a40000000 rw-p 00000000 00:00 0\n";
	struct proc_map m;

	(void)state;
	assert_int_equal(proc_parse_map(memfd, &m), 0);
	assert_true(m.start == 0x7f0000000000 && m.end == 0x7f0100000000);
	assert_string_equal(m.perms, "rw-s");
	assert_int_equal(m.offset, 0x1000);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.inode, 2051);
	assert_string_equal(m.path, "/memfd:memory-backend-memfd (deleted)");
	assert_int_equal(proc_parse_map(anon, &m), 0);
	assert_string_equal(m.path, "");
	assert_int_equal(proc_parse_map(bad, &m), -EIO);
}

static void start_time(void **state)
{
	uint64_t ticks;

	(void)state;
	assert_int_equal(proc_parse_start_time("77 (a) b) (c) R 1 77 77 0 -1 "
		"4194304 97 0 0 0 0 0 0 0 20 0 1 0 3184445 3133440 374\n",
		&ticks), 0);
	assert_int_equal(ticks, 3184445);
	assert_int_equal(proc_parse_start_time("77 (a) R 1 77\n", &ticks),
			 -EIO);
}

static void usage(void **state)
{
	const char *smaps =
		"7f0000000000-7f0100000000 rw-s 00000000 00:01 2051 /memfd:x\n"
		"Size:            4194304 kB\nRss:                  12 kB\n"
		"Swap:                   4 kB\n"
		"7f0100000000-7f0100021000 rw-p 00000000 00:00 0 \n"
		"Rss:                 100 kB\nSwap:                 100 kB\n";
	struct proc_usage u;

	(void)state;
	assert_int_equal(proc_parse_usage(smaps, strlen(smaps), 0x7f0000000000,
					  0x7f0100000000, &u), 0);
	assert_int_equal(u.rss, 12 << 10);
	assert_int_equal(u.swap, 4 << 10);
}

/* In a buffer exactly len long, as a command line may end with no NUL. */
static int ram_size(const char *args, size_t len, uint64_t *bytes)
{
	char *buf = malloc(len);
	int ret;

	assert_non_null(buf);
	memcpy(buf, args, len);
	ret = proc_qemu_ram_size(buf, len, bytes);
	free(buf);
	return ret;
}

#define RAM_SIZE(lit, bytes) ram_size(lit, sizeof(lit) - 1, bytes)

static void qemu_ram_size(void **state)
{
	uint64_t b;

	(void)state;
	assert_int_equal(RAM_SIZE("qemu\0-m\0004096\0", &b), 0);
	assert_int_equal(b, 4096ull << 20);
	assert_int_equal(RAM_SIZE("qemu\0-m\0size=4194304k\0-smp\0002\0", &b),
			 0);
	assert_int_equal(b, 4ull << 30);
	assert_int_equal(RAM_SIZE("qemu\0-m\0size=2G,slots=4,maxmem=8G\0", &b),
			 0);
	assert_int_equal(b, 2ull << 30);
	assert_int_equal(RAM_SIZE("qemu\0-m=1073741824B\0", &b), 0);
	assert_int_equal(b, 1ull << 30);
	assert_int_equal(RAM_SIZE("qemu\0-m\0001t", &b), 0);
	assert_int_equal(b, 1ull << 40);
	assert_int_equal(RAM_SIZE("qemu\0-m=2", &b), 0);
	assert_int_equal(b, 2ull << 20);
	assert_int_equal(RAM_SIZE("qemu\0-m\0004X\0", &b), -EINVAL);
	assert_int_equal(RAM_SIZE("qemu\0-nographic\0-m\0", &b), -ENOENT);
	assert_int_equal(RAM_SIZE("qemu\0-m", &b), -ENOENT);
	assert_int_equal(RAM_SIZE("qemu\0-nographic\0", &b), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(maps_lines),
		cmocka_unit_test(start_time),
		cmocka_unit_test(usage),
		cmocka_unit_test(qemu_ram_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
