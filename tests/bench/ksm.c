// SPDX-License-Identifier: GPL-2.0-only
/*
 * Driving the in-kernel KSM for the bench. KSM is system wide state: the
 * settings are saved before the first write and written back on every way
 * out, including a signal, so the restore path uses nothing but
 * open/write/close on paths and values prepared beforehand.
 *
 * ksmd's CPU time comes from /proc/<ksmd>/stat (utime + stime, clock
 * ticks): it is a kernel thread, so no other clock of ours sees it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ksm.h"

#define KSM_DIR "/sys/kernel/mm/ksm/"
#define VAL_MAX 32
#define POLL_NS 2000000L
/* Large batches between ksmd's checks; still a fraction of a second. */
#define PAGES_TO_SCAN "100000"

struct knob {
	const char *name;
	const char *want;	/* bench value; NULL: saved and checked */
	bool present;
	char path[64];
	char saved[VAL_MAX];
};

/*
 * Restore order. advisor_mode comes last because pages_to_scan refuses
 * writes while an advisor runs; the bench applies them in reverse order.
 * run is apart: it is stopped first and restored last.
 */
static struct knob knobs[] = {
	{ .name = "pages_to_scan", .want = PAGES_TO_SCAN },
	{ .name = "sleep_millisecs", .want = "0" },
	{ .name = "use_zero_pages", .want = "0" },
	{ .name = "merge_across_nodes" },
	{ .name = "smart_scan" },
	{ .name = "advisor_mode", .want = "none" },
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static struct knob run_knob = { .name = "run" };

/* Every saved setting: run, then the others in restore order. */
static struct knob *knob_at(size_t i)
{
	return i ? &knobs[i - 1] : &run_knob;
}

static volatile sig_atomic_t armed;
static const int trapped[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction old_act[3];

/* Value of a sysfs file; for a choice like "[none] scan-time", the one
 * chosen. */
static int read_file(const char *path, char *buf, size_t len)
{
	char raw[128], *s, *e;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, raw, sizeof(raw) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	raw[n] = 0;
	s = strchr(raw, '[');
	if (s && (e = strchr(s, ']'))) {
		s++;
		*e = 0;
	} else {
		s = raw;
		while (n > 0 && isspace((unsigned char)raw[n - 1]))
			raw[--n] = 0;
	}
	if (strlen(s) >= len)
		return -EOVERFLOW;
	strcpy(buf, s);
	return 0;
}

/* Async-signal-safe: the restore path runs in a signal handler. */
static int write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}

static int read_u64(const char *name, uint64_t *v)
{
	char path[96], buf[VAL_MAX];
	int ret;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	ret = read_file(path, buf, sizeof(buf));
	if (!ret)
		*v = strtoull(buf, NULL, 10);
	return ret;
}

static pid_t find_ksmd(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t pid = -ESRCH;

	if (!d)
		return -errno;
	while (pid < 0 && (de = readdir(d))) {
		char path[300], comm[32];

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (!read_file(path, comm, sizeof(comm)) &&
		    !strcmp(comm, "ksmd"))
			pid = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return pid;
}

/* utime + stime of a thread, in clock ticks. */
static int cpu_ticks(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* The name may hold spaces and parentheses: count from the last. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -EIO;
	*ticks = ut + st;
	return 0;
}

static void restore_all(void)
{
	size_t i;

	write_file(run_knob.path, "2");
	for (i = 0; i < NKNOBS; i++)
		if (knobs[i].present)
			write_file(knobs[i].path, knobs[i].saved);
	write_file(run_knob.path, run_knob.saved);
}

static void on_signal(int sig)
{
	if (armed) {
		armed = 0;
		restore_all();
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	size_t i;

	sigemptyset(&sa.sa_mask);
	armed = 1;
	for (i = 0; i < 3; i++)
		sigaction(trapped[i], &sa, &old_act[i]);
}

static void disarm(void)
{
	size_t i;

	armed = 0;
	for (i = 0; i < 3; i++)
		sigaction(trapped[i], &old_act[i], NULL);
}

static int save_all(char *why, size_t len)
{
	size_t i;
	int ret;

	for (i = 0; i <= NKNOBS; i++) {
		struct knob *k = knob_at(i);

		snprintf(k->path, sizeof(k->path), KSM_DIR "%s", k->name);
		k->present = !access(k->path, F_OK);
		if (!k->present)
			continue;
		ret = read_file(k->path, k->saved, sizeof(k->saved));
		if (ret) {
			snprintf(why, len, "cannot read %s: %s", k->path,
				 strerror(-ret));
			return ret;
		}
	}
	return run_knob.present ? 0 : -ENOENT;
}

static int apply_all(char *why, size_t len)
{
	size_t i;
	int ret = write_file(run_knob.path, "0");

	for (i = NKNOBS; !ret && i-- > 0;) {
		const struct knob *k = &knobs[i];

		if (k->present && k->want)
			ret = write_file(k->path, k->want);
		if (ret)
			snprintf(why, len, "cannot write %s to %s: %s", k->want,
				 k->path, strerror(-ret));
	}
	if (ret && !*why)
		snprintf(why, len, "cannot stop ksmd: %s", strerror(-ret));
	return ret;
}

/*
 * A running advisor sets pages_to_scan itself: with one saved, the value
 * read back is the advisor's, not a failed restore.
 */
static bool advisor_owns(const struct knob *k)
{
	const struct knob *adv = &knobs[NKNOBS - 1];

	return !strcmp(k->name, "pages_to_scan") && adv->present &&
	       strcmp(adv->saved, "none");
}

/* Read everything back: the bench must leave KSM as it found it. */
static int check_restored(struct ksm_result *r, char *why, size_t len)
{
	size_t i, at = 0;
	int ret = 0;

	for (i = 0; i <= NKNOBS; i++) {
		const struct knob *k = knob_at(i);
		char now[VAL_MAX] = "?";

		if (!k->present)
			continue;
		read_file(k->path, now, sizeof(now));
		if (at < sizeof(r->settings))
			at += (size_t)snprintf(r->settings + at,
					       sizeof(r->settings) - at,
					       "%s%s=%s", at ? " " : "",
					       k->name, now);
		if (!ret && strcmp(now, k->saved) && !advisor_owns(k)) {
			snprintf(why, len, "KSM setting %s is %s, was %s",
				 k->name, now, k->saved);
			ret = -EIO;
		}
	}
	return ret;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

static int merge(struct image *img, pid_t ksmd, uint64_t expect,
		 double timeout_s, struct ksm_result *r, char *why, size_t len)
{
	uint64_t share0 = 0, share = 0, scan0 = 0, scan1, full0 = 0, full1;
	uint64_t cpu0 = 0, cpu1, t0, t1;
	bool have_scanned = !access(KSM_DIR "pages_scanned", F_OK);
	long hz = sysconf(_SC_CLK_TCK);
	int ret;

	if (madvise(img->mem, img->pages * 4096, MADV_MERGEABLE)) {
		ret = -errno;
		snprintf(why, len, "madvise(MADV_MERGEABLE): %s", strerror(errno));
		return ret;
	}
	ret = read_u64("pages_sharing", &share0);
	if (!ret)
		ret = read_u64("full_scans", &full0);
	if (!ret && have_scanned)
		ret = read_u64("pages_scanned", &scan0);
	if (!ret)
		ret = cpu_ticks(ksmd, &cpu0);
	if (ret) {
		snprintf(why, len, "cannot read KSM counters: %s", strerror(-ret));
		return ret;
	}
	t0 = bench_now_ns();
	ret = write_file(run_knob.path, "1");
	if (ret) {
		snprintf(why, len, "cannot start ksmd: %s", strerror(-ret));
		return ret;
	}
	for (;;) {
		sleep_ns(POLL_NS);
		ret = read_u64("pages_sharing", &share);
		if (ret || share >= share0 + expect)
			break;
		if (bench_now_ns() - t0 > (uint64_t)(timeout_s * 1e9)) {
			ret = -ETIMEDOUT;
			snprintf(why, len, "ksmd merged %llu of %llu pages in %.0f s",
				 (unsigned long long)(share - share0),
				 (unsigned long long)expect, timeout_s);
			break;
		}
	}
	t1 = bench_now_ns();
	/* Counters read at the start read again now; a failure here would
	 * have failed there. */
	cpu1 = cpu0;
	full1 = full0;
	scan1 = scan0;
	cpu_ticks(ksmd, &cpu1);
	read_u64("full_scans", &full1);
	if (have_scanned)
		read_u64("pages_scanned", &scan1);
	if (ret == -ETIMEDOUT || !ret) {
		r->wall_s = (double)(t1 - t0) / 1e9;
		r->cpu_s = (double)(cpu1 - cpu0) / (double)hz;
		r->full_scans = full1 - full0;
		r->sharing = share - share0;
		r->visits_estimated = !have_scanned;
		r->visits = have_scanned ? scan1 - scan0 :
			    r->full_scans * img->pages;
	} else {
		snprintf(why, len, "cannot read pages_sharing: %s",
			 strerror(-ret));
	}
	return ret;
}

/*
 * KSM already at work here (a hypervisor's guests): the bench's ksmd would
 * scan their memory too, and the unmerge when it restores the settings
 * could need more RAM than the machine has. Leave it alone.
 */
static bool in_use(char *why, size_t len)
{
	char run[VAL_MAX] = "";
	uint64_t shared = 0;

	read_file(KSM_DIR "run", run, sizeof(run));
	read_u64("pages_shared", &shared);
	if (strcmp(run, "1") && !shared)
		return false;
	snprintf(why, len, "KSM in use here (run=%s, pages_shared=%llu): not disturbed",
		 run, (unsigned long long)shared);
	return true;
}

int ksm_usable(char *why, size_t len)
{
	int fd;

	if (geteuid()) {
		snprintf(why, len, "not root");
		return -EPERM;
	}
	if (access(KSM_DIR "run", F_OK)) {
		snprintf(why, len, "no " KSM_DIR " (kernel without KSM)");
		return -ENOENT;
	}
	fd = open(KSM_DIR "run", O_WRONLY);
	if (fd < 0) {
		int err = errno;

		snprintf(why, len, KSM_DIR "run not writable: %s", strerror(err));
		return -err;
	}
	close(fd);
	if (in_use(why, len))
		return -EBUSY;
	if (find_ksmd() < 0) {
		snprintf(why, len, "no ksmd thread in /proc");
		return -ESRCH;
	}
	return 0;
}

int ksm_measure(struct image *img, uint64_t expect, double timeout_s,
		struct ksm_result *r, char *why, size_t len)
{
	pid_t ksmd = find_ksmd();
	char bad[160];
	int ret, ret2;

	memset(r, 0, sizeof(*r));
	*why = 0;
	if (ksmd < 0) {
		snprintf(why, len, "no ksmd thread in /proc");
		image_free(img);
		return (int)ksmd;
	}
	ret = save_all(why, len);
	if (ret) {
		image_free(img);
		return ret;
	}
	arm();
	ret = apply_all(why, len);
	if (!ret)
		ret = merge(img, ksmd, expect, timeout_s, r, why, len);
	/* Stop before the memory goes, so ksmd does not chase it. */
	write_file(run_knob.path, "0");
	image_free(img);
	restore_all();
	disarm();
	ret2 = check_restored(r, bad, sizeof(bad));
	if (!ret2)
		return ret;
	/* Worse than any failed run: the machine is left changed. */
	if (ret)
		snprintf(why + strlen(why), len - strlen(why), "; %s", bad);
	else
		snprintf(why, len, "%s", bad);
	return ret2;
}
