// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "ksm_sysfs.h"

#define KSM "/sys/kernel/mm/ksm/"

static const char *const kept[KSM_SETTINGS_KEPT] = {
	"run", "pages_to_scan", "sleep_millisecs", "use_zero_pages",
	"smart_scan",
};

long ksm_get(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), KSM "%s", name);
	f = fopen(path, "r");
	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

int ksm_set(const char *name, long value)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), KSM "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fprintf(f, "%ld\n", value) < 0;
	return fclose(f) || ret ? -1 : 0;
}

uint64_t ksmd_ticks(void)
{
	FILE *f = popen("pgrep -x ksmd", "r");
	int pid = 0;

	if (f && fscanf(f, "%d", &pid) != 1)
		pid = 0;
	if (f)
		pclose(f);
	return pid > 0 ? process_ticks(pid) : 0;
}

void ksm_settings_read(struct ksm_settings *s)
{
	int i;

	for (i = 0; i < KSM_SETTINGS_KEPT; i++)
		s->v[i] = ksm_get(kept[i]);
}

void ksm_settings_write(const struct ksm_settings *s)
{
	int i;

	for (i = KSM_SETTINGS_KEPT - 1; i >= 0; i--)
		if (s->v[i] >= 0)
			ksm_set(kept[i], s->v[i]);
}

int ksm_settings_differ(const struct ksm_settings *a,
			const struct ksm_settings *b)
{
	int i;

	for (i = 0; i < KSM_SETTINGS_KEPT; i++)
		if (a->v[i] != b->v[i])
			return i;
	return -1;
}

const char *ksm_setting_name(int i)
{
	return kept[i];
}
