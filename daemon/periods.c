// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "pageout.h"
#include "periods.h"


/* Cores the daemon may use now. Under the lock. */
static double budget(const struct periods *p)
{
	const struct pressure *s = &p->fig.pressure;

	if (p->set.mode == PRESSURE_ON_SHORT && s->judged && !s->shortage)
		return p->set.idle_cpu_limit;
	return p->set.cpu_limit;
}

static void on_zero(void *ctx, const struct pone_page_ref *pages, size_t n)
{
	struct periods *p = ctx;

	recycle_found(&p->recycle, pages, n);
}

/* Counted per guest; merged where both pages are /dev/pone pages. */
static void on_duplicate(void *ctx, const struct pone_dup *d, size_t n)
{
	struct periods *p = ctx;
	size_t i, j, k;

	for (i = 0; i < n; i = j) {
		struct guest *g = guests_get(p->guests, d[i].member.region);

		for (j = i + 1; j < n && d[j].member.region == d[i].member.region;
		     j++)
			;
		for (k = i; g && k < j; k++) {
			bool across = d[k].member.region != d[k].canonical.region;

			__atomic_add_fetch(across ? &g->dups_across :
					   &g->dups_within, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(across ? &p->pass_across :
					   &p->pass_within, 1, __ATOMIC_RELAXED);
		}
		if (g && g->ops->merge)
			__atomic_add_fetch(&p->pass_merged,
					   g->ops->merge(p->guests, g, d + i,
							 j - i),
					   __ATOMIC_RELAXED);
		guest_put(g);
	}
}

static void report(struct periods *p, bool merge,
		   const struct pone_pass_stats *s)
{
	log_msg(merge ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "%s pass: %llu pages "
		"read, %llu not resident, %llu unwritten since read, %llu zero "
		"(%llu recyclable), %llu changed, %.3f s, %.3f CPU-s",
		merge ? "merge" : "reclaim", (unsigned long long)s->scanned,
		(unsigned long long)s->absent, (unsigned long long)s->unwritten,
		(unsigned long long)s->zero, (unsigned long long)s->zero_stable,
		(unsigned long long)s->changed, s->wall_ns / 1e9,
		s->cpu_ns / 1e9);
	if (merge)
		log_info("merge pass: %llu duplicate pages found (%llu within "
			 "a guest, %llu across guests); %llu merged by pone.ko, "
			 "the rest mergeable with /dev/pone",
			 (unsigned long long)(p->fig.dups_within +
					      p->fig.dups_across),
			 (unsigned long long)p->fig.dups_within,
			 (unsigned long long)p->fig.dups_across,
			 (unsigned long long)p->pass_merged);
}

struct ksm_walk {
	struct pone_engine *engine;
	bool no_swap;		/* zero pages cannot be paged out */
	struct ksm_need need;
};

static void add_need(void *ctx, struct guest *g)
{
	struct ksm_walk *w = ctx;
	struct pone_region_counts rc;

	if (!g->ksm_mergeable ||
	    pone_engine_region_counts(w->engine, g->region, &rc))
		return;
	/* Without swap, KSM maps zero pages to the zero page
	 * (use_zero_pages): no swap slot needed. */
	__atomic_store_n(&g->zero_to_ksm, w->no_swap, __ATOMIC_RELAXED);
	w->need.unmerged += rc.duplicate + (w->no_swap ? rc.zero : 0);
	w->need.merged += ksm_process_merged(g->pid);
	w->need.mergeable += rc.pages;
}

/* What this pass found of the guests KSM merges, and what KSM merged of
 * them; whether ksmd runs. */
static bool steer_ksm(struct periods *p, bool merge)
{
	struct ksm_walk w = { p->engine, false, { 0 } };
	struct swap_space sw;

	if (!p->ksm || !p->ksm->steering)
		return false;
	pthread_mutex_lock(&p->lock);
	w.need.merge_period = p->set.merge_period;
	w.need.cpu_limit = budget(p);
	pthread_mutex_unlock(&p->lock);
	w.no_swap = swap_problem(swap_space(&sw), &sw) != NULL;
	guests_each(p->guests, add_need, &w);
	return ksm_steer(p->ksm, &w.need, merge);
}

/* s, judged again from the files: whether the log should hear of it (a
 * new verdict, or a new reason there is none). */
static bool judge_again(const char *proc, enum pressure_mode mode,
			const struct pressure_limits *l, struct pressure *s)
{
	struct pressure_reading r;
	struct failure f = { 0 };
	char why_was[sizeof(s->why)];
	int ret;

	if (mode == PRESSURE_ALWAYS) {
		*s = (struct pressure){ .switches = s->switches,
					.why = "mode = always: the full budget "
					       "at all times" };
		return false;
	}
	ret = pressure_read(proc, &r, &f);
	if (!ret)
		return pressure_judge(s, l, &r);
	strcpy(why_was, s->why);
	pressure_unjudged(s, proc, f.code, ret);
	return strcmp(s->why, why_was);
}

/* Whether the host is short of memory, read without the lock; the
 * budget that follows. */
static double judge(struct periods *p)
{
	struct pressure_limits l;
	enum pressure_mode mode;
	struct pressure s;
	uint64_t switches;
	double cores;
	bool news;

	pthread_mutex_lock(&p->lock);
	mode = p->set.mode;
	l = p->set.pressure;
	s = p->fig.pressure;
	pthread_mutex_unlock(&p->lock);
	switches = s.switches;
	news = judge_again(p->proc, mode, &l, &s);
	pthread_mutex_lock(&p->lock);
	p->fig.pressure = s;
	cores = budget(p);
	pthread_mutex_unlock(&p->lock);
	if (news)
		log_msg(s.judged ? LOG_LEVEL_INFO : LOG_LEVEL_WARN,
			"%s: %s budget, %.2f cores", s.why,
			s.judged && !s.shortage ? "idle" : "full", cores);
	/* ksmd's cap follows a switch now, not at the next pass. */
	if (s.switches != switches)
		steer_ksm(p, false);
	return cores;
}

/* Whether ksmd runs at poned's asking after it. */
static bool run_pass(struct periods *p, bool merge, double cores)
{
	struct pone_actuator act = { p, on_zero, on_duplicate };
	struct pone_pass_stats s;
	int ret;

	pthread_mutex_lock(&p->lock);
	recycle_pass_init(&p->recycle, p->engine, p->guests, p->set.thp_split,
			  p->fig.passes + 1);
	pthread_mutex_unlock(&p->lock);
	__atomic_store_n(&p->pass_merged, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->pass_within, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->pass_across, 0, __ATOMIC_RELAXED);
	guests_track_writes(p->guests);
	pone_engine_set_cpu_limit(p->engine, cores);
	ret = pone_engine_scan(p->engine, merge ? PONE_PASS_MERGE :
				PONE_PASS_RECLAIM, &act, &s);
	if (ret) {
		log_err("scan pass failed: %s", strerror(-ret));
		return false;
	}
	pthread_mutex_lock(&p->lock);
	p->fig.passes++;
	p->fig.merge_passes += merge;
	p->fig.cpu_ns += s.cpu_ns;
	p->fig.last = s;
	p->fig.last_merge = merge;
	p->fig.last_end = (uint64_t)time(NULL);
	if (merge) {
		p->fig.dups_within = p->pass_within;
		p->fig.dups_across = p->pass_across;
	}
	pthread_mutex_unlock(&p->lock);
	report(p, merge, &s);
	return steer_ksm(p, merge);
}

/* How often ksmd is looked at while it runs. */
#define KSM_TICK_NS (NS_PER_S / 2)

static struct timespec deadline(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S) };
}

/* When the pass that started at t0 and used cpu ns may be followed: a
 * reclaim period on, later if its CPU at the budget asks for it, sooner
 * if a merge period ends first. Under the lock. */
static uint64_t next_pass(const struct periods *p, uint64_t t0, uint64_t cpu,
			  uint64_t next_merge)
{
	uint64_t next = t0 + p->set.reclaim_period * NS_PER_S;
	uint64_t paid = t0 + (uint64_t)(cpu / budget(p));

	if (paid > next)
		next = paid;
	if (next_merge < next && next_merge > t0)
		next = next_merge;
	return next;
}

/*
 * Under the lock, until the next pass or a pass asked for. A pause longer
 * than a reclaim period (a pass held to the idle budget) judges memory
 * again each period, so that a host short of memory gets the full budget
 * in one; while ksmd runs, it is looked at every KSM_TICK_NS.
 */
static void rest(struct periods *p, uint64_t t0, uint64_t cpu,
		 uint64_t next_merge, bool ksmd)
{
	uint64_t now, next;

	while (!p->stop && !p->pass_asked &&
	       (now = now_ns()) <
	       (next = next_pass(p, t0, cpu, next_merge))) {
		uint64_t judge_at = now + p->set.reclaim_period * NS_PER_S;
		uint64_t tick_at = ksmd ? now + KSM_TICK_NS : next;
		uint64_t until = judge_at < next ? judge_at : next;
		struct timespec ts;

		until = tick_at < until ? tick_at : until;
		ts = deadline(until);
		if (pthread_cond_timedwait(&p->wake, &p->lock, &ts) == 0)
			return;	/* new settings: plan again */
		pthread_mutex_unlock(&p->lock);
		if (ksmd && until == tick_at)
			ksmd = ksm_tick(p->ksm);
		if (until == judge_at)
			judge(p);
		pthread_mutex_lock(&p->lock);
	}
}

static void *periods_main(void *arg)
{
	struct periods *p = arg;
	uint64_t last_merge = 0;	/* start of the last merge pass */
	bool merged = false;		/* the first pass is a merge pass */

	pthread_setname_np(pthread_self(), "pone-scan");
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		/* From the period as set now: a shorter one set at run time
		 * brings the next merge pass closer. */
		uint64_t t0 = now_ns(), cpu;
		bool merge = !merged || t0 >= last_merge +
					p->set.merge_period * NS_PER_S;
		bool ksmd;

		p->pass_asked = false;
		pthread_mutex_unlock(&p->lock);
		cpu = p->fig.cpu_ns;
		__atomic_store_n(&p->busy_since, t0, __ATOMIC_RELAXED);
		ksmd = run_pass(p, merge, judge(p));
		__atomic_store_n(&p->busy_since, 0, __ATOMIC_RELAXED);
		pthread_mutex_lock(&p->lock);
		cpu = p->fig.cpu_ns - cpu;
		if (merge) {
			last_merge = t0;
			merged = true;
		}
		rest(p, t0, cpu, last_merge + p->set.merge_period * NS_PER_S, ksmd);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void periods_settings_of(const struct config *c, struct periods_settings *s)
{
	*s = (struct periods_settings){ c->reclaim_period, c->merge_period,
					c->cpu_limit, c->thp_split, c->mode,
					c->pressure, c->idle_cpu_limit };
}

int periods_start(struct periods *p, struct pone_engine *e, struct guests *gs,
		  struct ksm *ksm, const char *proc,
		  const struct periods_settings *set)
{
	pthread_condattr_t ca;
	int ret;

	*p = (struct periods){ .engine = e, .guests = gs, .ksm = ksm,
			       .proc = proc, .set = *set };
	p->fig.started = now_ns();
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	judge(p);
	ret = pthread_create(&p->thread, NULL, periods_main, p);
	return -ret;
}

void periods_stop(struct periods *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
}

void periods_configure(struct periods *p, const struct periods_settings *set)
{
	pthread_mutex_lock(&p->lock);
	p->set = *set;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void periods_pass_soon(struct periods *p)
{
	pthread_mutex_lock(&p->lock);
	p->pass_asked = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

bool periods_progressing(struct periods *p, uint64_t *seen,
			 uint64_t within_ns)
{
	uint64_t busy = __atomic_load_n(&p->busy_since, __ATOMIC_RELAXED);
	uint64_t done = pone_engine_progress(p->engine);
	bool moved = done != *seen;

	*seen = done;
	return !busy || moved || now_ns() - busy < within_ns;
}

void periods_figures(struct periods *p, struct periods_figures *f)
{
	pthread_mutex_lock(&p->lock);
	*f = p->fig;
	f->budget = budget(p);
	pthread_mutex_unlock(&p->lock);
}
