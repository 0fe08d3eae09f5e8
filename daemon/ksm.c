// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ksm.h"
#include "log.h"
#include "procfs.h"
#include "replace.h"

/* ksmd wakes this often while poned runs it. */
#define SLEEP_MS 20
/* KSM merges a page at the second scan that finds it unchanged, and the
 * scan it resumes may be a part of one: three more full scans merge all
 * it can. */
#define SCANS_TO_MERGE 3
/* What a page costs ksmd to scan, until its CPU time says. */
#define PAGE_COST_NS 2000.0
/* Of its time, the most ksmd works: it sleeps between wakes. */
#define MAX_SHARE 0.95

static const char *const names[KSM_FULL_SCANS + 1] = {
	[KSM_RUN] = "run",
	[KSM_PAGES_TO_SCAN] = "pages_to_scan",
	[KSM_SLEEP_MILLISECS] = "sleep_millisecs",
	[KSM_USE_ZERO_PAGES] = "use_zero_pages",
	[KSM_SMART_SCAN] = "smart_scan",
	[KSM_FULL_SCANS] = "full_scans",
};

/* A number from a one-line file. */
static int read_number(const char *path, long long *v)
{
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%lld", v);
	fclose(f);
	return n == 1 ? 0 : -EINVAL;
}

static int read_setting(const struct ksm *k, enum ksm_setting s, long *v)
{
	char path[256];
	long long n;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", k->dir, names[s]);
	ret = read_number(path, &n);
	*v = ret ? -1 : (long)n;
	return ret;
}

static int write_setting(const struct ksm *k, enum ksm_setting s, long v)
{
	char path[256];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/%s", k->dir, names[s]);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", v) < 0)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		log_warn("KSM: cannot set %s to %ld: %s", names[s], v,
			 strerror(-ret));
	return ret;
}

static int write_found(FILE *f, void *ctx)
{
	const struct ksm *k = ctx;
	int s;

	for (s = 0; s < KSM_SETTINGS; s++)
		if (k->found[s] >= 0 &&
		    fprintf(f, "%s %ld\n", names[s], k->found[s]) < 0)
			return -EIO;
	return 0;
}

/* What poned found: a crash leaves all of it or none. */
static int save_found(const struct ksm *k)
{
	char tmp[sizeof(k->saved) + 8];

	snprintf(tmp, sizeof(tmp), "%s.new", k->saved);
	return file_replace(k->saved, tmp, 0600, write_found, (void *)k);
}

/* Settings in the order they are put back: ksmd stopped or started last,
 * once its pace is what it was. */
static void put_back(const struct ksm *k, const long v[KSM_SETTINGS])
{
	int s;

	for (s = KSM_SETTINGS - 1; s >= 0; s--)
		if (v[s] >= 0)
			write_setting(k, (enum ksm_setting)s, v[s]);
}

static enum ksm_setting setting_named(const char *name)
{
	int s;

	for (s = 0; s < KSM_SETTINGS; s++)
		if (!strcmp(names[s], name))
			return (enum ksm_setting)s;
	return KSM_SETTINGS;
}

/* What a poned killed while it steered left: put back, then forgotten. */
static void restore_leftovers(const struct ksm *k)
{
	long v[KSM_SETTINGS];
	char name[32];
	long value;
	FILE *f = fopen(k->saved, "re");
	int s;

	if (!f)
		return;
	for (s = 0; s < KSM_SETTINGS; s++)
		v[s] = -1;
	while (fscanf(f, "%31s %ld", name, &value) == 2)
		if (setting_named(name) < KSM_SETTINGS && value >= 0)
			v[setting_named(name)] = value;
	fclose(f);
	log_info("KSM: putting back the settings poned changed before it "
		 "last stopped uncleanly");
	put_back(k, v);
	unlink(k->saved);
}

/* The pid of the kernel thread or process whose comm is name; 0 if none. */
static pid_t find_comm(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	while (d && !found && (de = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		if (f)
			fclose(f);
		if (!strcmp(comm, name))
			found = (pid_t)atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* Why KSM is not poned's to steer, or NULL. */
static const char *other_governor(const struct ksm *k)
{
	if (find_comm("ksmtuned"))
		return "ksmtuned runs KSM: poned leaves it alone";
	if (k->found[KSM_RUN] == 1)
		return "KSM was running when poned started (the operator or "
		       "another governor runs it): poned leaves it alone";
	return NULL;
}

static int take_over(struct ksm *k)
{
	int ret, s;

	for (s = 0; s < KSM_SETTINGS; s++)
		read_setting(k, (enum ksm_setting)s, &k->found[s]);
	k->why_not = other_governor(k);
	if (k->why_not)
		return 0;
	ret = save_found(k);
	if (ret) {
		k->why_not = "the state directory cannot keep its settings";
		return ret;
	}
	k->steering = true;
	write_setting(k, KSM_USE_ZERO_PAGES, 1);
	if (k->found[KSM_SMART_SCAN] >= 0)
		write_setting(k, KSM_SMART_SCAN, 1);
	k->ksmd = find_comm("ksmd");
	log_info("KSM: steered by poned: ksmd runs while poned's passes "
		 "find pages of anonymous guests it has not merged");
	return 0;
}

int ksm_open(struct ksm *k, const char *dir, const char *state_dir,
	     bool steer)
{
	char run[160];

	*k = (struct ksm){ .why_not = "ksm = off in the config" };
	pthread_mutex_init(&k->lock, NULL);
	snprintf(k->dir, sizeof(k->dir), "%s", dir);
	snprintf(k->saved, sizeof(k->saved), "%s/ksm", state_dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	if (access(run, F_OK)) {
		k->why_not = "this kernel has no KSM (CONFIG_KSM)";
		return 0;
	}
	restore_leftovers(k);
	return steer ? take_over(k) : 0;
}

void ksm_close(struct ksm *k)
{
	if (k->steering) {
		put_back(k, k->found);
		unlink(k->saved);
		log_info("KSM: settings put back as poned found them");
	}
	pthread_mutex_destroy(&k->lock);
}

/* ksmd's share of a CPU since the last look. */
static void look_at_ksmd(struct ksm *k)
{
	uint64_t t = now_ns(), ticks;
	long hz = sysconf(_SC_CLK_TCK);

	if (!k->ksmd || proc_cpu_ticks(k->ksmd, &ticks))
		return;
	if (k->look_ns && t > k->look_ns)
		k->ksmd_share = (double)(ticks - k->ksmd_ticks) / hz /
				((t - k->look_ns) / 1e9);
	k->ksmd_ticks = ticks;
	k->look_ns = t;
}

/* The share of a CPU ksmd may take. */
static double budget(double cpu_limit)
{
	return cpu_limit > 0 && cpu_limit < MAX_SHARE ? cpu_limit : MAX_SHARE;
}

/* Pages a wake for ksmd to work share of its time, at PAGE_COST_NS: work
 * w in w + SLEEP_MS. */
static unsigned long first_pace(double share)
{
	double pages = share / (1 - share) * SLEEP_MS * 1e6 / PAGE_COST_NS;

	return pages >= 1 ? (unsigned long)(pages + 0.5) : 1;
}

static long full_scans(const struct ksm *k)
{
	long n;

	read_setting(k, KSM_FULL_SCANS, &n);
	return n;
}

static void start(struct ksm *k, const struct ksm_need *n, uint64_t missing)
{
	k->pages_to_scan = first_pace(budget(n->cpu_limit));
	write_setting(k, KSM_SLEEP_MILLISECS, SLEEP_MS);
	write_setting(k, KSM_PAGES_TO_SCAN, (long)k->pages_to_scan);
	k->scans_at_start = full_scans(k);
	if (write_setting(k, KSM_RUN, 1))
		return;
	k->running = true;
	k->starts++;
	k->after_scans = false;
	look_at_ksmd(k);
	k->ksmd_share = 0;
	log_info("KSM: started for %" PRIu64 " duplicate pages not merged "
		 "yet: %lu pages every %d ms", missing, k->pages_to_scan,
		 SLEEP_MS);
}

static void stop(struct ksm *k, const char *why)
{
	if (write_setting(k, KSM_RUN, 0))
		return;
	k->running = false;
	log_info("KSM: stopped: %s", why);
}

/* ksmd's pace scaled by the share of a CPU it took against its budget,
 * by 4 at most at a look, and never more than a scan a wake. */
static void pace(struct ksm *k, double share, uint64_t mergeable)
{
	double scale = k->ksmd_share > 0 ? share / k->ksmd_share : 4;
	double p = k->pages_to_scan * (scale < 0.25 ? 0.25 :
				       scale > 4 ? 4 : scale);

	if (p > (double)mergeable)
		p = (double)mergeable;
	if ((unsigned long)p == k->pages_to_scan || p < 1)
		return;
	k->pages_to_scan = (unsigned long)p;
	write_setting(k, KSM_PAGES_TO_SCAN, (long)k->pages_to_scan);
}

bool ksm_steer(struct ksm *k, const struct ksm_need *n, bool merge_pass)
{
	uint64_t missing = n->unmerged, all = n->unmerged + n->merged;
	/* Done at 98 %: what KSM cannot merge of what poned saw (pages
	 * written meanwhile) does not keep it running. */
	uint64_t enough = all / 50 > 16 ? all / 50 : 16;
	char why[96];
	bool running;

	pthread_mutex_lock(&k->lock);
	k->mergeable = n->mergeable;
	k->cpu_limit = n->cpu_limit;
	/* After ksmd stopped with duplicates left, only new ones found by
	 * a merge pass start it again: it could not merge the rest. */
	if (k->steering && !k->running && missing > enough &&
	    (!k->after_scans || merge_pass)) {
		start(k, n, missing);
	} else if (k->running && missing <= enough) {
		snprintf(why, sizeof(why), "%" PRIu64 " of %" PRIu64
			 " duplicate pages merged", n->merged, all);
		stop(k, why);
	}
	running = k->running;
	pthread_mutex_unlock(&k->lock);
	return running;
}

bool ksm_tick(struct ksm *k)
{
	long scans;
	char why[96];
	bool running;

	pthread_mutex_lock(&k->lock);
	if (k->running) {
		look_at_ksmd(k);
		pace(k, budget(k->cpu_limit), k->mergeable);
		scans = full_scans(k);
		if (scans >= k->scans_at_start + SCANS_TO_MERGE) {
			snprintf(why, sizeof(why), "%ld full scans since it "
				 "started", scans - k->scans_at_start);
			stop(k, why);
			k->after_scans = true;
		}
	}
	running = k->running;
	pthread_mutex_unlock(&k->lock);
	return running;
}

void ksm_figures(struct ksm *k, struct ksm_figures *f)
{
	uint64_t ticks = 0;
	pid_t ksmd;

	pthread_mutex_lock(&k->lock);
	*f = (struct ksm_figures){ k->steering, k->running, k->why_not,
				   k->starts, k->pages_to_scan,
				   k->ksmd_share, 0 };
	ksmd = k->ksmd;
	pthread_mutex_unlock(&k->lock);
	if (ksmd && !proc_cpu_ticks(ksmd, &ticks))
		f->ksmd_cpu_s = (double)ticks / sysconf(_SC_CLK_TCK);
}

/* smaps: a header line per mapping ("start-end perms ..."), then its
 * fields, VmFlags last; "mg" is VM_MERGEABLE. */
bool ksm_mapping_mergeable(pid_t pid, uint64_t addr)
{
	char path[64], *line = NULL;
	unsigned long long start, end;
	bool in = false, mergeable = false;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	while (f && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%llx-%llx ", &start, &end) == 2)
			in = start == addr;
		else if (in && !strncmp(line, "VmFlags:", 8))
			mergeable = strstr(line, " mg") != NULL;
	}
	free(line);
	if (f)
		fclose(f);
	return mergeable;
}

uint64_t ksm_process_merged(pid_t pid)
{
	char path[64];
	long long v;

	snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", (int)pid);
	return read_number(path, &v) || v < 0 ? 0 : (uint64_t)v;
}

int64_t ksm_process_profit(pid_t pid)
{
	char path[64], key[64];
	long long v;
	int64_t profit = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	f = fopen(path, "re");
	while (f && fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, "ksm_process_profit"))
			profit = v;
	if (f)
		fclose(f);
	return profit;
}
