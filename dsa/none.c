// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DSA backend of a build without libaccel-config (-Ddsa=disabled):
 * no work queue can be found, so callers take their CPU path as on a
 * machine with no device, and the reason they pass on says it is the
 * build, not the machine.
 */
#include <errno.h>
#include <stdio.h>

#include <pone/dsa.h>

int pone_backend_dsa_new(const char *wq, struct pone_backend **out,
			 char *why, size_t whylen)
{
	(void)wq;
	(void)out;
	snprintf(why, whylen, "this build has no DSA support (built without "
		 "libaccel-config)");
	return -ENODEV;
}

/* No backend of this build is a DSA one. */
int pone_backend_dsa_stats(const struct pone_backend *be,
			   struct pone_dsa_stats *st)
{
	(void)be;
	(void)st;
	return -EINVAL;
}
