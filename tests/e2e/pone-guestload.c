// SPDX-License-Identifier: GPL-2.0-only
/*
 * The workload inside the QEMU guest of the end-to-end test and the demo
 * (static, run by guest-init.sh on the serial console): it takes most of
 * the guest's free memory, fills it with seeded data, checksums the part it
 * keeps, and frees the rest, which a kernel booted with init_on_free=1
 * zeroes: the freed pages poned should recycle.
 *
 * "pone-guestload dedup SAME ZERO UNIQUE SEED" lays out instead what a
 * host of like guests holds: SAME MiB that every guest started so has
 * alike, ZERO MiB of zeroes and UNIQUE MiB its own SEED makes, and keeps
 * all of it: the duplicates KSM should merge.
 *
 * Then it answers commands on stdin, one a line:
 *   verify   re-reads every kept page: "guestload: verify SUM BAD-PAGES"
 *   rewrite MIB  (dedup) writes the first MIB of its unique part anew,
 *            each new page twice: "guestload: rewrote MIB"
 *   quit
 * Its lines start with "guestload: " so the host can tell them from the
 * kernel's messages on the same console.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "../rand.h"

#define PAGE 4096
#define SEED 0x9a6e0e
#define FILL_PERCENT 85		/* of MemAvailable */
#define KEEP_PERCENT 25		/* of what it filled */

static uint64_t mem_available(void)
{
	char line[128];
	uint64_t kib = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %" SCNu64, &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib << 10;
}

/*
 * What page i holds. The pages [0, same) are alike in every guest, then
 * come zero pages up to zero_end, then the guest's own up to pages; the
 * first rewritten of those hold generation rewrites, each content twice.
 * Page i's content depends on i, so a page that moved is caught too.
 */
struct layout {
	uint64_t same, zero_end, pages, seed, rewritten, rewrites;
};

static void expected(const struct layout *l, uint64_t i, uint8_t *page)
{
	uint64_t own = i - l->zero_end;

	if (i < l->same)
		fill_seeded(page, PAGE, mix64(SEED ^ i));
	else if (i < l->zero_end)
		memset(page, 0, PAGE);
	else if (own < l->rewritten)
		fill_seeded(page, PAGE, mix64(l->seed ^ (l->rewrites << 40) ^
					      (own / 2)));
	else
		fill_seeded(page, PAGE, mix64(l->seed ^ i));
}

/* A checksum of pages [0, n), and how many differ from what was written. */
static uint64_t check(const struct layout *l, const uint8_t *ram, uint64_t n,
		      uint64_t *bad)
{
	static uint8_t expect[PAGE];
	uint64_t sum = 0xcbf29ce484222325ull, i;
	size_t w;

	*bad = 0;
	for (i = 0; i < n; i++) {
		const uint8_t *page = ram + i * PAGE;

		for (w = 0; w < PAGE; w += 8) {
			uint64_t v;

			memcpy(&v, page + w, 8);
			sum = (sum ^ v) * 0x100000001b3ull;
		}
		expected(l, i, expect);
		*bad += memcmp(page, expect, PAGE) != 0;
	}
	return sum;
}

static void fill(const struct layout *l, uint8_t *ram, uint64_t from,
		 uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		expected(l, i, ram + i * PAGE);
}

/* The default workload: most of free memory filled, a quarter kept. */
static uint64_t fill_and_free(struct layout *l)
{
	l->pages = mem_available() / 100 * FILL_PERCENT / PAGE;
	l->same = l->zero_end = l->pages;
	return l->pages * KEEP_PERCENT / 100;
}

/* "dedup SAME ZERO UNIQUE SEED", sizes in MiB. */
static int dedup_layout(int argc, char **argv, struct layout *l)
{
	if (argc != 6 || strcmp(argv[1], "dedup"))
		return -1;
	l->same = strtoull(argv[2], NULL, 10) << 8;
	l->zero_end = l->same + (strtoull(argv[3], NULL, 10) << 8);
	l->pages = l->zero_end + (strtoull(argv[4], NULL, 10) << 8);
	l->seed = mix64(strtoull(argv[5], NULL, 10));
	return l->pages ? 0 : -1;
}

static void commands(struct layout *l, uint8_t *ram, uint64_t kept)
{
	uint64_t sum, bad, mib;
	char cmd[64];

	while (fgets(cmd, sizeof(cmd), stdin)) {
		if (!strncmp(cmd, "verify", 6)) {
			sum = check(l, ram, kept, &bad);
			printf("guestload: verify %016" PRIx64 " %" PRIu64 "\n",
			       sum, bad);
		} else if (sscanf(cmd, "rewrite %" SCNu64, &mib) == 1 &&
			   (mib << 8) <= l->pages - l->zero_end) {
			l->rewritten = mib << 8;
			l->rewrites++;
			fill(l, ram, l->zero_end, l->zero_end + l->rewritten);
			printf("guestload: rewrote %" PRIu64 "\n", mib);
		} else if (!strncmp(cmd, "quit", 4)) {
			break;
		}
	}
}

int main(int argc, char **argv)
{
	struct layout l = { 0 };
	uint64_t kept, sum, bad;
	struct termios t;
	uint8_t *ram;

	if (argc > 1 && dedup_layout(argc, argv, &l)) {
		printf("guestload: usage: pone-guestload [dedup SAME-MIB "
		       "ZERO-MIB UNIQUE-MIB SEED]\n");
		return 2;
	}
	kept = argc > 1 ? l.pages : fill_and_free(&l);
	/* Commands arrive on the console: echoed, they would mix with the
	 * replies. */
	if (!tcgetattr(0, &t)) {
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &t);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ram = mmap(NULL, l.pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) {
		printf("guestload: cannot map %" PRIu64 " pages\n", l.pages);
		return 1;
	}
	fill(&l, ram, 0, l.pages);
	sum = check(&l, ram, kept, &bad);
	printf("guestload: filled %" PRIu64 " MiB, keeps %" PRIu64
	       " MiB: sum %016" PRIx64 "\n", l.pages >> 8, kept >> 8, sum);
	munmap(ram + kept * PAGE, (l.pages - kept) * PAGE);
	printf("guestload: freed %" PRIu64 " MiB\n", (l.pages - kept) >> 8);
	commands(&l, ram, kept);
	return 0;
}
