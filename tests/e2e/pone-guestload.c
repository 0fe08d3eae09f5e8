// SPDX-License-Identifier: GPL-2.0-only
/*
 * The workload inside the QEMU guest of the end-to-end test and the demo
 * (static, run by guest-init.sh on the serial console): it takes most of
 * the guest's free memory, fills it with seeded data, checksums the part it
 * keeps, and frees the rest, which a kernel booted with init_on_free=1
 * zeroes: the freed pages poned should recycle. Then it answers commands
 * on stdin, one a line:
 *   verify   re-reads every kept page: "guestload: verify SUM BAD-PAGES"
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

/* Page i's content depends on i, so a page that moved is caught too. */
static void fill_page(uint8_t *page, uint64_t i)
{
	fill_seeded(page, PAGE, mix64(SEED ^ i));
}

/* A checksum of pages [0, n), and how many differ from what was written. */
static uint64_t check(const uint8_t *ram, uint64_t n, uint64_t *bad)
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
		fill_page(expect, i);
		*bad += memcmp(page, expect, PAGE) != 0;
	}
	return sum;
}

int main(void)
{
	uint64_t pages = mem_available() / 100 * FILL_PERCENT / PAGE;
	uint64_t kept = pages * KEEP_PERCENT / 100, i, sum, bad;
	struct termios t;
	char cmd[64];
	uint8_t *ram;

	/* Commands arrive on the console: echoed, they would mix with the
	 * replies. */
	if (!tcgetattr(0, &t)) {
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &t);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ram = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) {
		printf("guestload: cannot map %" PRIu64 " pages\n", pages);
		return 1;
	}
	for (i = 0; i < pages; i++)
		fill_page(ram + i * PAGE, i);
	sum = check(ram, kept, &bad);
	printf("guestload: filled %" PRIu64 " MiB, keeps %" PRIu64
	       " MiB: sum %016" PRIx64 "\n", pages >> 8, kept >> 8, sum);
	munmap(ram + kept * PAGE, (pages - kept) * PAGE);
	printf("guestload: freed %" PRIu64 " MiB\n", (pages - kept) >> 8);
	while (fgets(cmd, sizeof(cmd), stdin)) {
		if (!strncmp(cmd, "verify", 6)) {
			sum = check(ram, kept, &bad);
			printf("guestload: verify %016" PRIx64 " %" PRIu64 "\n",
			       sum, bad);
		} else if (!strncmp(cmd, "quit", 4)) {
			break;
		}
	}
	return 0;
}
