/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control requests (request.h) carried out; an attach may come with
 * the guest RAM's fd. Replies carry "ok"; a failed request gets {"ok":
 * false, "error": WHY} and changes nothing.
 */
#ifndef PONED_COMMANDS_H
#define PONED_COMMANDS_H

#include "poned.h"

/* control_fn and control_error_fn of control.h; ctx is the daemon. */
char *commands_run(void *ctx, const char *line, int fd);
char *commands_error(void *ctx, const char *message);

#endif
