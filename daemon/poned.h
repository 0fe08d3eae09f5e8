/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon as the control commands see it. Everything here is owned by
 * poned's main(); commands run on its main thread, one at a time.
 */
#ifndef PONED_DAEMON_H
#define PONED_DAEMON_H

#include <stdint.h>

#include <pone/engine.h>

#include "config.h"
#include "guests.h"
#include "periods.h"

struct daemon {
	struct config cfg;
	struct pone_engine *engine;
	unsigned int engine_threads_max;	/* its pool */
	struct pone_backend *dsa;	/* the engine's, or NULL: the CPU's */
	const char *backend;		/* name of the engine's backend */
	const char *write_tracking;	/* soft-dirty, off, unavailable */
	struct guests guests;
	struct periods periods;
	int epfd;
	uint64_t started;		/* CLOCK_REALTIME seconds */
};

/* Attach or detach a guest, and keep the state directory and the pidfd
 * watch in step (poned.c). */
int daemon_attach(struct daemon *d, pid_t pid, const char *name, int fd,
		  struct guest **out, char *why, size_t len);
int daemon_detach(struct daemon *d, pid_t pid, const char *name, char *why,
		  size_t len);

/* The periods' settings as the config has them. */
void daemon_periods_settings(const struct config *c,
			     struct periods_settings *s);

#endif
