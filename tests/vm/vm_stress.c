// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writers keep rewriting pages of two regions with stamped content while
 * two mergers (each merging either region into the other, so their offset
 * locks cross) and a discarder work on the same pages, and a tracker asks
 * which pages were written and checks that the others did not change,
 * while the kernel compacts memory, moving frames under them. Each page
 * has one writer, which knows what it last wrote there and checks it before every
 * write; a reader checks that every word it sees is some stamp; at the end
 * every page must hold its last stamp, whole: a lost write, or content
 * never written (a freed frame's poison, another page's bytes), fails.
 * Two rounds: a larger region, then a small one where every page is hot.
 * A round lasts SECONDS, and longer (up to 4 times) until 500 merges,
 * discards and COW breaks have raced with the writers, which on a loaded
 * host under TCG can take a while; with fewer than 100 of any, it fails,
 * as it does if compaction moved no frame in either round.
 * The tracker must also have seen over 1000 pages written and 1000 left
 * alone: so that pages stay alone however slowly it goes round (under TCG
 * a round of 1024 pages can take seconds, while the writers touch every
 * page a second), each writer writes one of its calm pages (one in
 * CALM) at most once a round of the tracker's, never with zeros, which
 * the discarder would take the frame of: every page starts written. And
 * a writer waits for the tracker's next round after PACE writes a page.
 * pone-vm-stress [SECONDS-A-ROUND]
 */
#include "vmtest.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
/* Header only: the VM's test programs link statically. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#define REGIONS 2
#define MAX_PAGES 512
#define WRITERS 2
#define BATCH 64
/* Few distinct stamps, so pages are often equal (0: discardable). */
#define STAMPS 4
#define TOTALS "/sys/class/misc/pone/"
/* Merges, discards and COW breaks a round aims at, and needs, of each. */
#define ENOUGH 500
#define AT_LEAST 100
/* One page in CALM is calm; the tracker needs TRACKED of each kind. */
#define CALM 4
#define TRACKED 1000
#define PACE 4

struct region {
	int fd;
	/* Two mappings: writes through one must show through the other. */
	uint8_t *map[2];
	uint64_t last[MAX_PAGES];
};

static struct region regions[REGIONS];
static size_t pages;		/* a region's, this round; a power of two */
static size_t batch;		/* entries a MERGE or DISCARD, <= pages / 2 */
static atomic_bool stop;
static atomic_ulong writes, reads, merged, discarded, refused;
static atomic_ulong unwritten_seen, written_seen, tracker_rounds, compactions;

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static volatile uint8_t *page_of(struct region *r, size_t page, int map)
{
	return r->map[map] + page * PAGE;
}

static bool calm(size_t page)
{
	return page / WRITERS % CALM == 0;
}

/*
 * A writer's share of a tracker round: one calm page, and PACE writes a
 * page of a region, so that on a loaded host the tracker and the mergers
 * get the guest's CPUs too (the writers, never entering the kernel, took
 * them: the tracker went round 3 times in 240 s).
 */
struct pace {
	unsigned long round, writes;
	bool calm_written;
};

static bool may_write(struct pace *pc, size_t page)
{
	unsigned long round = atomic_load_explicit(&tracker_rounds,
						   memory_order_relaxed);

	if (round != pc->round)
		*pc = (struct pace){ .round = round };
	if (pc->writes >= PACE * pages) {
		usleep(1000);
		return false;
	}
	if (calm(page) && pc->calm_written)
		return false;
	pc->calm_written |= calm(page);
	pc->writes++;
	return true;
}

/* Writer w owns the pages p with p % WRITERS == w in every region. */
static void *writer(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	size_t w = (uintptr_t)arg;
	struct pace pc = { .round = ~0ul };
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = next_rand(&seed);
		struct region *r = &regions[x % REGIONS];
		size_t page = (x >> 8) % (pages / WRITERS) * WRITERS + w;
		uint64_t stamp = (x >> 24) % STAMPS;

		if (!may_write(&pc, page))
			continue;
		if (calm(page) && !stamp)
			stamp = 1;
		CHECK(vm_page_is(page_of(r, page, (x >> 4) & 1),
				 r->last[page]));
		vm_fill(page_of(r, page, (x >> 5) & 1), stamp);
		r->last[page] = stamp;
		n++;
	}
	atomic_fetch_add(&writes, n);
	return NULL;
}

/* Pages may be half rewritten, but every word must be some stamp. */
static void *reader(void *arg)
{
	uint64_t seed = 0xda942042e4dd58b5ull;
	unsigned long n = 0;
	size_t i;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = next_rand(&seed);
		const volatile uint64_t *w = (const volatile uint64_t *)
			page_of(&regions[x % REGIONS], (x >> 8) % pages,
				(x >> 4) & 1);

		for (i = 0; i < PAGE / sizeof(*w); i++)
			CHECK(w[i] < STAMPS);
		n++;
	}
	atomic_fetch_add(&reads, n);
	return NULL;
}

/*
 * Asks pone.ko which pages have a frame and which were written since it
 * last asked, and reads them all. A write lands in the answer of the next
 * question at the latest (it may come between a question and the read
 * after it), so a page that two questions in a row say has a frame and
 * was not written must have read the same after the first as after the one
 * before. (A page discarded in between loses its mark with its frame:
 * poned forgets a page without one and reads it afresh.) A write the
 * module did not see, through a pte it left writable, fails. The hash it
 * gives of a written page is of its content once protected again: the
 * next question finding the page unwritten, the read in between hashes
 * the same.
 */
static void *tracker(void *arg)
{
	static uint8_t before[REGIONS][MAX_PAGES][PAGE];
	static uint8_t last[REGIONS][MAX_PAGES][PAGE];
	static bool last_quiet[REGIONS][MAX_PAGES];
	static bool last_written[REGIONS][MAX_PAGES];
	static uint64_t given[REGIONS][MAX_PAGES];
	uint64_t mask[MAX_PAGES / 64], written[MAX_PAGES / 64];
	uint64_t hashes[MAX_PAGES];
	bool first = true;
	size_t i, p;

	(void)arg;
	for (; !atomic_load_explicit(&stop, memory_order_relaxed);
	     first = false, atomic_fetch_add(&tracker_rounds, 1)) {
		unsigned long same = 0, changed = 0;

		for (i = 0; i < REGIONS; i++) {
			struct pone_resident q = {
				.bitmap = (uintptr_t)mask,
				.written = (uintptr_t)written,
				.hashes = (uintptr_t)hashes, .pages = pages,
			};

			CHECK(ioctl(regions[i].fd, PONE_IOC_RESIDENT, &q) == 0);
			for (p = 0; p < pages; p++) {
				bool quiet = (mask[p / 64] & ~written[p / 64]) >>
					     (p % 64) & 1;

				if (quiet && last_quiet[i][p]) {
					CHECK(!memcmp(last[i][p], before[i][p],
						      PAGE));
					same++;
				}
				if (quiet && last_written[i][p]) {
					CHECK(XXH64(last[i][p], PAGE, 0) ==
					      given[i][p]);
					same++;
				}
				last_written[i][p] = written[p / 64] >> (p % 64)
						     & 1;
				given[i][p] = hashes[p];
				changed += !quiet;
				memcpy(before[i][p], last[i][p], PAGE);
				CHECK(pread(regions[i].fd, last[i][p], PAGE,
					    (off_t)(p * PAGE)) == PAGE);
				last_quiet[i][p] = quiet && !first;
			}
		}
		atomic_fetch_add(&unwritten_seen, same);
		atomic_fetch_add(&written_seen, changed);
	}
	return NULL;
}

/* batch distinct offsets: an odd stride through a power-of-two region. */
static size_t batch_page(uint64_t x, size_t k)
{
	return ((x >> 8) + k * ((x >> 32) | 1)) % pages;
}

static void count(const uint32_t *result, size_t stride, long done)
{
	size_t k, busy_or_changed = 0;

	CHECK(done >= 0);
	for (k = 0; k < batch; k++) {
		uint32_t res = *(const uint32_t *)((const char *)result +
						   k * stride);

		CHECK(res <= PONE_FULL);
		busy_or_changed += res == PONE_CHANGED || res == PONE_BUSY;
	}
	atomic_fetch_add(&refused, busy_or_changed);
}

static void *merger(void *arg)
{
	uint64_t seed = 0x5851f42d4c957f2dull * ((uintptr_t)arg + 1);
	struct pone_merge_entry e[BATCH];
	long done;
	size_t k;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = next_rand(&seed);
		struct region *d = &regions[x % REGIONS];

		for (k = 0; k < batch; k++) {
			uint64_t y = next_rand(&seed);

			e[k] = (struct pone_merge_entry){
				.dst_offset = batch_page(x, k) * PAGE,
				.src_offset = (y >> 8) % pages * PAGE,
				.src_fd = regions[y % REGIONS].fd };
			if (d->fd == e[k].src_fd &&
			    e[k].src_offset == e[k].dst_offset)
				e[k].src_offset = (e[k].src_offset + PAGE) %
						  (pages * PAGE);
		}
		done = vm_merge(d->fd, e, batch);
		count(&e[0].result, sizeof(e[0]), done);
		atomic_fetch_add(&merged, done);
	}
	return NULL;
}

static void *discarder(void *arg)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;
	struct pone_discard_entry e[BATCH];
	long done;
	size_t k;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t x = next_rand(&seed);
		struct region *r = &regions[x % REGIONS];

		for (k = 0; k < batch; k++)
			e[k] = (struct pone_discard_entry){
				.offset = batch_page(x, k) * PAGE };
		done = vm_discard(r->fd, e, batch);
		count(&e[0].result, sizeof(e[0]), done);
		atomic_fetch_add(&discarded, done);
	}
	return NULL;
}

/*
 * Compacts all memory, again and again: frames that are not shared move
 * to other pages while the others write, merge and discard them.
 */
static void *compactor(void *arg)
{
	unsigned long n = 0;
	int fd;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		fd = open("/proc/sys/vm/compact_memory", O_WRONLY);
		CHECK(fd >= 0);
		CHECK(write(fd, "1", 1) == 1);
		CHECK(close(fd) == 0);
		n++;
		sleep(1);
	}
	atomic_fetch_add(&compactions, n);
	return NULL;
}

static long read_total(const char *name)
{
	char path[64];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), TOTALS "%s", name);
	f = fopen(path, "r");
	CHECK(f);
	CHECK(fscanf(f, "%ld", &v) == 1);
	fclose(f);
	return v;
}

static void verify(void)
{
	size_t i, p;
	int m;

	for (i = 0; i < REGIONS; i++)
		for (p = 0; p < pages; p++)
			for (m = 0; m < 2; m++)
				CHECK(vm_page_is(page_of(&regions[i], p, m),
						 regions[i].last[p]));
}

static void *(*const workers[])(void *) = {
	writer, writer, reader, merger, merger, discarder, tracker, compactor,
};

static bool enough(int probe, const struct pone_info *base,
		   unsigned long each)
{
	struct pone_info now = vm_info(probe);

	return atomic_load(&merged) >= each &&
	       atomic_load(&discarded) >= each &&
	       now.total.cow_breaks - base->total.cow_breaks >= each;
}

static bool tracked(void)
{
	return atomic_load(&written_seen) > TRACKED &&
	       atomic_load(&unwritten_seen) > TRACKED;
}

/* The frames compaction moved */
static long round_run(size_t round_pages, int seconds)
{
	pthread_t threads[sizeof(workers) / sizeof(workers[0])];
	int probe = vm_open();
	struct pone_info base = vm_info(probe), end;
	long migrated = read_total("migrated");
	long unmovable = read_total("unmovable");
	uintptr_t writer_id = 0, merger_id = 0;
	size_t i, p;

	pages = round_pages;
	batch = pages / 2 < BATCH ? pages / 2 : BATCH;
	atomic_store(&stop, false);
	atomic_store(&writes, 0);
	atomic_store(&reads, 0);
	atomic_store(&merged, 0);
	atomic_store(&discarded, 0);
	atomic_store(&refused, 0);
	atomic_store(&unwritten_seen, 0);
	atomic_store(&written_seen, 0);
	atomic_store(&tracker_rounds, 0);
	atomic_store(&compactions, 0);
	for (i = 0; i < REGIONS; i++) {
		regions[i].fd = vm_open();
		regions[i].map[0] = vm_map(regions[i].fd, pages);
		regions[i].map[1] = vm_map(regions[i].fd, pages);
		for (p = 0; p < pages; p++) {
			regions[i].last[p] = 1 + p % (STAMPS - 1);
			vm_fill(page_of(&regions[i], p, 0), regions[i].last[p]);
		}
	}
	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++)
		CHECK(pthread_create(&threads[i], NULL, workers[i],
				     (void *)(workers[i] == writer ? writer_id++ :
					      workers[i] == merger ? merger_id++ :
					      0)) == 0);
	CHECK(writer_id == WRITERS);
	sleep(seconds);
	for (i = seconds;
	     i < 4 * (size_t)seconds &&
	     !(enough(probe, &base, ENOUGH) && tracked()); i++)
		sleep(1);
	seconds = i;
	atomic_store(&stop, true);
	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++)
		CHECK(pthread_join(threads[i], NULL) == 0);
	verify();
	migrated = read_total("migrated") - migrated;

	end = vm_info(probe);
	printf("stress: %zu pages x %d regions, %d s: %lu writes, %lu reads, %lu merged, %lu discarded, %lu refused (changed or busy), %llu COW breaks; tracked in %lu rounds: %lu pages written or without a frame, %lu seen unchanged\n",
	       pages, REGIONS, seconds, atomic_load(&writes),
	       atomic_load(&reads), atomic_load(&merged),
	       atomic_load(&discarded), atomic_load(&refused),
	       (unsigned long long)(end.total.cow_breaks -
				    base.total.cow_breaks),
	       atomic_load(&tracker_rounds), atomic_load(&written_seen),
	       atomic_load(&unwritten_seen));
	printf("stress: %lu compactions moved %ld frames; frames now %llu, shared %llu, not movable for having been shared %ld\n",
	       atomic_load(&compactions), migrated,
	       (unsigned long long)end.total.frames,
	       (unsigned long long)end.total.shared, read_total("unmovable"));
	fflush(stdout);
	CHECK(enough(probe, &base, AT_LEAST));
	CHECK(atomic_load(&refused) > 0 && atomic_load(&reads) > 1000);
	CHECK(tracked());
	for (i = 0; i < REGIONS; i++) {
		struct pone_info info = vm_info(regions[i].fd);

		CHECK(info.region.frames + info.region.zero == pages);
		CHECK(munmap(regions[i].map[0], pages * PAGE) == 0);
		CHECK(munmap(regions[i].map[1], pages * PAGE) == 0);
		CHECK(close(regions[i].fd) == 0);
	}
	end = vm_info(probe);
	CHECK(end.total.frames == base.total.frames);
	CHECK(end.total.shared == base.total.shared);
	CHECK(read_total("unmovable") == unmovable);
	CHECK(close(probe) == 0);
	return migrated;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 60;

	long migrated = round_run(MAX_PAGES, seconds);

	/*
	 * Where compaction finds frames to move depends on where they were
	 * placed: a round can see none moved, not both.
	 */
	migrated += round_run(32, seconds);
	CHECK(migrated > 0);
	return 0;
}
