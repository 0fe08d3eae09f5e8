/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What poned takes from a libvirt domain's XML: its name and UUID, whether
 * its memory may be shared (<memoryBacking><nosharepages/>), and
 * PageONE's own settings in its <metadata>, one element in PageONE's
 * namespace:
 *
 *   <metadata>
 *     <pone:settings xmlns:pone="urn:pageone:libvirt:1"
 *                    sharing="tenant-a" attach="yes"/>
 *   </metadata>
 *
 * sharing: the guest's sharing domain (as `pone-ctl attach --sharing`;
 * absent: the config's); attach="no": poned leaves the domain alone. A
 * domain with <nosharepages/> is attached in sharing domain "none": its
 * zero pages are recycled, none of its pages merged.
 */
#ifndef PONED_DOMAINXML_H
#define PONED_DOMAINXML_H

#include <stdbool.h>
#include <stddef.h>

#include "guests.h"

#define DOMAINXML_NS "urn:pageone:libvirt:1"

struct domain_settings {
	char name[256];		/* libvirt's name, any length it allows */
	char uuid[GUEST_UUID_LEN];
	bool attach;
	bool nosharepages;
	char sharing[GUEST_NAME_MAX];	/* "": the config's */
};

/*
 * Reads xml (len bytes) into s. A domain XML poned cannot use (not one, no
 * UUID, PageONE's settings malformed) is -EINVAL, and why says what is
 * wrong and how to fix it; s is then not to be used.
 */
int domainxml_parse(const char *xml, size_t len, struct domain_settings *s,
		    char *why, size_t wlen);

#endif
