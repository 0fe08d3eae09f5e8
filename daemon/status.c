// SPDX-License-Identifier: GPL-2.0-only
#include <sys/resource.h>
#include <time.h>

#include "pageout.h"
#include "status.h"

struct totals {
	json_int_t ram, resident, recycled, duplicate, within, across, saved;
	json_int_t merged;
	/* Frames the guests' RAM points at, counting shares, and the frames
	 * the kernel helper holds for them all. */
	json_int_t frames_mapped, frames_held;
};

static json_int_t counter(uint64_t *c)
{
	return (json_int_t)__atomic_load_n(c, __ATOMIC_RELAXED);
}

/* u: what the guest's kind says of its memory. */
static json_t *guest_json_usage(struct poned *d, struct guest *g,
				struct guest_usage *u)
{
	struct pone_region_counts rc;
	json_t *o;

	g->ops->usage(g, u);
	pone_engine_region_counts(d->engine, g->region, &rc);
	o = json_pack(
		"{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		" s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"name", g->name, "pid", (int)g->pid,
		"sharing", guest_sharing(g),
		"ram", g->ops->name, "backend", d->backend,
		"ram_bytes", (json_int_t)g->ram.size,
		"resident_bytes", (json_int_t)u->resident,
		"swap_bytes", (json_int_t)u->swap,
		"recycled_pages", counter(&g->recycled_pages),
		"duplicate_pages", (json_int_t)rc.duplicate,
		"duplicates_within", counter(&g->dups_within),
		"duplicates_across", counter(&g->dups_across),
		/* Recycled zero pages hold a swap slot, or are the zero page:
		 * no memory either way. */
		"saved_bytes", (json_int_t)u->saved,
		"zero_pages", (json_int_t)rc.zero,
		"stable_pages", (json_int_t)rc.stable,
		"huge_pages_whole", counter(&g->huge_whole),
		"huge_pages_split", counter(&g->huge_split),
		"merged_pages", counter(&g->merged_pages),
		"attached_at", (json_int_t)g->attached_at);
	if (o && g->uuid[0])
		json_object_set_new(o, "libvirt_uuid", json_string(g->uuid));
	if (o && u->detail)
		json_object_update(o, u->detail);
	json_decref(u->detail);
	return o;
}

json_t *guest_json(struct poned *d, struct guest *g)
{
	struct guest_usage u;

	return guest_json_usage(d, g, &u);
}

static json_int_t field(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

struct guests_walk {
	struct poned *d;
	json_t *list;
	struct totals t;
};

static void add_guest(void *ctx, struct guest *g)
{
	struct guests_walk *w = ctx;
	struct guest_usage u;
	json_t *o = guest_json_usage(w->d, g, &u);

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
	w->t.frames_mapped += (json_int_t)u.frames_mapped;
	if (u.frames_held)
		w->t.frames_held = (json_int_t)u.frames_held;
	json_array_append_new(w->list, o);
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

static json_t *ksm_json(struct ksm *k)
{
	struct ksm_figures f;

	ksm_figures(k, &f);
	return json_pack("{s:b, s:s?, s:b, s:I, s:I, s:f, s:f}",
			 "steered", f.steering,
			 "not_steered_because", f.steering ? NULL : f.why_not,
			 "ksmd_running", f.running,
			 "starts", (json_int_t)f.starts,
			 "pages_to_scan", (json_int_t)f.pages_to_scan,
			 "ksmd_cpu_share", f.ksmd_share,
			 "ksmd_cpu_s", f.ksmd_cpu_s);
}

/* The workers bound to each node, and how many of the pages they took
 * were on it, over every pass: none on a host of one node. */
static json_t *node_workers_json(const struct poned *d)
{
	json_t *a = json_array();
	struct pone_node_workers nw;
	int node;

	for (node = 0; a && node < PONE_NODES; node++)
		if (!pone_engine_node_workers(d->engine, node, &nw))
			json_array_append_new(a, json_pack("{s:i, s:i, s:I, s:I}",
				"node", node, "workers", (int)nw.workers,
				"pages", (json_int_t)nw.pages,
				"local", (json_int_t)nw.local));
	return a;
}

/* Where pages merge: KSM's knob is its own, poned leaves it alone. */
static json_t *numa_json(const struct poned *d)
{
	return json_pack("{s:i, s:b, s:b, s:o}", "nodes", (int)d->nodes,
			 "merge_across_nodes", d->cfg.merge_across_nodes,
			 "nodes_apart", d->guests.cfg.nodes_apart,
			 "workers", node_workers_json(d));
}

/* mode = pressure's verdict on the host's memory, and the budget it
 * gives. */
static json_t *pressure_json(struct poned *d, const struct periods_figures *f)
{
	const struct pressure *s = &f->pressure;
	bool judged = d->cfg.mode == PRESSURE_ON_SHORT && s->judged;

	return json_pack("{s:s, s:o, s:s, s:o, s:o, s:f, s:I}",
			 "mode", pressure_mode_name(d->cfg.mode),
			 "short", judged ? json_boolean(s->shortage) :
					   json_null(),
			 "why", s->why,
			 "mem_available_bytes", judged ?
			 json_integer((json_int_t)s->last.available) :
			 json_null(),
			 "stall_some_avg10", judged && s->last.psi ?
			 json_real(s->last.stall) : json_null(),
			 "budget_cpu", f->budget,
			 "switches", (json_int_t)s->switches);
}

json_t *status_json(struct poned *d)
{
	struct guests_walk w = { d, json_array(), { 0 } };
	struct pone_engine_memory mem;
	struct periods_figures f;
	struct swap_space sw = { 0 };
	const char *problem = swap_problem(swap_space(&sw), &sw);

	guests_each(&d->guests, add_guest, &w);
	periods_figures(&d->periods, &f);
	pone_engine_memory(d->engine, &mem);
	return json_pack(
		"{s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:s, s:s, s:I, s:f, s:I, s:I,"
		" s:o, s:o, s:o,"
		" s:{s:I, s:I, s:I, s:s?}, s:I, s:o, s:o, s:o,"
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
		"pressure", pressure_json(d, &f),
		"numa", numa_json(d),
		"swap", "total_bytes", (json_int_t)sw.total,
		"free_bytes", (json_int_t)sw.free,
		"file_bytes", (json_int_t)sw.in_files, "problem", problem,
		"engine_bytes", (json_int_t)(mem.page_bytes + mem.fixed_bytes),
		"ksm", ksm_json(&d->ksm),
		"libvirt", virt_json(d->virt),
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
		"pone_frames_saved", w.t.frames_mapped - w.t.frames_held);
}
