// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guests poned keeps across restarts, in a directory of its own: what
 * is saved is read back, replaced, removed; what a reader refuses goes,
 * and whatever else is found there is passed over without harm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statefile.h"

#define MAX_ENTRIES 8

struct entry {
	char name[64], sharing[64];
	pid_t pid;
	uint64_t start;
};

/* What statefile_each() gave, and the name whose entry fn refuses. */
struct found {
	struct entry e[MAX_ENTRIES];
	int n;
	const char *refuse;
};

static int collect(void *ctx, const char *name, pid_t pid, uint64_t start,
		   const char *sharing)
{
	struct found *f = ctx;

	assert_true(f->n < MAX_ENTRIES);
	snprintf(f->e[f->n].name, sizeof(f->e[f->n].name), "%s", name);
	snprintf(f->e[f->n].sharing, sizeof(f->e[f->n].sharing), "%s",
		 sharing ? sharing : "");
	f->e[f->n].pid = pid;
	f->e[f->n].start = start;
	f->n++;
	return f->refuse && !strcmp(name, f->refuse);
}

static struct found each(const char *dir, const char *refuse)
{
	struct found f = { .refuse = refuse };

	statefile_each(dir, collect, &f);
	return f;
}

static const struct entry *find(const struct found *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->e[i].name, name))
			return &f->e[i];
	return NULL;
}

static void expect(const struct found *f, const char *name, pid_t pid,
		   uint64_t start)
{
	const struct entry *e = find(f, name);

	if (!e)
		fail_msg("no entry '%s' among %d", name, f->n);
	assert_int_equal(e->pid, pid);
	assert_int_equal(e->start, start);
}

/* A file in DIR/guests, or a directory if text is NULL. */
static void plant(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/guests/%s", dir, name);
	if (!text) {
		assert_int_equal(mkdir(path, 0700), 0);
		return;
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static bool exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/guests/%s", dir, name);
	return !access(path, F_OK);
}

static char base[32], state_dir[48];

/* *state: a directory that does not exist yet, in a fresh one. */
static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/pone-statefile-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(state_dir, sizeof(state_dir), "%s/state", base);
	*state = state_dir;
	return 0;
}

static int rm(const char *path, const struct stat *st, int flag,
	      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(base, rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* A test with a state directory of its own. */
#define with_state_dir(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

static void init_makes_private_dirs(void **state)
{
	const char *dir = *state;
	char guests[256];
	struct stat st;

	assert_int_equal(statefile_init(dir), 0);
	snprintf(guests, sizeof(guests), "%s/guests", dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(guests, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(statefile_init(dir), 0);	/* there already */
	assert_int_equal(statefile_init("/nonexistent/pone/state"), -ENOENT);
}

static void saved_entries_are_read_back(void **state)
{
	const char *dir = *state;
	struct found f;

	assert_int_equal(statefile_save(dir, "vm1", 1234, 5678, NULL),
			 -ENOENT);
	assert_int_equal(statefile_init(dir), 0);
	assert_int_equal(statefile_save(dir, "vm1", 1234, 5678, NULL), 0);
	assert_int_equal(statefile_save(dir, "db-2.x", 2147483647,
					 UINT64_MAX, NULL), 0);
	f = each(dir, NULL);
	assert_int_equal(f.n, 2);
	expect(&f, "vm1", 1234, 5678);
	expect(&f, "db-2.x", 2147483647, UINT64_MAX);
	/* Written aside, renamed over: nothing is left aside. */
	assert_false(exists(dir, ".new"));
	/* Read, not consumed. */
	assert_int_equal(each(dir, NULL).n, 2);
}

static void save_replaces_and_remove_removes(void **state)
{
	const char *dir = *state;
	struct found f;

	assert_int_equal(statefile_init(dir), 0);
	assert_int_equal(statefile_save(dir, "vm1", 1234, 5678, NULL), 0);
	assert_int_equal(statefile_save(dir, "vm2", 42, 43, NULL), 0);
	assert_int_equal(statefile_save(dir, "vm1", 4321, 8765, NULL), 0);
	f = each(dir, NULL);
	assert_int_equal(f.n, 2);
	expect(&f, "vm1", 4321, 8765);
	statefile_remove(dir, "vm1");
	statefile_remove(dir, "never-saved");
	f = each(dir, NULL);
	assert_int_equal(f.n, 1);
	expect(&f, "vm2", 42, 43);
}

/* A guest whose process is gone is refused by the reader, and forgotten. */
static void refused_entries_are_removed(void **state)
{
	const char *dir = *state;
	struct found f;

	assert_int_equal(statefile_init(dir), 0);
	assert_int_equal(statefile_save(dir, "gone", 1234, 5678, NULL), 0);
	assert_int_equal(statefile_save(dir, "alive", 42, 43, NULL), 0);
	f = each(dir, "gone");
	assert_int_equal(f.n, 2);
	f = each(dir, NULL);
	assert_int_equal(f.n, 1);
	expect(&f, "alive", 42, 43);
	assert_false(exists(dir, "gone"));
}

/*
 * Files no save wrote (cut short, foreign, a pid that is no process) are
 * removed without reaching the reader; a directory, and the dot name a
 * save writes aside, are passed over.
 */
static void foreign_files_are_skipped(void **state)
{
	static const char *const bad[][2] = {
		{ "empty", "" }, { "words", "pid and time\n" },
		{ "half", "1234" }, { "zero-pid", "0 5678\n" },
		{ "negative", "-3 5678\n" }, { "binary", "\x01\x02\xff" },
	};
	const char *dir = *state;
	struct found f;
	size_t i;

	assert_int_equal(statefile_init(dir), 0);
	assert_int_equal(statefile_save(dir, "good", 1234, 5678, NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		plant(dir, bad[i][0], bad[i][1]);
	plant(dir, "subdir", NULL);
	plant(dir, ".new", "99 99\n");
	f = each(dir, NULL);
	assert_int_equal(f.n, 1);
	expect(&f, "good", 1234, 5678);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (exists(dir, bad[i][0]))
			fail_msg("'%s' was left", bad[i][0]);
	assert_true(exists(dir, "subdir"));
	assert_true(exists(dir, ".new"));
	assert_int_equal(each(dir, NULL).n, 1);
}

/* A guest's sharing domain is kept with it; entries from before there
 * were domains (two fields) are read as having none. */
static void sharing_is_kept(void **state)
{
	const char *dir = *state;
	struct found f;

	assert_int_equal(statefile_init(dir), 0);
	assert_int_equal(statefile_save(dir, "vm1", 1234, 5678, "tenant-a"), 0);
	assert_int_equal(statefile_save(dir, "vm2", 42, 43, NULL), 0);
	plant(dir, "old", "7 8\n");
	plant(dir, "bad-domain", "7 8 a/b\n");
	f = each(dir, NULL);
	assert_int_equal(f.n, 3);
	assert_string_equal(find(&f, "vm1")->sharing, "tenant-a");
	assert_string_equal(find(&f, "vm2")->sharing, "");
	assert_string_equal(find(&f, "old")->sharing, "");
	assert_false(exists(dir, "bad-domain"));
}

/* A restarted poned finds what the last one saved. */
static void entries_survive_a_new_init(void **state)
{
	const char *dir = *state;
	struct found f;

	assert_int_equal(statefile_init(dir), 0);
	assert_int_equal(statefile_save(dir, "vm1", 1234, 5678, NULL), 0);
	assert_int_equal(statefile_init(dir), 0);
	f = each(dir, NULL);
	assert_int_equal(f.n, 1);
	expect(&f, "vm1", 1234, 5678);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		with_state_dir(init_makes_private_dirs),
		with_state_dir(sharing_is_kept),
		with_state_dir(saved_entries_are_read_back),
		with_state_dir(save_replaces_and_remove_removes),
		with_state_dir(refused_entries_are_removed),
		with_state_dir(foreign_files_are_skipped),
		with_state_dir(entries_survive_a_new_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
