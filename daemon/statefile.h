/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guests poned had attached, kept in STATE_DIR/guests/NAME ("PID
 * START_TIME [SHARING]": SHARING the sharing domain it was attached to, if
 * one was named), so that a restarted daemon attaches them again. A guest
 * whose process is gone or whose pid now names another process is dropped.
 * Nothing else needs keeping: page states are rebuilt by scanning, and the
 * guests' memory is never left in a state only the daemon knows.
 */
#ifndef PONED_STATEFILE_H
#define PONED_STATEFILE_H

#include <stdint.h>
#include <sys/types.h>

int statefile_init(const char *dir);
/* sharing: NULL for none. */
int statefile_save(const char *dir, const char *name, pid_t pid,
		   uint64_t start_time, const char *sharing);
void statefile_remove(const char *dir, const char *name);

/* fn for each saved guest; its entry is removed when fn returns non-zero. */
void statefile_each(const char *dir,
		    int (*fn)(void *ctx, const char *name, pid_t pid,
			      uint64_t start_time, const char *sharing),
		    void *ctx);

#endif
