/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A file replaced whole: written aside (tmp, in the same directory), synced
 * and renamed over path, so that a crash or a reader sees the old content
 * or the new, never a part. What poned keeps in its state directory and
 * the metrics it writes for node_exporter are written so.
 */
#ifndef PONED_REPLACE_H
#define PONED_REPLACE_H

#include <stdio.h>
#include <sys/types.h>

/* write() fills the file, returning 0 or negative errno. Returns 0 or
 * negative errno; on failure tmp is removed and path is as it was. */
int file_replace(const char *path, const char *tmp, mode_t mode,
		 int (*write)(FILE *f, void *ctx), void *ctx);

#endif
