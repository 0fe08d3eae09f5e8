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

/* c, with text's settings on it. */
static void taken(const char *text, struct config *c)
{
	char err[512];

	if (config_load(write_conf(text), c, err, sizeof(err)))
		fail_msg("refused: %s", err);
	unlink(path);
}

static void pressure_is(const struct config *c, enum pressure_mode mode,
			double pct, uint64_t bytes, double stall)
{
	assert_int_equal(c->mode, mode);
	assert_true(c->pressure.available_pct == pct);
	assert_int_equal(c->pressure.available_bytes, bytes);
	assert_true(c->pressure.stall_pct == stall);
}

/* mode = pressure's settings; the defaults are mode = always and
 * KubeVirt's 20 % of MemTotal. */
static void pressure_file(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	pressure_is(&c, PRESSURE_ALWAYS, 20, 0, 10);
	assert_true(c.idle_cpu_limit == 0.05);
	taken("[poned]\nmode = pressure\npressure_available = 1.5G\n"
	      "pressure_stall = 12.5%\nidle_cpu_limit = 0.2\n", &c);
	pressure_is(&c, PRESSURE_ON_SHORT, 0, 3ull << 29, 12.5);
	assert_true(c.idle_cpu_limit == 0.2);
	taken("[poned]\npressure_available = 512m\npressure_available = "
	      "12.5%\npressure_stall = 100\nmode = always\n", &c);
	pressure_is(&c, PRESSURE_ALWAYS, 12.5, 0, 100);
	taken("[poned]\npressure_available = 4096\n", &c);
	pressure_is(&c, PRESSURE_ALWAYS, 0, 4096, 100);
}

/* metrics_file: a .prom file node_exporter reads, or none. */
static void metrics_file(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.metrics_file, "");
	taken("[poned]\nmetrics_file = /var/lib/node/pone.prom\n", &c);
	assert_string_equal(c.metrics_file, "/var/lib/node/pone.prom");
	taken("[poned]\nmetrics_file =\n", &c);
	assert_string_equal(c.metrics_file, "");
	/* Set at start only: poned's timer for it is made then. */
	assert_false(config_runtime_key("metrics_file"));
}

/* sharing: every guest with every other (the default), or each alone. */
static void sharing(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	assert_false(c.own_domains);
	taken("[poned]\nsharing = guest\n", &c);
	assert_true(c.own_domains);
	taken("[poned]\nsharing = host\n", &c);
	assert_false(c.own_domains);
	assert_false(config_runtime_key("sharing"));
}

/* libvirt: followed at qemu:///system when it answers, not at all, or at
 * a URI of the operator's. */
static void libvirt(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.libvirt, "auto");
	taken("[poned]\nlibvirt = off\n", &c);
	assert_string_equal(c.libvirt, "off");
	taken("[poned]\nlibvirt = qemu+ssh://root@host/system\n", &c);
	assert_string_equal(c.libvirt, "qemu+ssh://root@host/system");
	assert_false(config_runtime_key("libvirt"));
}

/* merge_across_nodes: yes (KSM's default), or only on a page's node. */
static void merge_across_nodes(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	assert_true(c.merge_across_nodes);
	taken("[poned]\nmerge_across_nodes = no\n", &c);
	assert_false(c.merge_across_nodes);
	taken("[poned]\nmerge_across_nodes = yes\n", &c);
	assert_true(c.merge_across_nodes);
	assert_false(config_runtime_key("merge_across_nodes"));
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
	refused("[poned]\nsharing = tenant\n",
		"sharing: 'tenant' is not valid: expected host or guest");
	refused("[poned]\nlibvirt = on\n",
		"auto, off or a libvirt URI (qemu:///system)");
	refused("[poned]\nlibvirt = qemu:///sys tem\n", "libvirt:");
	refused("[poned]\nmerge_across_nodes = 0\n",
		"merge_across_nodes: '0' is not valid: expected yes or no");
	refused("[poned]\nmerge_across_nodes = off\n",
		"merge_across_nodes: 'off' is not valid: expected yes or no");
	refused("[poned]\nmetrics_file = pone.prom\n",
		"empty, or an absolute path ending in .prom");
	refused("[poned]\nmetrics_file = /var/lib/node/pone.txt\n",
		"metrics_file: '/var/lib/node/pone.txt' is not valid");
	refused("[poned]\nreclaim_period = 60\nmerge_period = 30\n",
		"merge_period (30 s) is shorter than reclaim_period (60 s)");
}

static void bad_pressure_files(void **state)
{
	const char *available = "pressure_available: '%s' is not valid: "
				"expected a percent of MemTotal below 100 "
				"(20%) or a size (512M, 2G)";
	const char *const bad[] = { "100%", "-1G", "2X", "2GB", "20 %",
				    "lots", "%", "" };
	char text[128], message[256];
	size_t i;

	(void)state;
	refused("[poned]\nmode = sometimes\n",
		"mode: 'sometimes' is not valid: expected always or pressure");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[poned]\npressure_available = "
			 "%s\n", bad[i]);
		snprintf(message, sizeof(message), available, bad[i]);
		refused(text, message);
	}
	refused("[poned]\npressure_available = 2000000T\n",
		"pressure_available: '2000000T'");
	refused("[poned]\npressure_stall = 0\n",
		"pressure_stall: '0' is not valid: expected a percent above "
		"0, up to 100");
	refused("[poned]\npressure_stall = 101%\n", "pressure_stall: '101%'");
	refused("[poned]\npressure_stall = 10%%\n", "pressure_stall: '10%%'");
	refused("[poned]\nidle_cpu_limit = 0.001\n",
		"idle_cpu_limit: '0.001' is not valid: expected cores, 0.01 "
		"to 1024");
	refused("[poned]\ncpu_limit = 0.5\nidle_cpu_limit = 0.75\n",
		"idle_cpu_limit (0.75 cores) is above cpu_limit (0.5 cores)");
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

/* mode and its thresholds change at run time, checked as in a file; a
 * cpu_limit below the idle one is refused, and so is the other way. */
static void pressure_at_run_time(void **state)
{
	const char *keys[] = { "mode", "pressure_available", "pressure_stall",
			       "idle_cpu_limit" };
	const char *values[] = { "pressure", "2G", "20", "0.1" };
	struct config c, before;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_true(config_runtime_key("mode"));
	assert_true(config_runtime_key("pressure_available"));
	assert_true(config_runtime_key("pressure_stall"));
	assert_true(config_runtime_key("idle_cpu_limit"));
	assert_int_equal(config_set(&c, 4, keys, values, err, sizeof(err)), 0);
	pressure_is(&c, PRESSURE_ON_SHORT, 0, 2ull << 30, 20);
	assert_true(c.idle_cpu_limit == 0.1);
	before = c;
	assert_int_equal(set1(&c, "cpu_limit", "0.05", err, sizeof(err)), -22);
	assert_non_null(strstr(err, "idle_cpu_limit (0.1 cores) is above "
				    "cpu_limit (0.05 cores)"));
	assert_int_equal(set1(&c, "pressure_available", "30 %", err,
			      sizeof(err)), -22);
	assert_non_null(strstr(err, "pressure_available: '30 %' is not "
				    "valid"));
	assert_int_equal(set1(&c, "idle_cpu_limit", "2", err, sizeof(err)),
			 -22);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(set1(&c, "pressure_available", "30%", err,
			      sizeof(err)), 0);
	pressure_is(&c, PRESSURE_ON_SHORT, 30, 0, 20);
	assert_int_equal(set1(&c, "mode", "always", err, sizeof(err)), 0);
	pressure_is(&c, PRESSURE_ALWAYS, 30, 0, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file),
		cmocka_unit_test(pressure_file),
		cmocka_unit_test(metrics_file),
		cmocka_unit_test(sharing),
		cmocka_unit_test(libvirt),
		cmocka_unit_test(merge_across_nodes),
		cmocka_unit_test(bad_files),
		cmocka_unit_test(bad_pressure_files),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(runtime_changes),
		cmocka_unit_test(pressure_at_run_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
