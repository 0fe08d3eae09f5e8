// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "pageout.h"
#include "procfs.h"

#define IOV_BATCH 512

static long advise(int pidfd, const struct iovec *iov, size_t n)
{
	ssize_t done;

	if (!n)
		return 0;
	done = process_madvise(pidfd, iov, n, MADV_PAGEOUT, 0);
	return done < 0 ? -errno : (long)(done / PONE_PAGE_SIZE);
}

long pageout_pages(int pidfd, uint64_t addr,
		     const struct pone_page_ref *pages, size_t n)
{
	struct iovec iov[IOV_BATCH];
	size_t i, niov = 0;
	long total = 0, k;

	for (i = 0; i < n; i++) {
		uint64_t at = addr + pages[i].index * PONE_PAGE_SIZE;
		struct iovec *last = niov ? &iov[niov - 1] : NULL;

		if (last && (uintptr_t)last->iov_base + last->iov_len == at) {
			last->iov_len += PONE_PAGE_SIZE;
			continue;
		}
		if (niov == IOV_BATCH) {
			k = advise(pidfd, iov, niov);
			if (k < 0)
				return k;
			total += k;
			niov = 0;
		}
		iov[niov++] = (struct iovec){ (void *)(uintptr_t)at,
					      PONE_PAGE_SIZE };
	}
	k = advise(pidfd, iov, niov);
	return k < 0 ? k : total + k;
}

/* /proc/swaps: a header, then "name type size(KiB) used priority". */
static uint64_t swap_in_files(void)
{
	FILE *f = fopen("/proc/swaps", "re");
	char line[512], type[16];
	uint64_t kib, bytes = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %15s %" SCNu64, type, &kib) == 2 &&
		    !strcmp(type, "file"))
			bytes += kib << 10;
	if (f)
		fclose(f);
	return bytes;
}

int swap_space(struct swap_space *s)
{
	static const char *const keys[] = { "SwapTotal", "SwapFree" };
	uint64_t bytes[2];
	int ret = proc_meminfo("/proc/meminfo", 2, keys, bytes);

	if (ret)
		return ret;
	*s = (struct swap_space){ bytes[0], bytes[1], swap_in_files() };
	return 0;
}

const char *swap_problem(int err, const struct swap_space *s)
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

const char *swap_note(const struct swap_space *s)
{
	if (!s->total || s->in_files < s->total)
		return NULL;
	return "swap is in files only: the kernel splits a zero huge page "
	       "before it pages it out to a file, which costs 2.6 times the "
	       "CPU a page but holds no swap slot; a partition or a loop "
	       "device over the file would take it whole, holding 512 slots "
	       "(see README, 'Swap')";
}
