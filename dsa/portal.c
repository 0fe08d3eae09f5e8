// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <immintrin.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "portal.h"

#define PORTAL_SIZE 4096
/* A full queue drains in microseconds; past this many tries something
 * else holds it, and the CPU is the better use of the time. */
#define SUBMIT_TRIES 1024

struct portal {
	struct dsa_submitter sub;	/* first: to_portal() relies on it */
	void *reg;
	int fd;
	unsigned int slots;	/* dedicated: queue entries */
	unsigned int inflight;
};

static struct portal *to_portal(struct dsa_submitter *s)
{
	return (struct portal *)s;
}

/* The descriptor (and a batch's list) was written with ordinary stores;
 * the device must see them before the doorbell. */
__attribute__((target("movdir64b")))
static void movdir64b(void *reg, const struct dsa_hw_desc *d)
{
	_mm_sfence();
	_movdir64b(reg, d);
}

__attribute__((target("enqcmd")))
static bool enqcmd(void *reg, const struct dsa_hw_desc *d)
{
	_mm_sfence();
	return _enqcmd(reg, d) == 0;
}

static bool take_slot(struct portal *p)
{
	unsigned int n = __atomic_add_fetch(&p->inflight, 1, __ATOMIC_ACQUIRE);

	if (n <= p->slots)
		return true;
	__atomic_sub_fetch(&p->inflight, 1, __ATOMIC_RELEASE);
	return false;
}

static int submit_dedicated(struct dsa_submitter *s,
			    const struct dsa_hw_desc *d)
{
	struct portal *p = to_portal(s);

	for (int i = 0; i < SUBMIT_TRIES; i++) {
		if (take_slot(p)) {
			movdir64b(p->reg, d);
			return 0;
		}
		_mm_pause();
	}
	return -EBUSY;
}

static void retire_dedicated(struct dsa_submitter *s)
{
	__atomic_sub_fetch(&to_portal(s)->inflight, 1, __ATOMIC_RELEASE);
}

static int submit_shared(struct dsa_submitter *s, const struct dsa_hw_desc *d)
{
	struct portal *p = to_portal(s);

	for (int i = 0; i < SUBMIT_TRIES; i++) {
		if (enqcmd(p->reg, d))
			return 0;
		_mm_pause();
	}
	return -EBUSY;
}

/* The device keeps no count of a shared queue's clients: nothing to do. */
static void retire_shared(struct dsa_submitter *s)
{
	(void)s;
}

static void portal_release(struct dsa_submitter *s)
{
	struct portal *p = to_portal(s);

	munmap(p->reg, PORTAL_SIZE);
	close(p->fd);
	free(p);
}

int dsa_portal_open(const char *path, bool dedicated, unsigned int wq_size,
		    struct dsa_submitter **out)
{
	struct portal *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->fd = open(path, O_RDWR | O_CLOEXEC);
	if (p->fd < 0) {
		ret = -errno;
		free(p);
		return ret;
	}
	p->reg = mmap(NULL, PORTAL_SIZE, PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		      p->fd, 0);
	if (p->reg == MAP_FAILED) {
		ret = -errno;
		close(p->fd);
		free(p);
		return ret;
	}
	p->slots = wq_size;
	p->sub = (struct dsa_submitter){
		.submit = dedicated ? submit_dedicated : submit_shared,
		.retire = dedicated ? retire_dedicated : retire_shared,
		.release = portal_release,
	};
	*out = &p->sub;
	return 0;
}
