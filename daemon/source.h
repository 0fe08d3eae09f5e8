/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * poned's main thread runs one epoll loop. Every fd it watches (the
 * control socket and its clients, each guest's pidfd, the signals) carries
 * a struct source as its epoll data, and the loop hands events on to
 * source->ready; the owner of the fd embeds the source in its own object.
 */
#ifndef PONED_SOURCE_H
#define PONED_SOURCE_H

#include <stdint.h>

struct source {
	void (*ready)(struct source *s, uint32_t events);
};

#endif
