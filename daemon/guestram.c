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

const char *guest_kind_name(enum guest_kind k)
{
	static const char *const names[] = { "anonymous", "memfd", "pone" };

	return names[k];
}

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
		   char *why, size_t len)
{
	int num = find_fd_number(pid, m);

	if (num < 0) {
		snprintf(why, len, "process %d maps its guest RAM but holds no fd "
			 "of it to take; pass the fd with the request", (int)pid);
		return num == -ESRCH ? num : -ENOENT;
	}
	*fd = pidfd_getfd(pidfd, num, 0);
	if (*fd < 0) {
		int err = -errno;

		snprintf(why, len, "cannot take fd %d of process %d: %s "
			 "(poned needs CAP_SYS_PTRACE)", num, (int)pid,
			 strerror(errno));
		return err;
	}
	return 0;
}

/* A /proc file of the process that could not be read, but for its exit
 * (-ESRCH), which the caller words. */
static int proc_failed(pid_t pid, const char *file, int ret, char *why,
		       size_t len)
{
	if (ret && ret != -ESRCH)
		snprintf(why, len, "cannot read /proc/%d/%s: %s", (int)pid,
			 file, strerror(-ret));
	return ret;
}

static int find_anon(pid_t pid, struct pick *p, char *why, size_t len)
{
	char *args;
	size_t n;
	int ret = proc_failed(pid, "cmdline", proc_cmdline(pid, &args, &n),
			      why, len);

	if (ret)
		return ret;
	ret = proc_qemu_ram_size(args, n, &p->anon_size);
	free(args);
	if (ret) {
		snprintf(why, len, "process %d has no guest RAM: no %s or %s "
			 "mapping, and no -m option to size anonymous RAM by",
			 (int)pid, MEMFD_PATH + 1, PONE_PATH);
		return -ENOENT;
	}
	ret = proc_failed(pid, "maps", proc_maps(pid, pick_anon, p), why, len);
	if (!ret && p->matches != 1) {
		snprintf(why, len, "process %d has %s private anonymous mapping "
			 "of %llu bytes (its -m size); cannot tell its guest RAM",
			 (int)pid, p->matches ? "more than one" : "no",
			 (unsigned long long)p->anon_size);
		ret = -ENOENT;
	}
	return ret;
}

static int given_identity(int fd, struct pick *p, char *why, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
		snprintf(why, len, "the fd passed is not a memfd or /dev/pone");
		return -EINVAL;
	}
	p->dev = st.st_dev;
	p->inode = st.st_ino;
	return 0;
}

int guestram_find(pid_t pid, int pidfd, int given_fd, struct guestram *out,
		  char *why, size_t len)
{
	struct pick p = { 0 };
	int ret = 0, fd = -1;

	if (given_fd >= 0)
		ret = given_identity(given_fd, &p, why, len);
	if (!ret)
		ret = proc_failed(pid, "maps", proc_maps(pid, pick_shared, &p),
				  why, len);
	if (!ret && !p.matches && given_fd >= 0) {
		snprintf(why, len, "process %d does not map the fd passed",
			 (int)pid);
		ret = -ENOENT;
	}
	if (!ret && !p.matches)
		ret = find_anon(pid, &p, why, len);
	if (!ret && p.kind != GUEST_ANON) {
		if (given_fd >= 0) {
			fd = fcntl(given_fd, F_DUPFD_CLOEXEC, 3);
			if (fd < 0) {
				ret = -errno;
				snprintf(why, len, "cannot keep the fd passed: "
					 "%s", strerror(errno));
			}
		} else {
			ret = take_fd(pid, pidfd, &p.found, &fd, why, len);
		}
	}
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
