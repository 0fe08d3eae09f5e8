// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pone/page.h>

#include "numa.h"

#define NODES_ONLINE "/sys/devices/system/node/online"
#define QUERY_MAX 512

/* A list of ranges, "0-1,4": how many ids. */
static unsigned int count_list(const char *s)
{
	unsigned int n = 0;
	char *end;

	while (*s) {
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end == s)
			return 0;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (hi < lo)
			return 0;
		n += (unsigned int)(hi - lo + 1);
		s = *end == ',' ? end + 1 : end;
		if (*s == '\n')
			break;
	}
	return n;
}

unsigned int numa_nodes_online(void)
{
	char buf[256];
	unsigned int n = 0;
	FILE *f = fopen(NODES_ONLINE, "re");

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			n = count_list(buf);
		fclose(f);
	}
	return n ? n : 1;
}

int numa_nodes_of(pid_t pid, uint64_t addr, unsigned int n, int16_t *node)
{
	void *pages[QUERY_MAX];
	int status[QUERY_MAX];
	unsigned int i;

	if (n > QUERY_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		pages[i] = (void *)(uintptr_t)(addr + (uint64_t)i *
					       PONE_PAGE_SIZE);
	/* nodes NULL: where they are, none moved. */
	if (syscall(SYS_move_pages, pid, (unsigned long)n, pages, NULL,
		    status, 0))
		return -errno;
	for (i = 0; i < n; i++)
		node[i] = status[i] >= 0 ? (int16_t)status[i] : -1;
	return 0;
}
