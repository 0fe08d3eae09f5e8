// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recycling zero pages the way poned does, against the PPR seed's ~6500
 * CPU cycles a recycled page. A child process holds the guest RAM
 * (anonymous, as QEMU's default); it is attached with the daemon's own
 * guests.c (PONE_READ_VM, residency from pagemap.c) and the engine's
 * actuator is the daemon's recycle_found(), so the pass measured is the
 * daemon's: read every resident page, find the zero ones, page them out
 * with process_madvise(MADV_PAGEOUT).
 *
 * Layouts (25 % of the pages zero in each):
 *   scattered	single zero pages at random, no THP (the realistic one: pages
 *		a guest freed, or zeroed on free);
 *   runs	whole 2 MiB blocks zero, no THP;
 *   runs_thp	the same on transparent huge pages: a block all zero goes
 *		out whole, unsplit.
 * Each run is a fresh child and engine: a first pass sees the zero pages,
 * the second (timed) recycles them, as a reclaim period later. Runs go
 * round the layouts and thread counts in turns, so load from elsewhere on
 * a shared machine hits them alike; figures are medians of the rounds.
 *
 * The kernel is asked whether it happened: the RSS of the child's mapping
 * (smaps) must fall by the zero pages and no more, and the child checks
 * afterwards that every page still holds what it wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pone/engine.h>

#include "bench.h"
#include "guests.h"
#include "pagemap.h"
#include "procfs.h"
#include "rand.h"
#include "recycle.h"
#include "swapfile.h"

#define MAX_PAGES (256ull << 10)	/* 1 GiB of guest RAM */
#define HUGE_PAGES 512			/* 4 KiB pages in 2 MiB */
#define ZERO_PERCENT 25
#define ROUNDS 3
#define SEED 0x5eedull
#define STAMP_BYTES 64
#define SWAP_PATH "/var/tmp/pone-bench.swap"
/* Pages that may sit in a per-CPU LRU batch, where MADV_PAGEOUT cannot
 * isolate them: a fall of the RSS this much short still counts. */
#define RSS_SLACK 64

enum layout { SCATTERED, RUNS, RUNS_THP, LAYOUTS };

static const struct {
	const char *name;
	bool huge;
} layouts[LAYOUTS] = {
	{ "scattered", false },
	{ "runs", false },
	{ "runs_thp", true },
};

static bool zero_page(enum layout l, uint64_t i)
{
	if (l == SCATTERED)
		return mix64(i ^ SEED) % 100 < ZERO_PERCENT;
	return mix64(i / HUGE_PAGES ^ ~SEED) % 100 < ZERO_PERCENT;
}

/* --- the child: the guest's RAM ------------------------------------------ */

/* A non-zero page: a seeded head, the rest zero (the content does not
 * change the cost; writing less keeps the setup short). */
static void stamp(uint8_t *page, uint64_t i)
{
	fill_seeded(page, STAMP_BYTES, i ^ SEED);
}

static uint64_t child_verify(const uint8_t *ram, uint64_t pages,
			     enum layout l)
{
	static uint8_t expect[PONE_PAGE_SIZE];
	uint64_t i, bad = 0;

	for (i = 0; i < pages; i++) {
		memset(expect, 0, STAMP_BYTES);
		if (!zero_page(l, i))
			stamp(expect, i);
		bad += !!memcmp(ram + i * PONE_PAGE_SIZE, expect,
				PONE_PAGE_SIZE);
	}
	return bad;
}

static void reply(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		_exit(1);
}

/* Replies with the address of the RAM once filled, then the count of bad
 * pages for each 'v' it is sent; EOF ends it. */
static void __attribute__((noreturn))
child_main(enum layout l, uint64_t pages, int in, int out)
{
	size_t bytes = pages * PONE_PAGE_SIZE;
	size_t align = HUGE_PAGES * PONE_PAGE_SIZE;
	uint8_t *map, *ram;
	uint64_t i;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	map = mmap(NULL, bytes + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		_exit(1);
	/* Aligned, so a zero run is a whole huge page; trimmed, so the
	 * mapping is the guest RAM exactly. */
	ram = (uint8_t *)(((uintptr_t)map + align - 1) & ~(uintptr_t)(align - 1));
	if (ram > map)
		munmap(map, (size_t)(ram - map));
	munmap(ram + bytes, (size_t)(map + align - ram));
	if (madvise(ram, bytes, layouts[l].huge ? MADV_HUGEPAGE :
					      MADV_NOHUGEPAGE))
		_exit(1);
	for (i = 0; i < pages; i++) {
		if (zero_page(l, i))	/* a frame of its own, all zero */
			*(volatile uint8_t *)(ram + i * PONE_PAGE_SIZE) = 0;
		else
			stamp(ram + i * PONE_PAGE_SIZE, i);
	}
	reply(out, (uintptr_t)ram);
	while (read(in, &c, 1) == 1 && c == 'v')
		reply(out, child_verify(ram, pages, l));
	_exit(0);
}

struct child {
	pid_t pid;
	int cmd, reply;
	uint64_t addr;
};

static int child_start(struct child *ch, enum layout l, uint64_t pages)
{
	int cmd[2], rep[2];

	if (pipe2(cmd, O_CLOEXEC))
		return -errno;
	if (pipe2(rep, O_CLOEXEC)) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	fflush(NULL);
	ch->pid = fork();
	if (!ch->pid) {
		close(cmd[1]);
		close(rep[0]);
		child_main(l, pages, cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	ch->cmd = cmd[1];
	ch->reply = rep[0];
	if (ch->pid < 0 ||
	    read(ch->reply, &ch->addr, sizeof(ch->addr)) != sizeof(ch->addr)) {
		close(ch->cmd);
		close(ch->reply);
		if (ch->pid > 0)
			waitpid(ch->pid, NULL, 0);
		return -ENOMEM;
	}
	return 0;
}

/* Pages that do not hold what the child wrote, or -1 if it did not say. */
static int64_t child_verify_pages(struct child *ch)
{
	uint64_t bad;

	if (write(ch->cmd, "v", 1) != 1 ||
	    read(ch->reply, &bad, sizeof(bad)) != sizeof(bad))
		return -1;
	return (int64_t)bad;
}

static void child_stop(struct child *ch)
{
	close(ch->cmd);
	close(ch->reply);
	waitpid(ch->pid, NULL, 0);
}

/* --- one run: attach, observe, recycle, check ---------------------------- */

struct run {
	double wall_s, cpu_s;		/* the recycling pass, all threads */
	double pageout_cpu_s;		/* of it, in recycle_found() */
	uint64_t found;			/* zero pages the pass reported */
	uint64_t advised;		/* pages the kernel took the advice for */
	uint64_t fell;			/* pages the mapping's RSS fell by */
	uint64_t huge_whole, huge_split;
	uint64_t kernel_split;		/* huge pages the swap-out split */
	uint64_t unwritten;		/* pages taken as they were, unread */
	int64_t bad;			/* pages not as written, -1: unknown */
};

struct actuation {
	struct recycle_pass rp;
	uint64_t cpu_ns;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_zero(void *ctx, const struct pone_page_ref *pages, size_t n)
{
	struct actuation *a = ctx;
	uint64_t t0 = thread_cpu_ns();

	recycle_found(&a->rp, pages, n);
	__atomic_add_fetch(&a->cpu_ns, thread_cpu_ns() - t0, __ATOMIC_RELAXED);
}

/* A counter of /proc/vmstat, 0 if there is none. */
static uint64_t vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "re");
	unsigned long long v = 0;
	char key[64];

	while (f && fscanf(f, "%63s %llu", key, &v) == 2 && strcmp(key, name))
		v = 0;
	if (f)
		fclose(f);
	return v;
}

/* Under poned's default policy; whole zero huge pages go out under any. */
static int passes(struct pone_engine *e, struct actuation *a,
		  const struct child *ch, uint64_t bytes, struct run *r)
{
	struct pone_actuator act = { a, on_zero, NULL };
	struct proc_usage before, after;
	struct pone_pass_stats st;
	uint64_t track_ns, fallback;
	int ret;

	/* The first pass only sees the zero pages: recyclable a period on. */
	recycle_pass_init(&a->rp, e, a->rp.guests, THP_IDLE, 1);
	guests_track_writes(a->rp.guests);
	ret = pone_engine_scan(e, PONE_PASS_RECLAIM, &act, &st);
	if (!ret)
		ret = proc_usage(ch->pid, ch->addr, ch->addr + bytes, &before);
	if (ret)
		return ret;
	recycle_pass_init(&a->rp, e, a->rp.guests, THP_IDLE, 2);
	a->cpu_ns = 0;
	/* As poned does before each pass; its CPU is the pass's too. */
	track_ns = thread_cpu_ns();
	guests_track_writes(a->rp.guests);
	track_ns = thread_cpu_ns() - track_ns;
	/* A huge page the swap cannot take whole is split, and counted. */
	fallback = vmstat("thp_swpout_fallback");
	ret = pone_engine_scan(e, PONE_PASS_RECLAIM, &act, &st);
	r->kernel_split = vmstat("thp_swpout_fallback") - fallback;
	if (!ret)
		ret = proc_usage(ch->pid, ch->addr, ch->addr + bytes, &after);
	if (ret)
		return ret;
	r->wall_s = st.wall_ns / 1e9;
	r->cpu_s = (st.cpu_ns + track_ns) / 1e9;
	r->unwritten = st.unwritten;
	r->pageout_cpu_s = a->cpu_ns / 1e9;
	r->found = st.zero_stable;
	r->fell = before.rss > after.rss ?
		  (before.rss - after.rss) / PONE_PAGE_SIZE : 0;
	return 0;
}

static int run_once(enum layout l, uint64_t pages, unsigned int threads,
		    bool tracking, struct run *r)
{
	struct pone_engine_config cfg = { .threads = threads };
	struct guestram ram = { .kind = GUEST_ANON,
				.size = pages * PONE_PAGE_SIZE, .fd = -1 };
	struct actuation a = { 0 };
	struct pone_engine *e;
	struct guests gs;
	struct failure f;
	struct guest *g;
	struct child ch;
	char why[256];
	int ret = child_start(&ch, l, pages);

	if (ret)
		return ret;
	ret = pone_engine_new(&cfg, &e);
	if (ret) {
		child_stop(&ch);
		return ret;
	}
	guests_init(&gs, &(struct guests_config){ e, -1, NULL, tracking,
						   tracking, false, false, false });
	ram.addr = ch.addr;
	ret = guests_attach_ram(&gs, ch.pid, "bench", &ram, &g, &f);
	if (ret) {
		guests_failure_text(&gs, ret, &f, ch.pid, "bench", why,
				    sizeof(why));
		fflush(stdout);
		fprintf(stderr, "pone-bench: cannot attach the child: %s\n",
			why);
	} else {
		a.rp.guests = &gs;
		memset(r, 0, sizeof(*r));
		ret = passes(e, &a, &ch, ram.size, r);
		r->advised = g->recycled_pages;
		r->huge_whole = g->huge_whole;
		r->huge_split = g->huge_split;
		guests_detach_guest(&gs, g);
	}
	guests_fini(&gs);
	pone_engine_free(e);
	if (!ret)
		r->bad = child_verify_pages(&ch);
	child_stop(&ch);
	return ret;
}

/* --- rounds, checks and figures ------------------------------------------ */

#define MAX_T 2

struct cell {
	struct run runs[ROUNDS];
};

struct expect {
	uint64_t zero, zero_runs;
};

static struct expect expected(enum layout l, uint64_t pages)
{
	struct expect x = { 0 };
	uint64_t i;

	for (i = 0; i < pages; i++)
		x.zero += zero_page(l, i);
	if (l != SCATTERED)
		x.zero_runs = x.zero / HUGE_PAGES;
	return x;
}

/* block: the swap was a block device of the bench's own, sure to take
 * huge pages whole. */
static void check_cell(enum layout l, unsigned int t, const struct cell *c,
		       const struct expect *x, bool block)
{
	uint64_t found_ok = 0, advised_ok = 0, rss_ok = 0, intact = 0;
	uint64_t fell_min = UINT64_MAX, fell_max = 0, whole_min = UINT64_MAX;
	uint64_t kernel_split = 0;
	int k;

	for (k = 0; k < ROUNDS; k++) {
		const struct run *r = &c->runs[k];

		found_ok += r->found == x->zero;
		advised_ok += r->advised == x->zero;
		rss_ok += r->fell + RSS_SLACK >= x->zero && r->fell <= x->zero;
		intact += r->bad == 0;
		fell_min = r->fell < fell_min ? r->fell : fell_min;
		fell_max = r->fell > fell_max ? r->fell : fell_max;
		whole_min = r->huge_whole < whole_min ? r->huge_whole :
							 whole_min;
		kernel_split = r->kernel_split > kernel_split ?
			       r->kernel_split : kernel_split;
	}
	out_check(found_ok == ROUNDS && advised_ok == ROUNDS,
		  "%s, %u thread%s: the pass found and paged out all %llu zero pages, %d of %d runs",
		  layouts[l].name, t, t > 1 ? "s" : "",
		  (unsigned long long)x->zero,
		  (int)(found_ok < advised_ok ? found_ok : advised_ok), ROUNDS);
	out_check(rss_ok == ROUNDS,
		  "%s, %u thread%s: the child's RSS fell by %llu to %llu pages (expected %llu)",
		  layouts[l].name, t, t > 1 ? "s" : "",
		  (unsigned long long)fell_min, (unsigned long long)fell_max,
		  (unsigned long long)x->zero);
	out_check(intact == ROUNDS,
		  "%s, %u thread%s: the child found every page as it wrote it, %d of %d runs",
		  layouts[l].name, t, t > 1 ? "s" : "", (int)intact, ROUNDS);
	if (layouts[l].huge)
		out_check(whole_min == x->zero_runs &&
			  c->runs[0].huge_split == 0 &&
			  (!block || kernel_split == 0),
			  "%s, %u thread%s: %llu of %llu zero huge pages paged out whole, %llu split; split by the swap-out: %llu%s",
			  layouts[l].name, t, t > 1 ? "s" : "",
			  (unsigned long long)whole_min,
			  (unsigned long long)x->zero_runs,
			  (unsigned long long)c->runs[0].huge_split,
			  (unsigned long long)kernel_split,
			  block ? "" : " (swap not on a block device of the bench's)");
}

/* What a run's figure is, from its pass and the clock. */
enum what { PAGES_PER_S, CPU_S, CYCLES, PAGEOUT_CYCLES, CPUS_HAD };

static double value(const struct run *r, enum what w, double hz)
{
	switch (w) {
	case PAGES_PER_S:
		return r->advised / r->wall_s;
	case CPU_S:
		return r->cpu_s;
	case CYCLES:
		return r->cpu_s * hz / r->advised;
	case PAGEOUT_CYCLES:
		return r->pageout_cpu_s * hz / r->advised;
	case CPUS_HAD:
		return r->cpu_s / r->wall_s;
	}
	return 0;
}

static double median_of(const struct cell *c, enum what w, double hz)
{
	double v[ROUNDS];
	int k;

	for (k = 0; k < ROUNDS; k++)
		v[k] = value(&c->runs[k], w, hz);
	return bench_median(v, ROUNDS);
}

static const char *figure_name(char *buf, size_t len, enum layout l,
			       unsigned int t, enum what w)
{
	static const char *const fmt[] = {
		[PAGES_PER_S] = "recycle_%s_pages_per_s_%ut",
		[CPU_S] = "recycle_%s_cpu_s_%ut",
		[CYCLES] = "recycle_cycles_per_page_%s_%ut",
		[PAGEOUT_CYCLES] = "recycle_pageout_cycles_per_page_%s_%ut",
	};

	snprintf(buf, len, fmt[w], layouts[l].name, t);
	return buf;
}

static const char *const units[] = { "pages/s", "s", "cycles", "cycles" };

static const char *scaling_name(enum layout l)
{
	static char buf[64];

	if (l == SCATTERED)
		return "recycle_scaling_2t";
	snprintf(buf, sizeof(buf), "recycle_%s_scaling_2t", layouts[l].name);
	return buf;
}

#define PPR_CYCLES 6500
#define SCALING_TARGET 1.8

/* hz 0: the clock is unknown, cycles are skipped. */
static void figures(enum layout l, const struct cell *cells, unsigned int nt,
		    double hz)
{
	char name[64];
	unsigned int t;
	enum what w;

	for (t = 1; t <= nt; t++) {
		const struct cell *c = &cells[t - 1];

		for (w = PAGES_PER_S; w <= PAGEOUT_CYCLES; w++) {
			figure_name(name, sizeof(name), l, t, w);
			if (w >= CYCLES && !hz)
				out_skip(name, units[w], "no CPU clock in /proc/cpuinfo");
			else
				out_goal(name, median_of(c, w, hz), units[w],
					 l == SCATTERED && t == 1 &&
					 w == CYCLES ? GOAL_MAX : GOAL_NONE,
					 PPR_CYCLES);
		}
	}
	if (nt > 1)
		out_goal(scaling_name(l),
			 median_of(&cells[1], PAGES_PER_S, hz) /
			 median_of(&cells[0], PAGES_PER_S, hz), "x",
			 l == SCATTERED ? GOAL_MIN : GOAL_NONE, SCALING_TARGET);
	else
		out_skip(scaling_name(l), "x", "--threads 1");
}

static void skip_all_figures(const char *why)
{
	char name[64];
	unsigned int t;
	enum layout l;
	enum what w;

	for (l = SCATTERED; l < LAYOUTS; l++) {
		for (t = 1; t <= MAX_T; t++)
			for (w = PAGES_PER_S; w <= PAGEOUT_CYCLES; w++)
				out_skip(figure_name(name, sizeof(name), l, t,
						     w), units[w], why);
		out_skip(scaling_name(l), "x", why);
	}
}

/* The clock the CPU seconds are turned into cycles with: this VM has no
 * cycle counter for perf, so the frequency the kernel reports. */
static double cpu_hz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];
	double mhz = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
			break;
	if (f)
		fclose(f);
	return mhz * 1e6;
}

static void group_header(uint64_t pages, unsigned int nt, double hz,
			 const char *tracking)
{
	const char *dev = swap_device();
	char explain[1400], swap[300];

	if (!dev)
		snprintf(swap, sizeof(swap), "the machine's own");
	else if (swap_on_loop())
		snprintf(swap, sizeof(swap), "%s, a loop device over a file of "
			 "its own: a block device takes a huge page whole", dev);
	else
		snprintf(swap, sizeof(swap), "a file of its own (no loop device "
			 "here): the kernel splits each huge page first");

	snprintf(explain, sizeof(explain),
		 "poned's path on a child process of %llu pages (%.2f GiB), %d %% of them zero:\n"
		 "   scattered single pages (no THP), whole 2 MiB runs (no THP), the runs on THP.\n"
		 "   Per run a fresh child and engine (PONE_READ_VM, pagemap residency): a first\n"
		 "   reclaim pass sees the zero pages, the second recycles them (timed). Median\n"
		 "   of %d rounds, 1%s threads taken in turns. pages/s: recycled / pass wall time;\n"
		 "   cpu_s: CPU of all threads in the pass; cycles: that CPU x %.0f MHz (cpu MHz of\n"
		 "   /proc/cpuinfo; perf has no cycle counter here) / recycled pages; pageout:\n"
		 "   the share spent in recycle_found() (pagemap query + process_madvise).\n"
		 "   Write tracking (soft-dirty): %s\n"
		 "   Swap: %s",
		 (unsigned long long)pages, pages / 262144.0, ZERO_PERCENT,
		 ROUNDS, nt > 1 ? " and 2" : "", hz / 1e6,
		 tracking, swap);
	out_group("Recycling zero pages (PPR): poned's path, MADV_PAGEOUT", explain);
}

/* With the CPUs the passes had: on a shared machine, 2 threads scale only
 * as far as they get a second CPU. */
static void summary(struct cell cells[][MAX_T], unsigned int nt, double hz)
{
	enum layout l;

	for (l = SCATTERED; l < LAYOUTS; l++) {
		const struct cell *c = cells[l];
		double cyc = median_of(&c[0], CYCLES, hz);
		double po = median_of(&c[0], PAGEOUT_CYCLES, hz);

		out_note("%s, 1 thread: %.0f pages/s, %.0f cycles a page (%.0f %% in the pageout calls), %llu pages not read (unwritten), the pass had %.2f CPUs",
			 layouts[l].name, median_of(&c[0], PAGES_PER_S, hz),
			 cyc, cyc > 0 ? 100.0 * po / cyc : 0,
			 (unsigned long long)c[0].runs[0].unwritten,
			 median_of(&c[0], CPUS_HAD, hz));
		if (nt > 1)
			out_note("%s, 2 threads: %.0f pages/s (%.2fx), the pass had %.2f CPUs",
				 layouts[l].name,
				 median_of(&c[1], PAGES_PER_S, hz),
				 median_of(&c[1], PAGES_PER_S, hz) /
				 median_of(&c[0], PAGES_PER_S, hz),
				 median_of(&c[1], CPUS_HAD, hz));
	}
}

static double children_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int bench_recycle(const struct bench_opts *o)
{
	static struct cell cells[LAYOUTS][MAX_T];
	uint64_t pages = (o->pages < MAX_PAGES ? o->pages : MAX_PAGES) &
			 ~(uint64_t)(HUGE_PAGES - 1);
	unsigned int nt = o->threads < MAX_T ? o->threads : MAX_T, t;
	struct expect x[LAYOUTS];
	struct load_mark mark;
	double hz = cpu_hz(), children;
	unsigned int swap_mib;
	bool tracking = !o->no_tracking && pagemap_soft_dirty(), block;
	char why[300];
	enum layout l;
	int k, ret = 0;

	if (geteuid()) {
		out_group("Recycling zero pages (PPR): poned's path, MADV_PAGEOUT",
			  NULL);
		out_note("recycle bench skipped: not root. Paging out another process's pages needs\n"
			 "   CAP_SYS_NICE, and the bench makes a swap file of its own");
		skip_all_figures("not root");
		return 0;
	}
	for (l = SCATTERED; l < LAYOUTS; l++)
		x[l] = expected(l, pages);
	/* One child at a time holds slots: its zero pages, and room. */
	swap_mib = (unsigned int)((x[SCATTERED].zero > x[RUNS].zero ?
				   x[SCATTERED].zero : x[RUNS].zero) /
				  256 * 2);
	/* Its own swap file, even where there is swap: the e2e tests of
	 * other runs on a shared machine remove theirs, and pages paged out
	 * into a swap file being removed come back in. */
	/* Else the swap there is, if it has the room (a VM's zram: no file
	 * system there holds a swap file). */
	if (swap_add(SWAP_PATH, swap_mib, why, sizeof(why)) &&
	    swap_ensure(SWAP_PATH, swap_mib, why, sizeof(why))) {
		out_group("Recycling zero pages (PPR): poned's path, MADV_PAGEOUT",
			  NULL);
		out_note("recycle bench skipped: %s", why);
		skip_all_figures("no swap");
		return 0;
	}
	group_header(pages, nt, hz,
		     tracking ? "on: the timed pass reads only pages written since the first" :
		     o->no_tracking ? "off (--no-write-tracking): every pass reads every resident page" :
		     "not in this kernel (CONFIG_MEM_SOFT_DIRTY): every pass reads every resident page");
	children = children_cpu_s();
	load_mark(&mark);
	for (k = 0; !ret && k < ROUNDS; k++) {
		out_progress("recycle bench: round %d of %d", k + 1, ROUNDS);
		for (l = SCATTERED; !ret && l < LAYOUTS; l++)
			for (t = 1; !ret && t <= nt; t++)
				ret = run_once(l, pages, t, tracking,
					       &cells[l][t - 1].runs[k]);
	}
	/* The children filling and checking their RAM are part of it. */
	out_load(&mark, children_cpu_s() - children, "the recycle runs");
	block = swap_on_loop();
	swap_release();
	if (ret)
		return ret;
	for (l = SCATTERED; l < LAYOUTS; l++) {
		for (t = 1; t <= nt; t++)
			check_cell(l, t, &cells[l][t - 1], &x[l], block);
		figures(l, cells[l], nt, hz);
	}
	summary(cells, nt, hz);
	return 0;
}
