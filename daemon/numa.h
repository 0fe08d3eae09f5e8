/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host's NUMA nodes, and which node holds a guest's pages, for
 * merge_across_nodes = no: pages merge only on their node, as KSM's do.
 */
#ifndef PONED_NUMA_H
#define PONED_NUMA_H

#include <stdint.h>
#include <sys/types.h>

/* Nodes online, from sysfs; 1 where the host does not say. */
unsigned int numa_nodes_online(void);

/*
 * move_pages(2)'s query, no page moved: node[i] is the node of the page
 * of process pid at addr + i pages, -1 where it has none (n <= 512).
 * One call for all n.
 */
int numa_nodes_of(pid_t pid, uint64_t addr, unsigned int n, int16_t *node);

#endif
