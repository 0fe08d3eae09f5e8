/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Finding a QEMU process's guest RAM. Shared RAM (a memfd of a
 * memory-backend-memfd, or a /dev/pone region) is found in its mappings and
 * taken with pidfd_getfd(), or is the fd a client passed us; QEMU's default
 * anonymous RAM is the private mapping as large as its "-m" option. Either
 * way we know where the guest process maps it, which is where recycling
 * acts and residency is read.
 */
#ifndef PONED_GUESTRAM_H
#define PONED_GUESTRAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum guest_kind { GUEST_ANON, GUEST_MEMFD, GUEST_PONE };

/* Failures of guestram_find() (error.h). */
enum {
	GUESTRAM_PROC = 1,	/* a /proc file of the process unreadable */
	GUESTRAM_NO_RAM,	/* no shared RAM mapped, no -m option */
	GUESTRAM_NO_ANON,	/* no anonymous mapping of the -m size */
	GUESTRAM_MANY_ANON,	/* more than one */
	GUESTRAM_NO_FD,		/* shared RAM mapped, but no fd of it held */
	GUESTRAM_TAKE_FD,	/* pidfd_getfd() refused */
	GUESTRAM_FD_NOT_RAM,	/* the fd passed: not a memfd or /dev/pone */
	GUESTRAM_FD_NOT_MAPPED,	/* ... not mapped by the process */
	GUESTRAM_KEEP_FD,	/* ... cannot be duplicated */
	GUESTRAM_FAILURES
};

struct guestram {
	enum guest_kind kind;
	uint64_t addr;		/* first byte, in the guest process */
	uint64_t size;
	int fd;			/* ours (memfd, /dev/pone), or -1 */
	off_t offset;		/* fd offset of addr */
};

/* given_fd: an fd of the guest RAM a client passed, or -1 to look for it;
 * -ESRCH when the process is gone. */
int guestram_find(pid_t pid, int pidfd, int given_fd, struct guestram *out,
		  struct failure *f);

#endif
