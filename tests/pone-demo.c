// SPDX-License-Identifier: GPL-2.0-only
/*
 * The demo: the engine scans a memory image of known layout over a few
 * merge periods, as it would a guest, and says what it found and whether
 * that is what the image holds.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pone/engine.h>

#include "image.h"

#define MIB(pages) ((double)(pages) * PONE_PAGE_SIZE / (1 << 20))

struct options {
	uint64_t pages;
	unsigned int threads;
	unsigned int rewrite;
};

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	*o = (struct options){ .pages = 65536, .rewrite = 1000 };
	while ((c = getopt_long(argc, argv, "p:t:h", longopts, NULL)) != -1) {
		char *end;
		unsigned long long v;

		if (c == 'h' || c == '?') {
			fprintf(c == 'h' ? stdout : stderr,
				"usage: %s [--pages N (>= 4096)] [--threads N]\n",
				argv[0]);
			return c == 'h' ? 1 : -EINVAL;
		}
		errno = 0;
		v = strtoull(optarg, &end, 10);
		if (errno || *end || !v || (c == 'p' && v < 4096) ||
		    (c == 't' && v > 1024)) {
			fprintf(stderr, "%s: bad value '%s' for --%s\n", argv[0],
				optarg, c == 'p' ? "pages" : "threads");
			return -EINVAL;
		}
		if (c == 'p')
			o->pages = v;
		else
			o->threads = (unsigned int)v;
	}
	return 0;
}

static void row(int pass, const char *what, const struct pone_pass_stats *s)
{
	printf("%4d  %-7s %8llu %6llu %10llu %7llu %7llu %6llu %7llu %7llu %8.2f %7.1f\n",
	       pass, what, (unsigned long long)s->scanned,
	       (unsigned long long)s->zero,
	       (unsigned long long)s->zero_stable,
	       (unsigned long long)s->changed, (unsigned long long)s->stable,
	       (unsigned long long)s->dup_groups,
	       (unsigned long long)s->dup_members,
	       (unsigned long long)s->unique,
	       s->wall_ns ? s->scanned * 1e3 / s->wall_ns : 0.0,
	       s->cpu_ns / 1e6);
}

int main(int argc, char **argv)
{
	struct options o;
	struct pone_engine_config cfg = { 0 };
	struct image_layout l;
	struct image img;
	struct pone_engine *e;
	struct pone_pass_stats s, found;
	struct pone_region_desc d;
	struct pone_engine_memory mem;
	uint32_t id;
	uint64_t grouped, i;
	bool ok;
	int ret = parse(argc, argv, &o), pass;

	if (ret)
		return ret > 0 ? 0 : 2;
	/* A guest's mix: a tenth zero, two fifths in groups of 4, the rest unique. */
	l = (struct image_layout){ .zero = o.pages / 10,
				   .groups = o.pages * 2 / 5 / 4,
				   .group_size = 4, .seed = 1 };
	l.unique = o.pages - l.zero - l.groups * l.group_size;
	grouped = l.groups * l.group_size;
	if (image_build(&img, &l)) {
		fprintf(stderr, "pone-demo: cannot allocate %.0f MiB for the image\n",
			MIB(o.pages));
		return 1;
	}
	cfg.threads = o.threads;
	ret = pone_engine_new(&cfg, &e);
	if (ret) {
		fprintf(stderr, "pone-demo: engine: %s\n", strerror(-ret));
		return 1;
	}
	d = (struct pone_region_desc){ .name = "demo", .pages = img.pages,
				       .mode = PONE_READ_MAP, .map = img.mem,
				       .fd = -1 };
	ret = pone_engine_add_region(e, &d, &id);
	if (ret) {
		fprintf(stderr, "pone-demo: region: %s\n", strerror(-ret));
		return 1;
	}

	printf("PageONE demo: the engine on a %.0f MiB memory image of known layout\n",
	       MIB(img.pages));
	printf("image: %llu pages: %llu zero, %llu groups of %llu equal pages, %llu unique\n",
	       (unsigned long long)img.pages, (unsigned long long)l.zero,
	       (unsigned long long)l.groups,
	       (unsigned long long)l.group_size, (unsigned long long)l.unique);
	printf("engine: %u worker threads, CPU backend with %s\n\n",
	       pone_engine_threads(e), pone_backend_cpu_simd());
	printf("A page is a merge candidate once unchanged for two merge periods,\n"
	       "a zero page is recyclable once zero for one period.\n\n");
	printf("pass  kind     scanned   zero recyclable changed  stable groups members  unique Mpages/s  cpu ms\n");

	for (pass = 1; pass <= 3; pass++) {
		pone_engine_scan(e, PONE_PASS_MERGE, NULL, &s);
		row(pass, "merge", &s);
	}
	found = s;
	ok = s.zero_stable == l.zero && s.dup_groups == l.groups &&
	     s.dup_members == grouped - l.groups && s.unique == l.unique;

	/* A guest at work: pages rewritten since the last period are not
	 * stable, so nothing of them is reported. */
	for (i = 0; i < o.rewrite; i++)
		image_rewrite(&img, i * (img.pages / o.rewrite), i);
	pone_engine_scan(e, PONE_PASS_MERGE, NULL, &s);
	row(4, "merge", &s);
	printf("      (the demo rewrote %u pages before pass 4, as a guest would)\n\n",
	       o.rewrite);
	ok = ok && s.changed == o.rewrite &&
	     s.stable + s.zero_stable + o.rewrite == img.pages;

	printf("found in pass 3: %llu zero pages to recycle (%.1f MiB), %llu duplicate pages\n"
	       "                 in %llu groups to merge (%.1f MiB): %.0f%% of the image\n",
	       (unsigned long long)found.zero_stable, MIB(found.zero_stable),
	       (unsigned long long)found.dup_members,
	       (unsigned long long)found.dup_groups, MIB(found.dup_members),
	       100.0 * (double)(found.zero_stable + found.dup_members) /
	       (double)img.pages);
	pone_engine_memory(e, &mem);
	printf("engine memory: %.1f bytes a page, and %.1f MiB fixed\n",
	       (double)mem.page_bytes / (double)mem.pages,
	       mem.fixed_bytes / 1048576.0);
	printf("matches the image's layout: %s\n", ok ? "yes" : "NO");

	pone_engine_free(e);
	image_free(&img);
	return ok ? 0 : 1;
}
