// SPDX-License-Identifier: GPL-2.0-only
/*
 * Status in Prometheus's text format (metrics.h): every figure of status
 * under its name, a guest's with its name as the label (escaped), a family
 * once with its HELP and TYPE, and no sample for a figure status does not
 * have. The e2e test `metrics` checks real output with promtool.
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

#include "metrics.h"

/* A status as poned gives it, cut to what the metrics read. */
static const char status_text[] =
	"{\"passes\": 12, \"merge_passes\": 2, \"cpu_s\": 1.5,"
	" \"last_pass\": {\"wall_s\": 0.25, \"cpu_s\": 0.125,"
	"  \"scanned\": 4096},"
	" \"pressure\": {\"budget_cpu\": 1.0, \"short\": null},"
	" \"engine_bytes\": 65536,"
	" \"swap\": {\"total_bytes\": 0, \"free_bytes\": 0},"
	" \"ksm\": {\"ksmd_running\": true, \"starts\": 3,"
	"  \"ksmd_cpu_s\": 2.5},"
	" \"totals\": {\"guests\": 2, \"saved_bytes\": 8192},"
	" \"guests\": ["
	"  {\"name\": \"vm1\", \"ram_bytes\": 1048576,"
	"   \"recycled_pages\": 7, \"ksm\": {\"merged_pages\": 5,"
	"   \"profit_bytes\": -4096}},"
	"  {\"name\": \"a \\\"b\\\"\\\\c\\nd\", \"ram_bytes\": 2097152,"
	"   \"recycled_pages\": 0,"
	"   \"ksm\": \"KSM cannot merge memfd RAM\","
	"   \"pone\": {\"merges\": 9, \"cow_breaks\": 1, \"discards\": 4}}"
	" ]}";

static char *render(void)
{
	json_t *st = json_loads(status_text, 0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(st);
	assert_non_null(f);
	assert_int_equal(metrics_write(st, f), 0);
	fclose(f);
	json_decref(st);
	return text;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static void host_figures(void **state)
{
	char *t = render();

	(void)state;
	assert_non_null(strstr(t, "\npone_passes_total 12\n"));
	assert_non_null(strstr(t, "# TYPE pone_passes_total counter\n"));
	assert_non_null(strstr(t, "\npone_cpu_seconds_total 1.5\n"));
	assert_non_null(strstr(t, "\npone_last_pass_pages 4096\n"));
	assert_non_null(strstr(t, "# TYPE pone_last_pass_seconds gauge\n"));
	assert_non_null(strstr(t, "\npone_ksmd_running 1\n"));
	assert_non_null(strstr(t, "\npone_ksmd_cpu_seconds_total 2.5\n"));
	assert_non_null(strstr(t, "\npone_saved_bytes 8192\n"));
	/* mode = always: no verdict, no sample, no header. */
	assert_null(strstr(t, "pone_memory_short"));
	free(t);
}

static void guest_figures(void **state)
{
	char *t = render();

	(void)state;
	assert_non_null(strstr(t, "pone_guest_ram_bytes{guest=\"vm1\"} "
				  "1048576\n"));
	/* Quote, backslash and newline escaped as the format says. */
	assert_non_null(strstr(t, "pone_guest_ram_bytes{guest=\"a \\\"b\\\""
				  "\\\\c\\nd\"} 2097152\n"));
	assert_int_equal(count(t, "# HELP pone_guest_ram_bytes "), 1);
	assert_int_equal(count(t, "pone_guest_ram_bytes{"), 2);
	/* Each guest has what its kind has. */
	assert_non_null(strstr(t, "pone_guest_ksm_profit_bytes{guest=\"vm1\"} "
				  "-4096\n"));
	assert_int_equal(count(t, "pone_guest_ksm_merged_pages{"), 1);
	assert_int_equal(count(t, "pone_guest_merges_total{"), 1);
	assert_non_null(strstr(t, "pone_guest_discards_total{guest=\"a "));
	/* Status has no such figure: neither sample nor header. */
	assert_null(strstr(t, "pone_guest_resident_bytes"));
	free(t);
}

static void not_a_status(void **state)
{
	json_t *v = json_integer(3);
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	assert_int_equal(metrics_write(v, f), -EINVAL);
	fclose(f);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_figures),
		cmocka_unit_test(guest_figures),
		cmocka_unit_test(not_a_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
