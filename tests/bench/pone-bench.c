// SPDX-License-Identifier: GPL-2.0-only
/*
 * pone-bench: the figures PageONE must reach against Linux KSM (see "What
 * it must beat" in DESIGN.md), measured on in-process images of known
 * layout so every figure comes with a check that the work was really done.
 *
 *   trees	SD tree vs a KSM-style red-black tree (trees.c)
 *   scan	steady-state pass throughput, 1..N threads (scan.c)
 *   dedup	every page duplicated once: engine vs the real ksmd (ksm.c),
 *		then the engine's memory per page covered
 *   recycle	zero pages recycled by poned's path, MADV_PAGEOUT (recycle.c)
 *   dsa	DSA offload vs the CPU backend, by call size (dsa.c)
 *
 * Usage: pone-bench [--json] [--pages N] [--threads N] [--skip-ksm]
 *		     [--no-write-tracking] [--only SECTION]
 * Exit: 0 when the bench ran (targets may be missed), 1 on an error that
 * stopped it, 2 when a correctness check failed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pone/engine.h>

#include "bench.h"
#include "image.h"
#include "ksm.h"

#define DEFAULT_PAGES (512ull << 10)	/* 2 GiB: DESIGN.md's reference */
#define MIN_PAGES 1024ull
#define MAX_THREADS 1024u

static const char usage[] =
	"usage: pone-bench [--json] [--pages N] [--threads N] [--skip-ksm]\n"
	"                  [--no-write-tracking] [--only trees|scan|dedup|recycle|dsa]\n"
	"  --json       one JSON line per figure: {\"name\", \"value\", \"unit\"}\n"
	"  --pages N    pages of each image (suffix K or M: x1024, x1048576),\n"
	"               default 512K = 2 GiB\n"
	"  --threads N  most engine threads tried, default: online CPUs\n"
	"  --skip-ksm   do not drive the in-kernel KSM\n"
	"  --no-write-tracking\n"
	"               recycle: read every page even where the kernel keeps\n"
	"               soft-dirty bits\n"
	"  --only S     run section S alone (default: all of them)\n";

static const char *const sections[] = { "trees", "scan", "dedup", "recycle",
					"dsa" };

static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k') {
		v <<= 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v <<= 20;
		end++;
	}
	if (*end == 'i')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* 0: run; 1: done (help); -EINVAL: bad usage. */
static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pages", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "skip-ksm", no_argument, NULL, 's' },
		{ "no-write-tracking", no_argument, NULL, 'w' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t v;
	size_t i;
	int c;

	*o = (struct bench_opts){ .pages = DEFAULT_PAGES, .threads = 1 };
	if (ncpu > 0)
		o->threads = (unsigned int)ncpu;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'p':
			if (parse_count(optarg, &v) || v < MIN_PAGES ||
			    v > (1ull << 30)) {
				fprintf(stderr, "pone-bench: --pages wants %llu to %llu pages\n",
					MIN_PAGES, 1ull << 30);
				return -EINVAL;
			}
			o->pages = v;
			break;
		case 't':
			if (parse_count(optarg, &v) || !v || v > MAX_THREADS) {
				fprintf(stderr, "pone-bench: --threads wants 1 to %u\n",
					MAX_THREADS);
				return -EINVAL;
			}
			o->threads = (unsigned int)v;
			break;
		case 's':
			o->skip_ksm = true;
			break;
		case 'w':
			o->no_tracking = true;
			break;
		case 'o':
			for (i = 0; i < sizeof(sections) / sizeof(sections[0]);
			     i++)
				if (!strcmp(optarg, sections[i]))
					o->only = sections[i];
			if (!o->only) {
				fprintf(stderr, "pone-bench: --only wants trees, scan, dedup, recycle or dsa\n");
				return -EINVAL;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	return 0;
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kb = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/*
 * MAP_POPULATE of more than the machine has ends in the OOM killer, not in
 * an error: refuse up front. The peak is one image, its page state, and
 * the tree bench's query pages.
 */
static int check_memory(const struct bench_opts *o)
{
	uint64_t need = o->pages * 4096 + o->pages * 4096 / 4 + (256ull << 20);
	uint64_t have = mem_available();

	if (have && need > have) {
		fprintf(stderr, "pone-bench: cannot allocate: %llu pages need about %.1f GiB, %.1f GiB available\n",
			(unsigned long long)o->pages, need / 1073741824.0,
			have / 1073741824.0);
		return -ENOMEM;
	}
	return 0;
}

int bench_engine(unsigned int threads, const struct image *img,
		 struct pone_engine **out)
{
	struct pone_engine_config cfg = { .threads = threads };
	struct pone_region_desc d = { .name = "bench", .pages = img->pages,
				      .mode = PONE_READ_MAP, .map = img->mem,
				      .fd = -1 };
	uint32_t id;
	int ret = pone_engine_new(&cfg, out);

	if (ret) {
		*out = NULL;
		return ret;
	}
	ret = pone_engine_add_region(*out, &d, &id);
	if (ret) {
		pone_engine_free(*out);
		*out = NULL;
	}
	return ret;
}

/* --- dedup: every page twice, engine vs ksmd ----------------------------- */

struct engine_dedup {
	double wall_s, cpu_s;
	struct pone_engine_memory mem;
	uint64_t visits, members, groups;
	unsigned int threads;
};

static struct image_layout twice_layout(uint64_t pages)
{
	return (struct image_layout){ .groups = pages / 2, .group_size = 2,
				      .seed = 1234 };
}

static int engine_dedup(uint64_t pages, struct engine_dedup *d)
{
	struct image_layout l = twice_layout(pages);
	struct pone_pass_stats st;
	struct load_mark mark;
	struct pone_engine *e;
	struct image img;
	int i, ret;

	out_progress("dedup bench: building the image for the engine");
	ret = image_build(&img, &l);
	if (ret)
		return ret;
	ret = bench_engine(0, &img, &e);
	if (ret) {
		image_free(&img);
		return ret;
	}
	memset(d, 0, sizeof(*d));
	d->threads = pone_engine_threads(e);
	out_progress("dedup bench: engine, %u threads", d->threads);
	load_mark(&mark);
	for (i = 0; !ret && i < WARM_PASSES; i++) {
		ret = pone_engine_scan(e, PONE_PASS_MERGE, NULL, &st);
		d->visits += st.scanned;
		d->cpu_s += st.cpu_ns / 1e9;
		d->wall_s += st.wall_ns / 1e9;
	}
	out_load(&mark, 0, "the engine's passes");
	d->members = st.dup_members;
	d->groups = st.dup_groups;
	pone_engine_memory(e, &d->mem);
	pone_engine_free(e);
	image_free(&img);
	return ret;
}

static void ksm_skip(const char *why)
{
	static const char *const names[][2] = {
		{ "ksm_wall_s", "s" },
		{ "ksm_cpu_s", "s" },
		{ "ksm_visits_per_cpu_s", "pages/s" },
		{ "engine_vs_ksm_ratio", "x" },
		{ "engine_vs_ksm_cpu_ratio", "x" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		out_skip(names[i][0], names[i][1], why);
}

/* -EIO only when KSM could not be restored: that stops the bench. */
static int ksm_side(const struct bench_opts *o, const struct engine_dedup *d)
{
	struct image_layout l = twice_layout(o->pages);
	double timeout = 30.0 + (double)o->pages / 20000.0;
	double ksm_rate, engine_rate = d->visits / d->cpu_s;
	struct load_mark mark;
	struct ksm_result r;
	struct image img;
	char why[512];
	int ret;

	if (o->skip_ksm) {
		ksm_skip("--skip-ksm");
		return 0;
	}
	if (ksm_usable(why, sizeof(why))) {
		out_note("KSM not measured: %s", why);
		ksm_skip(why);
		return 0;
	}
	out_progress("dedup bench: building the image for KSM");
	ret = image_build(&img, &l);
	if (ret)
		return ret;
	out_progress("dedup bench: ksmd merging (timeout %.0f s)", timeout);
	load_mark(&mark);
	ret = ksm_measure(&img, l.groups, timeout, &r, why, sizeof(why));
	if (ret == -EIO) {
		fflush(stdout);
		fprintf(stderr, "pone-bench: %s\n", why);
		return ret;
	}
	if (ret) {
		out_note("KSM not measured: %s", why);
		ksm_skip(why);
		return 0;
	}
	out_load(&mark, r.cpu_s, "the KSM run");
	ksm_rate = r.visits / r.cpu_s;
	out_figure("ksm_wall_s", r.wall_s, "s");
	out_figure("ksm_cpu_s", r.cpu_s, "s");
	out_figure("ksm_visits_per_cpu_s", ksm_rate, "pages/s");
	out_goal("engine_vs_ksm_ratio", engine_rate / ksm_rate, "x",
		 GOAL_MIN, 5);
	out_figure("engine_vs_ksm_cpu_ratio", r.cpu_s / d->cpu_s, "x");
	out_note("ksmd: %llu page visits%s, %llu full scans, pages_sharing +%llu",
		 (unsigned long long)r.visits,
		 r.visits_estimated ? " (full scans x pages)" : "",
		 (unsigned long long)r.full_scans,
		 (unsigned long long)r.sharing);
	out_note("engine_vs_ksm_cpu_ratio = KSM CPU / engine CPU to find every duplicate");
	out_note("KSM settings restored: %s", r.settings);
	return 0;
}

static int bench_dedup(const struct bench_opts *o,
		       struct pone_engine_memory *mem)
{
	uint64_t pages = o->pages & ~1ull;
	struct engine_dedup d;
	char explain[400];
	int ret;

	snprintf(explain, sizeof(explain),
		 "%llu pages (%.2f GiB), every page duplicated once. KSM: ksmd with pages_to_scan\n"
		 "   100000, sleep_millisecs 0, until pages_sharing grew by N/2 (visits: pages_scanned).\n"
		 "   Engine: a fresh copy, 3 merge passes (observe, observe, report), default threads.",
		 (unsigned long long)pages, pages / 262144.0);
	out_group("Finding every duplicate: engine vs in-kernel KSM", explain);
	ret = engine_dedup(pages, &d);
	if (ret)
		return ret;
	out_check(d.members == pages / 2 && d.groups == pages / 2,
		  "engine found %llu duplicate members in %llu groups, expected %llu",
		  (unsigned long long)d.members, (unsigned long long)d.groups,
		  (unsigned long long)pages / 2);
	out_figure("engine_wall_s", d.wall_s, "s");
	out_figure("engine_cpu_s", d.cpu_s, "s");
	out_figure("engine_visits_per_cpu_s", d.visits / d.cpu_s, "pages/s");
	out_note("engine: %u threads, %llu page visits", d.threads,
		 (unsigned long long)d.visits);
	*mem = d.mem;
	return ksm_side(o, &d);
}

static void header(const struct bench_opts *o)
{
	if (o->json)
		return;
	printf("PageONE bench: %llu pages (%.2f GiB) an image, up to %u threads, CPU backend %s\n",
	       (unsigned long long)o->pages, o->pages / 262144.0, o->threads,
	       pone_backend_cpu_simd());
}

static double per_page(const struct pone_engine_memory *m)
{
	return m->pages ? (double)m->page_bytes / (double)m->pages : 0;
}

static bool wanted(const struct bench_opts *o, const char *section)
{
	return !o->only || !strcmp(o->only, section);
}

static void state_figures(const struct bench_opts *o,
			  const struct pone_engine_memory *twice,
			  const struct pone_engine_memory *mix)
{
	out_group("Engine memory per page covered",
		  "after the passes above, every page twice: page states and tree\n"
		  "   nodes a page covered; fixed: worker buffers, arena room, tables");
	out_goal("state_bytes_per_page", per_page(twice), "B/page", GOAL_MAX,
		 16);
	if (wanted(o, "scan"))
		out_figure("state_bytes_per_page_mix", per_page(mix), "B/page");
	else
		out_skip("state_bytes_per_page_mix", "B/page",
			 "the scan section did not run");
	out_figure("state_fixed_mib", twice->fixed_bytes / 1048576.0, "MiB");
}

int main(int argc, char **argv)
{
	struct pone_engine_memory mix = { 0 }, twice = { 0 };
	struct bench_opts o;
	const char *stage = "";
	int ret = parse_opts(argc, argv, &o);

	if (ret)
		return ret > 0 ? 0 : 1;
	if (check_memory(&o))
		return 1;
	out_init(o.json);
	header(&o);
	if (wanted(&o, "trees")) {
		stage = "tree bench";
		ret = bench_trees(&o);
	}
	if (!ret && wanted(&o, "scan")) {
		stage = "scan bench";
		ret = bench_scan(&o, &mix);
	}
	if (!ret && wanted(&o, "dedup")) {
		stage = "dedup bench";
		ret = bench_dedup(&o, &twice);
		if (!ret)
			state_figures(&o, &twice, &mix);
	}
	if (!ret && wanted(&o, "recycle")) {
		stage = "recycle bench";
		ret = bench_recycle(&o);
	}
	if (!ret && wanted(&o, "dsa")) {
		stage = "dsa bench";
		ret = bench_dsa();
	}
	if (ret) {
		fflush(stdout);
		fprintf(stderr, "pone-bench: %s: %s\n", stage,
			ret == -EIO ? "KSM settings could not be restored" :
				      strerror(-ret));
		return 1;
	}
	return out_finish();
}
