// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/swap.h>
#include <unistd.h>

#include "swapfile.h"

static char swap_path[256];

static unsigned long long swap_free_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kib = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SwapFree: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

int swap_add(const char *path, unsigned int mib, char *why, size_t len)
{
	char cmd[1100];

	if (geteuid()) {
		snprintf(why, len, "not root, to make a swap file of %u MiB",
			 mib);
		return -1;
	}
	/* A MiB more: mkswap keeps a header page out of the room asked for. */
	snprintf(cmd, sizeof(cmd), "rm -f %s && fallocate -l %uM %s && "
		 "chmod 600 %s && mkswap %s >/dev/null", path, mib + 1, path,
		 path, path);
	/* Preferred to any other swap: the pages paged out must stay in ours,
	 * as other runs on a shared machine remove their swap files, and
	 * what was in them comes back in. */
	if (system(cmd) ||
	    swapon(path, SWAP_FLAG_PREFER | (SWAP_FLAG_PRIO_MASK &
					     (32767 << SWAP_FLAG_PRIO_SHIFT)))) {
		snprintf(why, len, "cannot make a swap file at %s: %s", path,
			 strerror(errno));
		unlink(path);
		return -1;
	}
	snprintf(swap_path, sizeof(swap_path), "%s", path);
	return 0;
}

int swap_ensure(const char *path, unsigned int mib, char *why, size_t len)
{
	if (swap_free_kib() >= (unsigned long long)mib << 10)
		return 0;
	return swap_add(path, mib, why, len);
}

void swap_release(void)
{
	if (!swap_path[0])
		return;
	swapoff(swap_path);
	unlink(swap_path);
	swap_path[0] = 0;
}
