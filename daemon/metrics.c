// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

struct metric {
	const char *name;	/* after pone_, or pone_guest_ */
	const char *type;
	const char *path;	/* in status, keys joined by '.' */
	const char *help;
};

static const struct metric host_metrics[] = {
	{ "guests", "gauge", "totals.guests", "Guests attached." },
	{ "saved_bytes", "gauge", "totals.saved_bytes",
	  "Memory the guests do not use thanks to PageONE." },
	{ "passes_total", "counter", "passes", "Scan passes run." },
	{ "merge_passes_total", "counter", "merge_passes",
	  "Merge passes run." },
	{ "last_pass_seconds", "gauge", "last_pass.wall_s",
	  "Wall time of the last pass." },
	{ "last_pass_cpu_seconds", "gauge", "last_pass.cpu_s",
	  "CPU time of the last pass." },
	{ "last_pass_pages", "gauge", "last_pass.scanned",
	  "Pages the last pass read." },
	{ "cpu_seconds_total", "counter", "cpu_s", "CPU time poned used." },
	{ "cpu_budget_cores", "gauge", "pressure.budget_cpu",
	  "Cores poned's passes and ksmd may use now." },
	{ "memory_short", "gauge", "pressure.short",
	  "1 while mode = pressure judges the host short of memory." },
	{ "engine_bytes", "gauge", "engine_bytes",
	  "Memory of the engine's page state and trees." },
	{ "swap_total_bytes", "gauge", "swap.total_bytes",
	  "Swap of the host, where recycled zero pages go." },
	{ "swap_free_bytes", "gauge", "swap.free_bytes",
	  "Swap of the host free." },
	{ "ksmd_running", "gauge", "ksm.ksmd_running",
	  "1 while ksmd runs at poned's asking." },
	{ "ksm_starts_total", "counter", "ksm.starts",
	  "Times poned started ksmd." },
	{ "ksmd_cpu_seconds_total", "counter", "ksm.ksmd_cpu_s",
	  "CPU time of ksmd since boot." },
	{ "libvirt_connected", "gauge", "libvirt.connected",
	  "1 while poned is connected to libvirt, following its domains." },
};

static const struct metric guest_metrics[] = {
	{ "ram_bytes", "gauge", "ram_bytes", "Guest RAM." },
	{ "resident_bytes", "gauge", "resident_bytes",
	  "Guest RAM in host memory." },
	{ "swap_bytes", "gauge", "swap_bytes",
	  "Guest RAM on swap, recycled zero pages among it." },
	{ "saved_bytes", "gauge", "saved_bytes",
	  "Guest RAM that takes no memory thanks to PageONE." },
	{ "recycled_pages_total", "counter", "recycled_pages",
	  "Zero pages recycled." },
	{ "duplicate_pages", "gauge", "duplicate_pages",
	  "Pages equal to another, as of the last merge pass." },
	{ "duplicates_within_total", "counter", "duplicates_within",
	  "Duplicates found of a page of the same guest." },
	{ "duplicates_across_total", "counter", "duplicates_across",
	  "Duplicates found of a page of another guest." },
	{ "merged_pages_total", "counter", "merged_pages",
	  "Pages poned merged through pone.ko." },
	{ "merges_total", "counter", "pone.merges",
	  "Merges pone.ko made in the guest's RAM." },
	{ "cow_breaks_total", "counter", "pone.cow_breaks",
	  "Writes to a shared page that gave it a frame of its own." },
	{ "discards_total", "counter", "pone.discards",
	  "Zero pages pone.ko dropped." },
	{ "ksm_merged_pages", "gauge", "ksm.merged_pages",
	  "Pages KSM merged." },
	{ "ksm_profit_bytes", "gauge", "ksm.profit_bytes",
	  "KSM's profit in the guest (may be negative)." },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The value at path; NULL if status has none there. */
static json_t *at(json_t *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key) || !json_is_object(o))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

/* A value as the format writes it; false if it is not a number. */
static bool number(json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%d", json_is_true(v));
	else
		return false;
	return true;
}

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void header(FILE *out, const char *prefix, const struct metric *m)
{
	fprintf(out, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix, m->name,
		m->help, prefix, m->name, m->type);
}

static void host(FILE *out, json_t *status, const struct metric *m)
{
	char v[64];

	if (!number(at(status, m->path), v, sizeof(v)))
		return;
	header(out, "pone_", m);
	fprintf(out, "pone_%s %s\n", m->name, v);
}

static void guests(FILE *out, json_t *list, const struct metric *m)
{
	bool first = true;
	json_t *g;
	size_t i;
	char v[64];

	json_array_foreach(list, i, g) {
		const char *name = json_string_value(json_object_get(g,
								     "name"));

		if (!name || !number(at(g, m->path), v, sizeof(v)))
			continue;
		if (first)
			header(out, "pone_guest_", m);
		first = false;
		fprintf(out, "pone_guest_%s{guest=\"", m->name);
		label(out, name);
		fprintf(out, "\"} %s\n", v);
	}
}

int metrics_write(json_t *status, FILE *out)
{
	json_t *list = json_object_get(status, "guests");
	size_t i;

	if (!json_is_object(status))
		return -EINVAL;
	for (i = 0; i < N(host_metrics); i++)
		host(out, status, &host_metrics[i]);
	for (i = 0; i < N(guest_metrics); i++)
		guests(out, list, &guest_metrics[i]);
	return ferror(out) ? -EIO : 0;
}
