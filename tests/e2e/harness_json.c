// SPDX-License-Identifier: GPL-2.0-only
/* The harness's status readers: apart, so that only tests that read
 * status as JSON link jansson. */
#include <string.h>

#include "harness.h"

json_t *daemon_status(const struct daemon_run *d)
{
	const char *args[] = { "status", "--json", NULL };
	static char out[1 << 17];

	if (ctl(d, out, sizeof(out), args))
		return NULL;
	return json_loads(out, 0, NULL);
}

json_t *status_guest(json_t *st, const char *name)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(st, "guests"), i, o)
		if (!strcmp(json_string_value(json_object_get(o, "name")),
			    name))
			return o;
	return NULL;
}
