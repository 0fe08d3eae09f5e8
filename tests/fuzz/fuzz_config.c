// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config file parser, fed a file's text. A file it refuses changes
 * nothing; one it takes leaves settings that are each in range and
 * consistent, as config_set() and poned rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sound(const struct config *c)
{
	return c->threads <= 1024 && c->reclaim_period >= 1 &&
	       c->merge_period >= c->reclaim_period &&
	       (c->stable_periods == 1 || c->stable_periods == 2) &&
	       c->cpu_limit >= 0.05 && c->cpu_limit <= 1024 &&
	       c->idle_cpu_limit >= 0.01 &&
	       c->idle_cpu_limit <= c->cpu_limit &&
	       c->pressure.available_pct >= 0 &&
	       c->pressure.available_pct < 100 &&
	       c->pressure.available_bytes < (1ull << 60) &&
	       c->pressure.stall_pct > 0 && c->pressure.stall_pct <= 100 &&
	       c->nice >= -20 && c->nice <= 19 &&
	       c->socket[0] == '/' && c->state_dir[0] == '/' && c->dsa[0] &&
	       strnlen(c->socket, sizeof(c->socket)) < sizeof(c->socket) &&
	       strnlen(c->state_dir, sizeof(c->state_dir)) <
		       sizeof(c->state_dir) &&
	       strnlen(c->dsa, sizeof(c->dsa)) < sizeof(c->dsa);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c, before;
	char err[1024];		/* poned's */

	config_defaults(&c);
	before = c;
	if (config_parse((const char *)data, size, "fuzz.conf", &c, err,
			 sizeof(err))) {
		if (memcmp(&c, &before, sizeof(c)) || !err[0])
			abort();
	} else if (!sound(&c)) {
		abort();
	}
	return 0;
}
