// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control protocol's request parser, fed what a client may send as a
 * line. What it takes is freed clean, a set it takes goes on to
 * config_set() as commands.c hands it on, and every reason it or
 * config_set() gives must make a reply as commands.c makes it: a JSON
 * string, once request_reason_utf8() has been over it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "request.h"

/* commands.c's: the reasons are cut to fit it. */
#define WHY_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sendable(char *why)
{
	json_t *s;

	request_reason_utf8(why);
	s = json_string(why);
	if (!s)
		abort();
	json_decref(s);
}

static void set(const struct request *r)
{
	struct config c;
	char why[WHY_MAX];

	config_defaults(&c);
	if (config_set(&c, r->nset, r->keys, r->values, why, sizeof(why)))
		sendable(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As control.c hands a line on: its own buffer, NUL-terminated. */
	char *line = malloc(size + 1), why[WHY_MAX];
	struct request r;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	if (request_parse(line, &r, why, sizeof(why))) {
		sendable(why);
	} else {
		if (r.cmd == REQUEST_SET)
			set(&r);
		request_free(&r);
	}
	free(line);
	return 0;
}
