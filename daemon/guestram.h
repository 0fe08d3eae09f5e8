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

enum guest_kind { GUEST_ANON, GUEST_MEMFD, GUEST_PONE };

struct guestram {
	enum guest_kind kind;
	uint64_t addr;		/* first byte, in the guest process */
	uint64_t size;
	int fd;			/* ours (memfd, /dev/pone), or -1 */
	off_t offset;		/* fd offset of addr */
};

/*
 * given_fd: an fd of the guest RAM a client passed, or -1 to look for it.
 * On error why says what was looked for and not found.
 */
int guestram_find(pid_t pid, int pidfd, int given_fd, struct guestram *out,
		  char *why, size_t len);

const char *guest_kind_name(enum guest_kind k);

#endif
