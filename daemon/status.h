/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's figures as JSON, for `status` and `guests`. Memory figures
 * are what the kernel reports (smaps of each guest's RAM mapping, meminfo
 * for swap, getrusage for our CPU), not estimates.
 */
#ifndef PONED_STATUS_H
#define PONED_STATUS_H

#include <jansson.h>

#include "poned.h"

json_t *status_json(struct poned *d);
json_t *guest_json(struct poned *d, struct guest *g);

#endif
