// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

static FILE *open_proc(pid_t pid, const char *what, int *err)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	f = fopen(path, "re");
	*err = f ? 0 : errno == ENOENT ? -ESRCH : -errno;
	return f;
}

int proc_parse_map(char *line, struct proc_map *m)
{
	int path_at = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64
		   " %n", &m->start, &m->end, m->perms, &m->offset,
		   &m->dev_major, &m->dev_minor, &m->inode, &path_at) < 7)
		return -EIO;
	line[strcspn(line, "\n")] = 0;
	m->path = path_at ? line + path_at : "";
	return 0;
}

int proc_maps(pid_t pid, int (*fn)(void *ctx, const struct proc_map *m),
	      void *ctx)
{
	char *line = NULL;
	size_t cap = 0;
	int ret;
	FILE *f = open_proc(pid, "maps", &ret);

	while (f && !ret && getline(&line, &cap, f) > 0) {
		struct proc_map m;

		ret = proc_parse_map(line, &m);
		if (!ret)
			ret = fn(ctx, &m);
	}
	free(line);
	if (f)
		fclose(f);
	return ret;
}

int proc_cmdline(pid_t pid, char **args, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;
	int ret;
	FILE *f = open_proc(pid, "cmdline", &ret);
	ssize_t n;

	if (!f)
		return ret;
	n = getdelim(&buf, &cap, 0x7f, f);	/* no DEL in arguments */
	fclose(f);
	if (n <= 0) {
		free(buf);
		return -ESRCH;	/* a zombie or a kernel thread */
	}
	*args = buf;
	*len = (size_t)n;
	return 0;
}

/* args as proc_cmdline() gives them: NUL-terminated past len, too. */
static bool has_arg_pair(const char *args, size_t len, const char *opt,
			 const char *val)
{
	const char *a, *next, *end = args + len;

	for (a = args; a < end; a = next) {
		next = a + strnlen(a, (size_t)(end - a)) + 1;
		if (next < end && !strcmp(a, opt) && !strcmp(next, val))
			return true;
	}
	return false;
}

int proc_find_arg(const char *opt, const char *val, pid_t *pid)
{
	DIR *dir = opendir("/proc");
	struct dirent *e;
	int ret = -ESRCH;

	if (!dir)
		return -errno;
	while (ret == -ESRCH && (e = readdir(dir))) {
		pid_t p = (pid_t)atoi(e->d_name);
		char *args;
		size_t len;

		if (p <= 0 || proc_cmdline(p, &args, &len))
			continue;
		if (has_arg_pair(args, len, opt, val)) {
			*pid = p;
			ret = 0;
		}
		free(args);
	}
	closedir(dir);
	return ret;
}

/* Field number field (from 1, past the name) of a stat line. */
static int stat_field(const char *stat, int field, uint64_t *v)
{
	/* The name in parentheses may hold spaces: count after its end. */
	const char *p = strrchr(stat, ')');
	int f;

	for (f = 2; p && f < field; f++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %" SCNu64, v) != 1)
		return -EIO;
	return 0;
}

int proc_parse_start_time(const char *stat, uint64_t *ticks)
{
	return stat_field(stat, 22, ticks);
}

static int read_stat(pid_t pid, char *buf, int len)
{
	int ret;
	FILE *f = open_proc(pid, "stat", &ret);

	if (!f)
		return ret;
	ret = fgets(buf, len, f) ? 0 : -EIO;
	fclose(f);
	return ret;
}

int proc_start_time(pid_t pid, uint64_t *ticks)
{
	char buf[1024];
	int ret = read_stat(pid, buf, sizeof(buf));

	return ret ? ret : proc_parse_start_time(buf, ticks);
}

int proc_cpu_ticks(pid_t pid, uint64_t *ticks)
{
	char buf[1024];
	uint64_t user, sys;
	int ret = read_stat(pid, buf, sizeof(buf));

	if (!ret)
		ret = stat_field(buf, 14, &user);
	if (!ret)
		ret = stat_field(buf, 15, &sys);
	if (!ret)
		*ticks = user + sys;
	return ret;
}

struct usage_walk {
	uint64_t start, end;
	bool inside;
	struct proc_usage *u;
};

static void usage_line(struct usage_walk *w, const char *line)
{
	uint64_t lo, hi, kib;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &lo, &hi) == 2 &&
	    strchr(line, '-') < strchr(line, ' ')) {
		w->inside = lo >= w->start && hi <= w->end;
		return;
	}
	if (!w->inside)
		return;
	if (sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1)
		w->u->rss += kib << 10;
	else if (sscanf(line, "Swap: %" SCNu64 " kB", &kib) == 1)
		w->u->swap += kib << 10;
}

/* Closes f, which may be NULL: then u is all zero. */
static void usage_walk(FILE *f, uint64_t start, uint64_t end,
		       struct proc_usage *u)
{
	struct usage_walk w = { start, end, false, u };
	char *line = NULL;
	size_t cap = 0;

	*u = (struct proc_usage){ 0 };
	while (f && getline(&line, &cap, f) > 0)
		usage_line(&w, line);
	free(line);
	if (f)
		fclose(f);
}

int proc_usage(pid_t pid, uint64_t start, uint64_t end, struct proc_usage *u)
{
	int ret;

	usage_walk(open_proc(pid, "smaps", &ret), start, end, u);
	return ret;
}

int proc_parse_usage(const char *smaps, size_t len, uint64_t start,
		     uint64_t end, struct proc_usage *u)
{
	/* Read as the file is, line by line: "r" leaves the text as it is. */
	FILE *f = fmemopen((void *)smaps, len, "r");

	usage_walk(f, start, end, u);
	return f ? 0 : -errno;
}

int proc_meminfo(const char *path, size_t n, const char *const keys[],
		 uint64_t bytes[])
{
	FILE *f = fopen(path, "re");
	char line[128], key[64];
	uint64_t kib, found = 0;
	size_t i;
	int ret;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %" SCNu64, key, &kib) != 2)
			continue;
		for (i = 0; i < n; i++) {
			if (!strcmp(key, keys[i])) {
				bytes[i] = kib << 10;
				found |= 1ull << i;
			}
		}
	}
	ret = ferror(f) ? -EIO : 0;
	fclose(f);
	return !ret && found != (1ull << n) - 1 ? -EIO : ret;
}

static int parse_size(const char *v, uint64_t *bytes)
{
	unsigned long long n;
	char *end;
	int shift = 20;		/* QEMU's default unit for -m: MiB */

	if (!strncmp(v, "size=", 5))
		v += 5;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case 'b': case 'B': shift = 0; end++; break;
	}
	if ((*end && *end != ',') || n > (UINT64_MAX >> shift))
		return -EINVAL;
	*bytes = (uint64_t)n << shift;
	return 0;
}

/* The argument at v, of at most max bytes: the last one of a command line
 * may lack its NUL. */
static int parse_arg(const char *v, size_t max, uint64_t *bytes)
{
	char *s = strndup(v, max);
	int ret = s ? parse_size(s, bytes) : -ENOMEM;

	free(s);
	return ret;
}

int proc_qemu_ram_size(const char *args, size_t len, uint64_t *bytes)
{
	size_t i, n;

	for (i = 0; i < len; i += n + 1) {
		const char *a = args + i;

		n = strnlen(a, len - i);
		if (n == 2 && !memcmp(a, "-m", 2) && i + 3 < len)
			return parse_arg(a + 3, len - i - 3, bytes);
		if (n >= 3 && !memcmp(a, "-m=", 3))
			return parse_arg(a + 3, n - 3, bytes);
	}
	return -ENOENT;
}
