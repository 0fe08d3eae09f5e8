// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replace.h"
#include "statefile.h"

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/guests%s%s", dir, name ? "/" : "",
		 name ? name : "");
}

int statefile_init(const char *dir)
{
	char path[PATH_MAX];

	path_of(path, sizeof(path), dir, NULL);
	if ((mkdir(dir, 0700) && errno != EEXIST) ||
	    (mkdir(path, 0700) && errno != EEXIST))
		return -errno;
	return 0;
}

/* What a sharing domain's name may hold: a guest name's characters. */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		   "0123456789-_.+:@"

struct entry {
	pid_t pid;
	uint64_t start_time;
	const char *sharing;
};

static int write_entry(FILE *f, void *ctx)
{
	const struct entry *e = ctx;

	return fprintf(f, "%d %" PRIu64 "%s%s\n", (int)e->pid, e->start_time,
		       e->sharing ? " " : "", e->sharing ? e->sharing : "") <
	       0 ? -EIO : 0;
}

/* Written aside under a dot name, which no guest has. */
int statefile_save(const char *dir, const char *name, pid_t pid,
		   uint64_t start_time, const char *sharing)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct entry e = { pid, start_time, sharing };

	path_of(path, sizeof(path), dir, name);
	path_of(tmp, sizeof(tmp), dir, ".new");
	return file_replace(path, tmp, 0600, write_entry, &e);
}

void statefile_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];

	path_of(path, sizeof(path), dir, name);
	unlink(path);
}

/* sharing: "" when the entry names none. */
static int read_entry(const char *dir, const char *name, pid_t *pid,
		      uint64_t *start, char sharing[64])
{
	char path[PATH_MAX];
	FILE *f;
	int p = 0, n;

	path_of(path, sizeof(path), dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	sharing[0] = '\0';
	n = fscanf(f, "%d %" SCNu64 " %63s", &p, start, sharing);
	fclose(f);
	*pid = p;
	if (n == 2)
		sharing[0] = '\0';
	return n >= 2 && p > 0 &&
	       strspn(sharing, NAME_CHARS) == strlen(sharing) ? 0 : -EINVAL;
}

void statefile_each(const char *dir,
		    int (*fn)(void *ctx, const char *name, pid_t pid,
			      uint64_t start_time, const char *sharing),
		    void *ctx)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dd;

	path_of(path, sizeof(path), dir, NULL);
	dd = opendir(path);
	while (dd && (d = readdir(dd))) {
		char sharing[64];
		uint64_t start = 0;
		pid_t pid = 0;

		if (d->d_name[0] == '.')
			continue;
		if (read_entry(dir, d->d_name, &pid, &start, sharing) ||
		    fn(ctx, d->d_name, pid, start,
		       sharing[0] ? sharing : NULL))
			statefile_remove(dir, d->d_name);
	}
	if (dd)
		closedir(dd);
}
