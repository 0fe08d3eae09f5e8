// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <numa.h>

#include "placement.h"

static int node_slot(struct placement *pl, int node)
{
	unsigned int i;

	for (i = 0; i < pl->nodes; i++)
		if (pl->node[i] == node)
			return (int)i;
	if (pl->nodes == PONE_NODES)
		return -1;
	pl->node[pl->nodes] = node;
	CPU_ZERO(&pl->cpus[pl->nodes]);
	return (int)pl->nodes++;
}

/*
 * The CPUs come from this process's affinity, not the node's whole list:
 * a cpuset or an operator's taskset leaves some out, and a worker bound to
 * none of its CPUs would not run.
 */
int placement_init(struct placement *pl)
{
	cpu_set_t allowed;
	int cpu;

	pl->nodes = 0;
	if (numa_available() < 0 || numa_max_node() < 1)
		return 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int node, slot;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		node = numa_node_of_cpu(cpu);
		slot = node >= 0 && node < PONE_NODES ? node_slot(pl, node) : -1;
		if (slot >= 0)
			CPU_SET(cpu, &pl->cpus[slot]);
	}
	if (pl->nodes < 2)
		pl->nodes = 0;
	return 0;
}
