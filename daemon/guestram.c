// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guestram.h"
#include "procfs.h"

#define MEMFD_PATH "/memfd:memory-backend-memfd"
#define PONE_PATH "/dev/pone"

/* The mapping we settle on, by what the walk is looking for. */
struct pick {
	dev_t dev;		/* shared: of the given fd, or 0 */
	uint64_t inode;
	uint64_t anon_size;	/* anonymous: the -m size, or 0 */
	struct proc_map found;
	enum guest_kind kind;
	int matches;
};

static bool shared_ram(const struct proc_map *m, enum guest_kind *kind)
{
	if (m->perms[3] != 's' || m->perms[0] != 'r')
		return false;
	if (!strncmp(m->path, MEMFD_PATH, strlen(MEMFD_PATH)))
		*kind = GUEST_MEMFD;
	else if (!strcmp(m->path, PONE_PATH))
		*kind = GUEST_PONE;
	else
		return false;
	return true;
}

static int pick_shared(void *ctx, const struct proc_map *m)
{
	struct pick *p = ctx;
	enum guest_kind kind;

	if (p->dev) {
		if (makedev(m->dev_major, m->dev_minor) != p->dev ||
		    m->inode != p->inode || m->perms[3] != 's')
			return 0;
		kind = strcmp(m->path, PONE_PATH) ? GUEST_MEMFD : GUEST_PONE;
	} else if (!shared_ram(m, &kind)) {
		return 0;
	}
	/* Several backends (NUMA nodes): the largest; one region a guest. */
	if (!p->matches++ || m->end - m->start > p->found.end - p->found.start) {
		p->found = *m;
		p->found.path = NULL;
		p->kind = kind;
	}
	return 0;
}

static int pick_anon(void *ctx, const struct proc_map *m)
{
	struct pick *p = ctx;

	if (m->path[0] || m->inode || strncmp(m->perms, "rw-p", 4) ||
	    m->end - m->start != p->anon_size)
		return 0;
	if (!p->matches++) {
		p->found = *m;
		p->found.path = NULL;
		p->kind = GUEST_ANON;
	}
	return 0;
}

/* The fd number under which the process holds the file of the mapping. */
static int find_fd_number(pid_t pid, const struct proc_map *m)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while (ret < 0 && (d = readdir(dir))) {
		char link[sizeof(path) + sizeof(d->d_name)];
		struct stat st;

		snprintf(link, sizeof(link), "%s/%s", path, d->d_name);
		if (d->d_name[0] != '.' && !stat(link, &st) &&
		    st.st_ino == m->inode &&
		    st.st_dev == makedev(m->dev_major, m->dev_minor))
			ret = atoi(d->d_name);
	}
	closedir(dir);
	return ret;
}

static int take_fd(pid_t pid, int pidfd, const struct proc_map *m, int *fd,
		   struct failure *f)
{
	int num = find_fd_number(pid, m);

	if (num < 0)
		return num == -ESRCH ? num : failure(f, GUESTRAM_NO_FD, -ENOENT);
	*fd = pidfd_getfd(pidfd, num, 0);
	return *fd < 0 ? failure(f, GUESTRAM_TAKE_FD, -errno) : 0;
}

/* A /proc file of the process that could not be read, but for its exit
 * (-ESRCH), which is no failure of ours. */
static int proc_failed(int ret, struct failure *f)
{
	return ret && ret != -ESRCH ? failure(f, GUESTRAM_PROC, ret) : ret;
}

static int find_anon(pid_t pid, struct pick *p, struct failure *f)
{
	char *args;
	size_t n;
	int ret = proc_failed(proc_cmdline(pid, &args, &n), f);

	if (ret)
		return ret;
	ret = proc_qemu_ram_size(args, n, &p->anon_size);
	free(args);
	if (ret)
		return failure(f, GUESTRAM_NO_RAM, -ENOENT);
	ret = proc_failed(proc_maps(pid, pick_anon, p), f);
	if (!ret && p->matches != 1)
		ret = failure(f, p->matches ? GUESTRAM_MANY_ANON :
				 GUESTRAM_NO_ANON, -ENOENT);
	return ret;
}

static int given_identity(int fd, struct pick *p, struct failure *f)
{
	struct stat st;

	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		return failure(f, GUESTRAM_FD_NOT_RAM, -EINVAL);
	p->dev = st.st_dev;
	p->inode = st.st_ino;
	return 0;
}

/* The fd of shared RAM: a copy of the one passed, or the process's. */
static int shared_fd(pid_t pid, int pidfd, int given_fd,
		     const struct pick *p, int *fd, struct failure *f)
{
	if (given_fd < 0)
		return take_fd(pid, pidfd, &p->found, fd, f);
	*fd = fcntl(given_fd, F_DUPFD_CLOEXEC, 3);
	return *fd < 0 ? failure(f, GUESTRAM_KEEP_FD, -errno) : 0;
}

int guestram_find(pid_t pid, int pidfd, int given_fd, struct guestram *out,
		  struct failure *f)
{
	struct pick p = { 0 };
	int ret = 0, fd = -1;

	if (given_fd >= 0)
		ret = given_identity(given_fd, &p, f);
	if (!ret)
		ret = proc_failed(proc_maps(pid, pick_shared, &p), f);
	if (!ret && !p.matches && given_fd >= 0)
		ret = failure(f, GUESTRAM_FD_NOT_MAPPED, -ENOENT);
	if (!ret && !p.matches)
		ret = find_anon(pid, &p, f);
	if (!ret && p.kind != GUEST_ANON)
		ret = shared_fd(pid, pidfd, given_fd, &p, &fd, f);
	if (ret)
		return ret;
	*out = (struct guestram){
		.kind = p.kind,
		.addr = p.found.start,
		.size = p.found.end - p.found.start,
		.fd = fd,
		.offset = (off_t)p.found.offset,
	};
	return 0;
}
