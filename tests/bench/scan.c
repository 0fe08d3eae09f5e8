// SPDX-License-Identifier: GPL-2.0-only
/*
 * Steady-state pass throughput on a realistic mix of resident pages: 10%
 * zero, 40% in groups of 2, 3 and 4 pages in turn, the rest unique.
 *
 * One engine per thread count and per steady state, all on one image:
 *   plain	nothing reported merged (a guest without /dev/pone): stable
 *		pages stay in the dynamic tree, unchanged pages cost no tree
 *		work;
 *   merged	every duplicate reported merged, as the kernel helper's
 *		actuator would: members left the trees, canonical pages are
 *		in the static one;
 *   reclaim	RECLAIM passes of the plain engine: hash and zero test, the
 *		cost of reading the memory at all;
 *   hash	no engine: xxh3 alone over the same pages with as many
 *		threads, each a contiguous share, in batches of 64. Its
 *		scaling is what the memory and the CPUs allow any pass that
 *		reads every page: the engine's is judged against it.
 * The timed passes go round the engines, one pass each in turn, so a burst
 * of load from elsewhere on a shared machine hits every thread count alike
 * and the scaling ratio compares like with like.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pone/engine.h>

#include "bench.h"
#include "image.h"

#define MAX_SETS 16

struct mix {
	struct image img;
	uint64_t zero, grouped, groups, unique;
};

struct engine_set {
	unsigned int threads;
	struct pone_engine *plain, *merged;
	struct pone_actuator act;	/* of merged */
	double rate[TIMED_PASSES], cpu_ns[TIMED_PASSES];
	double mrate[TIMED_PASSES], mcpu_ns[TIMED_PASSES];
	double reclaim[TIMED_PASSES];
	double hash[TIMED_PASSES];
	struct pone_pass_stats mlast;	/* merged, last timed pass */
	struct pone_engine_memory mem;	/* plain: after the passes */
};

static int merge_errors;
static struct pone_backend *hash_be;	/* of the hash round */

static int mix_build(struct mix *m, uint64_t n, uint64_t seed)
{
	struct image_layout l = { .zero = n / 10, .group_size = 2,
				  .group_size_max = 4, .seed = seed };

	memset(m, 0, sizeof(*m));
	while (m->grouped + image_group_size(&l, l.groups) <= n * 4 / 10)
		m->grouped += image_group_size(&l, l.groups++);
	l.unique = n - l.zero - m->grouped;
	m->zero = l.zero;
	m->groups = l.groups;
	m->unique = l.unique;
	return image_build(&m->img, &l);
}

/* What the kernel helper's actuator would do: every duplicate merged. */
static void merge_all(void *ctx, const struct pone_dup *d, size_t n)
{
	if (pone_engine_merged(ctx, d, n))
		__atomic_add_fetch(&merge_errors, 1, __ATOMIC_RELAXED);
}

/* The report pass of a fresh engine must find exactly the layout. */
static void check_plain(const struct mix *m, const struct pone_pass_stats *st,
			unsigned int threads)
{
	bool ok = st->scanned == m->img.pages && st->zero == m->zero &&
		  st->stable == m->img.pages - m->zero &&
		  st->dup_groups == m->groups &&
		  st->dup_members == m->grouped - m->groups &&
		  st->unique == m->unique;

	out_check(ok, "%u thread%s, third pass: %llu zero, %llu groups, %llu members, %llu unique",
		  threads, threads > 1 ? "s" : "",
		  (unsigned long long)st->zero,
		  (unsigned long long)st->dup_groups,
		  (unsigned long long)st->dup_members,
		  (unsigned long long)st->unique);
}

/* Once merged, nothing is new: no member reported again, no group. */
static void check_merged(const struct mix *m, const struct engine_set *s)
{
	const struct pone_pass_stats *st = &s->mlast;
	bool ok = !merge_errors && st->dup_members == 0 &&
		  st->dup_groups == 0 && st->unique == 0 &&
		  st->stable == m->img.pages - m->zero;

	out_check(ok, "%u thread%s, merged: %llu stable, %llu new unique, %llu members reported again",
		  s->threads, s->threads > 1 ? "s" : "",
		  (unsigned long long)st->stable,
		  (unsigned long long)st->unique,
		  (unsigned long long)st->dup_members);
}

static int warm_up(struct pone_engine *e, const struct pone_actuator *act,
		   int passes, struct pone_pass_stats *st)
{
	int i, ret = 0;

	for (i = 0; !ret && i < passes; i++)
		ret = pone_engine_scan(e, PONE_PASS_MERGE, act, st);
	return ret;
}

static int set_open(const struct mix *m, struct engine_set *s,
		    unsigned int threads)
{
	struct pone_pass_stats st;
	int ret;

	s->threads = threads;
	ret = bench_engine(threads, &m->img, &s->plain);
	if (!ret)
		ret = bench_engine(threads, &m->img, &s->merged);
	if (ret)
		return ret;
	ret = warm_up(s->plain, NULL, WARM_PASSES, &st);
	if (ret)
		return ret;
	check_plain(m, &st, threads);
	s->act = (struct pone_actuator){ .ctx = s->merged,
					 .duplicate = merge_all };
	/* One more: the pass after the report moves the merges into the
	 * static tree. */
	return warm_up(s->merged, &s->act, WARM_PASSES + 1, &st);
}

static void set_close(struct engine_set *s)
{
	pone_engine_free(s->plain);
	pone_engine_free(s->merged);
}

enum round { PLAIN, MERGED, RECLAIM, HASH };

/* One thread's share of the hash round. */
struct hash_share {
	const struct image *img;
	uint64_t first, end;
	uint64_t sum;		/* of the hashes: the work is not optimized out */
};

static void *hash_share_run(void *arg)
{
	struct hash_share *h = arg;
	const void *pages[64];
	uint64_t out[64], i;
	size_t k;

	for (i = h->first; i < h->end; i += k) {
		for (k = 0; k < 64 && i + k < h->end; k++)
			pages[k] = image_page(h->img, i + k);
		hash_be->hash(hash_be, pages, k, out);
		h->sum += out[0];
	}
	return NULL;
}

/* Pages a second xxh3 alone hashes over the image with t threads. */
static int hash_rate(const struct image *img, unsigned int t, double *rate)
{
	struct hash_share *h = calloc(t, sizeof(*h));
	pthread_t *tid = calloc(t, sizeof(*tid));
	uint64_t t0 = bench_now_ns();
	unsigned int k, started = 0;
	int ret = h && tid ? 0 : -ENOMEM;

	for (k = 0; !ret && k < t; k++, started++) {
		h[k] = (struct hash_share){ img, img->pages * k / t,
					    img->pages * (k + 1) / t, 0 };
		ret = -pthread_create(&tid[k], NULL, hash_share_run, &h[k]);
	}
	for (k = 0; k < started; k++)
		pthread_join(tid[k], NULL);
	*rate = img->pages * 1e9 / (double)(bench_now_ns() - t0);
	free(h);
	free(tid);
	return ret;
}

static int timed_pass(const struct mix *m, struct engine_set *s,
		      enum round r, int i)
{
	struct pone_pass_stats st;
	double rate, cpu;
	int ret;

	if (r == HASH)
		return hash_rate(&m->img, s->threads, &s->hash[i]);
	if (r == MERGED)
		ret = pone_engine_scan(s->merged, PONE_PASS_MERGE, &s->act, &st);
	else
		ret = pone_engine_scan(s->plain, r == PLAIN ? PONE_PASS_MERGE :
					       PONE_PASS_RECLAIM, NULL, &st);
	if (ret)
		return ret;
	rate = st.scanned * 1e9 / (double)st.wall_ns;
	cpu = (double)st.cpu_ns / (double)st.scanned;
	if (r == PLAIN) {
		s->rate[i] = rate;
		s->cpu_ns[i] = cpu;
	} else if (r == MERGED) {
		s->mrate[i] = rate;
		s->mcpu_ns[i] = cpu;
		s->mlast = st;
	} else {
		s->reclaim[i] = rate;
	}
	return 0;
}

/* Round after round, one pass of every set in each. */
static int timed_rounds(const struct mix *m, struct engine_set *sets,
			size_t n)
{
	enum round r;
	size_t k;
	int i, ret = 0;

	for (r = PLAIN; r <= HASH; r++) {
		for (i = 0; !ret && i < TIMED_PASSES; i++)
			for (k = 0; !ret && k < n; k++)
				ret = timed_pass(m, &sets[k], r, i);
		if (r != PLAIN)
			continue;
		/* Taken after merge passes, as the dedup bench takes it. */
		for (k = 0; k < n; k++)
			pone_engine_memory(sets[k].plain, &sets[k].mem);
	}
	return ret;
}

static void set_figures(struct engine_set *s, struct engine_set *one)
{
	double one_rate = bench_median(one->rate, TIMED_PASSES);
	double one_hash = bench_median(one->hash, TIMED_PASSES);
	unsigned int t = s->threads;
	char name[64];
	double rate, hash;

	rate = bench_median(s->rate, TIMED_PASSES);
	hash = bench_median(s->hash, TIMED_PASSES);
	snprintf(name, sizeof(name), "scan_pages_per_s_%ut", t);
	out_goal(name, rate, "pages/s", t == 1 ? GOAL_MIN : GOAL_NONE, 3e6);
	snprintf(name, sizeof(name), "hash_pages_per_s_%ut", t);
	out_figure(name, hash, "pages/s");
	if (t > 1) {
		snprintf(name, sizeof(name), "scan_scaling_%ut", t);
		out_goal(name, rate / one_rate, "x",
			 t == 2 ? GOAL_MIN : GOAL_NONE, 1.8);
		snprintf(name, sizeof(name), "hash_scaling_%ut", t);
		out_figure(name, hash / one_hash, "x");
		snprintf(name, sizeof(name), "scan_vs_hash_scaling_%ut", t);
		out_goal(name, (rate / one_rate) / (hash / one_hash), "x",
			 t == 2 ? GOAL_MIN : GOAL_NONE, 0.95);
	}
	snprintf(name, sizeof(name), "scan_reclaim_pages_per_s_%ut", t);
	out_figure(name, bench_median(s->reclaim, TIMED_PASSES), "pages/s");
	snprintf(name, sizeof(name), "scan_merged_pages_per_s_%ut", t);
	out_figure(name, bench_median(s->mrate, TIMED_PASSES), "pages/s");
	out_note("%u thread%s: %.0f ns of CPU a page (merged: %.0f ns)", t,
		 t > 1 ? "s" : "", bench_median(s->cpu_ns, TIMED_PASSES),
		 bench_median(s->mcpu_ns, TIMED_PASSES));
}

/* 1, 2, 4, ... and the maximum itself. */
static size_t thread_counts(unsigned int max, unsigned int *out)
{
	unsigned int t = 1;
	size_t n = 0;

	while (n < MAX_SETS) {
		out[n++] = t;
		if (t == max)
			break;
		t = t * 2 <= max ? t * 2 : max;
	}
	return n;
}

static void group_header(const struct bench_opts *o, const struct mix *m)
{
	char explain[768];

	snprintf(explain, sizeof(explain),
		 "MERGE passes over %llu resident pages: %llu zero, %llu in %llu groups of 2-4,\n"
		 "   %llu unique; %d warm-up passes, then the median of %d timed passes (wall\n"
		 "   clock), taken in turns with every thread count.\n"
		 "   reclaim: RECLAIM passes (hash and zero test only: the cost of reading memory).\n"
		 "   hash: xxh3 alone over the same pages, as many threads: what the machine allows.\n"
		 "   merged: MERGE passes once every duplicate was reported merged (as with\n"
		 "   /dev/pone): members skipped, canonical pages found in the static tree",
		 (unsigned long long)o->pages, (unsigned long long)m->zero,
		 (unsigned long long)m->grouped, (unsigned long long)m->groups,
		 (unsigned long long)m->unique, WARM_PASSES, TIMED_PASSES);
	out_group("Engine pass throughput (steady state)", explain);
}

int bench_scan(const struct bench_opts *o, struct pone_engine_memory *mix)
{
	unsigned int threads[MAX_SETS];
	size_t n = thread_counts(o->threads, threads), k, opened = 0;
	struct engine_set *sets = calloc(n, sizeof(*sets));
	struct load_mark mark;
	struct mix m;
	int ret;

	if (!sets)
		return -ENOMEM;
	out_progress("scan bench: building the mixed image");
	ret = mix_build(&m, o->pages, 42);
	if (ret) {
		free(sets);
		return ret;
	}
	group_header(o, &m);
	merge_errors = 0;
	for (k = 0; !ret && k < n; k++, opened++) {
		out_progress("scan bench: warming up %u thread%s", threads[k],
			     threads[k] > 1 ? "s" : "");
		ret = set_open(&m, &sets[k], threads[k]);
	}
	if (!ret) {
		out_progress("scan bench: timed passes");
		load_mark(&mark);
		hash_be = pone_backend_cpu_new();
		ret = hash_be ? timed_rounds(&m, sets, n) : -ENOMEM;
		pone_backend_destroy(hash_be);
		hash_be = NULL;
		out_load(&mark, 0, "the timed passes");
	}
	for (k = 0; !ret && k < n; k++) {
		check_merged(&m, &sets[k]);
		set_figures(&sets[k], &sets[0]);
		*mix = sets[k].mem;
	}
	if (!ret && o->threads < 2) {
		out_skip("scan_pages_per_s_2t", "pages/s", "--threads 1");
		out_skip("scan_scaling_2t", "x", "--threads 1");
		out_skip("scan_vs_hash_scaling_2t", "x", "--threads 1");
	}
	for (k = 0; k < opened; k++)
		set_close(&sets[k]);
	free(sets);
	image_free(&m.img);
	return ret;
}
