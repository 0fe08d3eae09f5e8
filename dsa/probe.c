// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <accel-config/libaccel_config.h>

#include <pone/page.h>

#include "probe.h"

/* What the search passed over, to say why it found nothing. */
struct seen {
	unsigned int devices, dsa_enabled, wqs, wqs_enabled, wqs_user;
};

static bool wanted(const char *want, const char *device, const char *wq)
{
	return !want || !strcmp(want, "auto") || !strcmp(want, device) ||
	       !strcmp(want, wq);
}

static bool wq_usable(struct accfg_wq *wq, struct seen *s)
{
	s->wqs++;
	if (accfg_wq_get_state(wq) != ACCFG_WQ_ENABLED)
		return false;
	s->wqs_enabled++;
	if (accfg_wq_get_type(wq) != ACCFG_WQT_USER)
		return false;
	s->wqs_user++;
	return accfg_wq_get_max_transfer_size(wq) >= PONE_PAGE_SIZE;
}

static int fill(struct accfg_device *dev, struct accfg_wq *wq,
		struct dsa_wq_info *out)
{
	*out = (struct dsa_wq_info){
		.dedicated = accfg_wq_get_mode(wq) == ACCFG_WQ_DEDICATED,
		.size = (unsigned int)accfg_wq_get_size(wq),
		.max_batch = accfg_wq_get_max_batch_size(wq),
		.max_xfer = accfg_wq_get_max_transfer_size(wq),
		.numa_node = accfg_device_get_numa_node(dev),
	};
	snprintf(out->device, sizeof(out->device), "%s",
		 accfg_device_get_devname(dev));
	snprintf(out->wq, sizeof(out->wq), "%s", accfg_wq_get_devname(wq));
	return accfg_wq_get_user_dev_path(wq, out->path, sizeof(out->path));
}

static int search(struct accfg_ctx *ctx, const char *want,
		  struct dsa_wq_info *out, struct seen *s)
{
	struct accfg_device *dev;
	struct accfg_wq *wq;

	accfg_device_foreach(ctx, dev) {
		s->devices++;
		if (accfg_device_get_type(dev) != ACCFG_DEVICE_DSA ||
		    accfg_device_get_state(dev) != ACCFG_DEVICE_ENABLED)
			continue;
		s->dsa_enabled++;
		accfg_wq_foreach(dev, wq) {
			if (wanted(want, accfg_device_get_devname(dev),
				   accfg_wq_get_devname(wq)) &&
			    wq_usable(wq, s))
				return fill(dev, wq, out);
		}
	}
	return -ENODEV;
}

static void explain(const char *want, const struct seen *s, char *why,
		    size_t len)
{
	int n = snprintf(why, len,
			 "looked for an enabled user-mode DSA work queue (%s) "
			 "taking 4 KiB descriptors, through libaccel-config: ",
			 want ? want : "auto");

	if (n < 0 || (size_t)n >= len)
		return;
	why += n;
	len -= (size_t)n;
	if (!s->devices)
		snprintf(why, len, "no accelerator device at all (%s)",
			 access("/sys/bus/dsa", F_OK) ?
			 "no /sys/bus/dsa: no idxd driver or no device" :
			 "/sys/bus/dsa lists none");
	else if (!s->dsa_enabled)
		snprintf(why, len, "%u device(s), no enabled DSA among them",
			 s->devices);
	else
		snprintf(why, len,
			 "%u enabled DSA device(s), %u matching WQ(s), "
			 "%u enabled, %u user-mode, none usable",
			 s->dsa_enabled, s->wqs, s->wqs_enabled, s->wqs_user);
}

int dsa_probe(const char *want, struct dsa_wq_info *out, char *why,
	      size_t whylen)
{
	struct accfg_ctx *ctx;
	struct seen s = { 0 };
	int ret = accfg_new(&ctx);

	if (ret) {
		snprintf(why, whylen, "libaccel-config: accfg_new: %s",
			 strerror(-ret));
		return ret;
	}
	ret = search(ctx, want, out, &s);
	accfg_unref(ctx);
	if (ret == -ENODEV)
		explain(want, &s, why, whylen);
	else if (ret)
		snprintf(why, whylen, "%s: no user device path: %s", out->wq,
			 strerror(-ret));
	return ret;
}
