/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A control request, one JSON object a line: {"cmd": "status"}, "guests",
 * "version", {"cmd": "attach", "pid": N, "name": S, "sharing": S},
 * {"cmd": "detach",
 * "pid": N | "name": S}, {"cmd": "set", "values": {"KEY": VALUE, ...}}.
 *
 * request_parse() checks the shape of a request only: the command, the
 * types and presence of its fields, a set's values as text as the config
 * file has them (config_set() judges the settings). A request it takes is
 * the caller's to request_free(); of one it refuses, it writes why, in
 * the words a client is told, and holds nothing.
 */
#ifndef PONED_REQUEST_H
#define PONED_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

enum request_cmd {
	REQUEST_STATUS,
	REQUEST_GUESTS,
	REQUEST_ATTACH,
	REQUEST_DETACH,
	REQUEST_SET,
	REQUEST_VERSION,
};

/* More than there are settings that change at run time. */
#define REQUEST_SET_MAX 16

struct request {
	enum request_cmd cmd;
	pid_t pid;			/* attach, detach: 0 if not given */
	const char *name;		/* attach, detach: NULL if not given */
	const char *sharing;		/* attach: NULL if not given */
	size_t nset;			/* set: its keys and values */
	const char *keys[REQUEST_SET_MAX];
	const char *values[REQUEST_SET_MAX];
	char text[REQUEST_SET_MAX][256];	/* the values as text */
	json_t *json;			/* holds name and keys */
};

/* 0, or -EINVAL with why filled in. */
int request_parse(const char *line, struct request *r, char *why,
		  size_t len);
void request_free(struct request *r);

/*
 * Makes a reason text a JSON reply can carry, which must be UTF-8 and a
 * reason may not be: it may quote bytes a client sent (jansson's errors
 * do), or be cut inside a character to fit its buffer. Each byte that is
 * not part of a whole character becomes '?'.
 */
void request_reason_utf8(char *why);

#endif
