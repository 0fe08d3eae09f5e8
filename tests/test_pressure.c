// SPDX-License-Identifier: GPL-2.0-only
/*
 * Judging whether the host is short of memory (pressure.h) from a
 * directory laid out as /proc: meminfo and pressure/memory as the kernel
 * writes them, thresholds in percent and in bytes, the hysteresis that
 * keeps a host near the line from flapping, a kernel without PSI, and
 * files not as the kernel writes them, which give an error, not a verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pressure.h"

#define GIB (1ull << 30)
#define MIB (1ull << 20)

static char root[64];

/* As Linux 6.x writes it, MemTotal 16 GiB. */
static const char meminfo_fmt[] =
	"MemTotal:       16777216 kB\n"
	"MemFree:         1523412 kB\n"
	"MemAvailable:   %8llu kB\n"
	"Buffers:          203920 kB\n"
	"Cached:          4613444 kB\n"
	"SwapCached:            0 kB\n"
	"Active:          7204972 kB\n"
	"SwapTotal:             0 kB\n"
	"SwapFree:              0 kB\n"
	"AnonHugePages:   2048000 kB\n"
	"HugePages_Total:       0\n"
	"Hugepagesize:       2048 kB\n"
	"DirectMap1G:    13631488 kB\n";

static void put(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void put_available(uint64_t bytes)
{
	char text[sizeof(meminfo_fmt) + 16];

	snprintf(text, sizeof(text), meminfo_fmt,
		 (unsigned long long)(bytes >> 10));
	put("meminfo", text);
}

static void put_stall(double some)
{
	char text[256];

	snprintf(text, sizeof(text), "some avg10=%.2f avg60=1.20 avg300=0.40 "
		 "total=1181085\nfull avg10=0.00 avg60=0.00 avg300=0.00 "
		 "total=1001\n", some);
	put("pressure/memory", text);
}

static int setup(void **state)
{
	char dir[96];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/pone-pressure-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/pressure", root);
	if (mkdir(root, 0700) || mkdir(dir, 0700))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void read_ok(struct pressure_reading *r)
{
	struct failure f = { 0 };

	assert_int_equal(pressure_read(root, r, &f), 0);
	assert_int_equal(f.code, 0);
}

/* The verdict on the files as they are now; whether it changed. */
static bool judge(struct pressure *s, const struct pressure_limits *l)
{
	struct pressure_reading r;

	read_ok(&r);
	return pressure_judge(s, l, &r);
}

static void contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("'%s' lacks '%s'", text, part);
}

static void reads_the_kernels_text(void **state)
{
	struct pressure_reading r;

	(void)state;
	put_available(3 * GIB + 512 * MIB);
	put_stall(12.34);
	read_ok(&r);
	assert_int_equal(r.total, 16 * GIB);
	assert_int_equal(r.available, 3 * GIB + 512 * MIB);
	assert_true(r.psi);
	assert_true(r.stall > 12.33 && r.stall < 12.35);
}

/* The first verdict on MemAvailable available, with no stall. */
static struct pressure first(const struct pressure_limits *l,
			     uint64_t available)
{
	struct pressure s = { 0 };

	put_stall(0);
	put_available(available);
	assert_true(judge(&s, l));
	assert_int_equal(s.switches, 0);
	return s;
}

static void percent_of_total(void **state)
{
	const struct pressure_limits l = { .available_pct = 20,
					   .stall_pct = 10 };
	struct pressure s;

	(void)state;
	s = first(&l, 3 * GIB);		/* 20 % of 16 GiB: 3.2 GiB */
	assert_true(s.judged && s.shortage);
	contains(s.why, "memory short: MemAvailable 3.0 GiB below 20 % of "
			"16.0 GiB");
	s = first(&l, 3 * GIB + 300 * MIB);
	assert_false(s.shortage);
	contains(s.why, "memory not short: MemAvailable 3.3 GiB above 20 %");
}

static void bytes(void **state)
{
	const struct pressure_limits l = { .available_bytes = 2 * GIB,
					   .stall_pct = 10 };
	struct pressure s;

	(void)state;
	s = first(&l, 2 * GIB - 4096);
	assert_true(s.shortage);
	contains(s.why, "below 2.0 GiB");
	s = first(&l, 2 * GIB);
	assert_false(s.shortage);
}

/* In below the line; out only 2 % of MemTotal (327 MiB) above it. */
static void available_hysteresis(void **state)
{
	const struct pressure_limits l = { .available_bytes = 4 * GIB,
					   .stall_pct = 10 };
	struct pressure s;

	(void)state;
	s = first(&l, 5 * GIB);
	assert_false(s.shortage);
	put_available(4 * GIB - MIB);
	assert_true(judge(&s, &l));		/* enter */
	assert_true(s.shortage);
	assert_int_equal(s.switches, 1);
	put_available(4 * GIB + 300 * MIB);
	assert_false(judge(&s, &l));		/* stay */
	assert_true(s.shortage);
	contains(s.why, "memory short still: MemAvailable 4.3 GiB, not yet "
			"2 % of MemTotal above 4.0 GiB");
	put_available(4 * GIB + 330 * MIB);
	assert_true(judge(&s, &l));		/* leave */
	assert_false(s.shortage);
	assert_int_equal(s.switches, 2);
	put_available(4 * GIB + MIB);
	assert_false(judge(&s, &l));		/* no way back in above it */
	assert_false(s.shortage);
}

/* In at the stall threshold; out once below half of it. */
static void stall_hysteresis(void **state)
{
	const struct pressure_limits l = { .available_pct = 20,
					   .stall_pct = 10 };
	struct pressure s = { 0 };

	(void)state;
	put_available(8 * GIB);
	put_stall(9.99);
	judge(&s, &l);
	assert_false(s.shortage);
	put_stall(10);
	assert_true(judge(&s, &l));
	assert_true(s.shortage);
	contains(s.why, "memory short: MemAvailable 8.0 GiB above 20 % of "
			"16.0 GiB; stall (some avg10) 10.0 % at or above 10 %");
	put_stall(5);
	assert_false(judge(&s, &l));
	contains(s.why, "memory short still: MemAvailable 8.0 GiB above");
	contains(s.why, "stall (some avg10) 5.0 % not yet below 5 %");
	put_stall(4.99);
	assert_true(judge(&s, &l));
	assert_false(s.shortage);
	assert_int_equal(s.switches, 2);
}

/* No pressure/memory (no CONFIG_PSI): MemAvailable alone. */
static void without_psi(void **state)
{
	const struct pressure_limits l = { .available_pct = 20,
					   .stall_pct = 10 };
	struct pressure_reading r;
	struct pressure s = { 0 };
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/pressure/memory", root);
	unlink(path);
	put_available(8 * GIB);
	read_ok(&r);
	assert_false(r.psi);
	pressure_judge(&s, &l, &r);
	assert_false(s.shortage);
	contains(s.why, "no PSI: judged by MemAvailable alone");
	put_available(GIB);
	judge(&s, &l);
	assert_true(s.shortage);
}

/* Refused with err, naming the file by code. */
static void unreadable(int err, int code)
{
	struct pressure_reading r;
	struct failure f = { 0 };
	struct pressure s = { .judged = true, .shortage = false };

	assert_int_equal(pressure_read(root, &r, &f), err);
	assert_int_equal(f.code, code);
	pressure_unjudged(&s, root, f.code, err);
	assert_false(s.judged);
	contains(s.why, code == PRESSURE_PSI ? "/pressure/memory: " :
					       "/meminfo: ");
}

static void not_the_kernels_text(void **state)
{
	static const struct {
		const char *file, *text;
		int code;
	} bad[] = {
		{ "meminfo", "MemTotal:       16777216 kB\nMemFree: 12 kB\n",
		  PRESSURE_MEMINFO },
		{ "meminfo", "MemTotal: lots\nMemAvailable: 1 kB\n",
		  PRESSURE_MEMINFO },
		{ "meminfo", "MemTotal: 0 kB\nMemAvailable: 0 kB\n",
		  PRESSURE_MEMINFO },
		{ "pressure/memory", "", PRESSURE_PSI },
		{ "pressure/memory", "some avg10=high avg60=0.00\n",
		  PRESSURE_PSI },
		{ "pressure/memory", "full avg10=0.00 avg60=0.00 avg300=0.00\n",
		  PRESSURE_PSI },
		{ "pressure/memory", "some avg10=101.00 avg60=0.00\n",
		  PRESSURE_PSI },
	};
	char path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_stall(0);
		put_available(8 * GIB);
		put(bad[i].file, bad[i].text);
		unreadable(-EIO, bad[i].code);
	}
	snprintf(path, sizeof(path), "%s/meminfo", root);
	unlink(path);
	unreadable(-ENOENT, PRESSURE_MEMINFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_the_kernels_text),
		cmocka_unit_test(percent_of_total),
		cmocka_unit_test(bytes),
		cmocka_unit_test(available_hysteresis),
		cmocka_unit_test(stall_hysteresis),
		cmocka_unit_test(without_psi),
		cmocka_unit_test(not_the_kernels_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
