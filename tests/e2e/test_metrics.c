// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus metrics of a real poned with two guests: `pone-ctl metrics`
 * and the metrics_file poned writes are both accepted by promtool (the
 * Prometheus project's own checker, Debian's prometheus package), and
 * every figure equals status --json's, read while no pass runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static struct daemon_run d;
static struct testguest g[2];
static char prom[160];

/* promtool's verdict on a file of metrics: its exit status. */
static int promtool_check(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	return system(cmd);
}

/* The value of the sample that is exactly line (name and labels). */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p;

	for (p = text; (p = strstr(p, series)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atof(p + n + 1);
	fail_msg("no sample %s", series);
	return 0;
}

static double figure(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static void same_as_status(void **state)
{
	const char *metrics[] = { "metrics", NULL };
	const char *status[] = { "status", "--json", NULL };
	const char *quiet[] = { "set", "reclaim_period=3600",
				"merge_period=3600", NULL };
	static char text[1 << 16], js[1 << 16];
	char path[200], series[128];
	json_t *st, *list, *o;
	FILE *f;
	size_t i;

	(void)state;
	/* Passes come no more: the figures hold still. */
	assert_int_equal(ctl(&d, NULL, 0, quiet), 0);
	wait_s(1.5);
	assert_int_equal(ctl(&d, text, sizeof(text), metrics), 0);
	assert_int_equal(ctl(&d, js, sizeof(js), status), 0);
	snprintf(path, sizeof(path), "%s/ctl.prom", d.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(promtool_check(path), 0);

	st = json_loads(js, 0, NULL);
	assert_non_null(st);
	assert_true(figure(st, "passes", NULL) >= 2);
	assert_true(sample(text, "pone_passes_total") ==
		    figure(st, "passes", NULL));
	assert_true(sample(text, "pone_guests") == 2);
	assert_true(sample(text, "pone_last_pass_pages") ==
		    figure(st, "last_pass", "scanned"));
	assert_true(sample(text, "pone_saved_bytes") ==
		    figure(st, "totals", "saved_bytes"));
	list = json_object_get(st, "guests");
	json_array_foreach(list, i, o) {
		static const char *const keys[][2] = {
			{ "ram_bytes", "ram_bytes" },
			{ "resident_bytes", "resident_bytes" },
			{ "saved_bytes", "saved_bytes" },
			{ "recycled_pages_total", "recycled_pages" },
			{ "duplicate_pages", "duplicate_pages" },
			{ "duplicates_within_total", "duplicates_within" },
			{ "duplicates_across_total", "duplicates_across" },
		};
		const char *name = json_string_value(json_object_get(o,
								     "name"));
		size_t k;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			snprintf(series, sizeof(series),
				 "pone_guest_%s{guest=\"%s\"}", keys[k][0],
				 name);
			assert_true(sample(text, series) ==
				    figure(o, keys[k][1], NULL));
		}
	}
	/* The guests' duplicates were found: the figures are not all 0. */
	assert_true(sample(text, "pone_guest_duplicate_pages{guest=\"m0\"}") +
		    sample(text, "pone_guest_duplicate_pages{guest=\"m1\"}") >
		    0);
	json_decref(st);
}

/* The file poned writes every reclaim period. */
static void file_for_node_exporter(void **state)
{
	struct stat sb;
	int i;

	(void)state;
	for (i = 0; i < 50 && stat(prom, &sb); i++)
		wait_s(0.1);
	assert_int_equal(stat(prom, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_int_equal(promtool_check(prom), 0);
}

static int setup(void **state)
{
	const char *a0[] = { "-m", "32M", "--dup", "50", "--seed", "1", NULL };
	const char *a1[] = { "-m", "32M", "--dup", "50", "--seed", "2", NULL };
	char settings[320];

	(void)state;
	if (system("command -v promtool >/dev/null"))
		skip_all("no promtool (Debian: prometheus)");
	snprintf(prom, sizeof(prom), "/tmp/pone-e2e-metrics-%d.prom",
		 (int)getpid());
	snprintf(settings, sizeof(settings), "reclaim_period = 1\n"
		 "merge_period = 1\nmetrics_file = %s\n", prom);
	if (daemon_prepare(&d, "metrics", settings) || daemon_start(&d) ||
	    guest_start(&g[0], a0) || guest_start(&g[1], a1) ||
	    ctl_attach(&d, g[0].c.pid, "m0") || ctl_attach(&d, g[1].c.pid, "m1"))
		return -1;
	/* Three merge passes: the guests' duplicates are stable. */
	wait_s(4);
	return 0;
}

static int teardown(void **state)
{
	int status = daemon_stop(&d);

	(void)state;
	guest_quit(&g[0]);
	guest_quit(&g[1]);
	harness_cleanup();
	unlink(prom);
	return status;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_as_status),
		cmocka_unit_test(file_for_node_exporter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
