// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stand-in for a QEMU guest, for the end-to-end tests: guest RAM the way
 * QEMU holds it (anonymous, a memfd named memory-backend-memfd mapped
 * shared, or a /dev/pone region) and sized by "-m", with content it keeps a
 * record of, so it can say afterwards whether every page still holds what
 * was last written.
 *
 *   pone-testguest -m SIZE [--memfd | --pone | --ksm] [--zero PERCENT]
 *                  [--dup PERCENT] [--dup-contents N] [--seed N]
 *                  [--node N]
 *
 * --dup: that share of the pages hold one of DUP_CONTENTS contents, the
 * same in every process (or one of the first N, with --dup-contents); the
 * other non-zero pages are unique, also across processes with different
 * seeds.
 * --ksm: anonymous RAM that the kernel's KSM may merge (MADV_MERGEABLE).
 * --node: its pages on that NUMA node (MPOL_BIND), /dev/pone's frames too.
 *
 * Commands on stdin, one a line, each answered on stdout:
 *   free PERCENT   zero that share of the pages still holding data
 *                  (a guest freeing memory with init_on_free)
 *   free-range FROM PERCENT
 *                  zero that share of the RAM in one piece, from FROM %
 *   write PERMILLE start a writer rewriting that share of pages, zero
 *                  pages too, over and over, racing with the recycling
 *   churn PERMILLE start a writer rewriting that share of all pages each
 *                  second, at random, paced every 10 ms: half with new
 *                  unique content, half with a shared content (one every
 *                  process holds), as a guest's steady state
 *   stop           stop the writer
 *   verify         check every page: "ok PAGES" or "bad PAGE"
 *   distinct       "distinct N ZERO SHARED": how many different non-zero
 *                  contents, zero pages, and contents of the shared ones
 *   quit
 * It says "ready PAGES ADDR" once its memory is filled.
 */
#include <errno.h>
#include <linux/mempolicy.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../rand.h"

#define PAGE 4096
#define DUP_CONTENTS 64		/* versions 1..64; the rest are unique */

struct guest {
	uint8_t *ram;
	uint64_t pages;
	uint64_t *version;	/* per page: 0 zero, else the stamp written */
	uint64_t seed;
	uint64_t next_stamp;
	pthread_mutex_t lock;	/* pages being written by the writer */
	pthread_t writer;
	bool writing, stop;
	unsigned int permille;
	unsigned int dup_contents;	/* --dup pages hold 1 .. this */
	uint64_t churned;	/* pages the churn writer rewrote */
};

/* The content of a version: equal versions, equal pages. */
static void stamp(uint8_t *page, uint64_t version)
{
	fill_seeded(page, PAGE, mix64(version));
}

static bool holds(const uint8_t *page, uint64_t version)
{
	uint64_t expect[PAGE / 8];
	size_t i;

	if (!version) {
		for (i = 0; i < PAGE; i++)
			if (page[i])
				return false;
		return true;
	}
	stamp((uint8_t *)expect, version);
	return !memcmp(page, expect, PAGE);
}

static void set_page(struct guest *g, uint64_t i, uint64_t version)
{
	if (version)
		stamp(g->ram + i * PAGE, version);
	else
		memset(g->ram + i * PAGE, 0, PAGE);
	__atomic_store_n(&g->version[i], version, __ATOMIC_RELEASE);
}

static void *writer_main(void *arg)
{
	struct guest *g = arg;
	uint64_t s = g->seed ^ 0xabcdef;

	while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		uint64_t i = splitmix64(&s) % g->pages;

		/* Only the chosen share of pages: the same ones each time. */
		if (mix64(i ^ g->seed) % 1000 >= g->permille)
			continue;
		pthread_mutex_lock(&g->lock);
		/* Every other write to a page leaves it zero: a page found
		 * zero may be written just before it is recycled. */
		set_page(g, i, g->version[i] ? 0 : ++g->next_stamp);
		pthread_mutex_unlock(&g->lock);
	}
	return NULL;
}

static void *churn_main(void *arg)
{
	struct guest *g = arg;
	uint64_t s = g->seed ^ 0xc4c4c4, owed = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		/* permille of the pages a second, in thousandths of a page
		 * every 10 ms, so that small guests churn too. */
		owed += g->pages * g->permille / 100;
		pthread_mutex_lock(&g->lock);
		for (; owed >= 1000; owed -= 1000) {
			uint64_t i = splitmix64(&s) % g->pages;
			uint64_t r = splitmix64(&s);

			set_page(g, i, r & 1 ? ++g->next_stamp :
				 1 + (r >> 1) % DUP_CONTENTS);
			g->churned++;
		}
		pthread_mutex_unlock(&g->lock);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static uint8_t *map_ram(uint64_t bytes, bool memfd, bool pone, bool ksm)
{
	void *p;
	int fd;

	if (pone) {
		/* The region takes its size from this first mapping. */
		fd = open("/dev/pone", O_RDWR | O_CLOEXEC);
		p = fd < 0 ? MAP_FAILED : mmap(NULL, bytes,
					       PROT_READ | PROT_WRITE,
					       MAP_SHARED, fd, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (!memfd) {
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		/* As QEMU asks for its RAM (with -machine mem-merge=on for
		 * KSM); huge pages also keep the mapping from merging with
		 * its neighbours, but KSM would have to split them first. */
		if (madvise(p, bytes, ksm ? MADV_MERGEABLE : MADV_HUGEPAGE) &&
		    ksm)
			return NULL;
		return p;
	}
	fd = memfd_create("memory-backend-memfd", 0);
	if (fd < 0 || ftruncate(fd, (off_t)bytes))
		return NULL;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* The fd stays open, as QEMU keeps it: the daemon takes a copy. */
	return p == MAP_FAILED ? NULL : p;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t n = strtoull(s, &end, 10);

	switch (*end) {
	case 'G': return n << 30;
	case 'K': return n << 10;
	case 'M': case 0: return n << 20;
	}
	return 0;
}

static void fill(struct guest *g, unsigned int zero, unsigned int dup)
{
	uint64_t i;

	/* The seed in the high bits: unique pages of two processes differ. */
	g->next_stamp = DUP_CONTENTS + (g->seed << 32);
	for (i = 0; i < g->pages; i++) {
		uint64_t r = mix64(i ^ g->seed);

		if (r % 100 < zero)
			set_page(g, i, 0);
		else if (r % 100 < zero + dup)
			set_page(g, i, 1 + (r >> 32) % g->dup_contents);
		else
			set_page(g, i, ++g->next_stamp);
	}
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void distinct(struct guest *g)
{
	uint64_t *v = malloc(g->pages * sizeof(*v)), i, n = 0, zero = 0;
	uint64_t shared = 0;

	pthread_mutex_lock(&g->lock);
	memcpy(v, g->version, g->pages * sizeof(*v));
	pthread_mutex_unlock(&g->lock);
	qsort(v, g->pages, sizeof(*v), by_value);
	for (i = 0; i < g->pages; i++) {
		bool first = v[i] && (i == 0 || v[i] != v[i - 1]);

		n += first;
		shared += first && v[i] <= DUP_CONTENTS;
		zero += !v[i];
	}
	free(v);
	printf("distinct %llu %llu %llu\n", (unsigned long long)n,
	       (unsigned long long)zero, (unsigned long long)shared);
}

static void free_some(struct guest *g, unsigned int percent)
{
	uint64_t i, s;

	pthread_mutex_lock(&g->lock);
	s = g->seed ^ g->next_stamp;
	for (i = 0; i < g->pages; i++)
		if (g->version[i] && splitmix64(&s) % 100 < percent)
			set_page(g, i, 0);
	pthread_mutex_unlock(&g->lock);
}

static void free_range(struct guest *g, unsigned int from, unsigned int pct)
{
	uint64_t i, first = g->pages * from / 100;
	uint64_t end = first + g->pages * pct / 100;

	pthread_mutex_lock(&g->lock);
	for (i = first; i < end && i < g->pages; i++)
		set_page(g, i, 0);
	pthread_mutex_unlock(&g->lock);
}

static void verify(struct guest *g)
{
	uint64_t i;

	pthread_mutex_lock(&g->lock);
	for (i = 0; i < g->pages; i++) {
		if (!holds(g->ram + i * PAGE, g->version[i])) {
			pthread_mutex_unlock(&g->lock);
			printf("bad %llu\n", (unsigned long long)i);
			return;
		}
	}
	pthread_mutex_unlock(&g->lock);
	printf("ok %llu\n", (unsigned long long)g->pages);
}

static void stop_writer(struct guest *g)
{
	if (!g->writing)
		return;
	__atomic_store_n(&g->stop, true, __ATOMIC_RELEASE);
	pthread_join(g->writer, NULL);
	g->writing = false;
	g->stop = false;
}

static void serve(struct guest *g)
{
	char line[128];
	unsigned int n, from;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "free-range %u %u", &from, &n) == 2) {
			free_range(g, from, n);
			printf("freed\n");
		} else if (sscanf(line, "free %u", &n) == 1) {
			free_some(g, n);
			printf("freed\n");
		} else if (sscanf(line, "write %u", &n) == 1 && !g->writing) {
			g->permille = n;
			g->writing = !pthread_create(&g->writer, NULL,
						     writer_main, g);
			printf("writing\n");
		} else if (sscanf(line, "churn %u", &n) == 1 && !g->writing) {
			g->permille = n;
			g->writing = !pthread_create(&g->writer, NULL,
						     churn_main, g);
			printf("churning\n");
		} else if (!strcmp(line, "stop\n")) {
			stop_writer(g);
			printf("stopped %llu\n", (unsigned long long)g->churned);
		} else if (!strcmp(line, "verify\n")) {
			verify(g);
		} else if (!strcmp(line, "distinct\n")) {
			distinct(g);
		} else if (!strcmp(line, "quit\n")) {
			break;
		} else {
			printf("what?\n");
		}
		fflush(stdout);
	}
	stop_writer(g);
}

/* Every page it faults in from now on, on node. */
static int bind_to(int node)
{
	unsigned long mask;

	if (node < 0 || node >= 64)
		return -1;
	mask = 1ul << node;
	return (int)syscall(SYS_set_mempolicy, MPOL_BIND, &mask, 64 + 1);
}

int main(int argc, char **argv)
{
	struct guest g = { .seed = 1, .lock = PTHREAD_MUTEX_INITIALIZER,
			   .dup_contents = DUP_CONTENTS };
	unsigned int zero = 25, dup = 0;
	uint64_t bytes = 0;
	bool memfd = false, pone = false, ksm = false;
	int i, node = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-m") && i + 1 < argc)
			bytes = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--memfd"))
			memfd = true;
		else if (!strcmp(argv[i], "--pone"))
			pone = true;
		else if (!strcmp(argv[i], "--ksm"))
			ksm = true;
		else if (!strcmp(argv[i], "--dup") && i + 1 < argc)
			dup = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dup-contents") && i + 1 < argc)
			g.dup_contents = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--zero") && i + 1 < argc)
			zero = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			g.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--node") && i + 1 < argc)
			node = atoi(argv[++i]);
		else
			bytes = 0, i = argc;
	}
	if (!bytes || bytes % PAGE || zero + dup > 100 ||
	    memfd + pone + ksm > 1 || !g.dup_contents ||
	    g.dup_contents > DUP_CONTENTS) {
		fprintf(stderr, "usage: pone-testguest -m SIZE [--memfd | "
			"--pone | --ksm] [--zero PERCENT] [--dup PERCENT] "
			"[--dup-contents N] [--seed N] [--node N]\n");
		return 2;
	}
	if (node >= 0 && bind_to(node)) {
		fprintf(stderr, "pone-testguest: node %d: %s\n", node,
			strerror(errno));
		return 1;
	}
	g.pages = bytes / PAGE;
	g.ram = map_ram(bytes, memfd, pone, ksm);
	g.version = calloc(g.pages, sizeof(*g.version));
	if (!g.ram || !g.version) {
		fprintf(stderr, "pone-testguest: %s\n", strerror(errno));
		return 1;
	}
	fill(&g, zero, dup);
	printf("ready %llu %p\n", (unsigned long long)g.pages, (void *)g.ram);
	fflush(stdout);
	serve(&g);
	return 0;
}
