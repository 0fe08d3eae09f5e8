/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libvirt's QEMU domains, followed through its events: poned attaches every
 * running domain when it connects and each domain as it starts, named by
 * its name (its UUID kept), detaches it as it stops, and connects again
 * when libvirtd restarts, reconciling what ran meanwhile. A domain's own
 * settings come from its XML (domainxml.h).
 *
 * Threads: a thread of its own runs libvirt's event loop and makes every
 * libvirt call, on a read-only connection; it finds each domain's QEMU
 * process by its UUID in /proc. What it learns goes to the main thread,
 * which alone attaches and detaches, as messages through an eventfd in
 * the daemon's loop. The figures status shows are under the lock.
 *
 * With the hook or pone-ctl also attaching domains, the two never fight: a
 * domain whose process is attached already is taken as it is (with the
 * same settings), and detaching one that is gone is no error.
 */
#ifndef PONED_VIRT_H
#define PONED_VIRT_H

#include <jansson.h>

struct guests;
struct periods;
struct virt;

/* "auto": qemu:///system, quietly until libvirtd answers. */
#define VIRT_AUTO "auto"

/*
 * Follows the domains at uri ("auto" or a libvirt URI; "off": *out NULL)
 * for gs, asking p for a pass when one is attached. Attaches nothing
 * before the main thread runs its loop. 0 or negative errno.
 */
int virt_start(const char *uri, struct guests *gs, struct periods *p,
	       int epfd, struct virt **out);
void virt_stop(struct virt *v);

/* Its figures for status: the URI, connected or why not, the domains
 * running and those not attached, with why. NULL v: "off". */
json_t *virt_json(struct virt *v);

#endif
