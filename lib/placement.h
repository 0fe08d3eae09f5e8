/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where workers run on a host of several NUMA nodes: the nodes that have
 * CPUs this process may use, and those CPUs, by libnuma's account of the
 * host. Worker i runs on node node[i % nodes], bound to its CPUs.
 */
#ifndef PONE_PLACEMENT_H
#define PONE_PLACEMENT_H

#include <sched.h>

#include <pone/engine.h>

struct placement {
	unsigned int nodes;	/* 0 or 1: nothing to place */
	int node[PONE_NODES];
	cpu_set_t cpus[PONE_NODES];
};

/* Fills pl; nodes is 0 where libnuma knows no NUMA (one node, or none
 * available to it). Errors are negative errno values. */
int placement_init(struct placement *pl);

#endif
