// SPDX-License-Identifier: GPL-2.0-only
#include <sys/resource.h>
#include <time.h>

#include "ponedev.h"
#include "procfs.h"
#include "reclaim.h"
#include "status.h"

struct totals {
	json_int_t ram, resident, recycled, duplicate, within, across, saved;
	json_int_t merged;
	/* /dev/pone: frames the regions point at, counting shares, and the
	 * frames there are (the module's total). */
	json_int_t pone_mapped, pone_frames;
};

/* What pone.ko counts for a /dev/pone guest's region. */
static json_t *pone_json(struct guest *g, struct pone_info *info)
{
	if (g->ram.kind != GUEST_PONE || ponedev_info(g->ram.fd, info))
		return NULL;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
			 "frames", (json_int_t)info->region.frames,
			 "shared", (json_int_t)info->region.shared,
			 "zero", (json_int_t)info->region.zero,
			 "merges", (json_int_t)info->region.merges,
			 "cow_breaks", (json_int_t)info->region.cow_breaks,
			 "discards", (json_int_t)info->region.discards);
}

/* info: what pone.ko said, when the result has a "pone" object. */
static json_t *guest_json_info(struct daemon *d, struct guest *g,
			       struct pone_info *info)
{
	struct pone_region_counts rc;
	struct proc_usage u;
	json_t *pone = pone_json(g, info), *o;
	uint64_t saved;

	proc_usage(g->pid, g->ram.addr, g->ram.addr + g->ram.size, &u);
	/* Splitting a huge page to page part of it out, the kernel maps its
	 * zero parts to the shared zero page: no memory, no swap either. */
	saved = u.swap + pagemap_zero_pages(&g->pagemap) * PONE_PAGE_SIZE;
	if (pone) {
		/* The module's frames, not the process's page tables. */
		u.rss = info->region.frames * PONE_PAGE_SIZE;
		u.swap = 0;
		saved = info->region.zero * PONE_PAGE_SIZE;
	}
	pone_engine_region_counts(d->engine, g->region, &rc);
	o = json_pack(
		"{s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		" s:I, s:I, s:I, s:I, s:I, s:I}",
		"name", g->name, "pid", (int)g->pid,
		"ram", guest_kind_name(g->ram.kind), "backend", d->backend,
		"ram_bytes", (json_int_t)g->ram.size,
		"resident_bytes", (json_int_t)u.rss,
		"swap_bytes", (json_int_t)u.swap,
		"recycled_pages",
		(json_int_t)__atomic_load_n(&g->recycled_pages, __ATOMIC_RELAXED),
		"duplicate_pages", (json_int_t)rc.duplicate,
		"duplicates_within",
		(json_int_t)__atomic_load_n(&g->dups_within, __ATOMIC_RELAXED),
		"duplicates_across",
		(json_int_t)__atomic_load_n(&g->dups_across, __ATOMIC_RELAXED),
		/* Recycled zero pages hold a swap slot, or are the zero page:
		 * no memory either way. */
		"saved_bytes", (json_int_t)saved,
		"zero_pages", (json_int_t)rc.zero,
		"stable_pages", (json_int_t)rc.stable,
		"huge_pages_whole",
		(json_int_t)__atomic_load_n(&g->huge_whole, __ATOMIC_RELAXED),
		"huge_pages_split",
		(json_int_t)__atomic_load_n(&g->huge_split, __ATOMIC_RELAXED),
		"merged_pages",
		(json_int_t)__atomic_load_n(&g->merged_pages, __ATOMIC_RELAXED),
		"attached_at", (json_int_t)g->attached_at);
	if (o && pone) {
		json_object_set_new(pone, "merge_changed", json_integer(
			(json_int_t)__atomic_load_n(&g->merge_changed,
						    __ATOMIC_RELAXED)));
		json_object_set_new(pone, "merge_busy", json_integer(
			(json_int_t)__atomic_load_n(&g->merge_busy,
						    __ATOMIC_RELAXED)));
		json_object_set_new(o, "pone", pone);
	}
	else
		json_decref(pone);
	return o;
}

json_t *guest_json(struct daemon *d, struct guest *g)
{
	struct pone_info info;

	return guest_json_info(d, g, &info);
}

static json_int_t field(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

struct guests_walk {
	struct daemon *d;
	json_t *list;
	struct totals t;
};

static void add_guest(void *ctx, struct guest *g)
{
	struct guests_walk *w = ctx;
	struct pone_info info;
	json_t *o = guest_json_info(w->d, g, &info);

	if (!o)
		return;
	w->t.ram += field(o, "ram_bytes");
	w->t.resident += field(o, "resident_bytes");
	w->t.recycled += field(o, "recycled_pages");
	w->t.duplicate += field(o, "duplicate_pages");
	w->t.within += field(o, "duplicates_within");
	w->t.across += field(o, "duplicates_across");
	w->t.saved += field(o, "saved_bytes");
	w->t.merged += field(o, "merged_pages");
	if (json_object_get(o, "pone")) {
		w->t.pone_mapped += (json_int_t)info.region.frames;
		w->t.pone_frames = (json_int_t)info.total.frames;
	}
	json_array_append_new(w->list, o);
}

/* err: what swap_space() returned for s. */
static const char *problem_of(int err, const struct swap_space *s)
{
	if (err)
		return "cannot read /proc/meminfo";
	if (!s->total)
		return "no swap configured: zero pages can be recycled only "
		       "from anonymous huge pages, none from memfd guests (add "
		       "a swap file: see README, 'Swap')";
	if (s->free < s->total / 100)
		return "swap is full: zero pages cannot be recycled until "
		       "slots are free (add swap)";
	return NULL;
}

const char *swap_problem(void)
{
	struct swap_space s;
	int err = swap_space(&s);

	return problem_of(err, &s);
}

const char *swap_note(void)
{
	struct swap_space s;

	if (swap_space(&s) || !s.total || s.in_files < s.total)
		return NULL;
	return "swap is in files only: the kernel splits a zero huge page "
	       "before it pages it out to a file, which costs 2.6 times the "
	       "CPU a page but holds no swap slot; a partition or a loop "
	       "device over the file would take it whole, holding 512 slots "
	       "(see README, 'Swap')";
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static json_t *last_pass_json(const struct periods_figures *f)
{
	const struct pone_pass_stats *s = &f->last;

	if (!f->passes)
		return json_null();
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
			 "kind", f->last_merge ? "merge" : "reclaim",
			 "ended_at", (json_int_t)f->last_end,
			 "scanned", (json_int_t)s->scanned,
			 "absent", (json_int_t)s->absent,
			 "unwritten", (json_int_t)s->unwritten,
			 "unreadable", (json_int_t)s->unreadable,
			 "zero", (json_int_t)s->zero,
			 "zero_stable", (json_int_t)s->zero_stable,
			 "changed", (json_int_t)s->changed,
			 "dup_pages", (json_int_t)s->dup_pages,
			 "wall_s", s->wall_ns / 1e9, "cpu_s", s->cpu_ns / 1e9);
}

json_t *status_json(struct daemon *d)
{
	struct guests_walk w = { d, json_array(), { 0 } };
	struct pone_engine_memory mem;
	struct periods_figures f;
	struct swap_space sw = { 0 };
	const char *problem = problem_of(swap_space(&sw), &sw);

	guests_each(&d->guests, add_guest, &w);
	periods_figures(&d->periods, &f);
	pone_engine_memory(d->engine, &mem);
	return json_pack(
		"{s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:s, s:s, s:I, s:f, s:I, s:I,"
		" s:o,"
		" s:{s:I, s:I, s:I, s:s?}, s:I, s:o,"
		" s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		"version", PONE_VERSION, "backend", d->backend,
		"threads", (int)pone_engine_threads(d->engine),
		"reclaim_period", (int)d->cfg.reclaim_period,
		"merge_period", (int)d->cfg.merge_period,
		"stable_periods", (int)d->cfg.stable_periods,
		"cpu_limit", d->cfg.cpu_limit,
		"thp_split", thp_split_name(d->cfg.thp_split),
		"write_tracking", d->write_tracking,
		"uptime_s", (json_int_t)(time(NULL) - (time_t)d->started),
		"cpu_s", cpu_seconds(),
		"passes", (json_int_t)f.passes,
		"merge_passes", (json_int_t)f.merge_passes,
		"last_pass", last_pass_json(&f),
		"swap", "total_bytes", (json_int_t)sw.total,
		"free_bytes", (json_int_t)sw.free,
		"file_bytes", (json_int_t)sw.in_files, "problem", problem,
		"engine_bytes", (json_int_t)(mem.page_bytes + mem.fixed_bytes),
		"guests", w.list,
		"totals", "guests", (json_int_t)json_array_size(w.list),
		"ram_bytes", w.t.ram, "resident_bytes", w.t.resident,
		"recycled_pages", w.t.recycled,
		"duplicate_pages", w.t.duplicate,
		"duplicates_within", w.t.within,
		"duplicates_across", w.t.across,
		"saved_bytes", w.t.saved,
		"merged_pages", w.t.merged,
		/* Frames the regions would hold unmerged, less those they do. */
		"pone_frames_saved", w.t.pone_mapped - w.t.pone_frames);
}
