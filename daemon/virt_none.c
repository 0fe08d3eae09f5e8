// SPDX-License-Identifier: GPL-2.0-only
/* virt.h where poned is built without libvirt: the hook and pone-ctl
 * attach domains. */
#include <string.h>

#include "log.h"
#include "virt.h"

int virt_start(const char *uri, struct guests *gs, struct periods *p,
	       int epfd, struct virt **out)
{
	(void)gs;
	(void)p;
	(void)epfd;
	*out = NULL;
	if (strcmp(uri, "off") && strcmp(uri, VIRT_AUTO))
		log_warn("libvirt = %s: poned was built without libvirt: "
			 "attach domains with the libvirt hook", uri);
	return 0;
}

void virt_stop(struct virt *v)
{
	(void)v;
}

json_t *virt_json(struct virt *v)
{
	(void)v;
	return json_pack("{s:s, s:b, s:s, s:[]}", "uri", "off", "connected",
			 0, "why", "poned was built without libvirt",
			 "not_attached");
}
