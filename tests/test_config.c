// SPDX-License-Identifier: GPL-2.0-only
/*
 * poned's settings: a good file is taken whole; a bad one is refused with
 * the file, line and key, and changes nothing; run-time changes take only
 * the keys that can change and check them the same way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static const char *write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/pone-config-%d.conf", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void good_file(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_load(write_conf(
		"; comment\n[poned]\nthreads = 3\nreclaim_period = 5\n"
		"merge_period = 300 ; inline comment\ncpu_limit = 0.5\n"
		"nice = -5\nthp_split = never\nlog_level = debug\n"
		"socket = /run/x.sock\nstate_dir = /var/lib/x\n"
		"dsa = wq0.1\nwrite_tracking = off\nstable_periods = 1\n"),
		&c, err,
		sizeof(err)), 0);
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.reclaim_period, 5);
	assert_int_equal(c.merge_period, 300);
	assert_true(c.cpu_limit == 0.5);
	assert_int_equal(c.nice, -5);
	assert_int_equal(c.thp_split, THP_NEVER);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(c.socket, "/run/x.sock");
	assert_string_equal(c.state_dir, "/var/lib/x");
	assert_string_equal(c.dsa, "wq0.1");
	assert_false(c.write_tracking);
	assert_int_equal(c.stable_periods, 1);
	unlink(path);
}

/* Refused with this message, and c as it was. */
static void refused(const char *text, const char *message)
{
	struct config c, before;
	char err[512];

	config_defaults(&c);
	before = c;
	assert_int_equal(config_load(write_conf(text), &c, err, sizeof(err)),
			 -22);
	if (!strstr(err, message))
		fail_msg("error '%s' lacks '%s'", err, message);
	assert_memory_equal(&c, &before, sizeof(c));
	unlink(path);
}

static void bad_files(void **state)
{
	char where[96];

	(void)state;
	refused("[poned]\nthreads = 2\nthreds = 4\n", "threds: unknown setting");
	snprintf(where, sizeof(where), "%s:3: threds", path);
	refused("[poned]\nthreads = 2\nthreds = 4\n", where);
	refused("[poned]\nreclaim_period = 0\n",
		":2: reclaim_period: '0' is not valid");
	refused("[poned]\ncpu_limit = lots\n", "cpu_limit: 'lots'");
	refused("[poned]\nthp_split = sometimes\n", "never, idle or always");
	refused("[poned]\nsocket = relative.sock\n", "absolute path");
	refused("[poned]\nnice = 20\n", "nice: '20'");
	refused("[poned]\ndsa = /dev/dsa/wq0.1\n", "a work queue (wq0.1)");
	refused("[poned]\nstable_periods = 3\n",
		"stable_periods: '3' is not valid: expected 1 or 2");
	refused("[poned]\nwrite_tracking = on\n",
		"write_tracking: 'on' is not valid: expected auto or off");
	refused("[engine]\nthreads = 2\n", "[engine]: unknown section");
	refused("[poned]\nthreads 2\n", ":2: not a 'key = value' line");
	refused("[poned]\nreclaim_period = 60\nmerge_period = 30\n",
		"merge_period (30 s) is shorter than reclaim_period (60 s)");
}

/* libinih reads 199 bytes of a line at a time, and took the rest of a
 * longer one for a line of its own. */
static void long_lines(void **state)
{
	char text[512], err[512], *x = text + sprintf(text, "[poned]\n; ");
	struct config c;

	(void)state;
	memset(x, 'x', 197);	/* a comment of 199 bytes fits */
	strcpy(x + 197, "\nthreads = 3\n");
	config_defaults(&c);
	assert_int_equal(config_parse(text, strlen(text), "f", &c, err,
				      sizeof(err)), 0);
	assert_int_equal(c.threads, 3);
	strcpy(x + 197, "threads = 64\n");
	refused(text, ":2: line longer than 199 bytes");
	strcpy(x + 197, "x\n");
	refused(text, ":2: line longer than 199 bytes");
}

static void missing_file(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_load("/nonexistent/poned.conf", &c, err,
				     sizeof(err)), -2);
	assert_non_null(strstr(err, "/nonexistent/poned.conf: No such file"));
}

static int set1(struct config *c, const char *key, const char *value,
		char *err, size_t len)
{
	return config_set(c, 1, &key, &value, err, len);
}

static void runtime_changes(void **state)
{
	const char *periods[] = { "merge_period", "reclaim_period" };
	const char *shorter[] = { "5", "2" }, *longer[] = { "2", "5" };
	const char *mixed[] = { "reclaim_period", "socket" };
	const char *mixed_values[] = { "1", "/x" };
	struct config c, before;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(set1(&c, "reclaim_period", "3", err, sizeof(err)), 0);
	assert_int_equal(c.reclaim_period, 3);
	assert_true(config_runtime_key("threads"));
	assert_false(config_runtime_key("socket"));
	before = c;
	assert_int_equal(set1(&c, "socket", "/x", err, sizeof(err)), -22);
	assert_non_null(strstr(err, "only be set in the config file"));
	assert_int_equal(set1(&c, "merge_period", "2", err, sizeof(err)),
			 -22);
	assert_non_null(strstr(err, "merge_period (2 s) is shorter than "
				    "reclaim_period (3 s)"));
	assert_int_equal(set1(&c, "threads", "-1", err, sizeof(err)), -22);
	/* A set fails whole: its good key is not kept. */
	assert_int_equal(config_set(&c, 2, mixed, mixed_values, err,
				    sizeof(err)), -22);
	assert_memory_equal(&c, &before, sizeof(c));
	/* Judged by what it makes, in either order. */
	assert_int_equal(config_set(&c, 2, periods, shorter, err, sizeof(err)),
			 0);
	assert_int_equal(c.merge_period, 5);
	assert_int_equal(c.reclaim_period, 2);
	assert_int_equal(config_set(&c, 2, periods, longer, err, sizeof(err)),
			 -22);
	assert_int_equal(c.merge_period, 5);
	config_defaults(&c);
	periods[0] = "reclaim_period";
	periods[1] = "merge_period";
	assert_int_equal(config_set(&c, 2, periods, longer, err, sizeof(err)),
			 0);
	assert_int_equal(c.reclaim_period, 2);
	assert_int_equal(c.merge_period, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file),
		cmocka_unit_test(bad_files),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(runtime_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
