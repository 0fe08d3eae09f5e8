// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/swap.h>
#include <unistd.h>

#include "swapfile.h"

static char swap_path[256];	/* the file */
static char swap_dev[256];	/* what swaps: a loop device over it, or it */

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

/* A free loop device over path, its name in dev; -1 if there is none. */
static int loop_attach(const char *path, char *dev, size_t len)
{
	char cmd[300];
	FILE *p;
	bool ok;

	snprintf(cmd, sizeof(cmd), "losetup --find --show %s 2>/dev/null",
		 path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	ok = fgets(dev, (int)len, p) && dev[0] == '/';
	if (pclose(p))
		ok = false;
	dev[strcspn(dev, "\n")] = 0;
	return ok ? 0 : -1;
}

bool swap_on_loop(void)
{
	return swap_path[0] && strcmp(swap_dev, swap_path);
}

static void loop_detach(void)
{
	char cmd[300];

	if (swap_on_loop()) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", swap_dev);
		if (system(cmd))
			fprintf(stderr, "cannot detach %s\n", swap_dev);
	}
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
		 "chmod 600 %s", path, mib + 1, path, path);
	if (system(cmd)) {
		snprintf(why, len, "cannot make a swap file at %s", path);
		return -1;
	}
	snprintf(swap_path, sizeof(swap_path), "%s", path);
	if (loop_attach(path, swap_dev, sizeof(swap_dev)))
		snprintf(swap_dev, sizeof(swap_dev), "%s", path);
	snprintf(cmd, sizeof(cmd), "mkswap %s >/dev/null", swap_dev);
	/* Preferred to any other swap: the pages paged out must stay in ours,
	 * as other runs on a shared machine remove their swap files, and
	 * what was in them comes back in. */
	if (system(cmd) ||
	    swapon(swap_dev, SWAP_FLAG_PREFER | (SWAP_FLAG_PRIO_MASK &
						 (32767 << SWAP_FLAG_PRIO_SHIFT)))) {
		snprintf(why, len, "cannot swap on %s: %s", swap_dev,
			 strerror(errno));
		loop_detach();
		unlink(path);
		swap_path[0] = 0;
		return -1;
	}
	return 0;
}

int swap_ensure(const char *path, unsigned int mib, char *why, size_t len)
{
	if (swap_free_kib() >= (unsigned long long)mib << 10)
		return 0;
	return swap_add(path, mib, why, len);
}

const char *swap_device(void)
{
	return swap_path[0] ? swap_dev : NULL;
}

void swap_release(void)
{
	if (!swap_path[0])
		return;
	swapoff(swap_dev);
	loop_detach();
	unlink(swap_path);
	swap_path[0] = 0;
}
