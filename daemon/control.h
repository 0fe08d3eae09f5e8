/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: a Unix stream socket (mode 0600) speaking lines, one
 * request a line and one reply line to each. A request may carry an fd
 * (SCM_RIGHTS), handed to the handler with it. The server lives in the
 * caller's epoll loop (source.h).
 *
 * A client that sends a line longer than CONTROL_LINE_MAX is answered
 * with an error and dropped; one that goes away mid-request is dropped.
 */
#ifndef PONED_CONTROL_H
#define PONED_CONTROL_H

#include "source.h"

#define CONTROL_LINE_MAX 65536

/*
 * Handles one request line; fd is an fd that came with it or -1, and is
 * the handler's to close. Returns the reply line (malloc'd, no newline);
 * NULL for out of memory.
 */
typedef char *control_fn(void *ctx, const char *line, int fd);

/* Reply to a line too long to read: the same format the handler uses. */
typedef char *control_error_fn(void *ctx, const char *message);

struct control;

/*
 * Serves path, its directory made if need be, in place of a socket no one
 * listens on: -EADDRINUSE if one does, -EEXIST if path is not a socket.
 */
int control_open(const char *path, int epfd, control_fn *fn,
		 control_error_fn *error, void *ctx, struct control **out);
void control_close(struct control *c);

#endif
