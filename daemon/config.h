/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * poned's settings: defaults, the INI file (section [poned], parsed with
 * libinih), and changes at run time. A setting is checked the same way
 * wherever it comes from, and a bad one changes nothing: config_load()
 * and config_set() fill in err ("FILE:LINE: KEY: why") and return -EINVAL.
 */
#ifndef PONED_CONFIG_H
#define PONED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "pressure.h"

enum thp_split { THP_NEVER, THP_IDLE, THP_ALWAYS };

struct config {
	unsigned int threads;		/* scan workers; 0: one per CPU */
	unsigned int reclaim_period;	/* seconds between reclaim passes */
	unsigned int merge_period;	/* seconds between merge passes */
	unsigned int stable_periods;	/* of guests whose writes pone.ko
					 * tracks: 1 or 2 */
	double cpu_limit;		/* cores the daemon may use */
	enum pressure_mode mode;	/* always: cpu_limit at all times */
	struct pressure_limits pressure;	/* short of memory, when */
	double idle_cpu_limit;		/* cores while not short */
	int nice;			/* of the scan workers */
	enum thp_split thp_split;
	enum log_level log_level;
	char socket[108];
	char state_dir[256];
	char dsa[32];			/* off, auto, a device or a queue */
	bool write_tracking;		/* auto: soft-dirty, where the kernel
					 * has it; off: read every page */
	bool ksm_steer;			/* steer KSM for anonymous guests */
	bool own_domains;		/* sharing = guest (guests.h) */
	bool merge_across_nodes;	/* no: pages merge on their node */
	char metrics_file[256];		/* "": none (metrics.h) */
	char libvirt[256];		/* auto, off or a URI (virt.h) */
};

void config_defaults(struct config *c);
int config_load(const char *path, struct config *c, char *err, size_t len);
/* The same, of a file's text, size bytes, that errors call path. */
int config_parse(const char *text, size_t size, const char *path,
		 struct config *c, char *err, size_t len);

/* n settings, as `pone-ctl set KEY=VALUE...` gives them; only keys that
 * can change at run time (config_runtime_key()). The set is judged as a
 * whole, by the settings it would make, as a file is: c changes only if
 * all of it is sound. */
int config_set(struct config *c, size_t n, const char *const keys[],
	       const char *const values[], char *err, size_t len);
bool config_runtime_key(const char *key);

const char *thp_split_name(enum thp_split t);

#endif
